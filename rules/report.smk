rule plot_training:
    input:
        train_log=f"{RESULTS}/{{dataset}}/{{model}}/train_log.tsv",
        summary=f"{RESULTS}/{{dataset}}/{{model}}/model.json",
    output:
        plot=report(
            f"{RESULTS}/{{dataset}}/{{model}}/train_curves.png",
            category="Training",
            subcategory="{dataset}",
            caption="../report/train_curves.rst",
        ),
    log:
        f"{RESULTS}/logs/{{dataset}}/{{model}}/train_curves.log",
    conda:
        "../envs/evaluate.yaml"
    script:
        "../scripts/plot_training.py"


rule write_report:
    input:
        unpack(report_inputs),
    output:
        html=report(
            f"{RESULTS}/{{dataset}}/report.html",
            category="Report",
            subcategory="{dataset}",
            caption="../report/report.rst",
        ),
    log:
        f"{RESULTS}/logs/{{dataset}}/report.log",
    wildcard_constraints:
        dataset=one_of(GENOME_DATASETS),
    conda:
        "../envs/evaluate.yaml"
    params:
        models=dataset_models,
        reference=reference_config,
    script:
        "../scripts/write_report.py"


rule write_seqset_report:
    input:
        unpack(seqset_report_inputs),
    output:
        html=report(
            f"{RESULTS}/{{dataset}}/report.html",
            category="Report",
            subcategory="{dataset}",
            caption="../report/report.rst",
        ),
    log:
        f"{RESULTS}/logs/{{dataset}}/report.log",
    wildcard_constraints:
        dataset=one_of(SEQSET_DATASETS),
    conda:
        "../envs/evaluate.yaml"
    params:
        models=dataset_models,
        reference=reference_config,
    script:
        "../scripts/write_seqset_report.py"


rule compare_to_reference:
    input:
        unpack(reference_inputs),
    output:
        table=report(
            f"{RESULTS}/{{dataset}}/reference/comparison.tsv",
            category="Reference",
            subcategory="{dataset}",
            caption="../report/reference.rst",
        ),
        measured=f"{RESULTS}/{{dataset}}/reference/measured.tsv",
        figure=report(
            f"{RESULTS}/{{dataset}}/reference/comparison.png",
            category="Reference",
            subcategory="{dataset}",
            caption="../report/reference.rst",
        ),
    log:
        f"{RESULTS}/logs/{{dataset}}/reference.log",
    conda:
        "../envs/interpret.yaml"
    params:
        reference=reference_config,
        models=dataset_models,
    script:
        "../scripts/compare_to_reference.py"
