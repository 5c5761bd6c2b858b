"""Config resolution: what the workflow does with a config before it builds the DAG.

:func:`resolve` takes the config as Snakemake reads it (``config/config.yaml`` or
``--configfile``) and returns the config the rules read:

1. checked against ``config/config.schema.yaml`` (plain messages naming the key), the
   schema's defaults filled;
2. ``sweeps:`` expanded into model variants, and each dataset's ``models`` list with them
   (checked against the schema again: a grid value such as ``pool: maxpool``);
3. every dataset's models defined, else :class:`~seqcnn.errors.ConfigError` naming the key;
4. per kind of dataset (intervals on a genome, or a sequence set): the other kind's keys
   dropped (their defaults must never trigger a rerun), a genome dataset's alphabet ``dna``;
5. ``fixed_motifs: {ids: [...], release: ...}`` of the models that datasets train turned
   into ``fixed_filters`` (:func:`seqcnn.jaspar.motif_filters`, imported only then);
6. every dataset's ``train`` and ``interpret`` made whole: the top-level section with the
   dataset's own keys over it (:func:`dataset_options`), checked like the top level.

Standard library, ``jsonschema`` and ``yaml`` at import time: a cluster head node without
torch or numpy can resolve a config that has no ``fixed_motifs``.
"""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Mapping, Sequence
from typing import Any

from seqcnn.errors import ConfigError
from seqcnn.workflow.config_check import check_config, config_errors, fill_defaults, load_schema
from seqcnn.workflow.sweeps import expand_model_list, expand_sweeps

#: The schema, relative to the workflow's base directory.
SCHEMA = "config/config.schema.yaml"

#: Keys of a dataset that are not about its data: changing them must not rebuild the cache.
MODEL_KEYS = ("models", "baseline_motifs", "truth", "reference", "variants", "variants_options",
              "design", "train", "interpret")

#: Keys that only a sequence set (``sequences:`` + ``labels:``) reads.
SEQSET_ONLY_KEYS = (
    "sequences", "labels", "id_column", "label_columns", "position_label",
    "position_classes", "fractions", "max_len", "too_long", "dedupe", "missing_labels",
    "label_type", "loss",
)
#: Keys that only a genome dataset (``genome:`` + ``tasks:``) reads.
GENOME_ONLY_KEYS = (
    "genome", "tasks", "negatives", "negative_ratio", "blacklist", "seq_len",
    "max_n_fraction", "strict", "split", "chrom_aliases", "label_overlap", "variants",
    "variants_options",
)

#: The JASPAR release of ``fixed_motifs`` when it names none.
DEFAULT_RELEASE = "JASPAR2024"


def resolve(config: Mapping[str, Any], basedir: str | os.PathLike) -> dict[str, Any]:
    """The resolved copy of ``config`` (see the module's docstring); ``basedir`` is the
    workflow's folder (the schema lives in its ``config/``). Raises
    :class:`~seqcnn.errors.ConfigError` naming the key of the first problem found."""
    schema = os.path.join(basedir, SCHEMA)
    out = copy.deepcopy(dict(config))
    check_config(out, schema)
    fill_defaults(out, schema)
    variants = _expand_sweeps(out)
    check_config(out, schema)
    sections = load_schema(schema)["properties"]  # parsed once: about 60 ms a parse
    for name, ds in out["datasets"].items():
        _check_models(name, ds["models"], out["models"], variants)
        _apply_kind(name, ds)
        _check_designs(name, ds)
        for section in DATASET_SECTIONS:
            ds[section] = dataset_options(name, section, out[section], ds.get(section, {}),
                                          sections[section])
    trained = {m for ds in out["datasets"].values() for m in ds["models"]}
    for name in trained:
        out["models"][name] = resolve_model(out["models"][name])
    return out


def _expand_sweeps(config: dict[str, Any]) -> dict[str, list[str]]:
    """Replace ``models`` with models plus sweep variants and each dataset's ``models`` list
    with its sweeps' variants, in place; returns ``{sweep: [variants]}``."""
    config["models"], variants = expand_sweeps(config["models"], config["sweeps"])
    for ds in config["datasets"].values():
        ds["models"] = expand_model_list(ds["models"], variants)
    return variants


def _check_models(dataset: str, names: Sequence[str], models: Mapping[str, Any],
                  variants: Mapping[str, Sequence[str]]) -> None:
    """Raise :class:`ConfigError` for the first of ``names`` that is not a model."""
    for name in names:
        if name not in models:
            raise ConfigError(
                f"config key datasets.{dataset}.models lists {name!r}, which is neither "
                f"defined under models: nor a sweep (defined: {', '.join(models) or 'none'}; "
                f"sweeps: {', '.join(variants) or 'none'})")


def _check_designs(dataset: str, ds: dict[str, Any]) -> None:
    """Fill each design's guiding ``model`` (the first of the dataset's models that is not
    its ``check_model``) and raise :class:`ConfigError` for a model, check model or task
    the dataset does not have (a sequence set's tasks are checked against its manifest)."""
    for name, d in (ds.get("design") or {}).items():
        key = f"datasets.{dataset}.design.{name}"
        for what in ("model", "check_model"):
            if d[what] is not None and d[what] not in ds["models"]:
                raise ConfigError(f"config key {key}.{what} is {d[what]!r}, which is not in "
                                  f"datasets.{dataset}.models ({', '.join(ds['models'])}); "
                                  "add it there so the workflow trains it")
        if d["model"] is None:
            d["model"] = next((m for m in ds["models"] if m != d["check_model"]), None)
        if d["model"] is None or d["model"] == d["check_model"]:
            raise ConfigError(f"config key {key}: the guiding model and check_model must "
                              f"differ; list a second model in datasets.{dataset}.models")
        if d["goal"] == "target" and d["target"] is None:
            raise ConfigError(f"config key {key}.target: goal target needs the wanted "
                              "probability (0 < target < 1)")
        tasks = ds.get("tasks")
        for task in [d["task"], *d["keep_low"]] if tasks else []:
            if task not in tasks:
                raise ConfigError(f"config key {key} names task {task!r}, which is not in "
                                  f"datasets.{dataset}.tasks ({', '.join(tasks)})")


