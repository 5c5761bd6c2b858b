import math
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from conftest import MIXED, SS, secondary_structure
from seqcnn.data.targets import Targets
from seqcnn.evaluate import plots as evalplots
from seqcnn.evaluate.metrics import (
    ACCURACY_COLUMNS,
    CLASS_COLUMNS,
    COLUMNS,
    SingleClassWarning,
    accuracy_metrics,
    average_rc,
    bootstrap_weights,
    class_metrics,
    class_precision_recall,
    fold_mean_auroc,
    paired_differences,
    per_chromosome_metrics,
    task_metrics,
    weighted_auroc_auprc,
)

# Task a: labels 1 0 1 1 0, scores .9 .8 .7 .3 .2 (all distinct).
#   auROC: positives {.9, .7, .3} vs negatives {.8, .2}: pairs won
#          .9>.8 .9>.2 .7>.2 .3>.2 = 4 of 3*2 = 6                      -> 2/3
#   AP:    ranked + - + + -; precision at each positive: 1/1, 2/3, 3/4;
#          each recall step is 1/3: (1 + 2/3 + 3/4) / 3 = (29/12) / 3    -> 29/36
# Task b: labels 1 0 1 0 0, scores .8 .8 .5 .2 (+ a fifth row: label 0, score .1).
#   auROC: positives {.8, .5} vs negatives {.8, .2, .1}: .8=.8 counts 1/2,
#          .8>.2 .8>.1 .5>.2 .5>.1 = 4.5 of 2*3 = 6                      -> 3/4
#   AP:    thresholds .8: tp 1 fp 1 (P 1/2, R 1/2); .5: tp 2 fp 1 (P 2/3, R 1);
#          1/2 * 1/2 + 1/2 * 2/3 = 1/4 + 1/3                            -> 7/12
LABELS = np.array([[1, 1], [0, 0], [1, 1], [1, 0], [0, 0]], dtype=np.uint8)
SCORES = np.array([[.9, .8], [.8, .8], [.7, .5], [.3, .2], [.2, .1]])


def test_hand_computed_metrics():
    df = task_metrics(LABELS, SCORES, ["a", "b"], model="m", n_boot=0)
    assert list(df.columns) == COLUMNS
    assert df["auroc"].tolist() == pytest.approx([2 / 3, 3 / 4], abs=1e-12)
    assert df["auprc"].tolist() == pytest.approx([29 / 36, 7 / 12], abs=1e-12)
    assert df["n_pos"].tolist() == [3, 2] and df["n_neg"].tolist() == [2, 3]
    assert df[["auroc_lo", "auprc_hi"]].isna().all().all() and (df["n_boot"] == 0).all()
    assert (df["model"] == "m").all() and df["task"].tolist() == ["a", "b"]


def test_weighted_kernel_equals_sklearn_with_weights():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 400)
    s = np.round(rng.normal(y * 0.7, 1), 1)  # rounding makes many ties
    w = next(bootstrap_weights(400, 25, seed=1))
    assert (w.sum(axis=1) == 400).all()
    roc, pr = weighted_auroc_auprc(y, s, w)
    for b in range(25):
        assert roc[b] == pytest.approx(roc_auc_score(y, s, sample_weight=w[b]), abs=1e-12)
        assert pr[b] == pytest.approx(average_precision_score(y, s, sample_weight=w[b]),
                                      abs=1e-12)
    # unit weights are the plain metrics
    roc1, pr1 = weighted_auroc_auprc(y, s, np.ones((1, 400)))
    assert roc1[0] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert pr1[0] == pytest.approx(average_precision_score(y, s), abs=1e-12)


def _noisy(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, 2, (n, 1)).astype(np.uint8)
    return y, rng.normal(y.astype(float), 1.0)


