# Rule scripts import the seqcnn library. Snakemake puts scripts/ on their sys.path, and
# scripts/seqcnn links to ../seqcnn, so this works inside --sdm conda environments too.

import re
import sys

sys.path.insert(
    0, workflow.basedir
)  # the Snakefile reads seqcnn.sweeps (standard library only)
from seqcnn.config_check import check_config
from seqcnn.errors import ConfigError
from seqcnn.sweeps import expand_model_list, expand_sweeps

RESULTS = config["results"]
EVAL_FIGURES = ["curves", "scores", "by_chrom"]
SEQSET_EVAL_FIGURES = ["curves", "scores"]
REPORT_TEMPLATE = f"{workflow.basedir}/report/dataset.html.j2"
SEQSET_REPORT_TEMPLATE = f"{workflow.basedir}/report/seqset.html.j2"
SPLITS = ["train", "valid", "test"]
SIMULATED = "resources/simulated"


def results_path(*parts):
    """A path under the results folder, wildcards written plainly:
    ``results_path("{dataset}/cache/{split}.onehot.npy")`` is a rule's pattern,
    ``results_path(dataset, "cache/manifest.json")`` a concrete file."""
    return "/".join((RESULTS, *parts))


def simulated_path(*parts):
    """A path under the simulated datasets' folder (``resources/simulated``), as
    :func:`results_path`."""
    return "/".join((SIMULATED, *parts))


# Sweeps expand into named model variants; a dataset listing a sweep trains all of them.
config["models"], SWEEPS = expand_sweeps(config["models"], config["sweeps"])
for _ds in config["datasets"].values():
    _ds["models"] = expand_model_list(_ds["models"], SWEEPS)
# the sweeps' variants against the schema too (a grid value such as pool: maxpool)
check_config(config, f"{workflow.basedir}/config/config.schema.yaml")

# Two kinds of dataset: intervals on a genome (genome + tasks) and sequence sets
# (sequences + labels). Rules that differ between them are constrained to one kind.
SEQSET_DATASETS = [d for d, ds in config["datasets"].items() if "sequences" in ds]
GENOME_DATASETS = [d for d in config["datasets"] if d not in SEQSET_DATASETS]
SEQSET_SIMULATIONS = [
    s for s, c in config["simulations"].items() if c["kind"] != "genome"
]
GENOME_SIMULATIONS = [s for s in config["simulations"] if s not in SEQSET_SIMULATIONS]


def one_of(names):
    """A wildcard regex matching exactly these names (and nothing when there are none)."""
    return "|".join(map(re.escape, names)) if names else "(?!)"


wildcard_constraints:
    dataset="[A-Za-z0-9_-]+",
    simulation="[A-Za-z0-9_-]+",
    split="train|valid|test",
    task="[A-Za-z0-9_.-]+",
    model="[A-Za-z0-9_.-]+",


for _name, _ds in config["datasets"].items():
    for _model in _ds["models"]:
        if _model not in config["models"]:
            raise ConfigError(
                f"config key datasets.{_name}.models lists {_model!r}, which is neither "
                "defined under models: nor a sweep (defined: "
                f"{', '.join(config['models']) or 'none'}; "
                f"sweeps: {', '.join(SWEEPS) or 'none'})"
            )
    if _name in GENOME_DATASETS:
        if _ds["alphabet"] not in ("auto", "dna"):
            raise ConfigError(
                f"config key datasets.{_name}.alphabet is {_ds['alphabet']!r}, but a genome "
                "dataset is DNA; give RNA or protein data as a sequence set (sequences: + labels:)"
            )
        _ds["alphabet"] = "dna"


# Keys of a dataset that are not about its data: changing them must not rebuild the cache.
MODEL_KEYS = ("models", "baseline_motifs", "truth", "reference")


def is_seqset(dataset):
    return dataset in SEQSET_DATASETS


# Keys that only one kind of dataset reads: the other kind's defaults are left out of its
# params, so that they never trigger a rerun.
SEQSET_ONLY_KEYS = (
    "sequences",
    "labels",
    "id_column",
    "label_columns",
    "position_label",
    "position_classes",
    "fractions",
    "max_len",
    "too_long",
    "dedupe",
    "missing_labels",
)
GENOME_ONLY_KEYS = (
    "genome",
    "tasks",
    "negatives",
    "negative_ratio",
    "blacklist",
    "seq_len",
    "max_n_fraction",
    "strict",
    "split",
    "chrom_aliases",
    "label_overlap",
)


def dataset_config(wildcards):
    """The data part of one dataset's (schema-validated, defaults filled) config."""
    ds = config["datasets"][wildcards.dataset]
    other = GENOME_ONLY_KEYS if is_seqset(wildcards.dataset) else SEQSET_ONLY_KEYS
    return {k: v for k, v in ds.items() if k not in MODEL_KEYS and k not in other}


def baseline_config(wildcards):
    ds = config["datasets"][wildcards.dataset]
    return {"seed": ds["seed"], "baseline_motifs": ds["baseline_motifs"]}


