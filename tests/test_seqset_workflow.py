"""Sequence-set datasets through the whole DAG: a simulated protein set with per-residue
labels (and a sweep), a user's DNA FASTA with per-sequence labels, and their config errors."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from seqcnn.data.cache import load_split
from test_workflow import TINY, check_report_in_chromium, run_snakemake

# every test runs Snakemake; one xdist worker runs them all, so protein_run is built once
pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("protein")]

PROTEIN = {
    "simulations": {
        "prot": {"kind": "secondary_structure", "seed": 3,
                 "params": {"n": 240, "min_len": 40, "max_len": 90, "family_size": 2}},
    },
    "datasets": {
        "prot": {
            "sequences": "resources/simulated/prot/sequences.fa.gz",
            "labels": "resources/simulated/prot/labels.tsv",
            "position_label": "structure",
            "position_classes": "HEC",
            "models": ["pad"],
        }
    },
    "sweeps": {"pad": {"model": "pp", "grid": {"filters": [8, 12]}}},
    "models": {"pp": {"arch": "dilated", "filters": 8, "layers": 2, "first_kernel": 9}},
    "train": {"epochs": 3, "batch_size": 32, "lr": 0.003},
    "evaluate": {"bootstrap": 20},
    "interpret": {"logos": 4, "min_sites": 2},
}
VARIANTS = ["pad-filters8", "pad-filters12"]


@pytest.fixture(scope="module")
def protein_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("seqset") / "protein project"
    work.mkdir()
    run_snakemake(work, PROTEIN)
    return work


def test_protein_set_runs_end_to_end_with_per_residue_labels(protein_run, tmp_path):
    res = protein_run / "results" / "prot"
    manifest = json.loads((res / "cache" / "manifest.json").read_text())
    assert manifest["kind"] == "seqset" and manifest["alphabet"] == "protein"
    assert manifest["alphabet_detection"]["detected"] is True  # alphabet: auto (the default)
    assert manifest["label_kind"] == "per_position" and manifest["classes"]["structure"] == list(
        "HEC")
    assert manifest["split"]["group_column"] == "group"  # families are kept whole
    n_total = 0
    for split in ("train", "valid", "test"):
        part = load_split(res / "cache", split)
        x, y, lengths = part.onehot, part.labels, part.lengths
        n_total += len(x)
        assert x.shape[1:] == (20, manifest["seq_len"]) and y.shape == (len(x), x.shape[2])
        assert lengths.min() >= 40 and lengths.max() <= 90
        real = np.arange(x.shape[2])[None, :] < lengths[:, None]
        assert (y[~real] == 255).all() and (y[real] < 3).all()  # padding is ignored
        assert (x.sum(axis=1)[~real] == 0).all()
    assert n_total == 240
    # the sweep became two models, each evaluated on the test split only
    test_ids = pd.read_csv(res / "cache" / "test.ids.tsv", sep="\t")
    for model in VARIANTS:
        acc = pd.read_csv(res / model / "eval" / "accuracy.tsv", sep="\t")
        assert acc["task"].tolist() == ["structure"] and acc["n"].item() == test_ids[
            "length"].sum()
        assert 0.34 < acc["q3"].item() <= 1  # better than a uniform guess
        table = pd.read_csv(res / model / "eval" / "metrics.tsv", sep="\t")
        assert table["class"].tolist() == list("HEC")
        assert ((table["n_pos"] + table["n_neg"]) == test_ids["length"].sum()).all()
        pred = pd.read_csv(res / model / "eval" / "predictions.tsv.gz", sep="\t")
        assert set(pred["id"]) == set(test_ids["id"]) and len(pred) == test_ids["length"].sum()
        np.testing.assert_allclose(pred[["p_H", "p_E", "p_C"]].sum(axis=1), 1, atol=1e-3)
        filters = json.loads((res / model / "interpret" / "filters.json").read_text())
        assert len(filters["periods"]) == filters["n_filters"]
        assert (res / model / "interpret" / "periods.png").stat().st_size > 5000
    html = (res / "report.html").read_text()
    assert 'id="comparison"' in html and all(f'id="accuracy-{m}"' in html for m in VARIANTS)
    check_report_in_chromium(res / "report.html", tmp_path, VARIANTS, images_per_model=5,
                             baseline=None)


def write_dna_set(folder):
    """A user's DNA set: gzipped FASTA, labels with a split column and a multi-class column."""
    rng = np.random.default_rng(0)
    motif = "GGGCGGGGC"
    ids, seqs, rows = [], [], []
    for i in range(300):
        n = int(rng.integers(60, 101))
        seq = list(rng.choice(list("ACGT"), n))
        label = int(rng.integers(2))
        if label:
            at = int(rng.integers(0, n - len(motif)))
            seq[at:at + len(motif)] = motif
        kind = ["promoter", "enhancer", "silencer"][i % 3]
        ids.append(f"seq{i}")
        seqs.append("".join(seq))
        split = "train" if i % 10 < 7 else "valid" if i % 10 < 8 else "test"
        rows.append({"id": f"seq{i}", "bound": label, "kind": kind, "split": split})
    with gzip.open(folder / "my seqs.fa.gz", "wt") as fh:
        for i, s in zip(ids, seqs, strict=True):
            fh.write(f">{i} some description\n{s[:50]}\n{s[50:]}\n")
    pd.DataFrame(rows).to_csv(folder / "labels.tsv", sep="\t", index=False)
    return folder / "my seqs.fa.gz", folder / "labels.tsv"


