rule prepare_genome:
    input:
        genome=genome_fasta,
    output:
        fasta=results_path("{dataset}/genome/genome.fa"),
        fai=results_path("{dataset}/genome/genome.fa.fai"),
    log:
        results_path("logs/{dataset}/genome/genome.log"),
    benchmark:
        results_path("benchmarks/{dataset}/genome/genome.tsv")
    conda:
        "../envs/regions.yaml"
    resources:
        mem_mb=1000,
        runtime=60,
    script:
        "../scripts/prepare_genome.py"


rule prepare_positives:
    input:
        peaks=task_peak_files,
        blacklist=blacklist_file,
        aliases=chrom_alias_file,
        fasta=results_path("{dataset}/genome/genome.fa"),
        fai=results_path("{dataset}/genome/genome.fa.fai"),
    output:
        bed=results_path("{dataset}/regions/positives.bed"),
        summary=results_path("{dataset}/regions/positives.json"),
    log:
        results_path("logs/{dataset}/regions/positives.log"),
    benchmark:
        results_path("benchmarks/{dataset}/regions/positives.tsv")
    conda:
        "../envs/regions.yaml"
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        cfg=dataset_config,
        tasks=task_names,
    script:
        "../scripts/prepare_positives.py"


rule make_negatives:
    input:
        positives=results_path("{dataset}/regions/positives.bed"),
        fasta=results_path("{dataset}/genome/genome.fa"),
        fai=results_path("{dataset}/genome/genome.fa.fai"),
        blacklist=blacklist_file,
        user=user_negative_file,
        aliases=chrom_alias_file,
    output:
        bed=results_path("{dataset}/regions/negatives.bed"),
        summary=results_path("{dataset}/regions/negatives.json"),
        plot=report(
            results_path("{dataset}/regions/gc.png"),
            category="Data",
            caption="../report/gc.rst",
        ),
    log:
        results_path("logs/{dataset}/regions/negatives.log"),
    benchmark:
        results_path("benchmarks/{dataset}/regions/negatives.tsv")
    conda:
        "../envs/regions.yaml"
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        cfg=dataset_config,
        tasks=task_names,
    script:
        "../scripts/make_negatives.py"


rule split_regions:
    input:
        positives=results_path("{dataset}/regions/positives.bed"),
        negatives=results_path("{dataset}/regions/negatives.bed"),
        fai=results_path("{dataset}/genome/genome.fa.fai"),
    output:
        train=results_path("{dataset}/regions/train.bed"),
        valid=results_path("{dataset}/regions/valid.bed"),
        test=results_path("{dataset}/regions/test.bed"),
        summary=results_path("{dataset}/regions/split.json"),
    log:
        results_path("logs/{dataset}/regions/split.log"),
    benchmark:
        results_path("benchmarks/{dataset}/regions/split.tsv")
    conda:
        "../envs/regions.yaml"
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        cfg=dataset_config,
    script:
        "../scripts/split_regions.py"
