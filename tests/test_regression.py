"""Regression targets for sequence sets: detection, errors, losses, metrics, the k-mer ridge
baseline, the simulated MPRA library, and (workflow tier) the DAG through evaluation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import pearsonr, spearmanr

from conftest import fasta_file, write_text
from seqcnn.data.cache import load_split, validate_manifest
from seqcnn.data.seqsets import load_seqset, quantile_strata, write_seqset_cache
from seqcnn.data.targets import Targets
from seqcnn.errors import SeqSetError
from seqcnn.evaluate.baselines import KmerRidge, kmer_counts
from seqcnn.evaluate.metrics import (
    REGRESSION_COLUMNS,
    evaluate_scores,
    pearson,
    predictions_table,
    regression_metrics,
    regression_scores,
    spearman,
)
from seqcnn.simulate.sets import mpra_activity, simulate_set
from seqcnn.train.datasets import CacheDataset

NAN = float("nan")


def _set(tmp_path, values, column="activity"):
    fa = fasta_file(tmp_path / "x.fa", {f"s{i}": "ACGT" * (i % 5 + 2)
                                        for i in range(len(values))})
    lab = write_text(tmp_path / "y.tsv", f"id\t{column}\n" + "".join(
        f"s{i}\t{v}\n" for i, v in enumerate(values)))
    return fa, lab


# --------------------------------------------------------------------------- loading


def test_label_type_regression_given_and_integers_stay_values(tmp_path):
    fa, lab = _set(tmp_path, [str(i % 300) for i in range(600)])  # 300 "classes" of ints
    with pytest.raises(SeqSetError, match="label_type: regression"):
        load_seqset(fa, lab)
    s = load_seqset(fa, lab, label_type="regression")
    assert s.kinds == {"activity": "regression"} and s.labels.dtype == np.float32
    np.testing.assert_array_equal(s.labels[:, 0], np.arange(600) % 300)
    assert s.report["label_type"] == {"label_type": "regression", "detected": False,
                                      "loss": "mse"}
    assert s.report["split"]["stratify"] == "activity"  # on quantile bins


def test_poisson_needs_non_negative_values_and_label_type_must_fit(tmp_path):
    fa, lab = _set(tmp_path, ["1.5", "-0.25", "3.0", "2.5"])
    with pytest.raises(SeqSetError) as err:
        load_seqset(fa, lab, loss="poisson")
    msg = str(err.value)
    assert "1 negative value(s), e.g. '-0.25'" in msg and "'s1' (line 3)" in msg
    assert "loss: mse" in msg and "y.tsv" in msg
    with pytest.raises(ValueError, match="loss must be one of mse, poisson"):
        load_seqset(fa, lab, loss="huber")
    with pytest.raises(ValueError, match="label_type must be one of"):
        load_seqset(fa, lab, label_type="ordinal")
    fa, lab = _set(tmp_path, ["0", "1", "2", "1"])
    with pytest.raises(SeqSetError, match="label_type is binary but column 'activity' reads "
                       "as multiclass"):
        load_seqset(fa, lab, label_type="binary")


def test_regression_beside_class_columns_is_refused(tmp_path):
    fa = fasta_file(tmp_path / "x.fa", {f"s{i}": "ACGTAC" for i in range(6)})
    lab = write_text(tmp_path / "y.tsv", "id\tactivity\tbound\n" + "".join(
        f"s{i}\t{i / 3:.3f}\t{i % 2}\n" for i in range(6)))
    with pytest.raises(SeqSetError, match=r"'activity' hold non-integer numbers .* 'bound' do "
                       "not; one dataset has one label type"):
        load_seqset(fa, lab)
    with pytest.raises(ValueError, match="cannot be mixed"):
        Targets(("a", "b"), {"a": "regression", "b": "binary"}, {})


def test_quantile_strata():
    np.testing.assert_array_equal(quantile_strata(np.array([5.0, 1, 3, NAN, 2, 4]), bins=2),
                                  [1, 0, 1, 2, 0, 1])


def test_float_labels_through_the_cache_and_load_split(tmp_path):
    rng = np.random.default_rng(1)
    values = rng.normal(size=40).round(3)
    fa, lab = _set(tmp_path, [f"{v:.3f}" for v in values])
    s = load_seqset(fa, lab, fractions=(0.5, 0.25, 0.25), loss="mse")
    manifest = write_seqset_cache(s, tmp_path / "cache")
    manifest.update(dataset="x", seqcnn_version="0")
    validate_manifest(json.loads(json.dumps(manifest, default=str)))
    assert manifest["layout"]["labels"].startswith("float32 (N, tasks)")
    assert manifest["targets"]["losses"] == {"activity": "mse"}
    assert Targets.from_manifest(manifest).regression
    got = {}
    for split in ("train", "valid", "test"):
        part = load_split(tmp_path / "cache", split)
        assert part.labels.dtype == np.float32 and part.labels.shape == (len(part), 1)
        got.update(zip(part.ids, part.labels[:, 0], strict=True))
        v = manifest["counts"][split]["values"]["activity"]
        assert v["n"] == len(part) and v["mean"] == pytest.approx(part.labels.mean(), abs=1e-6)
    assert {k: round(float(v), 3) for k, v in got.items()} == {
        f"s{i}": float(v) for i, v in enumerate(values)}
    ds = CacheDataset(part.onehot, part.labels, lengths=part.lengths)
    _, y, _ = ds.get_batch([0, 1])
    assert y.dtype == torch.float32  # not cast to class codes


# --------------------------------------------------------------------------- targets, losses


def test_mse_and_poisson_losses_equal_hand_computations():
    t = Targets(("a", "b"), {"a": "regression", "b": "regression"}, {},
                losses={"b": "poisson"})
    assert Targets.from_dict(t.to_dict()) == t and t.to_dict()["losses"] == {
        "a": "mse", "b": "poisson"}
    assert t.n_outputs == 2 and t.output_names == ["a", "b"]
    z = torch.tensor([[0.5, 0.1], [1.0, -0.2], [2.0, 0.3]])
    y = torch.tensor([[1.0, 2.0], [NAN, 0.0], [1.5, NAN]])
    mse = ((0.5 - 1.0) ** 2 + (2.0 - 1.5) ** 2) / 2  # the NaN row left out: 0.25
    pois = ((np.exp(0.1) - 2.0 * 0.1) + np.exp(-0.2)) / 2
    assert t.loss()(z, y).item() == pytest.approx((mse + pois) / 2, rel=1e-6)
    # the same as torch's own losses on the labelled rows
    ref = torch.nn.PoissonNLLLoss(log_input=True)(z[:2, 1], y[:2, 1]).item()
    assert pois == pytest.approx(ref, rel=1e-6)
    zn = z.numpy()
    np.testing.assert_allclose(t.probabilities(zn), np.c_[zn[:, 0], np.exp(zn[:, 1])], rtol=1e-6)
    z.requires_grad_(True)
    t.loss()(z, y).backward()
    assert z.grad[1, 0] == 0 and z.grad[2, 1] == 0  # no label, no gradient
    with pytest.raises(ValueError, match=r"task 'b' has -1.0 at row 0.*count >= 0"):
        t.check_labels(np.array([[1.0, -1.0]], dtype=np.float32))
    with pytest.raises(ValueError, match="have no classes"):
        t.one_vs_rest(np.zeros((1, 2), np.float32), np.zeros((1, 2)))


def test_training_selects_on_validation_pearson_and_predicts_values(tmp_path):
    from seqcnn.train.loop import predict, train

    rng = np.random.default_rng(0)
    motif = np.array([2, 2, 0, 3, 1, 1])  # GGATCC planted 0-2 times; value = copies + noise
    splits = {}
    for name, n in (("train", 192), ("valid", 64)):
        x = _onehot(rng, n, 40)
        copies = rng.integers(0, 3, size=n)
        for i, k in enumerate(copies):
            for s in rng.choice([2, 20], size=k, replace=False):
                x[i, :, s:s + 6] = np.eye(4, dtype=np.uint8)[motif].T
        y = (copies + 0.1 * rng.normal(size=n)).astype(np.float32)[:, None]
        y[:3] = NAN  # no label: left out of the loss and the validation r
        splits[name] = (x, y)
    t = Targets(("act",), {"act": "regression"}, {})
    res = train({"arch": "dilated", "filters": 8, "first_kernel": 7, "layers": 1, "kernel": 3,
                 "pool": "global_max"}, splits["train"], splits["valid"],
                {"epochs": 6, "batch_size": 32, "lr": 0.01, "patience": 0, "seed": 1},
                out_dir=tmp_path, targets=t, progress=False)
    assert res.meta["targets"]["kinds"] == {"act": "regression"}
    assert res.meta["train"]["select_on"] == "auprc"  # select_on: auto → Pearson r's slot
    rs = [row["valid_auprc"] for row in res.history]  # validation Pearson r per epoch
    assert res.best_valid_auprc == pytest.approx(max(rs))
    assert res.best_epoch == 1 + int(np.argmax(rs))
    pred = predict(res.model, splits["valid"][0], targets=t)
    keep = ~np.isnan(splits["valid"][1][:, 0])
    assert pred.shape == (64, 1)
    assert pearson(splits["valid"][1][keep, 0], pred[keep, 0]) == pytest.approx(
        res.best_valid_auprc, abs=1e-4)
    assert res.best_valid_auprc > 0.5, str([round(r, 3) for r in rs])


# --------------------------------------------------------------------------- metrics


def test_pearson_spearman_on_known_inputs():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert pearson(y, [2.0, 4.0, 6.0, 8.0]) == pytest.approx(1.0)
    assert pearson(y, [1.0, 3.0, 2.0, 4.0]) == pytest.approx(0.8)  # cov 1 / var 1.25
    assert spearman(y, [1.0, 8.0, 27.0, 64.0]) == pytest.approx(1.0)  # monotone
    assert spearman(y, [4.0, 3.0, 2.0, 1.0]) == pytest.approx(-1.0)
    assert np.isnan(pearson(y, [1.0, 1.0, 1.0, 1.0]))
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=200), rng.normal(size=200)
    b[:5] = b[0]  # ties
    assert pearson(a, b) == pytest.approx(pearsonr(a, b)[0])
    assert spearman(a, b) == pytest.approx(spearmanr(a, b)[0])
    labels = np.c_[y, [1.0, NAN, 3.0, 4.0]]
    r, rho = regression_scores(labels, np.c_[[1.0, 3.0, 2.0, 4.0], [2.0, 0.0, 1.0, 3.0]])
    assert r[0] == pytest.approx(0.8) and rho[1] == pytest.approx(0.5)  # ranks 2,1,3 vs 1,2,3


def test_regression_metrics_table_and_entry_point():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(300, 1))
    p = y + rng.normal(size=(300, 1))
    y[:10] = NAN
    table = regression_metrics(y, p, ["act"], model="m", n_boot=200)
    assert list(table.columns) == REGRESSION_COLUMNS
    assert table["metric"].tolist() == ["pearson", "spearman", "mse"]
    keep = ~np.isnan(y[:, 0])
    point = dict(zip(table["metric"], table["value"], strict=True))
    assert point["pearson"] == pytest.approx(pearsonr(y[keep, 0], p[keep, 0])[0])
    assert point["mse"] == pytest.approx(np.mean((y[keep, 0] - p[keep, 0]) ** 2))
    assert (table["n"] == 290).all() and (table["n_missing"] == 10).all()
    assert (table["lo"] < table["value"]).all() and (table["value"] < table["hi"]).all()
    t = Targets(("act",), {"act": "regression"}, {})
    both, acc = evaluate_scores(y, {"m": p, "kmer_ridge": p * 0.5}, t, n_boot=50)
    assert both["model"].tolist() == ["m"] * 3 + ["kmer_ridge"] * 3 and acc.empty
    pearsons = both[both["metric"] == "pearson"]["value"].to_numpy()
    assert pearsons[0] == pytest.approx(pearsons[1])  # r does not see the scale
    pred = predictions_table(np.array([f"s{i}" for i in range(300)]), y, p, t)
    assert list(pred.columns) == ["id", "task", "label", "prediction"] and len(pred) == 300


# --------------------------------------------------------------------------- baseline


def _onehot(rng, n, length=60):
    codes = rng.integers(0, 4, size=(n, length))
    x = np.zeros((n, 4, length), dtype=np.uint8)
    np.put_along_axis(x, codes[:, None, :], 1, axis=1)
    return x


def test_kmer_ridge_recovers_a_linear_kmer_function():
    rng = np.random.default_rng(0)
    xs = [_onehot(rng, n) for n in (800, 200, 200)]
    w = rng.normal(size=kmer_counts(xs[0], (2, 3)).shape[1])
    ys = [kmer_counts(x, (2, 3)).toarray() @ w for x in xs]
    ys[0][:5] = NAN  # no label: left out of the fit
    m = KmerRidge(ks=(2, 3)).fit(xs[0], ys[0][:, None], xs[1], ys[1][:, None], tasks=["f"])
    pred = m.predict(xs[2])[:, 0]
    assert pearson(ys[2], pred) > 0.999 and m.alpha_ == [0.1] and m.n_missing_ == [(5, 0)]
    assert "alpha=0.1" in m.describe()


# --------------------------------------------------------------------------- simulation


def test_mpra_simulation_activity_is_the_known_function():
    assert mpra_activity(np.array([[1, 0, 0], [1, 1, 0], [0, 2, 1], [0, 0, 0]]),
                         (1.0, 0.7, -0.6), 0.8, baseline=0.5).tolist() == pytest.approx(
        [1.5, 3.0, 1.3, 0.5])
    table, truth, cols = simulate_set("mpra", {"n": 300, "noise": 0.0}, seed=3)
    assert cols == ["activity"] and (table["sequence"].str.len() == 200).all()
    counts = truth.groupby(["id", "motif_id"]).size().unstack(fill_value=0)
    assert counts.sum(axis=1).max() <= 3
    act = table.set_index("id")["activity"].astype(float)
    expect = pd.Series(0.0, index=act.index)
    for mid, eff in zip(("MA0139.2", "MA0080.7", "MA0035.5"), (1.0, 0.7, -0.6), strict=True):
        expect += eff * counts.get(mid, pd.Series(dtype=float)).reindex(act.index,
                                                                       fill_value=0)
    both = (counts.get("MA0139.2", 0) > 0) & (counts.get("MA0080.7", 0) > 0)
    expect += 0.8 * both.reindex(act.index, fill_value=False)
    np.testing.assert_allclose(act, expect, atol=1e-4)
    for row in truth.head(20).itertuples():  # the planted window is where truth says
        seq = table.set_index("id").loc[row.id, "sequence"]
        assert len(seq[row.start:row.end]) == row.end - row.start
    again, _, _ = simulate_set("mpra", {"n": 300, "noise": 0.0}, seed=3)
    pd.testing.assert_frame_equal(table, again)
    noisy, _, _ = simulate_set("mpra", {"n": 300}, seed=3)
    resid = noisy["activity"].astype(float) - act.to_numpy()
    assert 0.25 < resid.std() < 0.35  # noise sd 0.3


# --------------------------------------------------------------------------- workflow


MPRA = {
    "simulations": {"mpra": {"kind": "mpra", "seed": 1, "params": {"n": 1200, "length": 100}}},
    "datasets": {"mpra": {"sequences": "resources/simulated/mpra/sequences.fa.gz",
                          "labels": "resources/simulated/mpra/labels.tsv",
                          "models": ["small"]}},
    "models": {"small": {"arch": "dilated", "filters": 16, "layers": 2, "first_kernel": 15}},
    "train": {"epochs": 6, "batch_size": 64, "lr": 0.003, "patience": 3},
    "evaluate": {"bootstrap": 20},
}


@pytest.mark.workflow
def test_mpra_regression_through_the_dag(tmp_path):
    from test_workflow import run_snakemake

    work = tmp_path / "mpra project"
    work.mkdir()
    res = work / "results" / "mpra"
    run_snakemake(work, MPRA, "results/mpra/small/eval/metrics.tsv", "results/mpra/report.html")
    manifest = json.loads((res / "cache" / "manifest.json").read_text())
    assert manifest["label_type"]["detected"] and manifest["label_type"]["label_type"] == \
        "regression"
    assert manifest["targets"]["kinds"] == {"activity": "regression"}
    log = (work / "results" / "logs" / "mpra" / "cache.log")
    text = "".join(p.read_text() for p in (work / "results" / "logs" / "mpra").rglob("*.log"))
    assert "read as regression targets (detected" in text, log
    train_log = pd.read_csv(res / "small" / "train_log.tsv", sep="\t")
    assert train_log["valid_auprc"].max() > 0.3  # valid Pearson r
    table = pd.read_csv(res / "small" / "eval" / "metrics.tsv", sep="\t")
    assert list(table.columns) == REGRESSION_COLUMNS
    assert set(table["model"]) == {"small", "kmer_ridge"}
    r = table[table["metric"] == "pearson"].set_index("model")["value"]
    assert r["small"] > 0.3 and r["kmer_ridge"] > 0.2
    n_test = len(pd.read_csv(res / "cache" / "test.ids.tsv", sep="\t"))
    assert (table["n"] == n_test).all()
    pred = pd.read_csv(res / "small" / "eval" / "predictions.tsv.gz", sep="\t")
    assert len(pred) == n_test and pearson(pred["label"], pred["prediction"]) == \
        pytest.approx(r["small"], abs=1e-3)
    assert (res / "small" / "eval" / "curves.png").stat().st_size > 5000  # the scatter
    html = (res / "report.html").read_text()
    assert 'id="metrics-small"' in html and "kmer_ridge" in html and "pearson_lo" in html
    assert "Labels are regression" in html and "predicted against observed" in html
