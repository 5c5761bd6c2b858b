rule simulate_dataset:
    output:
        genome=f"{SIMULATED}/{{simulation}}/genome.fa",
        peaks=f"{SIMULATED}/{{simulation}}/peaks.tsv.gz",
        truth=f"{SIMULATED}/{{simulation}}/truth.tsv",
        gaps=f"{SIMULATED}/{{simulation}}/gaps.bed",
    log:
        f"{SIMULATED}/logs/{{simulation}}/simulate_dataset.log",
    benchmark:
        f"{SIMULATED}/benchmarks/{{simulation}}/simulate_dataset.tsv"
    wildcard_constraints:
        simulation=one_of(GENOME_SIMULATIONS),
    conda:
        "../envs/simulate.yaml"
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        cfg=simulation_config,
    script:
        "../scripts/simulate_dataset.py"


rule write_simulated_peaks:
    input:
        peaks=f"{SIMULATED}/{{simulation}}/peaks.tsv.gz",
    output:
        peaks=f"{SIMULATED}/{{simulation}}/peaks/{{task}}.narrowPeak.gz",
    log:
        f"{SIMULATED}/logs/{{simulation}}/peaks/{{task}}.log",
    conda:
        "../envs/simulate.yaml"
    script:
        "../scripts/write_simulated_peaks.py"


rule simulate_seqset:
    output:
        sequences=f"{SIMULATED}/{{simulation}}/sequences.fa.gz",
        labels=f"{SIMULATED}/{{simulation}}/labels.tsv",
        truth=f"{SIMULATED}/{{simulation}}/truth.tsv",
    log:
        f"{SIMULATED}/logs/{{simulation}}/simulate_seqset.log",
    benchmark:
        f"{SIMULATED}/benchmarks/{{simulation}}/simulate_seqset.tsv"
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
