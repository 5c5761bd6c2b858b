# Paths, wildcard constraints, input functions, params and resource functions. The config
# is resolved before this file is read (the Snakefile: seqcnn.workflow.config.resolve).

import os
import re

from seqcnn.data import SPLITS
from seqcnn.workflow.config import (
    dataset_config as _dataset_config,
    genome_datasets,
    genome_simulations,
    is_seqset as _is_seqset,
    seqset_datasets,
    seqset_simulations,
    simulation_config as _simulation_config,
)

RESULTS = config["results"]
EVAL_FIGURES = ["curves", "scores", "by_chrom"]
SEQSET_EVAL_FIGURES = ["curves", "scores"]
REPORT_TEMPLATE = f"{workflow.basedir}/report/dataset.html.j2"
SEQSET_REPORT_TEMPLATE = f"{workflow.basedir}/report/seqset.html.j2"
BASE_REPORT_TEMPLATE = f"{workflow.basedir}/report/base.html.j2"
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


# Two kinds of dataset: intervals on a genome (genome + tasks) and sequence sets
# (sequences + labels). Rules that differ between them are constrained to one kind.
SEQSET_DATASETS = seqset_datasets(config)
GENOME_DATASETS = genome_datasets(config)
SEQSET_SIMULATIONS = seqset_simulations(config)
GENOME_SIMULATIONS = genome_simulations(config)
PROMOTER_SETS = list(config.get("promoters", {}))


def variant_sets(dataset):
    """The names of a genome dataset's variant sets (``variants:``), in config order."""
    return list(config["datasets"][dataset].get("variants") or {})


VARIANT_SETS = sorted({n for d in GENOME_DATASETS for n in variant_sets(d)})


def one_of(names):
    """A wildcard regex matching exactly these names (and nothing when there are none)."""
    return "|".join(map(re.escape, names)) if names else "(?!)"


wildcard_constraints:
    dataset="[A-Za-z0-9_-]+",
    simulation="[A-Za-z0-9_-]+",
    split="train|valid|test",
    task="[A-Za-z0-9_.-]+",
    model="[A-Za-z0-9_.-]+",


def is_seqset(dataset):
    return _is_seqset(config["datasets"][dataset])


def dataset_config(wildcards):
    """The data part of one dataset's resolved config (no model keys, no other kind's)."""
    return _dataset_config(config, wildcards.dataset)


def baseline_config(wildcards):
    ds = config["datasets"][wildcards.dataset]
    return {"seed": ds["seed"], "baseline_motifs": ds["baseline_motifs"]}


def simulation_config(wildcards):
    """A simulation's settings: a genome's keys, or a sequence set's kind, params and seed."""
    return _simulation_config(config, wildcards.simulation)


def promoter_config(wildcards):
    """A promoter set's settings (``promoters:`` in the config; rules/real.smk)."""
    return config["promoters"][wildcards.promoter_set]


def extract_promoters_mem_mb(wildcards):
    """The annotation's gene rows and one chromosome's windows: small; 2 GB is ample."""
    return 2000


def simulation_variant_regions(wildcards):
    """Where a genome simulation puts its variants: its ``variants.regions``, else the
    test split of the datasets on its genome (None: everywhere, if none has one)."""
    sim = config["simulations"][wildcards.simulation]
    given = sim.get("variants", {}).get("regions")
    if given is not None:
        return list(given)
    genome = os.path.normpath(simulated_path(wildcards.simulation, "genome.fa"))
    test = []
    for ds in config["datasets"].values():
        split = ds.get("split")
        if os.path.normpath(ds.get("genome", "")) == genome and isinstance(split, dict):
            test += [t for t in split["test"] if t not in test]
    return test or None


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
    """seqcnn.workflow.resources' estimate with a 1.5x margin; the floor where it cannot run (a
    Snakemake without numpy/torch on a cluster head node)."""
    try:
        from seqcnn.workflow.resources import estimate_mem_mb

        return max(floor_mb, int(1.5 * estimate_mem_mb(rule, n, seq_len, **kwargs)))
    except ImportError:
        return floor_mb


# Resource functions, named after the rule they serve.


def build_cache_mem_mb(wildcards, input):
    """build_cache streams: memory is flat in the number of regions (one chunk, one
    chromosome)."""
    from seqcnn.data.genome import read_fai

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


