# Rule scripts import the seqcnn library. Snakemake puts scripts/ on their sys.path, and
# scripts/seqcnn links to ../seqcnn, so this works inside --sdm conda environments too.

RESULTS = config["results"]
EVAL_FIGURES = ["curves", "scores", "by_chrom"]
REPORT_TEMPLATE = f"{workflow.basedir}/report/dataset.html.j2"
SPLITS = ["train", "valid", "test"]
SIMULATED = "resources/simulated"


wildcard_constraints:
    dataset="[A-Za-z0-9_-]+",
    simulation="[A-Za-z0-9_-]+",
    split="train|valid|test",
    task="[A-Za-z0-9_.-]+",
    model="[A-Za-z0-9_.-]+",


for _name, _ds in config["datasets"].items():
    for _model in _ds["models"]:
        if _model not in config["models"]:
            raise ValueError(
                f"datasets.{_name}.models lists {_model!r}, which is not defined under "
                f"models: (defined: {', '.join(config['models']) or 'none'})"
            )


# Keys of a dataset that are not about its data: changing them must not rebuild the cache.
MODEL_KEYS = ("models", "baseline_motifs", "truth")


def dataset_config(wildcards):
    """The data part of one dataset's (schema-validated, defaults filled) config."""
    ds = config["datasets"][wildcards.dataset]
    return {k: v for k, v in ds.items() if k not in MODEL_KEYS}


def baseline_config(wildcards):
    ds = config["datasets"][wildcards.dataset]
    return {"seed": ds["seed"], "baseline_motifs": ds["baseline_motifs"]}


def simulation_config(wildcards):
    return config["simulations"][wildcards.simulation]


def genome_fasta(wildcards):
    return dataset_config(wildcards)["genome"]


def task_names(wildcards):
    return list(dataset_config(wildcards)["tasks"])


def task_peak_files(wildcards):
    return list(dataset_config(wildcards)["tasks"].values())


def blacklist_file(wildcards):
    path = dataset_config(wildcards)["blacklist"]
    return [path] if path else []


def user_negative_file(wildcards):
    """The user's negative BED, when ``negatives`` is a path rather than a method."""
    neg = dataset_config(wildcards)["negatives"]
    return [] if neg in ("gc_matched", "dinuc_shuffle") else [neg]


def model_config(wildcards):
    """The config of one model of the zoo (``models.<name>``)."""
    return config["models"][wildcards.model]


def train_config(wildcards):
    return config["train"]


def evaluate_config(wildcards):
    return {**config["evaluate"], "seed": config["train"]["seed"]}


def interpret_config(wildcards):
    return config["interpret"]


def truth_table(wildcards):
    """The planted-motif truth table of a simulated dataset, if the config names one."""
    path = config["datasets"][wildcards.dataset]["truth"]
    return [path] if path else []


def dataset_models(wildcards):
    return list(config["datasets"][wildcards.dataset]["models"])


def model_files(dataset, models, pattern):
    return [f"{RESULTS}/{dataset}/{model}/{pattern}" for model in models]


def report_inputs(wildcards):
    """Everything the per-dataset report page reads."""
    d, models = wildcards.dataset, dataset_models(wildcards)
    return {
        "manifest": f"{RESULTS}/{d}/cache/manifest.json",
        "positives": f"{RESULTS}/{d}/regions/positives.json",
        "negatives": f"{RESULTS}/{d}/regions/negatives.json",
        "gc_plot": f"{RESULTS}/{d}/regions/gc.png",
        "summaries": model_files(d, models, "model.json"),
        "metrics": model_files(d, models, "eval/metrics.tsv"),
        "curves": model_files(d, models, "train_curves.png"),
        # three figures per model, in model order
        "motifs": model_files(d, models, "interpret/motifs.tsv"),
        "filters": model_files(d, models, "interpret/filters.tsv"),
        "filters_json": model_files(d, models, "interpret/filters.json"),
        "attribution_auroc": model_files(d, models, "interpret/attribution_auroc.tsv"),
        "filter_logos": model_files(d, models, "interpret/filter_logos.png"),
        "modisco_logos": model_files(d, models, "interpret/modisco_logos.png"),
        "eval_figures": [
            f"{RESULTS}/{d}/{m}/eval/{fig}.png" for m in models for fig in EVAL_FIGURES
        ],
    }


def cache_files(dataset):
    return expand(
        f"{RESULTS}/{dataset}/cache/{{split}}.{{kind}}.npy",
        split=SPLITS,
        kind=["onehot", "labels"],
    ) + [f"{RESULTS}/{dataset}/cache/manifest.json"]


def all_outputs():
    """Every public output of every dataset in the config."""
    out = []
    for dataset in config["datasets"]:
        out += expand(f"{RESULTS}/{dataset}/regions/{{split}}.bed", split=SPLITS)
        out += cache_files(dataset)
        models = config["datasets"][dataset]["models"]
        out += model_files(dataset, models, "eval/metrics.tsv")
        out += model_files(dataset, models, "interpret/motifs.tsv")
        out.append(f"{RESULTS}/{dataset}/report.html")
    return out
