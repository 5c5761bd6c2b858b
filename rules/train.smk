wildcard_constraints:
    model="[A-Za-z0-9_.-]+",


# params.checkpoint is not an output: Snakemake deletes the outputs of a failed job, and
# checkpoints/last.pt is what the restarted job resumes from.
rule train_model:
    input:
        unpack(train_inputs),
    output:
        model=f"{RESULTS}/{{dataset}}/{{model}}/model.pt",
        summary=f"{RESULTS}/{{dataset}}/{{model}}/model.json",
        train_log=f"{RESULTS}/{{dataset}}/{{model}}/train_log.tsv",
    log:
        f"{RESULTS}/logs/{{dataset}}/{{model}}/train.log",
    benchmark:
        f"{RESULTS}/benchmarks/{{dataset}}/{{model}}/train.tsv"
    conda:
        "../envs/train.yaml"
    threads: 4
    resources:
        mem_mb=train_mem_mb,
        runtime=train_runtime,
        gpu=train_gpus,
    params:
        model=model_config,
        train=train_config,
        checkpoint=f"{RESULTS}/{{dataset}}/{{model}}/checkpoints/last.pt",
    script:
        "../scripts/train_model.py"