def build_cache_disk_mb(wildcards, input):
    """The one-hot and labels arrays of one split, MB."""
    from seqcnn.workflow.resources import cache_bytes, count_lines

    ds = dataset_config(wildcards)
    n = count_lines(input.regions, data_only=True)
    return 1 + cache_bytes(n, ds["seq_len"], 4, len(ds["tasks"]), headers=True) // 10**6


def train_model_mem_mb(wildcards, input):
    n, alphabet, seq_len = _shape(input.train_onehot)
    cfg = {k: v for k, v in model_config(wildcards).items() if k != "padding"}
    return _mem(
        "train_model",
        n,
        seq_len,
        2000,
        alphabet_size=alphabet,
        model_config=cfg,
        batch_size=train_config(wildcards)["batch_size"],
        n_valid=_shape(input.valid_onehot)[0],
        n_tasks=_shape(input.train_labels)[1],
    )


def train_model_runtime(wildcards, input):
    """Minutes: every epoch at a pessimistic CPU rate (1e5 positions per second), at least
    one hour; a cluster's GPU is far faster, so this is a limit, not a forecast."""
    n, _, seq_len = _shape(input.train_onehot)
    seconds = train_config(wildcards)["epochs"] * n * seq_len / 1e5
    return max(60, int(seconds / 60) + 30)


def train_model_gpus(wildcards):
    """GPUs of one training job: train.gpus processes under torchrun, else one."""
    return max(1, train_config(wildcards)["gpus"])


def _test_pass_mem_mb(input):
    """One forward pass over the test split (seqcnn.workflow.resources' evaluate_model estimate)."""
    n, alphabet, seq_len = _shape(input.test_onehot)
    return _mem(
        "evaluate_model",
        n,
        seq_len,
        2000,
        alphabet_size=alphabet,
        n_tasks=_shape(input.test_labels)[1],
    )


def evaluate_model_mem_mb(wildcards, input):
    """evaluate_model: test predictions and their tables (either kind)."""
    return _test_pass_mem_mb(input)


def interpret_filters_mem_mb(wildcards, input):
    """interpret_filters: first-layer activations over the test split."""
    return _test_pass_mem_mb(input)


def attribute_sequences_mem_mb(wildcards, input):
    n, alphabet, seq_len = _shape(input.test_onehot)
    return _mem(
        "interpret",
        n,
        seq_len,
        2000,
        alphabet_size=alphabet,
        n_tasks=_shape(input.test_labels)[1],
        n_top=interpret_config(wildcards)["n_top"],
        n_shuffles=interpret_config(wildcards)["n_shuffles"],
    )


def score_variants_mem_mb(wildcards, input):
    """score_variants streams: one chunk of windows (ref, alt, both strands, float32 and
    the model's activations) and the chromosome being read, whatever the number of
    variants."""
    from seqcnn.data.genome import read_fai

    ds = config["datasets"][wildcards.dataset]
    opts = ds["variants_options"]
    largest = int(read_fai(input.fai)["length"].max())
    window = 4 * ds["seq_len"]
    chunk = opts["chunk_size"] * 2 * window * (1 + 4)  # uint8 one-hot + float32 copies
    batch = opts["batch_size"] * window * 4 * 64  # activations of up to 64 channels
    return int(1.5 * (800e6 + largest + chunk + batch) / 1e6)


def variants_file(wildcards):
    """The VCF of one variant set of a dataset (``datasets.<d>.variants.<name>``)."""
    return config["datasets"][wildcards.dataset]["variants"][wildcards.name]


def variants_config(wildcards):
    """What score_variants reads: the dataset's variants_options and the motif database."""
    it = interpret_config(wildcards)
    return {
        **config["datasets"][wildcards.dataset]["variants_options"],
        "motif_db": {
            "release": it["release"],
            "collection": it["collection"],
            "tax_group": it["tax_group"],
            "max_q": it["max_q"],
        },
    }


def variant_files(dataset, models, pattern):
    """``pattern`` (e.g. ``{name}.tsv.gz``) of every variant set of every model."""
    return [
        results_path(dataset, model, "variants", pattern.format(name=name))
        for model in models
        for name in variant_sets(dataset)
    ]


# The names rules/sequences.smk and rules/evaluate.smk still use (being reworked in the same
# issue): delete these three lines when those rules use the names above.
cache_mem_mb = build_cache_mem_mb
cache_disk_mb = build_cache_disk_mb
eval_mem_mb = evaluate_model_mem_mb


