rule simulate_dataset:
    output:
        genome=simulated_path("{simulation}/genome.fa"),
        peaks=simulated_path("{simulation}/peaks.tsv.gz"),
        truth=simulated_path("{simulation}/truth.tsv"),
        gaps=simulated_path("{simulation}/gaps.bed"),
        variants=simulated_path("{simulation}/variants.vcf.gz"),
        variants_index=simulated_path("{simulation}/variants.vcf.gz.tbi"),
    log:
        simulated_path("logs/{simulation}/simulate_dataset.log"),
    benchmark:
        simulated_path("benchmarks/{simulation}/simulate_dataset.tsv")
    wildcard_constraints:
        simulation=one_of(GENOME_SIMULATIONS),
    conda:
        "../envs/simulate.yaml"
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        cfg=simulation_config,
        variant_regions=simulation_variant_regions,
    script:
        "../scripts/simulate_dataset.py"


rule write_simulated_peaks:
    input:
        peaks=simulated_path("{simulation}/peaks.tsv.gz"),
    output:
        peaks=simulated_path("{simulation}/peaks/{task}.narrowPeak.gz"),
    log:
        simulated_path("logs/{simulation}/peaks/{task}.log"),
    conda:
        "../envs/simulate.yaml"
    script:
        "../scripts/write_simulated_peaks.py"


rule simulate_seqset:
    output:
        sequences=simulated_path("{simulation}/sequences.fa.gz"),
        labels=simulated_path("{simulation}/labels.tsv"),
        truth=simulated_path("{simulation}/truth.tsv"),
    log:
        simulated_path("logs/{simulation}/simulate_seqset.log"),
    benchmark:
        simulated_path("benchmarks/{simulation}/simulate_seqset.tsv")
    wildcard_constraints:
        simulation=one_of(SEQSET_SIMULATIONS),
    conda:
        "../envs/simulate.yaml"
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        cfg=simulation_config,
    script:
        "../scripts/simulate_seqset.py"


rule simulate_tracks:
    input:
        genome=simulated_path("{simulation}/genome.fa"),
        truth=simulated_path("{simulation}/truth.tsv"),
    output:
        track=simulated_path("{simulation}/tracks/{task}.bw"),
    log:
        simulated_path("logs/{simulation}/tracks/{task}.log"),
    benchmark:
        simulated_path("benchmarks/{simulation}/tracks/{task}.tsv")
    wildcard_constraints:
        simulation=one_of(GENOME_SIMULATIONS),
    conda:
        "../envs/simulate.yaml"
    resources:
        mem_mb=simulate_tracks_mem_mb,
        runtime=30,
    params:
        cfg=simulation_tracks_config,
    script:
        "../scripts/simulate_tracks.py"
