rule build_cache:
    input:
        regions=results_path("{dataset}/regions/{split}.bed"),
        fasta=results_path("{dataset}/genome/genome.fa"),
        fai=results_path("{dataset}/genome/genome.fa.fai"),
    output:
        onehot=results_path("{dataset}/cache/{split}.onehot.npy"),
        labels=results_path("{dataset}/cache/{split}.labels.npy"),
        ids=results_path("{dataset}/cache/{split}.ids.tsv"),
        stats=results_path("{dataset}/cache/{split}.stats.json"),
    log:
        results_path("logs/{dataset}/cache/{split}.log"),
    benchmark:
        results_path("benchmarks/{dataset}/cache/{split}.tsv")
    wildcard_constraints:
        dataset=one_of(GENOME_DATASETS),
    conda:
        "../envs/sequences.yaml"
    resources:
        mem_mb=build_cache_mem_mb,
        disk_mb=build_cache_disk_mb,
        runtime=120,
    params:
        cfg=dataset_config,
    script:
        "../scripts/build_cache.py"


rule write_manifest:
    input:
        stats=expand(results_path("{{dataset}}/cache/{split}.stats.json"), split=SPLITS),
        positives=results_path("{dataset}/regions/positives.json"),
        negatives=results_path("{dataset}/regions/negatives.json"),
        split=results_path("{dataset}/regions/split.json"),
        tracks=track_stats_files,
    output:
        manifest=results_path("{dataset}/cache/manifest.json"),
    log:
        results_path("logs/{dataset}/cache/manifest.log"),
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
            results_path("{{dataset}}/cache/{split}.onehot.npy"), split=SPLITS
        ),
        labels=expand(
            results_path("{{dataset}}/cache/{split}.labels.npy"), split=SPLITS
        ),
        lengths=expand(
            results_path("{{dataset}}/cache/{split}.lengths.npy"), split=SPLITS
        ),
        ids=expand(results_path("{{dataset}}/cache/{split}.ids.tsv"), split=SPLITS),
        manifest=results_path("{dataset}/cache/manifest.json"),
        lengths_plot=report(
            results_path("{dataset}/cache/lengths.png"),
            category="Data",
            subcategory="{dataset}",
            caption="../report/lengths.rst",
        ),
    log:
        results_path("logs/{dataset}/cache/seqset.log"),
    benchmark:
        results_path("benchmarks/{dataset}/cache/seqset.tsv")
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


rule extract_track_targets:
    input:
        regions=results_path("{dataset}/regions/{split}.bed"),
        fai=results_path("{dataset}/genome/genome.fa.fai"),
        bigwigs=track_bigwigs,
        aliases=chrom_alias_file,
    output:
        array=results_path("{dataset}/cache/{split}.{signal}.npy"),
        stats=results_path("{dataset}/cache/{split}.{signal}.json"),
    log:
        results_path("logs/{dataset}/cache/{split}.{signal}.log"),
    benchmark:
        results_path("benchmarks/{dataset}/cache/{split}.{signal}.tsv")
    wildcard_constraints:
        dataset=one_of(TRACK_DATASETS),
        signal="targets|controls",
    conda:
        "../envs/sequences.yaml"
    resources:
        mem_mb=extract_track_targets_mem_mb,
        runtime=120,
    params:
        cfg=dataset_config,
    script:
        "../scripts/extract_track_targets.py"
