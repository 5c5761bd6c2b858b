rule prepare_genome:
    input:
        genome=genome_fasta,
    output:
        fasta=f"{RESULTS}/{{dataset}}/genome/genome.fa",
        fai=f"{RESULTS}/{{dataset}}/genome/genome.fa.fai",
    log:
        f"{RESULTS}/logs/{{dataset}}/genome/genome.log",
    benchmark:
        f"{RESULTS}/benchmarks/{{dataset}}/genome/genome.tsv"
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
        fasta=f"{RESULTS}/{{dataset}}/genome/genome.fa",
        fai=f"{RESULTS}/{{dataset}}/genome/genome.fa.fai",
    output:
        bed=f"{RESULTS}/{{dataset}}/regions/positives.bed",
        summary=f"{RESULTS}/{{dataset}}/regions/positives.json",
    log:
        f"{RESULTS}/logs/{{dataset}}/regions/positives.log",
    benchmark:
        f"{RESULTS}/benchmarks/{{dataset}}/regions/positives.tsv"
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
        positives=f"{RESULTS}/{{dataset}}/regions/positives.bed",
        fasta=f"{RESULTS}/{{dataset}}/genome/genome.fa",
        fai=f"{RESULTS}/{{dataset}}/genome/genome.fa.fai",
        blacklist=blacklist_file,
        user=user_negative_file,
    output:
        bed=f"{RESULTS}/{{dataset}}/regions/negatives.bed",
        summary=f"{RESULTS}/{{dataset}}/regions/negatives.json",
        plot=report(
            f"{RESULTS}/{{dataset}}/regions/gc.png",
            category="Data",
            caption="../report/gc.rst",
        ),
    log:
        f"{RESULTS}/logs/{{dataset}}/regions/negatives.log",
    benchmark:
        f"{RESULTS}/benchmarks/{{dataset}}/regions/negatives.tsv"
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
        positives=f"{RESULTS}/{{dataset}}/regions/positives.bed",
        negatives=f"{RESULTS}/{{dataset}}/regions/negatives.bed",
        fai=f"{RESULTS}/{{dataset}}/genome/genome.fa.fai",
    output:
        train=f"{RESULTS}/{{dataset}}/regions/train.bed",
        valid=f"{RESULTS}/{{dataset}}/regions/valid.bed",
        test=f"{RESULTS}/{{dataset}}/regions/test.bed",
        summary=f"{RESULTS}/{{dataset}}/regions/split.json",
    log:
        f"{RESULTS}/logs/{{dataset}}/regions/split.log",
    benchmark:
        f"{RESULTS}/benchmarks/{{dataset}}/regions/split.tsv"
    conda:
        "../envs/regions.yaml"
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        cfg=dataset_config,
    script:
        "../scripts/split_regions.py"
