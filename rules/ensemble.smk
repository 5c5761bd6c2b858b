# Ensembles (models with ``ensemble: {members: k}``) and model choice by validation (a
# dataset's ``portfolio:``). seqcnn.models.ensemble, seqcnn.workflow.portfolio.


# An ensemble's model.pt is combined from its members; chosen/model.pt is a copy.
ruleorder: combine_ensemble > train_model
ruleorder: select_model > train_model


# params.checkpoint is not an output (see train_model): a restarted member resumes from it.
rule train_member:
    input:
        unpack(train_inputs),
    output:
        model=results_path("{dataset}/{model}/members/{member}/model.pt"),
        summary=results_path("{dataset}/{model}/members/{member}/model.json"),
        train_log=results_path("{dataset}/{model}/members/{member}/train_log.tsv"),
    log:
        results_path("logs/{dataset}/{model}/members/{member}/train.log"),
    benchmark:
        results_path("benchmarks/{dataset}/{model}/members/{member}/train.tsv")
    wildcard_constraints:
        model=one_of(ENSEMBLE_MODELS),
        member="[0-9]+",
    conda:
        "../envs/train.yaml"
    threads: 4
    resources:
        mem_mb=train_member_mem_mb,
        runtime=train_member_runtime,
        gpu=train_model_gpus,
    params:
        model=member_model_config,
        train=member_train_config,
        fold=member_fold,
        checkpoint=results_path(
            "{dataset}/{model}/members/{member}/checkpoints/last.pt"
        ),
    script:
        "../scripts/train_model.py"


rule combine_ensemble:
    input:
        unpack(combine_ensemble_inputs),
    output:
        model=results_path("{dataset}/{model}/model.pt"),
        summary=results_path("{dataset}/{model}/model.json"),
        train_log=results_path("{dataset}/{model}/train_log.tsv"),
    log:
        results_path("logs/{dataset}/{model}/combine_ensemble.log"),
    wildcard_constraints:
        model=one_of(ENSEMBLE_MODELS),
    conda:
        "../envs/train.yaml"
    threads: 2
    resources:
        mem_mb=combine_ensemble_mem_mb,
    params:
        device=train_device,
        fold=ensemble_fold,
    script:
        "../scripts/combine_ensemble.py"


rule evaluate_members:
    input:
        unpack(evaluate_members_inputs),
    output:
        members=results_path("{dataset}/{model}/eval/members.tsv"),
    log:
        results_path("logs/{dataset}/{model}/eval_members.log"),
    benchmark:
        results_path("benchmarks/{dataset}/{model}/eval_members.tsv")
    wildcard_constraints:
        model=one_of(ENSEMBLE_MODELS),
    conda:
        "../envs/evaluate.yaml"
    threads: 2
    resources:
        mem_mb=evaluate_members_mem_mb,
    params:
        cfg=evaluate_config,
        device=train_device,
    script:
        "../scripts/evaluate_members.py"


# Reads the portfolio models' training summaries only: never a test file.
rule select_model:
    input:
        unpack(select_model_inputs),
    output:
        choice=results_path("{dataset}/chosen_model.json"),
        model=results_path("{dataset}/chosen/model.pt"),
        summary=results_path("{dataset}/chosen/model.json"),
        train_log=results_path("{dataset}/chosen/train_log.tsv"),
    log:
        results_path("logs/{dataset}/select_model.log"),
    wildcard_constraints:
        dataset=one_of(list(PORTFOLIOS)),
    conda:
        "../envs/evaluate.yaml"
    params:
        portfolio=portfolio_config,
    script:
        "../scripts/select_model.py"