def simulation_config(wildcards):
    """A simulation's settings: a genome's keys, or a sequence set's kind, params and seed."""
    sim = config["simulations"][wildcards.simulation]
    if sim["kind"] == "genome":
        return {k: v for k, v in sim.items() if k not in ("kind", "params")}
    return {"kind": sim["kind"], "params": sim["params"], "seed": sim["seed"]}


def genome_fasta(wildcards):
    return dataset_config(wildcards)["genome"]


def seqset_fasta(wildcards):
    return dataset_config(wildcards)["sequences"]


def seqset_labels(wildcards):
    return dataset_config(wildcards)["labels"]


def task_names(wildcards):
    return list(dataset_config(wildcards)["tasks"])


def task_peak_files(wildcards):
    return list(dataset_config(wildcards)["tasks"].values())


def blacklist_file(wildcards):
    path = dataset_config(wildcards)["blacklist"]
    return [path] if path else []


def chrom_alias_file(wildcards):
    """The dataset's ``chrom_aliases`` file (BED chromosome names → the genome's), if any."""
    path = dataset_config(wildcards).get("chrom_aliases")
    return [path] if path else []


def user_negative_file(wildcards):
    """The user's negative BED, when ``negatives`` is a path rather than a method."""
    neg = dataset_config(wildcards)["negatives"]
    return [] if neg in ("gc_matched", "dinuc_shuffle") else [neg]


def _shape(path):
    import numpy as np

    return tuple(np.load(path, mmap_mode="r").shape)


def _mem(rule, n, seq_len, floor_mb, **kwargs):
    """seqcnn.resources' estimate with a 1.5x margin; the floor where it cannot run (a
    Snakemake without numpy/torch on a cluster head node)."""
    try:
        from seqcnn.resources import estimate_mem_mb

        return max(floor_mb, int(1.5 * estimate_mem_mb(rule, n, seq_len, **kwargs)))
    except ImportError:
        return floor_mb


def cache_mem_mb(wildcards, input):
    """build_cache streams: memory is flat in the number of regions (one chunk, one
    chromosome)."""
    from seqcnn.genome import read_fai

    ds = dataset_config(wildcards)
    largest = int(read_fai(input.fai)["length"].max())
    return _mem(
        "build_cache",
        0,
        ds["seq_len"],
        1000,
        chunk_size=ds["chunk_size"],
        largest_chrom=largest,
        n_tasks=len(ds["tasks"]),
    )


def cache_disk_mb(wildcards, input):
    """The one-hot and labels arrays of one split, MB."""
    from seqcnn.resources import cache_bytes, count_lines

    ds = dataset_config(wildcards)
    n = count_lines(input.regions, data_only=True)
    return 1 + cache_bytes(n, ds["seq_len"], 4, len(ds["tasks"]), headers=True) // 10**6


def train_mem_mb(wildcards, input):
    n, alphabet, seq_len = _shape(input.train_onehot)
    cfg = {k: v for k, v in model_config(wildcards).items() if k != "padding"}
    return _mem(
        "train_model",
        n,
        seq_len,
        2000,
        alphabet_size=alphabet,
        model_config=cfg,
        batch_size=config["train"]["batch_size"],
        n_valid=_shape(input.valid_onehot)[0],
        n_tasks=_shape(input.train_labels)[1],
    )


def train_runtime(wildcards, input):
    """Minutes: every epoch at a pessimistic CPU rate (1e5 positions per second), at least
    one hour; a cluster's GPU is far faster, so this is a limit, not a forecast."""
    n, _, seq_len = _shape(input.train_onehot)
    seconds = config["train"]["epochs"] * n * seq_len / 1e5
    return max(60, int(seconds / 60) + 30)


def train_gpus(wildcards):
    """GPUs of one training job: train.gpus processes under torchrun, else one."""
    return max(1, config["train"]["gpus"])


def eval_mem_mb(wildcards, input):
    n, alphabet, seq_len = _shape(input.test_onehot)
    return _mem(
        "evaluate_model",
        n,
        seq_len,
        2000,
        alphabet_size=alphabet,
        n_tasks=_shape(input.test_labels)[1],
    )


def interpret_mem_mb(wildcards, input):
    n, alphabet, seq_len = _shape(input.test_onehot)
    return _mem(
        "interpret",
        n,
        seq_len,
        2000,
        alphabet_size=alphabet,
        n_tasks=_shape(input.test_labels)[1],
        n_top=config["interpret"]["n_top"],
        n_shuffles=config["interpret"]["n_shuffles"],
    )


_RESOLVED_MODELS = {}


def model_config(wildcards):
    """The config of one model of the zoo (``models.<name>``). ``fixed_motifs: {ids: [...],
    release: ...}`` becomes ``fixed_filters``: the JASPAR matrices as log-odds, both strands
    (seqcnn.jaspar.motif_filters), which the model takes as untrained stem filters."""
    name = wildcards.model
    if name not in _RESOLVED_MODELS:
        cfg = dict(config["models"][name])
        spec = cfg.pop("fixed_motifs", None)
        if spec is not None:
            from seqcnn.jaspar import motif_filters

            filters = motif_filters(spec["ids"], spec.get("release", "JASPAR2024"))
            cfg["fixed_filters"] = filters.tolist()
        _RESOLVED_MODELS[name] = cfg
    return _RESOLVED_MODELS[name]


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


