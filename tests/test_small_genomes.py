"""Small genomes (one chromosome, range splits, auto blocks) through the real DAG, and tasks
without positives in a split: an error at the split stage, or skipped cleanly when allowed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from seqcnn import interpret as it
from seqcnn import jaspar
from seqcnn.data import regions as rg
from seqcnn.data.fasta import write_fasta
from seqcnn.models.zoo import build_model
from seqcnn.simulate import genome as simulate
from test_workflow import run_snakemake

# one xdist worker runs this file, so the phage fixture is built once
pytestmark = pytest.mark.xdist_group("phage")


def tiny_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model({"arch": "dilated", "filters": 4, "layers": 1, "first_kernel": 5},
                       alphabet_size=4, n_tasks=2, seq_len=40)


def test_attributions_of_no_sequences_are_empty_not_a_crash():
    """The old crash: a task with no test positives selects no rows, and torch.cat got an
    empty list. Now each method returns an empty (0, A, L) map."""
    x = np.zeros((0, 4, 40), dtype=np.uint8)
    maps = it.attributions(tiny_model(), x, ["ism", "saliency", "deeplift_shap"], target=1,
                           n_shuffles=2)
    assert {k: v.shape for k, v in maps.items()} == {m: (0, 4, 40) for m in maps}
    assert it.ism(tiny_model(), x, 0).shape == (0, 4, 40)


TEST_RANGE = (340_000, 400_000)  # chr1:340001-400000, 1-based inclusive
PHAGE = {
    "datasets": {
        "phage": {
            "genome": "data/genome.fa",
            "tasks": {"A": "data/A.narrowPeak.gz", "B": "data/B.narrowPeak.gz"},
            "seq_len": 100,
            "split": {"valid": ["chr1:1-60,000"], "test": ["chr1:340001-400000"]},
            "models": ["small"],
        },
        "blocks": {
            "genome": "data/genome.fa",
            "tasks": {"A": "data/A.narrowPeak.gz", "B": "data/B.narrowPeak.gz"},
            "seq_len": 100,
            "split": "auto",
            "allow_empty_tasks": True,
            "models": ["small"],
        },
    },
    "models": {"small": {"arch": "dilated", "filters": 8, "layers": 2, "first_kernel": 11}},
    "train": {"epochs": 1, "batch_size": 64},
    "evaluate": {"bootstrap": 20},
    "interpret": {"n_top": 20, "ism_top": 3, "n_shuffles": 2},
}


def write_phage(data: Path) -> None:
    """A 400-kb one-chromosome genome from the library's simulator with planted CTCF (task
    A) and SPI1 (task B) peaks; B's peaks in the test range are left out of its file."""
    found = jaspar.fetch(["MA0139.2", "MA0080.7"], "JASPAR2024")
    motifs = {t: [(m.matrix_id, m.name, m.probabilities())] for t, m in zip("AB", found,
                                                                            strict=True)}
    genome, peaks, _ = simulate.simulate_dataset(motifs, {"A": 60, "B": 60}, shared_peaks=10,
                                                 n_chroms=1, chrom_length=400_000, seed=3)
    data.mkdir()
    write_fasta(data / "genome.fa", genome.chroms)
    b = peaks[peaks["task"] == "B"]
    simulate.write_narrowpeak(peaks[peaks["task"] == "A"], data / "A.narrowPeak.gz")
    simulate.write_narrowpeak(b[b["end"] <= TEST_RANGE[0]], data / "B.narrowPeak.gz")
    assert (b["start"] >= TEST_RANGE[0]).sum() > 0  # B did have peaks there