def model_config(wildcards):
    """The config of one model of the zoo (``models.<name>``), ``fixed_motifs`` resolved
    into ``fixed_filters`` (seqcnn.workflow.config.resolve_model)."""
    return config["models"][wildcards.model]


def train_config(wildcards):
    """The dataset's training options: top-level ``train:`` with its own ``train:`` over it
    (seqcnn.workflow.config.dataset_options)."""
    return config["datasets"][wildcards.dataset]["train"]


def train_device(wildcards):
    return train_config(wildcards)["device"]


def evaluate_config(wildcards):
    return {**config["evaluate"], "seed": train_config(wildcards)["seed"]}


def interpret_config(wildcards):
    """The dataset's interpretation options: top-level ``interpret:`` with its own
    ``interpret:`` over it (seqcnn.workflow.config.dataset_options)."""
    return config["datasets"][wildcards.dataset]["interpret"]


def interpret_release(wildcards):
    return interpret_config(wildcards)["release"]


def truth_table(wildcards):
    """The planted-motif truth table of a simulated dataset, if the config names one."""
    path = config["datasets"][wildcards.dataset]["truth"]
    return [path] if path else []


def dataset_models(wildcards):
    return list(config["datasets"][wildcards.dataset]["models"])


def model_files(dataset, models, pattern):
    return [results_path(dataset, model, pattern) for model in models]


def cache_kinds(dataset):
    """The arrays of one split in the cache: sequence sets add their lengths."""
    return (
        ["onehot", "labels", "lengths"] if is_seqset(dataset) else ["onehot", "labels"]
    )


def split_inputs(wildcards, splits):
    """Named cache files of ``splits`` (``train_onehot``, ``train_lengths``, ``train_ids``,
    ...) and the manifest: what seqcnn.data.cache.load_split reads. Scripts read the cache
    through load_split, from the manifest's folder."""
    d = wildcards.dataset
    out = {
        f"{split}_{kind}": results_path(d, f"cache/{split}.{kind}.npy")
        for split in splits
        for kind in cache_kinds(d)
    }
    for split in splits:
        out[f"{split}_ids"] = results_path(d, f"cache/{split}.ids.tsv")
    out["manifest"] = results_path(d, "cache/manifest.json")
    return out


def train_inputs(wildcards):
    return split_inputs(wildcards, ["train", "valid"])


def interpret_inputs(wildcards):
    return split_inputs(wildcards, ["valid", "test"])


def test_split_inputs(wildcards):
    """The test split of the cache (either kind) and the manifest."""
    return split_inputs(wildcards, ["test"])


def train_baselines_inputs(wildcards):
    """Every split of a genome dataset's cache: the baselines fit, select and score."""
    return split_inputs(wildcards, SPLITS)


def eval_inputs(wildcards):
    """The test split of the cache with its ids; a genome dataset's baseline scores. A
    sequence set's every split: a regression set's k-mer ridge baseline is fitted on train
    and valid by evaluate_model (the label type is known only once the cache is built).
    """
    d = wildcards.dataset
    if is_seqset(d):
        return split_inputs(wildcards, SPLITS)
    out = test_split_inputs(wildcards)
    out["baselines"] = results_path(d, "baselines/test_scores.npz")
    return out


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
        "manifest": results_path(d, "cache/manifest.json"),
    }
    if is_seqset(d):
        out["accuracy"] = model_files(d, models, "eval/accuracy.tsv")
    return out


def reference_outputs(dataset):
    """The reference table and figure, for datasets that carry a ``reference:``."""
    if not config["datasets"][dataset].get("reference"):
        return {}
    return {
        "reference_table": results_path(dataset, "reference/comparison.tsv"),
        "reference_figure": results_path(dataset, "reference/comparison.png"),
    }


