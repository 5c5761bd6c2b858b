"""seqcnn.workflow.config.resolve: what the Snakefile does with a config at start-up."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT
from seqcnn.errors import ConfigError
from seqcnn.workflow.config import (
    GENOME_ONLY_KEYS,
    MODEL_KEYS,
    SEQSET_ONLY_KEYS,
    dataset_config,
    genome_datasets,
    resolve,
    seqset_datasets,
)

GENOME = {"genome": "g.fa", "tasks": {"A": "a.bed"}, "models": ["cnn"]}
SEQSET = {"sequences": "s.fa", "labels": "l.tsv", "models": ["cnn"]}
CONFIG = {
    "datasets": {"g": GENOME, "s": SEQSET},
    "models": {"cnn": {"arch": "dilated", "filters": 8}},
}


def test_defaults_filled_and_input_left_alone():
    config = copy.deepcopy(CONFIG)
    out = resolve(config, ROOT)
    assert config == CONFIG
    assert out["results"] == "results" and out["sweeps"] == {}
    assert out["train"]["epochs"] > 0 and "seq_len" in out["datasets"]["g"]
    # defaults are copies: changing one dataset's never changes another's
    out["datasets"]["g"]["seed"] = -1
    assert resolve(CONFIG, ROOT)["datasets"]["s"]["seed"] != -1


def test_sweeps_expand_into_models_and_dataset_lists():
    config = copy.deepcopy(CONFIG)
    config["sweeps"] = {"wide": {"model": "cnn", "grid": {"filters": [16, 32]}}}
    config["datasets"]["g"]["models"] = ["cnn", "wide"]
    out = resolve(config, ROOT)
    assert out["datasets"]["g"]["models"] == ["cnn", "wide-filters16", "wide-filters32"]
    assert out["models"]["wide-filters32"] == {"arch": "dilated", "filters": 32}
    assert out["models"]["cnn"] == {"arch": "dilated", "filters": 8}


def test_sweep_variants_are_checked_against_the_schema():
    config = copy.deepcopy(CONFIG)
    config["sweeps"] = {"p": {"model": "cnn", "grid": {"pool": ["maxpool"]}}}
    with pytest.raises(ConfigError, match=r"models\.p-poolmaxpool\.pool"):
        resolve(config, ROOT)


def test_other_kinds_keys_are_dropped():
    out = resolve(CONFIG, ROOT)
    genome, seqset = out["datasets"]["g"], out["datasets"]["s"]
    assert not set(SEQSET_ONLY_KEYS) & set(genome)
    assert not set(GENOME_ONLY_KEYS) & set(seqset)
    assert "seq_len" in genome and "max_len" in seqset
    data = dataset_config(out, "g")
    assert not set(MODEL_KEYS) & set(data) and data["genome"] == "g.fa"
    assert genome_datasets(out) == ["g"] and seqset_datasets(out) == ["s"]


def test_genome_datasets_are_dna():
    out = resolve(CONFIG, ROOT)
    assert out["datasets"]["g"]["alphabet"] == "dna"
    assert out["datasets"]["s"]["alphabet"] == "auto"
    config = copy.deepcopy(CONFIG)
    config["datasets"]["g"]["alphabet"] = "protein"
    with pytest.raises(ConfigError, match=r"datasets\.g\.alphabet is 'protein'.*sequence set"):
        resolve(config, ROOT)


def test_unknown_model_names_the_key():
    config = copy.deepcopy(CONFIG)
    config["datasets"]["s"]["models"] = ["cnn", "nope"]
    with pytest.raises(ConfigError, match=r"datasets\.s\.models lists 'nope'.*defined: cnn"):
        resolve(config, ROOT)


@pytest.mark.parametrize("change, key", [
    (lambda c: c["datasets"]["g"].update(negatives=3), r"datasets\.g\.negatives"),
    (lambda c: c.update(sweeps={"s": {"model": "none", "grid": {"x": [1]}}}),
     r"sweeps\.s\.model is 'none'"),
])
def test_bad_values_name_the_key(change, key):
    config = copy.deepcopy(CONFIG)
    change(config)
    with pytest.raises(ConfigError, match=key):
        resolve(config, ROOT)


def test_fixed_motifs_become_fixed_filters_for_trained_models_only():
    config = copy.deepcopy(CONFIG)
    motifs = {"ids": ["MA0139.2", "MA0080.7"], "release": "JASPAR2024"}
    config["models"]["fixed"] = {"arch": "dilated", "fixed_motifs": motifs}
    config["models"]["unused"] = {"arch": "dilated", "fixed_motifs": {"ids": ["MA0139.2"]}}
    config["datasets"]["g"]["models"] = ["fixed"]
    out = resolve(config, ROOT)
    fixed = out["models"]["fixed"]
    assert "fixed_motifs" not in fixed
    filters = fixed["fixed_filters"]
    assert len(filters) == 4 and all(len(f) == 4 for f in filters)  # 2 motifs x 2 strands
    assert out["models"]["unused"]["fixed_motifs"]["ids"] == ["MA0139.2"]


@pytest.mark.parametrize("path", [ROOT / "config" / "config.yaml",
                                  *sorted((ROOT / "config" / "presets").glob("*.yaml")),
                                  *sorted((ROOT / "benchmarks").glob("*.yaml"))],
                         ids=lambda p: p.stem)
def test_shipped_configs_resolve(path):
    out = resolve(yaml.safe_load(path.read_text()), ROOT)
    for ds in out["datasets"].values():
        # a portfolio dataset may list no models of its own: the portfolio's are trained
        models = ds["models"] + (ds.get("portfolio") or {}).get("models", [])
        assert models and all(m in out["models"] for m in models)


def test_resolves_without_numpy_or_torch():
    """A cluster head node runs Snakemake with the standard library, jsonschema and yaml."""
    code = ("import sys, yaml; sys.modules.update(numpy=None, torch=None, pandas=None); "
            "from seqcnn.workflow.config import resolve; "
            f"print(sorted(resolve(yaml.safe_load(open({str(ROOT / 'config' / 'config.yaml')!r})),"
            f" {str(ROOT)!r})['models']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['dilated', 'dilated_small']"  # demo, demo_tracks


def test_a_dataset_section_overrides_the_top_level_for_that_dataset_only():
    config = copy.deepcopy(CONFIG)
    config["train"] = {"epochs": 12, "lr": 0.003}
    config["datasets"]["g"]["train"] = {"epochs": 30}
    config["datasets"]["s"]["interpret"] = {"n_top": 50, "tax_group": "plants"}
    out = resolve(config, ROOT)
    g, s = out["datasets"]["g"]["train"], out["datasets"]["s"]["train"]
    assert (g["epochs"], g["lr"]) == (30, 0.003)
    assert (s["epochs"], s["lr"]) == (12, 0.003)
    assert g == {**out["train"], "epochs": 30} and s == out["train"]
    assert out["datasets"]["s"]["interpret"] == {**out["interpret"], "n_top": 50,
                                                 "tax_group": "plants"}
    assert out["datasets"]["g"]["interpret"] == out["interpret"]
    assert out["interpret"]["n_top"] == 200  # the top level keeps its default
    # training and interpretation options are not part of the data: the cache ignores them
    for section in ("train", "interpret"):
        assert section in MODEL_KEYS and section not in dataset_config(out, "g")


@pytest.mark.parametrize(("section", "own", "message"), [
    ("train", {"epoch": 3}, r"datasets\.g\.train\.epoch: not an option of train"),
    ("train", {"epochs": 0}, r"datasets\.g\.train\.epochs: 0 is less than the minimum"),
    ("train", {"lr_schedule": "cosine"},
     r"datasets\.g\.train\.lr_schedule: 'cosine' is not one of"),
    ("interpret", {"n_tops": 5}, r"datasets\.g\.interpret\.n_tops: not an option of"),
    ("interpret", {"max_q": 2}, r"datasets\.g\.interpret\.max_q: 2 is greater than"),
])
def test_a_bad_dataset_section_key_names_it(section, own, message):
    config = copy.deepcopy(CONFIG)
    config["datasets"]["g"][section] = own
    with pytest.raises(ConfigError, match=message):
        resolve(config, ROOT)
