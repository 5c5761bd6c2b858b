"""The README's demo, config/config.yaml as shipped, from simulation to the report.

Its own file so that `make test` (pytest-xdist, one file per worker) runs it beside the
other workflow tests instead of after them.
"""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import yaml

from conftest import ROOT
from seqcnn.evaluate.tracks import SHUFFLED
from test_workflow import check_report_in_chromium, run_snakemake

pytestmark = pytest.mark.workflow


def test_default_config_runs_end_to_end(tmp_path):
    """The README's demo: config/config.yaml as shipped, from simulation to the report."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    # the whole demo: 498 s by `make demo` on 2 quiet cores (with demo_tracks); 2,224 s as a
    # CI test beside other workflow runs at load 5-8: slack for a busy CI (a hang still ends)
    run_snakemake(tmp_path, config, timeout=3600)
    manifest = json.loads((tmp_path / "results/demo/cache/manifest.json").read_text())
    assert manifest["tasks"] == ["CTCF", "SPI1"]
    assert all(manifest["counts"][s]["n"] > 100 for s in ("train", "valid", "test"))
    truth = (tmp_path / "resources/simulated/demo/truth.tsv").read_text().splitlines()
    assert len(truth) > 2000
    # the default model learns the planted motifs: test auROC >= 0.9 on every task
    table = pd.read_csv(tmp_path / "results/demo/dilated/eval/metrics.tsv", sep="\t")
    cnn = table[table["model"] == "dilated"].set_index("task")
    assert (cnn["auroc"] >= 0.9).all(), cnn
    assert set(table["model"]) == {"dilated", "kmer_lr", "motif_scan_lr"}
    # the top-level train: for demo, demo_tracks' own train: over it (epochs 30)
    trained = {d: json.loads((tmp_path / f"results/{d}/{m}/model.json").read_text())["train"]
               for d, m in (("demo", "dilated"), ("demo_tracks", "dilated_small"))}
    # select_on: auto is auROC for the classifier; a track model selects on the loss
    assert (trained["demo"]["select_on"], trained["demo_tracks"]["select_on"]) == ("auroc", "loss")
    assert trained["demo"] == {**trained["demo_tracks"], "epochs": config["train"]["epochs"],
                               "select_on": "auroc"}
    assert trained["demo_tracks"]["epochs"] == config["datasets"]["demo_tracks"]["train"]["epochs"]
    # every planted motif is named correctly, from the filters and from TF-MoDISco
    motifs = pd.read_csv(tmp_path / "results/demo/dilated/interpret/motifs.tsv", sep="\t")
    for jaspar_id in ("MA0139.2", "MA0080.7"):
        row = motifs[motifs["jaspar_id"] == jaspar_id]
        assert len(row) == 1 and row["n_filters"].item() >= 1 and row["n_patterns"].item() >= 1
    check_report_in_chromium(tmp_path / "results/demo/report.html", tmp_path, ["dilated"])
    # demo_tracks: a profile + count model of the simulated footprint bigWigs, same genome
    out = tmp_path / "results/demo_tracks/dilated_small"
    value = pd.read_csv(out / "eval/metrics.tsv", sep="\t").set_index(
        ["model", "task", "metric"])["value"]
    for task in ("CTCF", "SPI1"):
        assert math.isfinite(value["dilated_small", task, "count_pearson"]), task
        jsd = value["dilated_small", task, "profile_jsd"]
        assert 0 < jsd < value[SHUFFLED, task, "profile_jsd"], task
    assert len(pd.read_csv(out / "interpret/motifs.tsv", sep="\t").columns) > 1
    assert (tmp_path / "results/demo_tracks/report.html").stat().st_size > 0