def test_bootstrap_interval_contains_estimate_narrows_and_is_seeded():
    rng = np.random.default_rng(0)
    small = task_metrics(*_noisy(100, rng), n_boot=500, seed=1)
    large = task_metrics(*_noisy(3000, rng), n_boot=500, seed=1)
    for df in (small, large):
        r = df.iloc[0]
        assert r.auroc_lo < r.auroc < r.auroc_hi and r.auprc_lo < r.auprc < r.auprc_hi
        assert r.n_boot == 500
    # both estimate the same auROC (Phi(1/sqrt 2) = 0.760); the width shrinks ~ 1/sqrt(n)
    width = {k: (d.auroc_hi - d.auroc_lo).iloc[0] for k, d in (("s", small), ("l", large))}
    assert 3 < width["s"] / width["l"] < 8
    assert large.auroc.iloc[0] == pytest.approx(0.760, abs=0.02)
    y, s = _noisy(200, rng)
    pd.testing.assert_frame_equal(task_metrics(y, s, n_boot=200, seed=5),
                                  task_metrics(y, s, n_boot=200, seed=5))
    assert not task_metrics(y, s, n_boot=200, seed=5).equals(task_metrics(y, s, n_boot=200,
                                                                          seed=6))


def test_single_class_resamples_are_skipped_and_counted():
    # 1 positive in 4: a resample misses it with probability (3/4)^4 = 0.316
    y, s = np.array([1, 0, 0, 0]), np.array([0.9, 0.1, 0.5, 0.3])
    r = task_metrics(y, s, n_boot=2000, seed=0).iloc[0]
    assert 2000 * (1 - 0.316) * 0.93 < r.n_boot < 2000 * (1 - 0.316) * 1.07
    assert r.auroc == 1.0 and r.auroc_lo == 1.0


def test_single_class_task_is_nan_with_warning():
    y = np.array([[1, 0], [0, 0], [1, 0], [0, 0]], dtype=np.uint8)
    s = np.array([[.9, .1], [.2, .5], [.8, .7], [.1, .3]])
    with pytest.warns(SingleClassWarning, match="empty"):
        df = task_metrics(y, s, ["ok", "empty"], n_boot=50)
    assert df.loc[0, "auroc"] == 1.0 and 30 < df.loc[0, "n_boot"] < 50  # P(both) = 7/8
    assert np.isnan(df.loc[1, ["auroc", "auroc_lo", "auprc", "auprc_hi"]].astype(float)).all()
    assert df.loc[1, "n_pos"] == 0 and df.loc[1, "n_neg"] == 4
    with pytest.raises(ValueError, match="0 or 1"):
        task_metrics(np.array([0, 2, 1]), np.array([.1, .2, .3]))


def test_per_chromosome_matches_subsets():
    rng = np.random.default_rng(2)
    y, s = _noisy(300, rng)
    chrom = np.array(["chr2", "chr10", "chrX"])[rng.integers(0, 3, 300)]
    y[chrom == "chrX"] = 0  # one class there
    with pytest.warns(SingleClassWarning, match="chrX:t"):
        df = per_chromosome_metrics(y, s, chrom, ["t"], model="m")
    for c in ("chr2", "chr10"):
        row = df[df.chrom == c].iloc[0]
        assert row.n == (chrom == c).sum() and row.n_pos == y[chrom == c].sum()
        assert row.auroc == pytest.approx(roc_auc_score(y[chrom == c, 0], s[chrom == c, 0]))
    assert np.isnan(df[df.chrom == "chrX"].auroc.iloc[0])


def test_average_rc_equals_manual():
    rng = np.random.default_rng(4)
    X = np.eye(4, dtype=np.uint8)[rng.integers(0, 4, (6, 12))].transpose(0, 2, 1)
    W = rng.normal(size=(4, 12))  # strand-asymmetric linear model

    def f(x):
        return (np.asarray(x, dtype=float) * W).sum(axis=(1, 2))[:, None]

    manual = (f(X) + f(X[:, ::-1, ::-1])) / 2
    assert not np.allclose(f(X), manual)
    np.testing.assert_allclose(average_rc(f, X), manual)
    np.testing.assert_allclose(average_rc(f, X, batch_size=4), manual)
    Wt = torch.from_numpy(W)
    out = average_rc(lambda x: (x.double() * Wt).sum(dim=(1, 2)), torch.from_numpy(X))
    np.testing.assert_allclose(out.numpy(), manual[:, 0])


