rule plot_training:
    input:
        train_log=results_path("{dataset}/{model}/train_log.tsv"),
        summary=results_path("{dataset}/{model}/model.json"),
    output:
        plot=report(
            results_path("{dataset}/{model}/train_curves.png"),
            category="Training",
            subcategory="{dataset}",
            caption="../report/train_curves.rst",
        ),
    log:
        results_path("logs/{dataset}/{model}/train_curves.log"),
    conda:
        "../envs/evaluate.yaml"
    script:
        "../scripts/plot_training.py"


rule write_report:
    input:
        unpack(report_inputs),
    output:
        html=report(
            results_path("{dataset}/report.html"),
            category="Report",
            subcategory="{dataset}",
            caption="../report/report.rst",
        ),
    log:
        results_path("logs/{dataset}/report.log"),
    conda:
        "../envs/evaluate.yaml"
    params:
        models=dataset_models,
        reference=reference_config,
        portfolio=report_portfolio,
        ensembles=ensemble_report_models,
    script:
        "../scripts/write_report.py"


rule compare_to_reference:
    input:
        unpack(reference_inputs),
    output:
        table=report(
            results_path("{dataset}/reference/comparison.tsv"),
            category="Reference",
            subcategory="{dataset}",
            caption="../report/reference.rst",
        ),
        measured=results_path("{dataset}/reference/measured.tsv"),
        figure=report(
            results_path("{dataset}/reference/comparison.png"),
            category="Reference",
            subcategory="{dataset}",
            caption="../report/reference.rst",
        ),
    log:
        results_path("logs/{dataset}/reference.log"),
    conda:
        "../envs/interpret.yaml"
    params:
        reference=reference_config,
        models=dataset_models,
    script:
        "../scripts/compare_to_reference.py"