def cache_kinds(dataset):
    """The arrays of one split in the cache: sequence sets add their lengths."""
    return (
        ["onehot", "labels", "lengths"] if is_seqset(dataset) else ["onehot", "labels"]
    )


def split_inputs(wildcards, splits):
    """Named cache arrays of ``splits`` (``train_onehot``, ``train_lengths``, ...) and the
    manifest."""
    d = wildcards.dataset
    out = {
        f"{split}_{kind}": f"{RESULTS}/{d}/cache/{split}.{kind}.npy"
        for split in splits
        for kind in cache_kinds(d)
    }
    out["manifest"] = f"{RESULTS}/{d}/cache/manifest.json"
    return out


def train_inputs(wildcards):
    return split_inputs(wildcards, ["train", "valid"])


def interpret_inputs(wildcards):
    return split_inputs(wildcards, ["valid", "test"])


def seqset_eval_inputs(wildcards):
    out = split_inputs(wildcards, ["test"])
    out["ids"] = f"{RESULTS}/{wildcards.dataset}/cache/test.ids.tsv"
    return out


def seqset_simulation_files(simulation):
    return {
        "sequences": f"{SIMULATED}/{simulation}/sequences.fa.gz",
        "labels": f"{SIMULATED}/{simulation}/labels.tsv",
        "truth": f"{SIMULATED}/{simulation}/truth.tsv",
    }


def reference_config(wildcards):
    return config["datasets"][wildcards.dataset].get("reference")


def reference_inputs(wildcards):
    """What a preset's published-versus-measured table reads, per model."""
    d, models = wildcards.dataset, dataset_models(wildcards)
    out = {
        "summaries": model_files(d, models, "model.json"),
        "metrics": model_files(d, models, "eval/metrics.tsv"),
        "filters_json": model_files(d, models, "interpret/filters.json"),
        "tomtom": model_files(d, models, "interpret/tomtom.tsv"),
        "checkpoints": model_files(d, models, "model.pt"),
        "manifest": f"{RESULTS}/{d}/cache/manifest.json",
    }
    if is_seqset(d):
        out["accuracy"] = model_files(d, models, "eval/accuracy.tsv")
    return out


def reference_outputs(dataset):
    """The reference table and figure, for datasets that carry a ``reference:``."""
    if not config["datasets"][dataset].get("reference"):
        return {}
    return {
        "reference_table": f"{RESULTS}/{dataset}/reference/comparison.tsv",
        "reference_figure": f"{RESULTS}/{dataset}/reference/comparison.png",
    }


def seqset_report_inputs(wildcards):
    """Everything the report page of a sequence set reads."""
    d, models = wildcards.dataset, dataset_models(wildcards)
    return {
        "manifest": f"{RESULTS}/{d}/cache/manifest.json",
        "lengths_plot": f"{RESULTS}/{d}/cache/lengths.png",
        "summaries": model_files(d, models, "model.json"),
        "metrics": model_files(d, models, "eval/metrics.tsv"),
        "accuracy": model_files(d, models, "eval/accuracy.tsv"),
        "curves": model_files(d, models, "train_curves.png"),
        "filters": model_files(d, models, "interpret/filters.tsv"),
        "filters_json": model_files(d, models, "interpret/filters.json"),
        "filter_logos": model_files(d, models, "interpret/filter_logos.png"),
        "periods": model_files(d, models, "interpret/periods.png"),
        # two figures per model, in model order
        "eval_figures": [
            f"{RESULTS}/{d}/{m}/eval/{fig}.png"
            for m in models
            for fig in SEQSET_EVAL_FIGURES
        ],
        "template": SEQSET_REPORT_TEMPLATE,
        **reference_outputs(d),
    }


def report_inputs(wildcards):
    """Everything the report page of a genome dataset reads."""
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
        "template": REPORT_TEMPLATE,
        **reference_outputs(d),
    }


def cache_files(dataset):
    return expand(
        f"{RESULTS}/{dataset}/cache/{{split}}.{{kind}}.npy",
        split=SPLITS,
        kind=cache_kinds(dataset),
    ) + [f"{RESULTS}/{dataset}/cache/manifest.json"]


def all_outputs():
    """Every public output of every dataset in the config."""
    out = []
    for dataset in config["datasets"]:
        models = config["datasets"][dataset]["models"]
        out += cache_files(dataset)
        out += model_files(dataset, models, "eval/metrics.tsv")
        if is_seqset(dataset):
            out += model_files(dataset, models, "interpret/filters.tsv")
        else:
            out += expand(f"{RESULTS}/{dataset}/regions/{{split}}.bed", split=SPLITS)
            out += model_files(dataset, models, "interpret/motifs.tsv")
        out.append(f"{RESULTS}/{dataset}/report.html")
    return out