def overlaps(a: Path, b: Path) -> str:
    return subprocess.run(["bedtools", "intersect", "-u", "-a", str(a), "-b", str(b)],
                          capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def phage(tmp_path_factory):
    """The one-chromosome dataset with a range split, run twice: B has no positives in the
    test range, so the first run stops at the split (the ``blocks`` dataset, split: auto
    with allow_empty_tasks, gets through it in the same run); the second, with
    allow_empty_tasks, trains, evaluates and attributes."""
    work = tmp_path_factory.mktemp("phage")
    write_phage(work / "data")
    first = run_snakemake(work, PHAGE, "--keep-going", "results/phage/small/eval/metrics.tsv",
                          "results/blocks/regions/split.json", check=False)
    failed = (work / "results/logs/phage/regions/split.log").read_text()
    config = json.loads(json.dumps(PHAGE))
    config["datasets"]["phage"]["allow_empty_tasks"] = True
    # only the split and what follows it need to run again (not the regions before it)
    run_snakemake(work, config, "--rerun-triggers=mtime",
                  "results/phage/small/eval/metrics.tsv",
                  "results/phage/small/interpret/attributions.npz")
    return work, first, failed


@pytest.mark.workflow
def test_a_task_without_test_positives_fails_at_the_split(phage):
    _, first, failed = phage
    assert first.returncode != 0
    last = failed.splitlines()[-1]
    for part in ("FAILED: task B has no positives in the test split (test: chr1:340001-400000;",
                 "positives in train", "peaks: data/B.narrowPeak.gz", "datasets.phage.split",
                 "datasets.phage.allow_empty_tasks: true"):
        assert part in last, last
    assert "task A" not in last


@pytest.mark.workflow
def test_auto_split_of_one_chromosome_is_two_blocks(phage):
    work = phage[0]
    res = work / "results" / "blocks" / "regions"
    split = json.loads((res / "split.json").read_text())
    assert split["how"] == "blocks"
    assert split["empty_tasks"] == [{"task": "B", "split": "test", "missing": "positives"}]
    (valid,), (test,) = split["split"]["valid"], split["split"]["test"]
    assert valid.startswith("chr1:1-") and test.endswith("-400000")
    n = {s: v["n"] for s, v in split["splits"].items()}
    assert 0.06 <= n["valid"] / sum(n.values()) <= 0.14 and 0.06 <= n["test"] / sum(n.values())
    log = (work / "results/logs/blocks/regions/split.log").read_text()
    assert f"paste split: {{valid: [{valid}], test: [{test}]}}" in log
    assert "task B has no positives in the test split" in log and "WARNING" in log


@pytest.mark.workflow
def test_one_chromosome_trains_with_a_range_split(phage):
    work = phage[0]
    res = work / "results" / "phage"
    beds = {s: rg.read_regions(res / "regions" / f"{s}.bed") for s in ("train", "valid", "test")}
    assert (beds["valid"]["end"] <= 60_000).all()
    assert (beds["test"]["start"] >= TEST_RANGE[0]).all()
    assert ((beds["train"]["start"] >= 60_000) & (beds["train"]["end"] <= TEST_RANGE[0])).all()
    for i, a in enumerate(beds):  # no base in two splits, negatives included
        for b in list(beds)[i + 1:]:
            assert overlaps(res / "regions" / f"{a}.bed", res / "regions" / f"{b}.bed") == ""
    assert set(beds["test"]["source"]) >= {"peak", "background"}
    split = json.loads((res / "regions" / "split.json").read_text())
    manifest = json.loads((res / "cache" / "manifest.json").read_text())
    assert split["split"] == PHAGE["datasets"]["phage"]["split"] and split["how"] == "given"
    assert manifest["split_dropped"] == split["dropped"]
    assert manifest["empty_tasks"] == [{"task": "B", "split": "test", "missing": "positives"}]
    log = (work / "results/logs/phage/regions/split.log").read_text()
    n = split["dropped"]["straddling_range_edge"]
    assert f"{n} regions straddle the edge of a valid/test range and are dropped" in log


@pytest.mark.workflow
def test_evaluation_and_attribution_skip_the_empty_task(phage):
    work = phage[0]
    res = work / "results" / "phage" / "small"
    metrics = pd.read_csv(res / "eval" / "metrics.tsv", sep="\t")
    a, b = metrics[metrics["task"] == "A"], metrics[metrics["task"] == "B"]
    assert (a["n_pos"] > 0).all() and a["auroc"].notna().all() and a["note"].isna().all()
    assert (b["n_pos"] == 0).all() and b["auroc"].isna().all()
    assert (b["note"] == "no positives in the test split").all()
    attr = np.load(res / "interpret" / "attributions.npz")
    assert len(attr["B.index"]) == 0 and attr["B.deeplift_shap"].shape == (0, 4, 100)
    assert len(attr["A.index"]) > 0
    log = (work / "results/logs/phage/small/interpret/attributions.log").read_text()
    assert "B: no positives in the test split; attributions skipped" in log