def report_inputs(wildcards):
    """Everything the report page of a dataset reads: the common part and its kind's."""
    d, models = wildcards.dataset, dataset_models(wildcards)
    if d in TRACK_DATASETS:
        return track_report_inputs(d, models)
    seqset = is_seqset(d)
    figures = SEQSET_EVAL_FIGURES if seqset else EVAL_FIGURES
    out = {
        "manifest": results_path(d, "cache/manifest.json"),
        "summaries": model_files(d, models, "model.json"),
        "metrics": model_files(d, models, "eval/metrics.tsv"),
        "accuracy": model_files(d, models, "eval/accuracy.tsv"),
        "curves": model_files(d, models, "train_curves.png"),
        "filters": model_files(d, models, "interpret/filters.tsv"),
        "filters_json": model_files(d, models, "interpret/filters.json"),
        "filter_logos": model_files(d, models, "interpret/filter_logos.png"),
        "eval_figures": [
            results_path(d, m, f"eval/{fig}.png") for m in models for fig in figures
        ],
        "template": SEQSET_REPORT_TEMPLATE if seqset else REPORT_TEMPLATE,
        "base_template": BASE_REPORT_TEMPLATE,
        **reference_outputs(d),
        "design_summary": design_files(d, "{name}.json"),
        "design_trajectory": design_files(d, "{name}.trajectory.png"),
        "design_windows": design_files(d, "{name}.windows.png"),
        **report_selection_inputs(d),
    }
    if seqset:
        out["lengths_plot"] = results_path(d, "cache/lengths.png")
        out["periods"] = model_files(d, models, "interpret/periods.png")
    else:
        out["positives"] = results_path(d, "regions/positives.json")
        out["negatives"] = results_path(d, "regions/negatives.json")
        out["gc_plot"] = results_path(d, "regions/gc.png")
        out["motifs"] = model_files(d, models, "interpret/motifs.tsv")
        out["paired"] = model_files(d, models, "eval/vs_baselines.tsv")
        out["attribution_auroc"] = model_files(
            d, models, "interpret/attribution_auroc.tsv"
        )
        out["modisco_logos"] = model_files(d, models, "interpret/modisco_logos.png")
        out["variants_summary"] = variant_files(d, models, "{name}.json")
        out["variants_top"] = variant_files(d, models, "{name}.top.tsv")
        out["variants_panel"] = variant_files(d, models, "{name}.top.png")
    return out


def cache_files(dataset):
    return expand(
        results_path(dataset, "cache/{split}.{kind}.npy"),
        split=SPLITS,
        kind=cache_kinds(dataset) + track_signals(dataset),
    ) + [results_path(dataset, "cache/manifest.json")]


# --------------------------------------------------------------------------- tracks

# Genome datasets with ``tracks:`` (bigWig signal): their cache adds {split}.targets.npy.
TRACK_DATASETS = [d for d in GENOME_DATASETS if config["datasets"][d].get("tracks")]


def track_signals(dataset):
    """The track arrays of a dataset's cache: targets, and controls when it has some."""
    if dataset not in TRACK_DATASETS:
        return []
    ds = config["datasets"][dataset]
    return ["targets", "controls"] if ds.get("controls") else ["targets"]


def track_bigwigs(wildcards):
    """The bigWigs extract_track_targets reads: the tracks, or the controls."""
    ds = dataset_config(wildcards)
    return list(ds["tracks" if wildcards.signal == "targets" else "controls"].values())


def track_stats_files(wildcards):
    """The {split}.targets.json (and .controls.json) write_manifest gathers; none for a
    dataset without tracks."""
    return expand(
        results_path(wildcards.dataset, "cache/{split}.{signal}.json"),
        split=SPLITS,
        signal=track_signals(wildcards.dataset),
    )


def extract_track_targets_mem_mb(wildcards, input):
    """One chunk of regions: the cropped float32 signal of every track, the targets and
    pyBigWig's buffers; flat in the number of regions."""
    ds = dataset_config(wildcards)
    tracks = max(len(ds.get("tracks") or {}), len(ds.get("controls") or {}))
    chunk = ds["chunk_size"] * tracks * ds["seq_len"] * 4 * 3
    return int(1.5 * (500e6 + chunk) / 1e6)


def track_split_inputs(wildcards, splits):
    """The cache files of ``splits`` (split_inputs) and their track targets
    (``train_targets``, ...): what load_tracks reads beside load_split."""
    out = split_inputs(wildcards, splits)
    for split in splits:
        out[f"{split}_targets"] = results_path(
            wildcards.dataset, f"cache/{split}.targets.npy"
        )
    return out


def train_track_inputs(wildcards):
    return track_split_inputs(wildcards, ["train", "valid"])