#: Top-level sections that a dataset may override key by key with its own section.
DATASET_SECTIONS = ("train", "interpret")


def dataset_options(name: str, section: str, top: Mapping[str, Any], own: Mapping[str, Any],
                    spec: Mapping[str, Any]) -> dict[str, Any]:
    """Dataset ``name``'s options of ``section`` (``train`` or ``interpret``): the top level's
    (defaults filled) with the dataset's ``own`` keys over it, checked against ``spec``, the
    top-level section's schema. Raises :class:`~seqcnn.errors.ConfigError` naming
    ``datasets.<name>.<section>.<key>``."""
    merged = {**top, **own}
    for key in own:
        if key not in spec["properties"]:
            raise ConfigError(
                f"config key datasets.{name}.{section}.{key}: not an option of {section}:; "
                f"the keys are those of the top-level {section}: "
                f"({', '.join(spec['properties'])})")
    problems = config_errors({"datasets": {name: {section: merged}}},
                             {"properties": {"datasets": {"properties": {
                                 name: {"properties": {section: spec}}}}}})
    if problems:
        raise ConfigError("; ".join(problems) + " (config/README.md explains every key)")
    return merged


def is_seqset(ds: Mapping[str, Any]) -> bool:
    """Whether a dataset's config is a sequence set (``sequences:``) rather than intervals
    on a genome."""
    return "sequences" in ds


def _apply_kind(name: str, ds: dict[str, Any]) -> None:
    """Drop the other kind's keys from one dataset's config, in place; a genome dataset's
    alphabet is DNA."""
    other = GENOME_ONLY_KEYS if is_seqset(ds) else SEQSET_ONLY_KEYS
    for key in other:
        ds.pop(key, None)
    if is_seqset(ds):
        return
    if ds["alphabet"] not in ("auto", "dna"):
        raise ConfigError(
            f"config key datasets.{name}.alphabet is {ds['alphabet']!r}, but a genome "
            "dataset is DNA; give RNA or protein data as a sequence set (sequences: + labels:)")
    ds["alphabet"] = "dna"


def resolve_model(model: Mapping[str, Any]) -> dict[str, Any]:
    """One model's options with ``fixed_motifs: {ids: [...], release: ...}`` replaced by
    ``fixed_filters``: the JASPAR matrices as log-odds, both strands, which the model takes
    as untrained stem filters. Other models come back as a copy."""
    out = dict(model)
    spec = out.pop("fixed_motifs", None)
    if spec is not None:
        out["fixed_filters"] = _motif_filters(tuple(spec["ids"]),
                                              spec.get("release", DEFAULT_RELEASE))
    return out


@functools.cache
def _motif_filters(ids: tuple[str, ...], release: str) -> list:
    """:func:`seqcnn.jaspar.motif_filters` as nested lists (cached: models of a sweep share
    their motifs)."""
    from seqcnn.jaspar import motif_filters

    return motif_filters(list(ids), release).tolist()


def dataset_config(config: Mapping[str, Any], dataset: str) -> dict[str, Any]:
    """The data part of one dataset's resolved config: what its cache depends on."""
    ds = config["datasets"][dataset]
    return {k: v for k, v in ds.items() if k not in MODEL_KEYS}


def seqset_datasets(config: Mapping[str, Any]) -> list[str]:
    """The names of the sequence-set datasets, in config order."""
    return [d for d, ds in config["datasets"].items() if is_seqset(ds)]


def genome_datasets(config: Mapping[str, Any]) -> list[str]:
    """The names of the genome datasets, in config order."""
    return [d for d, ds in config["datasets"].items() if not is_seqset(ds)]


def seqset_simulations(config: Mapping[str, Any]) -> list[str]:
    """The simulations that write a sequence set (any kind but ``genome``)."""
    return [s for s, sim in config["simulations"].items() if sim["kind"] != "genome"]


def genome_simulations(config: Mapping[str, Any]) -> list[str]:
    """The simulations that write a genome and its peaks."""
    return [s for s, sim in config["simulations"].items() if sim["kind"] == "genome"]


def simulation_config(config: Mapping[str, Any], simulation: str) -> dict[str, Any]:
    """A simulation's settings: a genome's keys (its ``tracks`` are rule simulate_tracks'),
    or a sequence set's kind, params, seed."""
    sim = config["simulations"][simulation]
    if sim["kind"] == "genome":
        return {k: v for k, v in sim.items() if k not in ("kind", "params", "tracks")}
    return {"kind": sim["kind"], "params": sim["params"], "seed": sim["seed"]}


__all__ = [
    "GENOME_ONLY_KEYS", "MODEL_KEYS", "SCHEMA", "SEQSET_ONLY_KEYS", "dataset_config",
    "genome_datasets", "genome_simulations", "is_seqset", "resolve", "resolve_model",
    "seqset_datasets", "seqset_simulations", "simulation_config",
]
