wildcard_constraints:
    model="[A-Za-z0-9_.-]+",


# params.checkpoint is not an output: Snakemake deletes the outputs of a failed job, and
# checkpoints/last.pt is what the restarted job resumes from.
rule train_model:
    input:
        unpack(train_inputs),
    output:
        model=results_path("{dataset}/{model}/model.pt"),
        summary=results_path("{dataset}/{model}/model.json"),
        train_log=results_path("{dataset}/{model}/train_log.tsv"),
    log:
        results_path("logs/{dataset}/{model}/train.log"),
    benchmark:
        results_path("benchmarks/{dataset}/{model}/train.tsv")
    conda:
        "../envs/train.yaml"
    threads: 4
    resources:
        mem_mb=train_model_mem_mb,
        runtime=train_model_runtime,
        gpu=train_model_gpus,
    params:
        model=model_config,
        train=train_config,
        checkpoint=results_path("{dataset}/{model}/checkpoints/last.pt"),
    script:
        "../scripts/train_model.py"


# Genome datasets with tracks: train a track model (profile/count or binned heads) instead.
ruleorder: train_track_model > train_model


rule train_track_model:
    input:
        unpack(train_track_inputs),
    output:
        model=results_path("{dataset}/{model}/model.pt"),
        summary=results_path("{dataset}/{model}/model.json"),
        train_log=results_path("{dataset}/{model}/train_log.tsv"),
    log:
        results_path("logs/{dataset}/{model}/train.log"),
    benchmark:
        results_path("benchmarks/{dataset}/{model}/train.tsv")
    wildcard_constraints:
        dataset=one_of(TRACK_DATASETS),
    conda:
        "../envs/train.yaml"
    threads: 4
    resources:
        mem_mb=train_track_model_mem_mb,
        runtime=train_model_runtime,
    params:
        model=model_config,
        train=train_config,
        checkpoint=results_path("{dataset}/{model}/checkpoints/last.pt"),
    script:
        "../scripts/train_track_model.py"
