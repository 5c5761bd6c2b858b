rule build_cache:
    input:
        regions=f"{RESULTS}/{{dataset}}/regions/{{split}}.bed",
        fasta=f"{RESULTS}/{{dataset}}/genome/genome.fa",
        fai=f"{RESULTS}/{{dataset}}/genome/genome.fa.fai",
    output:
        onehot=f"{RESULTS}/{{dataset}}/cache/{{split}}.onehot.npy",
        labels=f"{RESULTS}/{{dataset}}/cache/{{split}}.labels.npy",
        ids=f"{RESULTS}/{{dataset}}/cache/{{split}}.ids.tsv",
        stats=f"{RESULTS}/{{dataset}}/cache/{{split}}.stats.json",
    log:
        f"{RESULTS}/logs/{{dataset}}/cache/{{split}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/{{dataset}}/cache/{{split}}.tsv"
    wildcard_constraints:
        dataset=one_of(GENOME_DATASETS),
    conda:
        "../envs/sequences.yaml"
    resources:
        mem_mb=cache_mem_mb,
        disk_mb=cache_disk_mb,
        runtime=120,
    params:
        cfg=dataset_config,
    script:
        "../scripts/build_cache.py"


rule write_manifest:
    input:
        stats=expand(
            f"{RESULTS}/{{{{dataset}}}}/cache/{{split}}.stats.json", split=SPLITS
        ),
        positives=f"{RESULTS}/{{dataset}}/regions/positives.json",
        negatives=f"{RESULTS}/{{dataset}}/regions/negatives.json",
        split=f"{RESULTS}/{{dataset}}/regions/split.json",
    output:
        manifest=f"{RESULTS}/{{dataset}}/cache/manifest.json",
    log:
        f"{RESULTS}/logs/{{dataset}}/cache/manifest.log",
    wildcard_constraints:
        dataset=one_of(GENOME_DATASETS),
    conda:
        "../envs/sequences.yaml"
    params:
        cfg=dataset_config,
    script:
        "../scripts/write_manifest.py"


rule build_seqset_cache:
    input:
        sequences=seqset_fasta,
        labels=seqset_labels,
    output:
        onehot=expand(
            f"{RESULTS}/{{{{dataset}}}}/cache/{{split}}.onehot.npy", split=SPLITS
        ),
        labels=expand(
            f"{RESULTS}/{{{{dataset}}}}/cache/{{split}}.labels.npy", split=SPLITS
        ),
        lengths=expand(
            f"{RESULTS}/{{{{dataset}}}}/cache/{{split}}.lengths.npy", split=SPLITS
        ),
        ids=expand(f"{RESULTS}/{{{{dataset}}}}/cache/{{split}}.ids.tsv", split=SPLITS),
        manifest=f"{RESULTS}/{{dataset}}/cache/manifest.json",
        lengths_plot=report(
            f"{RESULTS}/{{dataset}}/cache/lengths.png",
            category="Data",
            subcategory="{dataset}",
            caption="../report/lengths.rst",
        ),
    log:
        f"{RESULTS}/logs/{{dataset}}/cache/seqset.log",
    benchmark:
        f"{RESULTS}/benchmarks/{{dataset}}/cache/seqset.tsv"
    wildcard_constraints:
        dataset=one_of(SEQSET_DATASETS),
    conda:
        "../envs/sequences.yaml"
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        cfg=dataset_config,
    script:
        "../scripts/build_seqset_cache.py"