def evaluate_track_inputs(wildcards):
    """The test split and its targets; the train split's targets and labels for the
    average-profile baseline."""
    return track_split_inputs(wildcards, ["train", "test"])


def _npy_mb(path):
    return os.path.getsize(path) / 1e6 if os.path.exists(path) else 0


def train_track_model_mem_mb(wildcards, input):
    """train_model's estimate plus the training and validation targets, held in memory
    twice (the count-loss weight reads the training targets whole)."""
    n, alphabet, seq_len = _shape(input.train_onehot)
    head = ("padding", "profile_kernel", "rate")  # the trunk decides the activations
    trunk = {k: v for k, v in model_config(wildcards).items() if k not in head}
    base = _mem(
        "train_model",
        n,
        seq_len,
        2000,
        alphabet_size=alphabet,
        model_config=trunk,
        batch_size=train_config(wildcards)["batch_size"],
        n_valid=_shape(input.valid_onehot)[0],
        n_tasks=_shape(input.train_labels)[1],
    )
    extra = 2 * (_npy_mb(input.train_targets) + _npy_mb(input.valid_targets))
    return int(base + extra)


def evaluate_track_model_mem_mb(wildcards, input):
    """One test pass, the test targets as float64 with the predicted profiles, shuffled
    and baseline profiles (about 6 copies), and the training targets read in chunks."""
    return int(_test_pass_mem_mb(input) + 6 * 2 * _npy_mb(input.test_targets))


def track_report_inputs(dataset, models):
    """What a track dataset's report page reads: the genome data part, and per model its
    summary, training curves, metrics and the two track figures."""
    return {
        "manifest": results_path(dataset, "cache/manifest.json"),
        "summaries": model_files(dataset, models, "model.json"),
        "metrics": model_files(dataset, models, "eval/metrics.tsv"),
        "curves": model_files(dataset, models, "train_curves.png"),
        "eval_figures": [
            results_path(dataset, m, f"eval/{fig}.png")
            for m in models
            for fig in ("count_scatter", "profiles")
        ],
        "template": f"{workflow.basedir}/report/tracks.html.j2",
        "dataset_template": REPORT_TEMPLATE,
        "base_template": BASE_REPORT_TEMPLATE,
        "positives": results_path(dataset, "regions/positives.json"),
        "negatives": results_path(dataset, "regions/negatives.json"),
        "gc_plot": results_path(dataset, "regions/gc.png"),
    }


def track_model_files(dataset, models):
    """The evaluation outputs of a track dataset's models."""
    return [
        results_path(dataset, m, f"eval/{name}")
        for m in models
        for name in ("metrics.tsv", "count_scatter.png", "profiles.png")
    ]


def simulation_tracks_config(wildcards):
    """simulate_tracks' settings: the simulation's ``tracks:`` (defaults when absent), its
    JASPAR release and seed."""
    sim = config["simulations"][wildcards.simulation]
    return {
        "params": {"release": sim["release"], **(sim.get("tracks") or {})},
        "seed": sim["seed"],
    }


def all_outputs():
    """Every public output of every dataset in the config."""
    out = []
    for dataset in config["datasets"]:
        models = config["datasets"][dataset]["models"]
        out += cache_files(dataset)
        out += model_files(dataset, models, "eval/metrics.tsv")
        if dataset in TRACK_DATASETS:  # track models: eval, motifs, report
            out += expand(results_path(dataset, "regions/{split}.bed"), split=SPLITS)
            out += track_model_files(dataset, models)
            out += model_files(dataset, models, "interpret/motifs.tsv")
            out.append(results_path(dataset, "report.html"))
            continue
        if is_seqset(dataset):
            out += model_files(dataset, models, "interpret/filters.tsv")
        else:
            out += expand(results_path(dataset, "regions/{split}.bed"), split=SPLITS)
            out += model_files(dataset, models, "interpret/motifs.tsv")
            out += variant_files(dataset, models, "{name}.tsv.gz")
        out += design_files(dataset, "{name}.check.tsv")
        out.append(results_path(dataset, "report.html"))
    return out


# --------------------------------------------------------------------------- design


def design_names(dataset):
    """The names of a dataset's designs (``design:``), in config order."""
    return list(config["datasets"][dataset].get("design") or {})


DESIGN_NAMES = sorted({n for d in config["datasets"] for n in design_names(d)})