def test_user_dna_set_with_split_column(tmp_path):
    fasta, labels = write_dna_set(tmp_path)
    config = {
        "datasets": {"mpra": {"sequences": str(fasta), "labels": str(labels),
                              "label_columns": ["bound", "kind"], "models": ["small"]}},
        "models": {"small": {"arch": "dilated", "filters": 8, "layers": 2, "first_kernel": 9,
                             "pool": "global_max"}},
        "train": {"epochs": 4, "batch_size": 32, "lr": 0.005},
        "evaluate": {"bootstrap": 20},
        "interpret": {"logos": 4, "min_sites": 2},
    }
    run_snakemake(tmp_path, config)
    res = tmp_path / "results" / "mpra"
    manifest = json.loads((res / "cache" / "manifest.json").read_text())
    assert manifest["alphabet"] == "dna" and manifest["split"]["source"] == "column"
    assert manifest["task_kinds"] == {"bound": "binary", "kind": "multiclass"}
    assert {s: manifest["counts"][s]["n"] for s in ("train", "valid", "test")} == {
        "train": 210, "valid": 30, "test": 60}
    table = pd.read_csv(res / "small" / "eval" / "metrics.tsv", sep="\t",
                        keep_default_na=False)
    assert table["task"].tolist() == ["bound", "kind", "kind", "kind"]
    assert (table["n_pos"] + table["n_neg"] == 60).all()
    acc = pd.read_csv(res / "small" / "eval" / "accuracy.tsv", sep="\t")
    assert acc["task"].tolist() == ["kind"] and np.isnan(acc["q3"].item())
    assert (res / "report.html").stat().st_size > 10_000


def test_bad_letter_fails_naming_file_record_and_position(tmp_path):
    fasta, labels = write_dna_set(tmp_path)
    text = gzip.open(fasta, "rt").read().replace(">seq7 some description\n",
                                                 ">seq7 some description\nAC!", 1)
    with gzip.open(fasta, "wt") as fh:
        fh.write(text)
    config = {"datasets": {"bad": {"sequences": str(fasta), "labels": str(labels),
                                   "alphabet": "dna", "models": []}}}
    proc = run_snakemake(tmp_path, config, check=False)
    assert proc.returncode != 0
    log = (tmp_path / "results" / "logs" / "bad" / "cache" / "seqset.log")
    out = proc.stderr + (log.read_text() if log.exists() else "")
    assert "my seqs.fa.gz" in out and "seq7" in out and "position 3" in out


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c["datasets"]["tiny"].update(sequences="x.fa", labels="y.tsv"),
         "expected a genome dataset (genome + tasks) or a sequence set"),
        (lambda c: c["datasets"]["tiny"].update(alphabet="protein"), "a genome dataset is DNA"),
        (lambda c: c.update(sweeps={"s": {"model": "nope", "grid": {"filters": [4]}}}),
         "sweeps.s.model is 'nope'"),
        (lambda c: c["datasets"]["tiny"].update(models=["nothing"]),
         "neither defined under models: nor a sweep"),
    ],
)
def test_seqset_and_sweep_config_errors(tmp_path, edit, message):
    config = json.loads(json.dumps(TINY))
    edit(config)
    proc = run_snakemake(tmp_path, config, "-n", check=False)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr


def test_train_gpus_2_runs_torchrun_inside_the_rule(tmp_path):
    """train: {gpus: 2} launches DistributedDataParallel in two processes from the
    train_model rule itself (gloo on this CPU machine), and the job's log says so."""
    config = json.loads(json.dumps(PROTEIN))
    config["train"] |= {"gpus": 2, "device": "cpu", "epochs": 2}
    config["sweeps"] = {}
    config["datasets"]["prot"]["models"] = ["pp"]
    run_snakemake(tmp_path, config, "results/prot/pp/model.pt")
    summary = json.loads((tmp_path / "results/prot/pp/model.json").read_text())
    assert summary["processes"] == 2 and summary["epochs_run"] == 2
    log = (tmp_path / "results/logs/prot/pp/train.log").read_text()
    assert "DistributedDataParallel in 2 processes" in log and "estimate for" in log
    torchrun = (tmp_path / "results/logs/prot/pp/train.log.torchrun").read_text()
    assert "torch.distributed.run" in torchrun and "--nproc_per_node=2" in torchrun
