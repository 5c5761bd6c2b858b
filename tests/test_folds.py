"""Genomic folds for ``ensemble: {vary: fold}`` (seqcnn.data.folds): whole chromosomes when
they balance, contiguous blocks that never split overlapping windows otherwise, the test split
in no fold, and a fold ensemble trained through the workflow."""

import copy

import numpy as np
import pytest

from seqcnn.data.cache import region_ids, write_ids
from seqcnn.data.folds import assign_folds, cache_folds, load_fold, parse_region_ids
from seqcnn.errors import ConfigError


def _regions(chroms, starts, width=100):
    import pandas as pd

    return pd.DataFrame({"chrom": chroms, "start": starts,
                         "end": [s + width for s in starts], "strand": "+"})


def test_parse_region_ids_and_sequence_names():
    chrom, start, end = parse_region_ids(["chr1:10-20(+)", "NC_003070.9:2524-2824(.)",
                                          "scaffold:1:5-9(-)"])
    assert chrom.tolist() == ["chr1", "NC_003070.9", "scaffold:1"]
    assert start.tolist() == [10, 2524, 5] and end.tolist() == [20, 2824, 9]
    with pytest.raises(ConfigError, match="row 1 is 'seq_17'.*vary: seed"):
        parse_region_ids(["chr1:10-20(+)", "seq_17"])


def test_whole_chromosomes_when_they_balance():
    chroms = np.array(["chr1"] * 40 + ["chr2"] * 35 + ["chr3"] * 30 + ["chr4"] * 25
                      + ["chr5"] * 10, dtype=object)
    starts = np.arange(len(chroms)) * 1000
    fold, how = assign_folds(chroms, starts, starts + 100, 3)
    assert how == "chromosomes"
    for c in np.unique(chroms):  # a chromosome lies in one fold
        assert len(set(fold[chroms == c])) == 1
    # greedy, largest first: chr1 | chr2 | chr3, then chr4 → fold 2, chr5 → fold 1
    assert np.bincount(fold).tolist() == [40, 45, 55]


def test_blocks_when_chromosomes_are_too_few_never_split_overlaps():
    rng = np.random.default_rng(0)
    starts = np.sort(rng.integers(0, 1_000_000, 300))
    # a pile of overlapping windows exactly where the first cut would fall (row 100)
    starts[95:110] = starts[95] + np.arange(15) * 10
    starts = np.sort(starts)
    chroms = np.array(["chr1"] * 300, dtype=object)
    order = rng.permutation(300)  # the cache's rows are not in genome order
    fold, how = assign_folds(chroms[order], starts[order], starts[order] + 100, 3)
    assert how == "blocks"
    fold_sorted = np.empty(300, int)
    fold_sorted[order] = fold
    assert (np.diff(fold_sorted) >= 0).all()  # contiguous in genome order
    for f in range(2):  # no window of fold f overlaps one of fold f + 1
        last_end = starts[fold_sorted == f].max() + 100
        assert starts[fold_sorted == f + 1].min() >= last_end
    assert min(np.bincount(fold_sorted)) >= 85


def test_bad_fold_counts():
    chroms = np.array(["chr1"] * 3, dtype=object)
    with pytest.raises(ValueError, match="k >= 2"):
        assign_folds(chroms, np.array([0, 10, 20]), np.array([5, 15, 25]), 1)
    with pytest.raises(ValueError, match="3 rows cannot make 4"):
        assign_folds(chroms, np.array([0, 10, 20]), np.array([5, 15, 25]), 4)
    with pytest.raises(ValueError, match="overlapping windows"):  # all three overlap
        assign_folds(chroms, np.array([0, 10, 20]), np.array([50, 60, 70]), 2)


def _cache(tmp_path, splits):
    """A minimal cache: onehot rows whose first value is the row's pooled number."""
    n0 = 0
    for split, regions in splits.items():
        n = len(regions)
        onehot = np.zeros((n, 4, 8), np.uint8)
        onehot[:, 0, 0] = np.arange(n0, n0 + n) % 256
        np.save(tmp_path / f"{split}.onehot.npy", onehot)
        np.save(tmp_path / f"{split}.labels.npy", (np.arange(n) % 2).astype(np.uint8)[:, None])
        write_ids(tmp_path / f"{split}.ids.tsv", region_ids(regions), np.full(n, 8))
        n0 += n