def design_config(wildcards):
    """One design's settings, the dataset's baseline_motifs, evaluate.rc_average, and the motif
    database that names the edited windows."""
    ds = config["datasets"][wildcards.dataset]
    it = interpret_config(wildcards)
    return {
        **ds["design"][wildcards.name],
        "baseline_motifs": ds.get("baseline_motifs", []),
        "rc_average": config["evaluate"]["rc_average"],
        "motif_db": {
            "release": it["release"],
            "collection": it["collection"],
            "tax_group": it["tax_group"],
            "max_q": it["max_q"],
        },
    }


def design_sequences_inputs(wildcards):
    """The guiding model, the check model (if any), the train split (composition of random
    starts), the test split (test_negatives), a start FASTA, the truth table."""
    dataset = wildcards.dataset
    d = config["datasets"][dataset]["design"][wildcards.name]
    out = split_inputs(wildcards, ["train", "test"])
    out["model"] = results_path(dataset, wildcards.model, "model.pt")
    if d["check_model"]:
        out["check_model"] = results_path(dataset, d["check_model"], "model.pt")
    if d["start"] not in ("random", "test_negatives"):
        out["start_fasta"] = d["start"]
    out["truth"] = truth_table(wildcards)
    return out


def design_sequences_mem_mb(wildcards, input):
    """Candidates of one round: n × beam × alphabet × length mutants (float64 scores per
    task) and the model's activations of one batch."""
    d = config["datasets"][wildcards.dataset]["design"][wildcards.name]
    n, alphabet, seq_len = _shape(input.test_onehot)
    cand = d["n"] * d["beam"] * alphabet * seq_len * 8 * 6
    batch = d["batch_size"] * 8 * seq_len * 4 * 64 * 4
    return int(1.5 * (1000e6 + cand + batch) / 1e6)


def design_files(dataset, pattern):
    """``pattern`` (e.g. ``{name}.fa``) of every design of a dataset, under its guiding
    model."""
    ds = config["datasets"][dataset]
    return [
        results_path(dataset, d["model"], "design", pattern.format(name=name))
        for name, d in (ds.get("design") or {}).items()
    ]


def simulate_tracks_mem_mb(wildcards, input):
    """The genome as text and codes, and a float64 rate plus counts per bp: about 40
    bytes per bp."""
    size = os.path.getsize(input.genome) if os.path.exists(input.genome) else 0
    return int(1.5 * (500e6 + 40 * size) / 1e6)


# --------------------------------------------------------------------------- ensembles, portfolios

from seqcnn.models.ensemble import (
    member_fold as _member_fold,
    member_model_config as _member_model_config,
    member_train_config as _member_train_config,
)
from seqcnn.workflow.portfolio import ensemble_models, selection_inputs

# Models with ``ensemble: {members: k}``: k members trained as jobs, then combined.
ENSEMBLE_MODELS = ensemble_models(config["models"], config["datasets"], PORTFOLIOS)


def ensemble_size(model):
    return int(config["models"][model]["ensemble"]["members"])


def member_model_config(wildcards):
    """An ensemble member's model options (the ensemble's, without ``ensemble``)."""
    return _member_model_config(config["models"][wildcards.model])


def member_train_config(wildcards):
    """An ensemble member's training options: seed ``train.seed + member``."""
    vary = config["models"][wildcards.model]["ensemble"].get("vary", "seed")
    return _member_train_config(train_config(wildcards), int(wildcards.member), vary)


def member_fold(wildcards):
    """``vary: fold``: the fold the member chooses its epoch on (``{k, held_out}``); else
    None."""
    return _member_fold(
        config["models"][wildcards.model]["ensemble"], int(wildcards.member)
    )


def ensemble_fold(wildcards):
    """``vary: fold``: ``{"k": members}`` (combine_ensemble scores valid out of fold); else
    None."""
    spec = config["models"][wildcards.model]["ensemble"]
    fold = _member_fold(spec, 0)
    return {"k": fold["k"]} if fold else None


def member_files(dataset, model, name):
    """``name`` (e.g. ``model.pt``) of every member of an ensemble."""
    return [
        results_path(dataset, model, "members", str(i), name)
        for i in range(ensemble_size(model))
    ]


