"""Every preset in config/presets runs end to end in a reduced form (fewer sequences, fewer
epochs, the first point of each sweep), through the same rules as the full run."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import ROOT
from seqcnn.workflow.sweeps import expand_model_list, expand_sweeps
from test_workflow import run_snakemake

PRESETS = sorted((ROOT / "config" / "presets").glob("*.yaml"))
SMALL = {"koo_eddy": 800, "secondary_structure": 160, "stride": 400, "grammar": 400,
         "distance": 100, "padding": 400}
#: promoter sets (rules/real.smk) cut to the genes of a chromosome's first bases, with valid
#: and test inside them: chromosome, bases kept
SMALL_PROMOTERS = {"athaliana_chr1": ("NC_003070.9", 1_500_000)}


def reduced(config: dict) -> dict:
    """The preset with small data, 2 epochs, the first value (two along a trend) of each
    sweep option, interpretation on fewer sequences."""
    config = json.loads(json.dumps(config))
    for sim in config.get("simulations", {}).values():
        if sim.get("kind") in SMALL:
            sim.setdefault("params", {})["n"] = SMALL[sim["kind"]]
    # options a trend or plot runs along keep two values (a trend needs two models)
    over = {t["over"] for ds in config["datasets"].values()
            for t in ds.get("reference", {}).get("trends", [])}
    for sweep in config.get("sweeps", {}).values():
        sweep["grid"] = {k: v[:2] if k in over else v[:1] for k, v in sweep["grid"].items()}
    for name, promoter_set in config.get("promoters", {}).items():
        if name in SMALL_PROMOTERS:
            chrom, size = SMALL_PROMOTERS[name]
            promoter_set["within"] = [f"{chrom}:1-{size}"]
            for ds in config["datasets"].values():
                if ds.get("genome", "").startswith(f"results/promoters/{name}/"):
                    ds["models"] = ds["models"][:1]  # one model runs every rule once
                    ds["split"] = {"valid": [f"{chrom}:{size * 2 // 3 + 1}-{size * 5 // 6}"],
                                   "test": [f"{chrom}:{size * 5 // 6 + 1}-{size}"]}
    for ds in config["datasets"].values():
        if ds.get("tracks"):  # track models (the hybrid above all) are slow on 2 CPU cores
            ds["models"] = ds["models"][:1]
    for ds in config["datasets"].values():
        if ds.get("portfolio"):  # two single models to choose between (ensembles cost k
            # trainings and k-fold interpretation; tests/test_portfolio.py runs one)
            models = ds["portfolio"]["models"]
            single = [m for m in models if not config["models"][m].get("ensemble")]
            ds["portfolio"]["models"] = (single or models)[:2]
    for sim in config.get("simulations", {}).values():
        if "chrom_length" in sim and any(ds.get("tracks") or ds.get("portfolio")
                                         for ds in config["datasets"].values()):
            sim["chrom_length"] = min(sim["chrom_length"], 250_000)
            for task in sim.get("tasks", {}).values():
                task["peaks"] = min(task.get("peaks", 250), 250)
            sim["shared_peaks"] = min(sim.get("shared_peaks", 0), 60)
    config["train"] = {**config.get("train", {}), "epochs": 2, "patience": 0}
    config["evaluate"] = {**config.get("evaluate", {}), "bootstrap": 10}
    # attributions and filter influence on fewer sequences: this run checks that every rule
    # runs on the preset; what interpretation finds is checked by the demo's test and
    # tests/test_interpret.py, test_attribution.py and test_track_interpret.py
    config["interpret"] = {**config.get("interpret", {}), "n_top": 40, "ism_top": 5,
                           "n_shuffles": 3, "influence_max": 200}
    models, variants = expand_sweeps(config.get("models", {}), config.get("sweeps", {}))
    for ds in config["datasets"].values():
        trained = expand_model_list(ds["models"], variants)
        ref = ds.get("reference")
        if ref:
            ref["expected"] = {m: v for m, v in ref["expected"].items() if m in trained}
    return config


def test_presets_name_their_source():
    assert PRESETS, "no presets shipped"
    for path in PRESETS:
        head = path.read_text().splitlines()[0]
        assert head.startswith("# ") and len(head) > 20, f"{path.name}: no source in the header"


@pytest.mark.workflow
@pytest.mark.parametrize("preset", PRESETS, ids=[p.stem for p in PRESETS])
def test_preset_runs_reduced(preset: Path, tmp_path):
    config = reduced(yaml.safe_load(preset.read_text()))
    run_snakemake(tmp_path, config)
    for name, ds in config["datasets"].items():
        report = tmp_path / "results" / name / "report.html"
        assert report.stat().st_size > 10_000
        if ds.get("reference"):
            table = pd.read_csv(tmp_path / "results" / name / "reference" / "comparison.tsv",
                                sep="\t")
            ref = ds["reference"]
            expected = sum(len(v) for v in ref["expected"].values()) + len(ref.get("trends", []))
            assert len(table) == expected and table["measured"].notna().all()
            text = report.read_text()
            assert 'id="reference"' in text and "<b>Verdict.</b>" in text