def test_folds_of_a_cache_pool_train_and_valid_and_leave_test_out(tmp_path):
    train = _regions(["chr1"] * 30 + ["chr2"] * 30, list(range(0, 30_000, 1000)) * 2)
    valid = _regions(["chr3"] * 30, list(range(0, 30_000, 1000)))
    test = _regions(["chr9"] * 20, list(range(0, 20_000, 1000)))
    _cache(tmp_path, {"train": train, "valid": valid, "test": test})
    folds = cache_folds(tmp_path, 3)
    assert folds.how == "chromosomes" and folds.n_train == 60 and len(folds.fold) == 90
    seen = []
    for i in range(3):
        tr, va = (load_fold(tmp_path, 3, i, role) for role in ("train", "valid"))
        assert len(tr.ids) + len(va.ids) == 90
        assert not set(tr.ids) & set(va.ids)
        assert len({i.split(":")[0] for i in va.ids}) == 1  # one chromosome per fold here
        assert not any(i.startswith("chr9") for i in [*tr.ids, *va.ids])
        assert tr.onehot.shape[1:] == (4, 8) and tr.labels.shape[1] == 1
        # rows come in pooled order, each with its own one-hot and label
        rows = folds.rows(i, "valid")
        assert va.onehot[:, 0, 0].tolist() == (rows % 256).tolist()
        seen.extend(va.ids)
    assert sorted(seen) == sorted([*region_ids(train), *region_ids(valid)])
    with pytest.raises(ValueError, match="fold 3 does not exist"):
        folds.rows(3, "valid")


def test_member_fold_and_config_checks():
    from seqcnn.models.ensemble import member_fold, member_train_config
    from seqcnn.workflow.portfolio import ensemble_models

    assert member_fold({"members": 4, "vary": "fold"}, 2) == {"k": 4, "held_out": 2}
    assert member_fold({"members": 4}, 2) is None
    assert member_train_config({"seed": 5}, 2, vary="fold") == {"seed": 7}
    with pytest.raises(ValueError, match="one of seed, fold"):
        member_fold({"members": 2, "vary": "chrom"}, 0)
    models = {"f": {"arch": "dilated", "ensemble": {"members": 1, "vary": "fold"}}}
    with pytest.raises(ConfigError, match=r"models\.f\.ensemble: vary: fold needs members >= 2"):
        ensemble_models(models)
    models["f"]["ensemble"]["members"] = 2
    seqset = {"s": {"sequences": "x.fa", "labels": "y.tsv", "models": []}}
    with pytest.raises(ConfigError, match="dataset 's' is a sequence set"):
        ensemble_models(models, seqset, {"s": {"models": ["f"]}})
    assert ensemble_models(models, seqset, {}) == ["f"]


@pytest.mark.workflow
def test_fold_ensemble_through_the_workflow(tmp_path):
    """Two members of vary: fold: each trains on the pooled train and valid rows outside its
    fold and chooses its epoch on its fold (the test chromosome in neither), and the
    ensemble's validation figure is out of fold: each valid row scored by the member that
    held it out."""
    import json

    import torch

    from seqcnn.data.cache import load_split
    from seqcnn.models import load_model
    from seqcnn.train.loop import predict, task_metrics
    from test_workflow import TINY, run_snakemake

    config = copy.deepcopy(TINY)
    config["models"] = {"fold2": {**TINY["models"]["small"],
                                  "ensemble": {"members": 2, "vary": "fold"}}}
    config["datasets"]["tiny"]["models"] = ["fold2"]
    run_snakemake(tmp_path, config, "results/tiny/fold2/model.json")
    res = tmp_path / "results" / "tiny"
    cache = res / "cache"
    folds = cache_folds(cache, 2)
    assert folds.how == "chromosomes"  # chr1-chr4 pooled (chr5 is test)
    test_ids = set(load_split(cache, "test").ids)
    members = []
    for i in (0, 1):
        summary = json.loads((res / "fold2" / "members" / str(i) / "model.json").read_text())
        tr, va = (load_fold(cache, 2, i, role, folds) for role in ("train", "valid"))
        assert not test_ids & {*tr.ids, *va.ids}
        assert (summary["n_train"], summary["n_valid"]) == (len(tr.ids), len(va.ids))
        assert summary["fold"] == {"k": 2, "held_out": i, "how": "chromosomes"}
        members.append(load_model(res / "fold2" / "members" / str(i) / "model.pt"))
        # the epoch it kept was chosen on its own fold: its recorded figure is that fold's
        fold_auroc, _ = task_metrics(np.asarray(va.labels),
                                     predict(members[-1], np.asarray(va.onehot), device="cpu"))
        assert summary["best_valid_auroc"] == pytest.approx(float(np.nanmean(fold_auroc)),
                                                            abs=1e-5)
        log = (tmp_path / "results" / "logs" / "tiny" / "fold2" / "members" / str(i)
               / "train.log").read_text()
        assert f"fold {i} of 2 (chromosomes" in log

    valid = load_split(cache, "valid")
    held = folds.fold[folds.n_train:]
    probs = np.zeros(valid.labels.shape, np.float64)
    for i, m in enumerate(members):
        if not (held == i).any():  # chr4 (valid) lies in one fold
            continue
        with torch.no_grad():
            probs[held == i] = predict(m, np.asarray(valid.onehot)[held == i], device="cpu")
    auroc, _ = task_metrics(np.asarray(valid.labels), probs)
    ens = json.loads((res / "fold2" / "model.json").read_text())
    assert ens["best_valid_auroc"] == pytest.approx(float(np.nanmean(auroc)), abs=1e-6)
    assert ens["ensemble"]["vary"].startswith("fold")
    assert 0 < ens["oof_pooled_auroc"] <= 1