def train_member_mem_mb(wildcards, input):
    """As train_model's, for the member's model options."""
    n, alphabet, seq_len = _shape(input.train_onehot)
    n_valid = _shape(input.valid_onehot)[0]
    cfg = {k: v for k, v in member_model_config(wildcards).items() if k != "padding"}
    mem = _mem(
        "train_model",
        n,
        seq_len,
        2000,
        alphabet_size=alphabet,
        model_config=cfg,
        batch_size=train_config(wildcards)["batch_size"],
        n_valid=n_valid,
        n_tasks=_shape(input.train_labels)[1],
    )
    # vary: fold copies the pooled train and valid rows into memory (uint8)
    pooled_mb = (
        (n + n_valid) * alphabet * seq_len / 1e6 if member_fold(wildcards) else 0
    )
    return mem + int(1.5 * pooled_mb)


def train_member_runtime(wildcards, input):
    return train_model_runtime(wildcards, input)


def combine_ensemble_inputs(wildcards):
    """The members' weights, summaries and logs, and the valid split (the ensemble's own
    validation metrics, which model choice reads)."""
    d, m = wildcards.dataset, wildcards.model
    # vary: fold scores every pooled train and valid row out of fold
    splits = ["train", "valid"] if ensemble_fold(wildcards) else ["valid"]
    return {
        **split_inputs(wildcards, splits),
        "members": member_files(d, m, "model.pt"),
        "summaries": member_files(d, m, "model.json"),
        "train_logs": member_files(d, m, "train_log.tsv"),
    }


def combine_ensemble_mem_mb(wildcards, input):
    """One forward pass over the valid split per member; vary: fold, over one fold of the
    pooled train and valid rows at a time (copied)."""
    n, alphabet, seq_len = _shape(input.valid_onehot)
    fold = ensemble_fold(wildcards)
    if fold:
        n = max(n, 2 * (_shape(input.train_onehot)[0] + n) // fold["k"])
    return _mem(
        "evaluate_model",
        n,
        seq_len,
        2000,
        alphabet_size=alphabet,
        n_tasks=_shape(input.valid_labels)[1],
    )


def evaluate_members_inputs(wildcards):
    """The test split and every member's weights (the spread across members)."""
    d, m = wildcards.dataset, wildcards.model
    return {**test_split_inputs(wildcards), "members": member_files(d, m, "model.pt")}


def evaluate_members_mem_mb(wildcards, input):
    return _test_pass_mem_mb(input)


def portfolio_config(wildcards):
    """A dataset's portfolio: ``{"models": [...], "metric": ...}``."""
    return PORTFOLIOS[wildcards.dataset]


def portfolio_models(dataset):
    return list(PORTFOLIOS[dataset]["models"]) if dataset in PORTFOLIOS else []


def select_model_inputs(wildcards):
    """The portfolio models' training summaries, weights and logs; no test data."""
    d = wildcards.dataset
    return selection_inputs(RESULTS, d, portfolio_models(d))


def report_selection_inputs(dataset):
    """What the report adds for a portfolio (every model's summary and test metrics, the
    choice) and for ensembles (members' test metrics)."""
    portfolio = portfolio_models(dataset)
    out = {}
    if portfolio:
        out["portfolio_summaries"] = model_files(dataset, portfolio, "model.json")
        out["portfolio_metrics"] = model_files(dataset, portfolio, "eval/metrics.tsv")
        if not is_seqset(dataset) and dataset not in TRACK_DATASETS:
            out["portfolio_paired"] = model_files(
                dataset, portfolio, "eval/vs_baselines.tsv"
            )
        out["choice"] = results_path(dataset, "chosen_model.json")
    shown = [
        m
        for m in dict.fromkeys([*config["datasets"][dataset]["models"], *portfolio])
        if m in ENSEMBLE_MODELS
    ]
    if shown:
        out["ensemble_metrics"] = model_files(dataset, shown, "eval/metrics.tsv")
        out["ensemble_members"] = model_files(dataset, shown, "eval/members.tsv")
    return out


def ensemble_report_models(wildcards):
    """The ensembles shown in a dataset's report (its models' and its portfolio's)."""
    d = wildcards.dataset
    return [
        m
        for m in dict.fromkeys([*config["datasets"][d]["models"], *portfolio_models(d)])
        if m in ENSEMBLE_MODELS
    ]


def report_portfolio(wildcards):
    """A dataset's portfolio for its report (None without one)."""
    return PORTFOLIOS.get(wildcards.dataset)
