# Real data from an annotation (promoters: in the config): the genome FASTA and the
# promoter windows of its genes, oriented BED6, for a dataset's genome and tasks.


rule extract_promoters:
    output:
        genome=results_path("promoters/{promoter_set}/genome.fa"),
        fai=results_path("promoters/{promoter_set}/genome.fa.fai"),
        bed=results_path("promoters/{promoter_set}/promoters.bed.gz"),
    log:
        results_path("logs/promoters/{promoter_set}/extract_promoters.log"),
    benchmark:
        results_path("benchmarks/promoters/{promoter_set}/extract_promoters.tsv")
    wildcard_constraints:
        promoter_set=one_of(PROMOTER_SETS),
    conda:
        "../envs/real.yaml"
    resources:
        mem_mb=extract_promoters_mem_mb,
        runtime=30,
    params:
        cfg=promoter_config,
    script:
        "../scripts/extract_promoters.py"
