"""Orientation (issue 21): stranded regions and oriented sequence sets turn reverse-complement
augmentation and strand averaging off by default, the config forces either way, and an
oriented k-mer baseline separates what only orientation tells apart."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

from seqcnn.alphabet import one_hot_codes
from seqcnn.data import regions as rg
from seqcnn.data.cache import (
    dataset_orientation,
    orientation_block,
    sum_strands,
    write_cache,
    write_ids,
)
from seqcnn.errors import ConfigError
from seqcnn.evaluate.baselines import KmerBaseline, OrientedKmerBaseline, kmer_baselines
from seqcnn.models.strands import strand_choice
from seqcnn.report.render import baseline_verdict
from seqcnn.train.loop import predict, train

TINY = {"arch": "dilated", "filters": 4, "first_kernel": 5, "layers": 1, "kernel": 3}
FAST = {"epochs": 1, "batch_size": 16, "patience": 0, "seed": 3}
MOTIF = "GATTACAG"  # not its own reverse complement (CTGTAATC)


def strands(plus: int, minus: int, dot: int) -> dict[str, dict[str, int]]:
    counts = {"+": plus, "-": minus, ".": dot}
    return {"all": dict(counts), "positives": dict(counts)}


# --------------------------------------------------------------------------- detection


def test_write_cache_counts_strands_of_all_rows_and_positives(small_genome, tmp_path):
    genome, _ = small_genome
    df = pd.DataFrame([("chr1", 10, 30, "a", "+", 1), ("chr1", 100, 120, "b", "-", 1),
                       ("chr1", 200, 220, "c", "-", 0), ("chr2", 1500, 1520, "d", ".", 0),
                       ("chr2", 1600, 1620, "e", "+", 1)],
                      columns=["chrom", "start", "end", "name", "strand", "T"])
    df["source"] = "peak"
    rg.write_regions(df, tmp_path / "r.bed", ["T"])
    stats = write_cache(genome, rg.read_regions(tmp_path / "r.bed", chunksize=2), 5, ["T"],
                        tmp_path / "x.npy", tmp_path / "y.npy", 20)
    assert stats.strands == {"all": {"+": 2, "-": 2, ".": 1},
                             "positives": {"+": 2, "-": 1, ".": 0}}
    total = sum_strands([{"strands": stats.strands}, {"strands": stats.strands}, {}])
    assert total["positives"] == {"+": 4, "-": 2, ".": 0}


def test_orientation_block_detects_and_forces():
    stranded = orientation_block("genome", "dna", "auto", strands(30, 20, 10))
    assert stranded["stranded"] and stranded["oriented"]
    assert "30 + / 20 - / 10 unstranded" in stranded["orientation"]["how"]
    plain = orientation_block("genome", "dna", "auto", strands(0, 0, 60))
    assert not plain["stranded"] and not plain["oriented"]
    mostly_dot = orientation_block("genome", "dna", "auto", strands(10, 10, 21))
    assert not mostly_dot["oriented"]  # more than half of the positives must carry a strand
    forced = orientation_block("genome", "dna", False, strands(30, 20, 0))
    assert forced["stranded"] and not forced["oriented"]
    assert "oriented is false" in forced["orientation"]["how"]
    assert orientation_block("seqset", "rna")["oriented"]
    assert not orientation_block("seqset", "dna")["oriented"]
    assert orientation_block("seqset", "dna", True)["oriented"]
    with pytest.raises(ConfigError, match="datasets.x.oriented"):
        orientation_block("seqset", "dna", "yes", key="datasets.x.oriented")
    old, why = dataset_orientation({"kind": "genome"})  # a manifest from before
    assert old is False and "no orientation" in why


def test_strand_choice_auto_follows_the_data_and_forcing_wins():
    assert strand_choice("auto", True, "x", "k")[0] is False
    assert strand_choice("auto", False, "x", "k")[0] is True
    assert strand_choice("auto", None, "x", "k")[0] is True
    assert strand_choice(True, True, "x", "k")[0] is True
    assert strand_choice(False, False, "x", "k")[0] is False
    on, why = strand_choice("auto", True, "strand averaging", "evaluate.rc_average")
    assert "strand averaging off" in why and "oriented" in why
    for bad in ("on", 1, None):
        with pytest.raises(ValueError, match="auto, true or false"):
            strand_choice(bad, True, "x", "k")


# --------------------------------------------------------------------------- training


def tiny_cache(directory, oriented: bool, n: int = 48, length: int = 24):
    """A cache directory with train/valid splits and a manifest (stranded or not)."""
    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    for split in ("train", "valid"):
        x = one_hot_codes(rng.integers(0, 4, size=(n, length)), 4)
        y = (np.arange(n) % 2)[:, None].astype(np.uint8)
        np.save(directory / f"{split}.onehot.npy", x)
        np.save(directory / f"{split}.labels.npy", y)
        write_ids(directory / f"{split}.ids.tsv", [f"r{i}" for i in range(n)], [length] * n)
    counts = strands(n, n, 0) if oriented else strands(0, 0, 2 * n)
    manifest = orientation_block("genome", "dna", "auto", counts)
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return [{"cache": str(directory), "split": s} for s in ("train", "valid")]


@pytest.mark.parametrize("oriented, setting, expected", [
    (True, "auto", False), (False, "auto", True),  # follows the data
    (True, True, True), (False, False, False),      # forced both ways
])
def test_training_rc_augment_follows_the_manifest(tmp_path, caplog, oriented, setting,
                                                  expected):
    splits = tiny_cache(tmp_path / "cache", oriented)
    log = logging.getLogger("test_orientation")
    with caplog.at_level(logging.INFO, logger="test_orientation"):
        res = train(TINY, *splits, {**FAST, "rc_augment": setting}, progress=False,
                    logger=log)
    assert res.meta["train"]["rc_augment"] is expected
    line = next(r.getMessage() for r in caplog.records
                if r.getMessage().startswith("reverse-complement augmentation"))
    state = "on" if expected else "off"
    assert line.startswith(f"reverse-complement augmentation {state}")
    if setting == "auto":
        assert ("oriented" in line) == oriented and ("stranded" in line)
    else:
        assert f"train.rc_augment is {str(setting).lower()}" in line


def test_training_without_a_manifest_keeps_rc_augment_on(caplog):
    x = one_hot_codes(np.random.default_rng(1).integers(0, 4, size=(32, 24)), 4)
    y = (np.arange(32) % 2)[:, None].astype(np.uint8)
    log = logging.getLogger("test_orientation")
    with caplog.at_level(logging.INFO, logger="test_orientation"):
        res = train(TINY, (x, y), (x, y), FAST, progress=False, logger=log)
    assert res.meta["train"]["rc_augment"] is True
    assert any("unknown orientation" in r.getMessage() for r in caplog.records)
    res = train(TINY, (x, y), (x, y), FAST, progress=False, oriented=True)
    assert res.meta["train"]["rc_augment"] is False


def test_auto_on_unstranded_data_trains_the_same_weights_as_before(tmp_path):
    """The demo's case: unstranded regions, rc_augment auto → exactly the weights of the old
    default (true), and the same recorded config."""
    splits = tiny_cache(tmp_path / "cache", oriented=False)
    cfg = {**FAST, "epochs": 2}
    auto = train(TINY, *splits, {**cfg, "rc_augment": "auto"}, progress=False)
    old = train(TINY, *splits, {**cfg, "rc_augment": True}, progress=False)
    for key, value in old.model.state_dict().items():
        torch.testing.assert_close(auto.model.state_dict()[key], value, rtol=0, atol=0)
    assert auto.meta["train"] == old.meta["train"]
    off = train(TINY, *splits, {**cfg, "rc_augment": False}, progress=False)
    assert any(not torch.equal(off.model.state_dict()[k], v)
               for k, v in old.model.state_dict().items())


# --------------------------------------------------------------------------- evaluation


class Asymmetric(nn.Module):
    """A linear model whose logit is ``sum(W * x)`` for a fixed ``W`` ``(4, L)``."""

    def __init__(self, weights: np.ndarray):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(weights, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.float() * self.w).sum(dim=(1, 2))[:, None]


def test_stranded_evaluation_does_not_average_strands():
    rng = np.random.default_rng(4)
    w = np.zeros((4, 10))
    w[0, :3] = 1.0  # A at the first three positions: forward only
    x = one_hot_codes(rng.integers(0, 4, size=(20, 10)), 4)
    x[0] = one_hot_codes(np.array([0, 0, 0, 1, 2, 3, 1, 2, 3, 1]), 4)  # AAA... → logit 3
    forward = (x * w).sum(axis=(1, 2))
    reverse = (x[:, ::-1, ::-1] * w).sum(axis=(1, 2))
    sigmoid = 1 / (1 + np.exp(-np.stack([forward, (forward + reverse) / 2])))
    model = Asymmetric(w)
    manifest = orientation_block("genome", "dna", "auto", strands(10, 10, 0))
    average, _ = strand_choice("auto", dataset_orientation(manifest)[0], "averaging", "k")
    assert average is False
    stranded = predict(model, x, rc_average=average, device="cpu")[:, 0]
    averaged = predict(model, x, rc_average=True, device="cpu")[:, 0]
    np.testing.assert_allclose(stranded, sigmoid[0], rtol=1e-6)
    np.testing.assert_allclose(averaged, sigmoid[1], rtol=1e-6)
    assert stranded[0] == pytest.approx(1 / (1 + np.exp(-3.0)))
    assert np.abs(stranded - averaged).max() > 0.1


# --------------------------------------------------------------------------- baselines


def orientation_task(n: int, seed: int, length: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Random DNA with MOTIF planted on the forward strand (label 1) or its reverse
    complement (label 0): the same canonical k-mers, only the orientation differs."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(n, length))
    motif = np.array(["ACGT".index(c) for c in MOTIF])
    labels = (np.arange(n) % 2).astype(np.uint8)
    for i in range(n):
        s = rng.integers(0, length - len(motif) + 1)
        codes[i, s:s + len(motif)] = motif if labels[i] else (3 - motif)[::-1]
    return one_hot_codes(codes, 4), labels[:, None]


def test_oriented_kmers_separate_what_canonical_kmers_cannot():
    (xt, yt), (xv, yv), (xs, ys) = (orientation_task(n, s) for n, s in
                                    ((300, 1), (100, 2), (300, 3)))
    base = kmer_baselines(oriented=True, seed=0)
    assert list(base) == ["kmer_lr", "kmer_oriented_lr"]
    assert isinstance(base["kmer_oriented_lr"], OrientedKmerBaseline)
    assert list(kmer_baselines(oriented=False)) == ["kmer_lr"]
    auroc = {}
    for name, model in base.items():
        model.fit(xt, yt, xv, yv, tasks=["T"])
        auroc[name] = roc_auc_score(ys[:, 0], model.predict(xs)[:, 0])
    assert auroc["kmer_oriented_lr"] > 0.95
    assert abs(auroc["kmer_lr"] - 0.5) < 0.12
    assert len(base["kmer_oriented_lr"].feature_names()) == 5460
    assert len(KmerBaseline().feature_names()) == 2772
    assert "oriented k-mer" in base["kmer_oriented_lr"].describe()


def test_verdict_uses_the_best_kmer_baseline():
    table = pd.DataFrame({"model": ["cnn", "kmer_lr", "kmer_oriented_lr"],
                          "task": ["T"] * 3, "auroc": [0.8, 0.7, 0.9]})
    flag, line = baseline_verdict(table, "cnn", ["T"])
    assert flag is not None and "best k-mer baseline" in flag
    assert "0 of 1" in line
    flag, line = baseline_verdict(table[table["model"] != "kmer_oriented_lr"], "cnn", ["T"])
    assert flag is None and line == "The CNN beats the k-mer baseline on every task (test auROC)."


# --------------------------------------------------------------------------- workflow


@pytest.mark.workflow
def test_stranded_peaks_through_the_dag(tmp_path):
    """BED strands → manifest oriented → training and evaluation without strands, logged;
    both k-mer baselines in metrics.tsv."""
    from seqcnn import jaspar
    from seqcnn.data.fasta import write_fasta
    from seqcnn.simulate import genome as simulate
    from test_workflow import run_snakemake

    (motif,) = jaspar.fetch(["MA0139.2"], "JASPAR2024")
    genome, peaks, _ = simulate.simulate_dataset(
        {"A": [(motif.matrix_id, motif.name, motif.probabilities())]}, {"A": 150}, shared_peaks=0,
        n_chroms=3, chrom_length=150_000, seed=3)
    peaks["strand"] = np.where(np.arange(len(peaks)) % 2, "+", "-")
    (tmp_path / "data").mkdir()
    write_fasta(tmp_path / "data" / "genome.fa", genome.chroms)
    simulate.write_narrowpeak(peaks.drop(columns="task"), tmp_path / "data" / "A.narrowPeak.gz")
    config = {
        "datasets": {"str": {"genome": "data/genome.fa", "tasks": {"A": "data/A.narrowPeak.gz"},
                             "seq_len": 100, "split": {"valid": ["chr2"], "test": ["chr3"]},
                             "models": ["small"]}},
        "models": {"small": {"arch": "dilated", "filters": 8, "layers": 2, "first_kernel": 11}},
        "train": {"epochs": 1, "batch_size": 32},
        "evaluate": {"bootstrap": 20},
    }
    run_snakemake(tmp_path, config, "results/str/small/eval/metrics.tsv")
    res = tmp_path / "results"
    manifest = json.loads((res / "str" / "cache" / "manifest.json").read_text())
    assert manifest["stranded"] is True and manifest["oriented"] is True
    pos = manifest["orientation"]["strands"]["positives"]
    assert pos["."] == 0 and pos["+"] > 0 and pos["-"] > 0
    train_log = (res / "logs" / "str" / "small" / "train.log").read_text()
    assert "reverse-complement augmentation off (train.rc_augment: auto)" in train_log
    eval_log = (res / "logs" / "str" / "small" / "eval.log").read_text()
    assert "strand averaging off (evaluate.rc_average: auto)" in eval_log
    summary = json.loads((res / "str" / "small" / "model.json").read_text())
    assert summary["train"]["rc_augment"] is False
    metrics = pd.read_csv(res / "str" / "small" / "eval" / "metrics.tsv", sep="\t")
    assert {"small", "kmer_lr", "kmer_oriented_lr"} <= set(metrics["model"])
