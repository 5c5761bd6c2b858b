rule train_baselines:
    input:
        unpack(train_baselines_inputs),
    output:
        scores=results_path("{dataset}/baselines/test_scores.npz"),
        summary=results_path("{dataset}/baselines/baselines.json"),
    log:
        results_path("logs/{dataset}/baselines/baselines.log"),
    benchmark:
        results_path("benchmarks/{dataset}/baselines/baselines.tsv")
    wildcard_constraints:
        dataset=one_of(GENOME_DATASETS),
    conda:
        "../envs/evaluate.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
    params:
        cfg=baseline_config,
        release=interpret_release,
    script:
        "../scripts/train_baselines.py"


rule evaluate_model:
    input:
        unpack(eval_inputs),
        model=results_path("{dataset}/{model}/model.pt"),
    output:
        metrics=report(
            results_path("{dataset}/{model}/eval/metrics.tsv"),
            category="Evaluation",
            subcategory="{dataset}",
            caption="../report/metrics.rst",
        ),
        accuracy=report(
            results_path("{dataset}/{model}/eval/accuracy.tsv"),
            category="Evaluation",
            subcategory="{dataset}",
            caption="../report/accuracy.rst",
        ),
        predictions=results_path("{dataset}/{model}/eval/predictions.tsv.gz"),
        raw_scores=results_path("{dataset}/{model}/eval/test_scores.npy"),
        paired=results_path("{dataset}/{model}/eval/vs_baselines.tsv"),
        curves=report(
            results_path("{dataset}/{model}/eval/curves.png"),
            category="Evaluation",
            subcategory="{dataset}",
            caption="../report/curves.rst",
        ),
        scores=report(
            results_path("{dataset}/{model}/eval/scores.png"),
            category="Evaluation",
            subcategory="{dataset}",
            caption="../report/scores.rst",
        ),
    log:
        results_path("logs/{dataset}/{model}/eval.log"),
    benchmark:
        results_path("benchmarks/{dataset}/{model}/eval.tsv")
    conda:
        "../envs/evaluate.yaml"
    threads: 2
    resources:
        mem_mb=evaluate_model_mem_mb,
        runtime=60,
    params:
        cfg=evaluate_config,
        device=train_device,
    script:
        "../scripts/evaluate_model.py"


rule evaluate_by_chrom:
    input:
        unpack(test_split_inputs),
        raw_scores=results_path("{dataset}/{model}/eval/test_scores.npy"),
        regions=results_path("{dataset}/regions/test.bed"),
        baselines=results_path("{dataset}/baselines/test_scores.npz"),
    output:
        by_chrom=results_path("{dataset}/{model}/eval/metrics_by_chrom.tsv"),
        chrom_plot=report(
            results_path("{dataset}/{model}/eval/by_chrom.png"),
            category="Evaluation",
            subcategory="{dataset}",
            caption="../report/by_chrom.rst",
        ),
    log:
        results_path("logs/{dataset}/{model}/eval_by_chrom.log"),
    wildcard_constraints:
        dataset=one_of(GENOME_DATASETS),
    conda:
        "../envs/evaluate.yaml"
    script:
        "../scripts/evaluate_by_chrom.py"


# Genome datasets with tracks: counts and profiles against the profile baselines.
ruleorder: evaluate_track_model > evaluate_model


rule evaluate_track_model:
    input:
        unpack(evaluate_track_inputs),
        model=results_path("{dataset}/{model}/model.pt"),
    output:
        metrics=report(
            results_path("{dataset}/{model}/eval/metrics.tsv"),
            category="Evaluation",
            subcategory="{dataset}",
            caption="../report/metrics.rst",
        ),
        predictions=results_path("{dataset}/{model}/eval/count_predictions.tsv.gz"),
        scatter=report(
            results_path("{dataset}/{model}/eval/count_scatter.png"),
            category="Evaluation",
            subcategory="{dataset}",
            caption="../report/tracks.rst",
        ),
        profiles=report(
            results_path("{dataset}/{model}/eval/profiles.png"),
            category="Evaluation",
            subcategory="{dataset}",
            caption="../report/tracks.rst",
        ),
    log:
        results_path("logs/{dataset}/{model}/eval.log"),
    benchmark:
        results_path("benchmarks/{dataset}/{model}/eval.tsv")
    wildcard_constraints:
        dataset=one_of(TRACK_DATASETS),
    conda:
        "../envs/evaluate.yaml"
    threads: 2
    resources:
        mem_mb=evaluate_track_model_mem_mb,
        runtime=60,
    params:
        cfg=evaluate_config,
        device=train_device,
    script:
        "../scripts/evaluate_track_model.py"