def test_plots_write_pngs(tmp_path):
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, (120, 2)).astype(np.uint8)
    y[:, 1] = 0
    y[:3, 1] = 1
    scores = {"cnn": rng.normal(y, 1), "kmer": rng.normal(y * 0.5, 1)}
    tasks = ["A", "B"]
    chrom = np.array(["chr1", "chr2", "chr10"])[rng.integers(0, 3, 120)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingleClassWarning)
        per_chrom = pd.concat([per_chromosome_metrics(y, s, chrom, tasks, m, n_boot=50)
                               for m, s in scores.items()])
    metrics = pd.concat([task_metrics(y, s, tasks, m, n_boot=0) for m, s in scores.items()])
    paths = {n: tmp_path / f"{n}.png" for n in ("curves", "dist", "chrom", "tasks")}
    evalplots.roc_pr_curves(scores, y, tasks, paths["curves"])
    evalplots.score_distributions(scores, y, tasks, paths["dist"])
    evalplots.chromosome_performance(per_chrom, paths["chrom"])
    evalplots.task_comparison(metrics, paths["tasks"], x_model="kmer")
    for p in paths.values():
        data = p.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, p


# --------------------------------------------------------------------------- ambiguous (255)


def _with_ambiguous(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels (n, 2) with different ambiguous rows per task, the labels without them, scores."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, (n, 2)).astype(np.uint8)
    s = rng.normal(y.astype(float), 1.0)
    amb = y.copy()
    amb[rng.random(n) < 0.2, 0] = 255
    amb[rng.random(n) < 0.1, 1] = 255
    return amb, y, s


def test_ambiguous_rows_are_left_out_per_task_and_counted():
    amb, y, s = _with_ambiguous(300, 8)
    df = task_metrics(amb, s, ["a", "b"], model="m", n_boot=200, seed=4)
    assert "n_ambiguous" in COLUMNS and list(df.columns) == COLUMNS
    for j, task in enumerate(["a", "b"]):
        keep = amb[:, j] != 255
        alone = task_metrics(amb[keep, j], s[keep, j], [task], model="m", n_boot=200, seed=4)
        got = df.iloc[[j]].reset_index(drop=True)
        assert got["n_ambiguous"].item() == (~keep).sum() > 0
        pd.testing.assert_frame_equal(got.drop(columns="n_ambiguous"),
                                      alone.drop(columns="n_ambiguous"))
        assert got["auroc_lo"].item() < got["auroc"].item() < got["auroc_hi"].item()
    # tasks with the same labelled rows share their resamples, as without ambiguity
    same = amb.copy()
    same[:, 1] = np.where(same[:, 0] == 255, 255, y[:, 1])
    both = task_metrics(same, s, ["a", "b"], n_boot=100, seed=2)
    keep = same[:, 0] != 255
    pd.testing.assert_frame_equal(both, task_metrics(same[keep], s[keep], ["a", "b"],
                                                     n_boot=100, seed=2).assign(
        n_ambiguous=[(~keep).sum()] * 2))


def test_task_with_only_ambiguous_or_one_labelled_class_is_nan():
    y = np.array([[1, 255], [0, 255], [255, 1], [255, 1]], dtype=np.uint8)
    s = np.array([[.9, .1], [.2, .5], [.8, .7], [.1, .3]])
    with pytest.warns(SingleClassWarning, match="b"):
        df = task_metrics(y, s, ["a", "b"], n_boot=10)
    assert df["auroc"][0] == 1.0 and df["n_ambiguous"].tolist() == [2, 2]
    assert np.isnan(df["auroc"][1]) and (df["n_pos"][1], df["n_neg"][1]) == (2, 0)
    with pytest.raises(ValueError, match="0 or 1.*255"):
        task_metrics(np.array([0, 254, 1]), np.array([.1, .2, .3]))


def test_per_chromosome_metrics_leave_out_ambiguous_rows():
    amb, _, s = _with_ambiguous(400, 9)
    chrom = np.array(["chr1", "chr2"])[np.random.default_rng(1).integers(0, 2, 400)]
    df = per_chromosome_metrics(amb, s, chrom, ["a", "b"], model="m", n_boot=20)
    for c in ("chr1", "chr2"):
        for j, task in enumerate(["a", "b"]):
            rows = (chrom == c) & (amb[:, j] != 255)
            row = df[(df.chrom == c) & (df.task == task)].iloc[0]
            assert row.n == (chrom == c).sum()
            assert row.n_ambiguous == ((chrom == c) & (amb[:, j] == 255)).sum()
            assert row.auroc == pytest.approx(roc_auc_score(amb[rows, j], s[rows, j]))
            assert row.n_pos + row.n_neg == rows.sum()


def test_curves_leave_out_ambiguous_rows(monkeypatch):
    amb, _, s = _with_ambiguous(200, 10)
    figures = []
    monkeypatch.setattr(evalplots, "_save", lambda fig, path: figures.append(fig))
    evalplots.roc_pr_curves({"cnn": s}, amb, ["a", "b"], "unused.png")
    evalplots.score_distributions({"cnn": s}, amb, ["a", "b"], "unused.png")
    curves, dists = figures
    for j in range(2):
        y = amb[amb[:, j] != 255, j]
        n_pos, n_neg, n_amb = y.sum(), (y == 0).sum(), (amb[:, j] == 255).sum()
        title = curves.axes[2 * j].get_title()
        assert f"n+={n_pos:,}, n−={n_neg:,}" in title and f"{n_amb:,} ambiguous" in title
        auroc = roc_auc_score(y, s[amb[:, j] != 255, j])
        assert f"cnn ({auroc:.3f})" in curves.axes[2 * j].get_legend().get_texts()[0].get_text()
        legend = [t.get_text() for t in dists.axes[j].get_legend().get_texts()]
        assert legend == [f"negative (n={n_neg:,})", f"positive (n={n_pos:,})"]


# --------------------------------------------------------------------------- one entry point


def test_evaluate_scores_is_task_metrics_for_binary_targets(rng):
    from seqcnn.data.targets import Targets
    from seqcnn.evaluate.metrics import evaluate_scores, task_metrics

    y = (rng.random((80, 2)) < 0.4).astype(np.uint8)
    y[:5, 1] = 255
    y[:, 1][y[:, 1] == 1] = 0  # task B: no positives
    s = {"cnn": rng.random((80, 2)), "kmer": rng.random((80, 2))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table, accuracy = evaluate_scores(y, s, Targets.binary(["A", "B"]), n_boot=20, seed=3)
        expected = task_metrics(y, s["kmer"], ["A", "B"], model="kmer", n_boot=20, seed=3)
    pd.testing.assert_frame_equal(table[table["model"] == "kmer"].drop(columns="note")
                                  .reset_index(drop=True), expected)
    assert list(table["note"]) == ["", "no positives in the test split"] * 2
    assert len(accuracy) == 0 and list(table["model"].unique()) == ["cnn", "kmer"]


def test_evaluate_scores_by_class_for_a_multiclass_task(rng):
    from seqcnn.data.targets import Targets
    from seqcnn.evaluate.metrics import class_metrics, evaluate_scores

    targets = Targets(("c",), {"c": "multiclass"}, {"c": ("x", "y", "z")})
    y = rng.integers(0, 3, (60, 1)).astype(np.uint8)
    p = rng.dirichlet(np.ones(3), 60)
    table, accuracy = evaluate_scores(y, {"m": p}, targets, n_boot=10, seed=1)
    pd.testing.assert_frame_equal(table, class_metrics(y, p, targets, "m", n_boot=10, seed=1))
    assert list(accuracy["task"]) == ["c"] and 0 <= accuracy["accuracy"][0] <= 1


def test_predictions_table_layouts(rng):
    from seqcnn.data.targets import Targets
    from seqcnn.evaluate.metrics import predictions_table

    y = np.array([[1, 0], [255, 1]], dtype=np.uint8)
    p = np.array([[0.9, 0.1], [0.5, 0.7]], dtype=np.float32)
    ids = np.array(["chr1:0-10(+)", "chr2:5-15(-)"])
    pred = predictions_table(ids, y, p, Targets.binary(["A", "B"]))
    assert list(pred.columns) == ["region", "task", "label", "score"]
    assert list(pred["region"]) == [ids[0], ids[0], ids[1], ids[1]]
    assert pred["label"].isna().tolist() == [False, False, True, False]  # 255 → NA
    by_class = predictions_table(ids[:1], y[:1], p[:1], Targets.binary(["A", "B"]), by_class=True)
    assert list(by_class.columns) == ["id", "output", "label", "score"]
    pos = Targets(("s",), {"s": "per_position"}, {"s": ("H", "E", "C")})
    labels = np.array([[0, 2, 255]], dtype=np.uint8)
    probs = rng.dirichlet(np.ones(3), 3).T[None]  # (1, 3, 3)
    per_pos = predictions_table(np.array(["p1"]), labels, probs, pos, np.array([2]))
    assert list(per_pos.columns) == ["id", "position", "label", "p_H", "p_E", "p_C"]
    assert list(per_pos["label"]) == ["H", "C"] and list(per_pos["position"]) == [1, 2]


def test_class_metrics_match_sklearn_one_vs_rest():
    rng = np.random.default_rng(2)
    labels = np.stack([rng.integers(0, 2, 60), rng.integers(0, 3, 60)], axis=1).astype(np.uint8)
    logits = rng.normal(size=(60, 4))
    logits[:, 0] += 1.5 * labels[:, 0]
    logits[np.arange(60), 1 + labels[:, 1]] += 1.5
    probs = MIXED.probabilities(logits)
    df = class_metrics(labels, probs, MIXED, model="m", n_boot=50, seed=1)
    assert list(df.columns) == CLASS_COLUMNS and len(df) == 4
    assert df["task"].tolist() == ["bound", "family", "family", "family"]
    assert df["class"].tolist() == ["", "a", "b", "c"]
    y, p = MIXED.one_vs_rest(labels, probs)
    for j in range(4):
        assert df["auroc"][j] == pytest.approx(roc_auc_score(y[:, j], p[:, j]))
        assert df["auprc"][j] == pytest.approx(average_precision_score(y[:, j], p[:, j]))
        assert df["n_pos"][j] == y[:, j].sum() and df["n_neg"][j] == 60 - y[:, j].sum()
        assert df["auroc_lo"][j] <= df["auroc"][j] <= df["auroc_hi"][j]


def test_accuracy_q3_and_precision_recall_on_known_inputs():
    # 2 sequences; real positions: row 0 → H E C C (4), row 1 → H H (2); rest padding
    labels = np.array([[0, 1, 2, 2, 255], [0, 0, 255, 255, 255]], np.uint8)
    pred = np.array([[0, 1, 2, 0, 1], [0, 2, 2, 2, 2]])  # 4 of 6 real positions right
    probs = np.moveaxis(np.eye(3)[pred], 2, 1) * 0.8 + 0.1  # (2, 3, 5), argmax = pred
    acc = accuracy_metrics(labels, probs, SS, model="m")
    assert list(acc.columns) == ACCURACY_COLUMNS
    row = acc.iloc[0]
    assert row["accuracy"] == pytest.approx(4 / 6) and row["q3"] == pytest.approx(4 / 6)
    assert row["n"] == 6 and row["majority"] == pytest.approx(3 / 6)
    # garbage in the padding changes nothing
    noisy = probs.copy()
    noisy[:, :, 4] = [[0, 0, 9], [9, 0, 0]]
    noisy[1, :, 2:] = 5.0
    assert accuracy_metrics(labels, noisy, SS).iloc[0]["accuracy"] == pytest.approx(4 / 6)
    pr = class_precision_recall(labels, probs, SS).set_index("class")
    # H: 3 true, predicted at (0,0) (0,3) (1,0) → 2 hits; E: 1 true, 1 predicted, hit;
    # C: 2 true, predicted at (0,2) (1,1) → 1 hit
    assert pr.loc["H", ["precision", "recall"]].tolist() == pytest.approx([2 / 3, 2 / 3])
    assert pr.loc["E", ["precision", "recall"]].tolist() == pytest.approx([1, 1])
    assert pr.loc["C", ["precision", "recall"]].tolist() == pytest.approx([1 / 2, 1 / 2])
    assert pr["support"].tolist() == [3, 1, 2]
    # Q3 only for exactly H/E/C; per-sequence multiclass accuracy counts sequences
    other = Targets(("ss",), {"ss": "per_position"}, {"ss": ("H", "E", "T")})
    assert math.isnan(accuracy_metrics(labels, probs, other).iloc[0]["q3"])
    m = accuracy_metrics(np.array([[1, 0], [0, 2], [1, 2]], np.uint8),
                         MIXED.probabilities(np.array([[0, 5, 0, 0], [0, 0, 5, 0],
                                                       [0, 0, 0, 5.0]])), MIXED)
    assert m["task"].tolist() == ["family"] and m["accuracy"][0] == pytest.approx(2 / 3)
    assert m["n"][0] == 3


def test_per_position_class_metrics_skip_padding():
    rng = np.random.default_rng(3)
    x, labels, lengths = secondary_structure(20, seed=3)
    probs = SS.probabilities(rng.normal(size=(20, 3, labels.shape[1])))
    df = class_metrics(labels, probs, SS, n_boot=20)
    assert (df["n_pos"] + df["n_neg"] == lengths.sum()).all()
    assert df["class"].tolist() == ["H", "E", "C"] and (df["task"] == "ss").all()
    pad = np.broadcast_to((labels == 255)[:, None, :], probs.shape)
    noisy = np.where(pad, 0.5, probs)
    again = class_metrics(labels, noisy, SS, n_boot=20)
    assert np.allclose(df[["auroc", "auprc", "auroc_lo", "auprc_hi"]],
                       again[["auroc", "auprc", "auroc_lo", "auprc_hi"]])


def test_class_metrics_leave_out_ignored_sequences():
    rng = np.random.default_rng(7)
    labels = np.stack([rng.integers(0, 2, 80), rng.integers(0, 3, 80)], axis=1).astype(np.uint8)
    probs = MIXED.probabilities(rng.normal(size=(80, 4)) + np.eye(4)[1 + labels[:, 1]])
    amb = labels.copy()
    amb[:10, 0] = 255
    amb[70:, 1] = 255
    df = class_metrics(amb, probs, MIXED, n_boot=0)
    assert df["n_ambiguous"].tolist() == [10, 10, 10, 10]
    kept = class_metrics(labels[10:], probs[10:], MIXED, n_boot=0)
    assert df["auroc"][0] == kept["auroc"][0] and df["n_pos"][0] == kept["n_pos"][0]
    kept = class_metrics(labels[:70], probs[:70], MIXED, n_boot=0)
    for j in (1, 2, 3):
        assert df["auroc"][j] == kept["auroc"][j] and df["n_neg"][j] == kept["n_neg"][j]
    acc = accuracy_metrics(amb, probs, MIXED)
    assert acc["n"].tolist() == [70]
    assert acc["accuracy"][0] == accuracy_metrics(labels[:70], probs[:70], MIXED)["accuracy"][0]


def test_paired_difference_is_exact_on_its_resamples_and_narrower_than_two_intervals():
    """The model and the baseline are scored on the same resamples: the difference of a
    model with itself is exactly 0; against a baseline sharing most of its signal, the
    interval of the difference is much narrower than the model's own auROC interval, and it
    matches an index-resampling reference computed by hand with the same draws."""
    rng = np.random.default_rng(3)
    n = 400
    y = rng.integers(0, 2, (n, 1)).astype(np.uint8)
    signal = y[:, 0] + rng.normal(0, 1.2, n)
    model = (signal + rng.normal(0, 0.3, n))[:, None]
    base = (signal + rng.normal(0, 0.6, n))[:, None]
    same = paired_differences(y, model, {"self": model}, ["t"], "m", n_boot=200)
    assert same.loc[0, ["delta", "delta_lo", "delta_hi"]].tolist() == [0, 0, 0]
    assert same.loc[0, "p_not_above"] == 1.0
    out = paired_differences(y, model, {"kmer": base}, ["t"], "m", n_boot=500, seed=4)
    row = out.iloc[0]
    assert row["delta"] == pytest.approx(roc_auc_score(y, model) - roc_auc_score(y, base))
    own = task_metrics(y, model, ["t"], n_boot=500, seed=4).iloc[0]
    assert row["auroc"] == pytest.approx(own["auroc"])
    assert row["delta_hi"] - row["delta_lo"] < 0.6 * (own["auroc_hi"] - own["auroc_lo"])
    # the same draws, by index: bootstrap_weights' counts are the rows drawn
    diffs = []
    for w in bootstrap_weights(n, 500, 4):
        for counts in w:
            idx = np.repeat(np.arange(n), counts)
            diffs.append(roc_auc_score(y[idx, 0], model[idx, 0])
                         - roc_auc_score(y[idx, 0], base[idx, 0]))
    assert row["delta_lo"] == pytest.approx(np.percentile(diffs, 2.5), abs=1e-12)
    assert row["delta_hi"] == pytest.approx(np.percentile(diffs, 97.5), abs=1e-12)
    assert row["p_not_above"] == pytest.approx(np.mean(np.array(diffs) <= 1e-12))


def test_fold_mean_auroc_is_the_paired_bootstrap_on_one_fold_and_weights_folds_by_rows():
    """One fold: the mean is scikit-learn's auROC and the difference of two columns of the
    resamples is paired_differences' interval (same seed). Two folds: the mean weights each
    fold by its labelled rows (ambiguous rows out), and each fold is resampled within itself
    with seed + f: a fold scored perfectly adds exactly its weight to every resample."""
    rng = np.random.default_rng(5)
    n = 300
    y = rng.integers(0, 2, n).astype(np.uint8)
    model = y + rng.normal(0, 0.8, n)
    base = y + rng.normal(0, 1.0, n)
    names, per_fold, mean, boot = fold_mean_auroc([y], [{"m": model, "k": base}],
                                                  n_boot=400, seed=7)
    assert names == ["m", "k"] and per_fold.shape == (1, 2) and boot.shape == (400, 2)
    assert mean == pytest.approx([roc_auc_score(y, model), roc_auc_score(y, base)])
    ref = paired_differences(y[:, None], model[:, None], {"k": base[:, None]}, ["t"],
                             n_boot=400, seed=7).iloc[0]
    d = boot[:, 0] - boot[:, 1]
    assert np.percentile(d, [2.5, 97.5]) == pytest.approx([ref["delta_lo"], ref["delta_hi"]],
                                                          abs=1e-12)
    # a second fold: 32 labelled rows (8 ambiguous), scored perfectly by "m", inverted by "k"
    y2 = np.tile(np.array([1, 0, 1, 0, 255, 1, 0, 255, 1, 0], dtype=np.uint8), 4)
    good = np.tile(np.array([.9, .1, .8, .2, .5, .7, .3, .5, .6, .4]), 4)
    _, per_fold2, mean2, boot2 = fold_mean_auroc(
        [y, y2], [{"m": model, "k": base}, {"m": good, "k": -good}], n_boot=400, seed=7)
    assert per_fold2[1].tolist() == [1.0, 0.0]
    w = n / (n + 32)
    assert mean2 == pytest.approx(w * per_fold[0] + (1 - w) * np.array([1.0, 0.0]))
    assert boot2[:, 0] == pytest.approx(w * boot[:, 0] + (1 - w))
    assert boot2[:, 1] == pytest.approx(w * boot[:, 1])
    with pytest.raises(ValueError, match="one class"):
        fold_mean_auroc([np.zeros(5, np.uint8)], [{"m": np.arange(5.0)}])
    with pytest.raises(ValueError, match="fold 1 scores"):
        fold_mean_auroc([y, y2], [{"m": model}, {"x": good}])


def test_paired_difference_leaves_ambiguous_rows_out_and_single_class_is_nan():
    y = np.array([[1, 1], [0, 1], [1, 1], [255, 1], [0, 1]], dtype=np.uint8)
    s = np.array([[.9, .1], [.2, .2], [.8, .3], [.0, .4], [.1, .5]])
    b = np.array([[.1, .5], [.9, .4], [.2, .3], [.9, .2], [.8, .1]])
    out = paired_differences(y, s, {"k": b}, ["a", "b"], n_boot=50)
    a = out.set_index("task").loc["a"]
    assert a["auroc"] == 1.0 and a["auroc_reference"] == 0.0 and a["delta"] == 1.0
    assert out.set_index("task").loc["b", ["delta", "n_boot"]].isna().tolist() == [True, False]
    assert out.set_index("task").loc["b", "n_boot"] == 0
