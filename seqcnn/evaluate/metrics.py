"""Test-set metrics: auROC and auPR per task with bootstrap confidence intervals.

Point estimates are scikit-learn's ``roc_auc_score`` and ``average_precision_score``.
Confidence intervals are percentile intervals over bootstrap resamples of regions (rows):
each resample draws N rows with replacement, which is the same as giving every row an
integer weight (how often it was drawn). The resampled metrics are computed for many
resamples at once from one sort per task (:func:`weighted_auroc_auprc`, equal to
scikit-learn with ``sample_weight``), so 1,000 resamples of 100,000 regions take seconds.

The resamples come from ``seed`` alone, not from the scores, so every task and every model
scored with the same seed on the same regions sees the same resampled regions: their
intervals are paired. Resamples that draw a single class are skipped and counted
(``n_boot`` is the number used). A task with a single class in the labels gets NaN and a
:class:`SingleClassWarning`, not an exception.

Regression targets (:attr:`seqcnn.data.targets.Targets.regression`: float labels, NaN = no
label) are scored by :func:`regression_metrics`: Pearson r and Spearman rho per task with
bootstrap intervals (the same row resamples), the mean squared error, the labelled ``n``.
:func:`evaluate_scores` returns them in the long form :data:`REGRESSION_COLUMNS`
(``model, task, metric, value, lo, hi, n, n_missing, n_boot``).

A label of :data:`AMBIGUOUS` (255, :data:`seqcnn.data.seqsets.IGNORE`) means the region has no
label for that task (it overlaps the task's peak too little to be called positive or
negative): the row is left out of that task's metrics (not of the other tasks'), counted in
``n_ambiguous``. A task's metrics, intervals included, are exactly those computed on its
labelled rows alone; tasks with the same labelled rows share their resamples.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from seqcnn.alphabet import reverse_complement
from seqcnn.data.cache import IGNORE

if TYPE_CHECKING:  # metrics stays free of torch at import time
    from seqcnn.data.targets import Targets

#: The label of a region without a label for a task (ambiguous).
AMBIGUOUS = IGNORE

#: Column order of :func:`task_metrics`.
COLUMNS = ["model", "task", "auroc", "auroc_lo", "auroc_hi", "auprc", "auprc_lo", "auprc_hi",
           "n_pos", "n_neg", "n_ambiguous", "n_boot"]

#: Column order of :func:`class_metrics`.
CLASS_COLUMNS = ["model", "task", "class", "auroc", "auroc_lo", "auroc_hi", "auprc",
                 "auprc_lo", "auprc_hi", "n_pos", "n_neg", "n_ambiguous", "n_boot"]
#: Column order of :func:`regression_metrics`: one row per (model, task, metric), metric
#: ``pearson``, ``spearman`` or ``mse``; ``lo``/``hi`` the bootstrap interval.
REGRESSION_COLUMNS = ["model", "task", "metric", "value", "lo", "hi", "n", "n_missing",
                      "n_boot"]
#: Metrics of :func:`regression_metrics`, in row order.
REGRESSION_METRICS = ("pearson", "spearman", "mse")
#: Column order of :func:`accuracy_metrics`.
ACCURACY_COLUMNS = ["model", "task", "accuracy", "q3", "majority", "n"]
#: Column order of :func:`class_precision_recall`.
PRECISION_COLUMNS = ["model", "task", "class", "precision", "recall", "f1", "support",
                     "predicted"]
#: The classes for which :func:`accuracy_metrics` reports Q3 (secondary structure).
Q3_CLASSES = frozenset({"H", "E", "C"})

#: Bootstrap weights held in memory at once (resamples × regions).
_BOOT_CELLS = 4_000_000


class SingleClassWarning(UserWarning):
    """A task (or a task on one chromosome) has only positives or only negatives."""


def _as_2d(a: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name} must be (N,) or (N, tasks), got shape {a.shape}")
    return a


def _check(labels: np.ndarray, scores: np.ndarray, tasks: Sequence[str] | None
           ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    labels = _as_2d(labels, "labels")
    scores = _as_2d(scores, "scores").astype(np.float64, copy=False)
    if labels.shape != scores.shape:
        raise ValueError(f"labels {labels.shape} and scores {scores.shape} differ in shape")
    codes = (0, 1, AMBIGUOUS)
    if not np.isin(labels, codes).all():
        bad = np.unique(labels[~np.isin(labels, codes)])[:5]
        raise ValueError(f"labels must be 0 or 1 (or {AMBIGUOUS}: ambiguous, left out); "
                         f"found {bad.tolist()}")
    if tasks is None:
        tasks = [f"task{j}" for j in range(labels.shape[1])]
    tasks = list(tasks)
    if len(tasks) != labels.shape[1]:
        raise ValueError(f"{len(tasks)} task names for {labels.shape[1]} label columns")
    finite = np.isfinite(scores).all(axis=0)
    if not finite.all():
        bad = [t for t, ok in zip(tasks, finite, strict=True) if not ok]
        raise ValueError(f"scores of task(s) {', '.join(bad)} contain NaN or inf")
    return labels.astype(np.uint8, copy=False), scores, tasks


def weighted_auroc_auprc(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    """auROC and average precision under many row weightings at once.

    ``labels`` and ``scores`` are ``(N,)``; ``weights`` is ``(B, N)`` non-negative (bootstrap
    counts). Returns two ``(B,)`` arrays, equal to scikit-learn's ``roc_auc_score`` and
    ``average_precision_score`` with ``sample_weight=weights[b]``: one threshold per
    distinct score, so tied positive/negative pairs count one half. Rows of ``weights``
    whose weighted data hold one class give NaN.
    """
    labels = np.asarray(labels)
    scores = np.asarray(scores, dtype=np.float64)
    weights = np.atleast_2d(np.asarray(weights))
    order = np.argsort(-scores, kind="stable")
    s = scores[order]
    w = weights[:, order]
    tp = np.cumsum(w * (labels[order] == 1), axis=1, dtype=np.float64)  # weighted TP at rank
    tot = np.cumsum(w, axis=1, dtype=np.float64)
    new = s[1:] != s[:-1]
    if not new.all():  # ties: keep the last rank of each distinct score
        ends = np.append(np.flatnonzero(new), len(s) - 1)
        tp, tot = tp[:, ends], tot[:, ends]
    fp = tot - tp
    p = np.diff(tp, axis=1, prepend=0.0)  # positives' weight at each threshold
    n = np.diff(fp, axis=1, prepend=0.0)  # negatives' weight at each threshold
    n_pos, n_neg = tp[:, -1], fp[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        # trapezoid under the ROC curve: each negative beats the positives ranked above it
        # and ties with half of those at its own score
        auroc = (n * (tp - p / 2)).sum(axis=1) / (n_pos * n_neg)
        # AP = sum over thresholds of (recall step) x precision
        auprc = (p * tp / np.maximum(tot, np.finfo(np.float64).tiny)).sum(axis=1) / n_pos
    one_class = (n_pos <= 0) | (n_neg <= 0)
    auroc[one_class] = np.nan
    auprc[one_class] = np.nan
    return auroc, auprc


def bootstrap_weights(n: int, n_boot: int, seed: int, chunk: int | None = None):
    """Yield bootstrap resamples of ``n`` rows as count weights, ``(b, n)`` int32 chunks.

    ``n_boot`` resamples in all, drawn with ``numpy.random.default_rng(seed)``; each row of a
    chunk counts how often each region was drawn (it sums to ``n``).
    """
    rng = np.random.default_rng(seed)
    chunk = chunk or max(1, _BOOT_CELLS // max(n, 1))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        idx = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
        yield np.bincount(idx.ravel(), minlength=b * n).reshape(b, n).astype(np.int32)


def _bootstrap(labels: np.ndarray, scores: np.ndarray, columns: Sequence[int], n_boot: int,
               seed: int, groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap auROC and auPR of ``columns``: two ``(n_boot, tasks)`` arrays (NaN for
    skipped resamples and other columns).

    Each column is resampled over its labelled (non-ambiguous) rows only, with ``seed``:
    exactly as if the ambiguous rows were not there. ``groups`` ``(N,)`` (codes
    ``0..G-1``): resample whole groups (e.g. the positions of one sequence) instead of rows;
    each row takes its group's weight.
    """
    n, t = labels.shape
    roc = np.full((n_boot, t), np.nan)
    pr = np.full((n_boot, t), np.nan)
    for rows, cols in _label_groups(labels, columns):
        sub = None if groups is None else np.unique(groups[rows], return_inverse=True)[1]
        roc[:, cols], pr[:, cols] = _bootstrap_rows(labels[rows][:, cols],
                                                    scores[rows][:, cols], n_boot, seed,
                                                    None if sub is None else sub.reshape(-1))
    return roc, pr


def _label_groups(labels: np.ndarray, columns: Sequence[int]
                  ) -> list[tuple[np.ndarray, list[int]]]:
    """``columns`` grouped by their labelled rows: ``[(rows (M,) bool, columns)]``, columns
    with the same non-ambiguous rows together (all of them when nothing is ambiguous)."""
    out: dict[bytes, tuple[np.ndarray, list[int]]] = {}
    for j in columns:
        rows = labels[:, j] != AMBIGUOUS
        out.setdefault(np.packbits(rows).tobytes(), (rows, []))[1].append(int(j))
    return list(out.values())


def _bootstrap_rows(labels: np.ndarray, scores: np.ndarray, n_boot: int, seed: int,
                    groups: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_bootstrap` of every column of labels ``(n, t)`` in {0, 1} over the same
    resamples of the ``n`` rows (or of ``groups``): two ``(n_boot, t)`` arrays."""
    n, t = labels.shape
    roc = np.full((n_boot, t), np.nan)
    pr = np.full((n_boot, t), np.nan)
    row = 0
    if groups is None:
        draws = bootstrap_weights(n, n_boot, seed)
    else:
        n_groups = int(groups.max()) + 1 if len(groups) else 0
        chunk = max(1, _BOOT_CELLS // max(n, 1))
        draws = (w[:, groups] for w in bootstrap_weights(n_groups, n_boot, seed, chunk))
    for w in draws:
        for j in range(t):
            roc[row:row + len(w), j], pr[row:row + len(w), j] = weighted_auroc_auprc(
                labels[:, j], scores[:, j], w)
        row += len(w)
    return roc, pr


def _rows(labels: np.ndarray, scores: np.ndarray, tasks: list[str], model: str, n_boot: int,
          ci: float, seed: int, groups: np.ndarray | None = None
          ) -> tuple[pd.DataFrame, list[str]]:
    """Metric rows for checked inputs, and the tasks with a single class (NaN rows)."""
    if not 0 < ci < 1:
        raise ValueError(f"ci must be between 0 and 1, got {ci}")
    n_pos = (labels == 1).sum(axis=0).astype(int)
    n_neg = (labels == 0).sum(axis=0).astype(int)
    n_amb = len(labels) - n_pos - n_neg
    two = np.flatnonzero((n_pos > 0) & (n_neg > 0))
    nan = np.full(len(tasks), np.nan)
    auroc, auprc = nan.copy(), nan.copy()
    for j in two:
        keep = labels[:, j] != AMBIGUOUS
        auroc[j] = roc_auc_score(labels[keep, j], scores[keep, j])
        auprc[j] = average_precision_score(labels[keep, j], scores[keep, j])
    lo_roc, hi_roc, lo_pr, hi_pr = nan.copy(), nan.copy(), nan.copy(), nan.copy()
    used = np.zeros(len(tasks), dtype=int)
    if n_boot > 0 and len(two):
        roc, pr = _bootstrap(labels, scores, two, n_boot, seed, groups)
        q = [100 * (1 - ci) / 2, 100 * (1 + ci) / 2]
        for j in two:
            ok = ~np.isnan(roc[:, j])
            used[j] = ok.sum()
            if used[j]:
                lo_roc[j], hi_roc[j] = np.percentile(roc[ok, j], q)
                lo_pr[j], hi_pr[j] = np.percentile(pr[ok, j], q)
    df = pd.DataFrame({
        "model": model, "task": tasks, "auroc": auroc, "auroc_lo": lo_roc, "auroc_hi": hi_roc,
        "auprc": auprc, "auprc_lo": lo_pr, "auprc_hi": hi_pr, "n_pos": n_pos, "n_neg": n_neg,
        "n_ambiguous": n_amb, "n_boot": used,
    }, columns=COLUMNS)
    single = [tasks[j] for j in sorted(set(range(len(tasks))) - set(two.tolist()))]
    return df, single


def task_metrics(labels: np.ndarray, scores: np.ndarray, tasks: Sequence[str] | None = None,
                 model: str = "model", n_boot: int = 1000, ci: float = 0.95, seed: int = 0
                 ) -> pd.DataFrame:
    """auROC and auPR per task with bootstrap percentile intervals.

    ``labels`` are 0/1, or 255 (:data:`AMBIGUOUS`: no label for that task, left out of it),
    and ``scores`` any real numbers (probabilities or logits), both ``(N, tasks)`` (or
    ``(N,)`` for one task). ``n_boot`` resamples of a task's labelled regions (0: no
    intervals) give the central ``ci`` interval; ``seed`` fixes the resamples. Returns one
    row per task with :data:`COLUMNS`: ``model, task, auroc, auroc_lo, auroc_hi, auprc,
    auprc_lo, auprc_hi, n_pos, n_neg, n_ambiguous, n_boot`` (resamples used: those with both
    classes). A task with one class among its labelled regions gets NaN metrics and a
    :class:`SingleClassWarning`.
    """
    labels, scores, tasks = _check(labels, scores, tasks)
    df, single = _rows(labels, scores, tasks, model, n_boot, ci, seed)
    if single:
        warnings.warn(
            f"{model}: task(s) {', '.join(single)} have a single class among their labelled "
            f"regions (of {len(labels)}); their auROC and auPR are NaN", SingleClassWarning,
            stacklevel=2)
    return df


#: Column order of :func:`paired_differences`.
PAIRED_COLUMNS = ["model", "reference", "task", "auroc", "auroc_reference", "delta",
                  "delta_lo", "delta_hi", "p_not_above", "n_boot"]


def paired_differences(labels: np.ndarray, scores: np.ndarray,
                       references: Mapping[str, np.ndarray], tasks: Sequence[str] | None = None,
                       model: str = "model", n_boot: int = 1000, ci: float = 0.95,
                       seed: int = 0) -> pd.DataFrame:
    """Test auROC of ``model`` minus each reference's (a baseline), per task, with a paired
    bootstrap: both scored on the same resamples of a task's labelled regions (those of
    :func:`task_metrics` with the same ``seed``), so the interval of the difference is not
    the overlap of two separate intervals. ``scores`` and each reference are ``(N, tasks)``
    like ``labels``. One row per reference and task (:data:`PAIRED_COLUMNS`): ``delta`` and
    its central ``ci`` interval, ``p_not_above`` the fraction of resamples where the model is
    not above the reference. Tasks with one class get NaN."""
    labels, scores, tasks = _check(labels, scores, tasks)
    refs = {name: _check(labels, r, tasks)[1] for name, r in references.items()}
    rows = {(ref, task): {"model": model, "reference": ref, "task": task, "auroc": np.nan,
                          "auroc_reference": np.nan, "delta": np.nan, "delta_lo": np.nan,
                          "delta_hi": np.nan, "p_not_above": np.nan, "n_boot": 0}
            for ref in refs for task in tasks}
    for j, task in enumerate(tasks):
        keep = labels[:, j] != AMBIGUOUS
        y, a = labels[keep, j], scores[keep, j]
        if not 0 < int(y.sum()) < len(y):
            continue
        own = roc_auc_score(y, a)
        diffs: dict[str, list[np.ndarray]] = {ref: [] for ref in refs}
        for w in bootstrap_weights(len(y), n_boot, seed) if n_boot > 0 else ():
            boot = weighted_auroc_auprc(y, a, w)[0]  # the model once per resample chunk
            for ref, r in refs.items():
                diffs[ref].append(boot - weighted_auroc_auprc(y, r[keep, j], w)[0])
        for ref, r in refs.items():
            row = rows[(ref, task)]
            row["auroc"], row["auroc_reference"] = own, roc_auc_score(y, r[keep, j])
            row["delta"] = row["auroc"] - row["auroc_reference"]
            d = np.concatenate(diffs[ref]) if diffs[ref] else np.array([])
            d = d[~np.isnan(d)]
            if len(d):
                row["delta_lo"], row["delta_hi"] = np.percentile(
                    d, [100 * (1 - ci) / 2, 100 * (1 + ci) / 2])
                # an exact tie is "not above"; 1e-12 absorbs rounding in the sums
                row["p_not_above"] = float(np.mean(d <= 1e-12))
                row["n_boot"] = len(d)
    rows = list(rows.values())
    return pd.DataFrame(rows, columns=PAIRED_COLUMNS)


def fold_mean_auroc(labels: Sequence[np.ndarray], scores: Sequence[Mapping[str, np.ndarray]],
                    n_boot: int = 1000, seed: int = 0
                    ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """auROC of several scorers over ``F`` disjoint test folds (a cross-fitted evaluation:
    each fold scored by models that never trained on it), as the mean of the folds' auROCs
    weighted by their labelled rows, with a bootstrap stratified by fold and paired across
    scorers.

    ``labels[f]`` ``(N_f,)`` binary (:data:`AMBIGUOUS` rows left out); ``scores[f]`` maps each
    scorer's name to its ``(N_f,)`` scores on fold ``f`` (the same names in every fold).
    Fold ``f`` is resampled within itself with ``seed + f`` (:func:`bootstrap_weights`), and
    every scorer is scored on the same resamples, so a difference of two scorers' columns of
    ``boot`` is a paired bootstrap of their difference; with one fold, a column is what
    :func:`paired_differences` resamples with the same seed. Returns ``names``,
    ``per_fold`` ``(F, S)``, ``mean`` ``(S,)`` and ``boot`` ``(n_boot, S)``."""
    if not labels or len(labels) != len(scores):
        raise ValueError(f"{len(labels)} folds of labels for {len(scores)} of scores")
    names = list(scores[0])
    per_fold = np.full((len(labels), len(names)), np.nan)
    boot = np.zeros((n_boot, len(names)))
    sizes = np.zeros(len(labels))
    for f, (y, s) in enumerate(zip(labels, scores, strict=True)):
        if sorted(s) != sorted(names):
            raise ValueError(f"fold {f} scores {sorted(s)}, fold 0 {sorted(names)}")
        y = np.asarray(y).reshape(-1)
        keep = y != AMBIGUOUS
        y = y[keep]
        if not 0 < int(y.sum()) < len(y):
            raise ValueError(f"fold {f} has one class in its {len(y)} labelled rows")
        cols = [np.asarray(s[n], dtype=np.float64).reshape(-1)[keep] for n in names]
        sizes[f] = len(y)
        per_fold[f] = [roc_auc_score(y, c) for c in cols]
        done = 0
        for w in bootstrap_weights(len(y), n_boot, seed + f):
            for j, c in enumerate(cols):
                boot[done:done + len(w), j] += len(y) * weighted_auroc_auprc(y, c, w)[0]
            done += len(w)
    weight = sizes / sizes.sum()
    return names, per_fold, weight @ per_fold, boot / sizes.sum()


def empty_paired() -> pd.DataFrame:
    """:func:`paired_differences`' table with no rows (a dataset without baselines)."""
    return pd.DataFrame(columns=PAIRED_COLUMNS)


def per_chromosome_metrics(labels: np.ndarray, scores: np.ndarray, chrom: Sequence[str],
                           tasks: Sequence[str] | None = None, model: str = "model",
                           n_boot: int = 0, ci: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """:func:`task_metrics` on the regions of each chromosome separately.

    ``chrom`` is ``(N,)``, the chromosome of each row. Returns the columns of
    :func:`task_metrics` plus ``chrom`` and ``n`` (regions on that chromosome, ambiguous ones
    included), chromosomes in order of first appearance. Chromosome–task pairs with one
    class get NaN and a single :class:`SingleClassWarning` that lists them all.
    """
    labels, scores, tasks = _check(labels, scores, tasks)
    chrom = np.asarray(chrom).astype(str)
    if chrom.shape != (len(labels),):
        raise ValueError(f"chrom has shape {chrom.shape}, expected ({len(labels)},)")
    names, first = np.unique(chrom, return_index=True)
    frames, single = [], []
    for c in names[np.argsort(first)]:
        rows = chrom == c
        df, one = _rows(labels[rows], scores[rows], tasks, model, n_boot, ci, seed)
        df.insert(1, "chrom", c)
        df.insert(2, "n", int(rows.sum()))
        frames.append(df)
        single += [f"{c}:{t}" for t in one]
    if single:
        warnings.warn(
            f"{model}: {len(single)} chromosome:task pair(s) have a single class and get NaN: "
            f"{', '.join(single[:20])}{' …' if len(single) > 20 else ''}",
            SingleClassWarning, stacklevel=2)
    return pd.concat(frames, ignore_index=True)


def class_metrics(labels: np.ndarray, probs: np.ndarray, targets: Targets,
                  model: str = "model", n_boot: int = 1000, ci: float = 0.95, seed: int = 0
                  ) -> pd.DataFrame:
    """One-vs-rest auROC and auPR per output column, with bootstrap percentile intervals.

    ``labels`` are class codes (per-sequence ``(N, T)`` or per-position ``(N, L)``, 255 at
    padding or where a sequence has no label for a task) and ``probs`` the model's
    probabilities (``(N, n_outputs)`` or ``(N, K, L)``), laid out as ``targets`` says
    (:meth:`Targets.one_vs_rest`). Padded positions never count; unlabelled sequences are
    left out of their task's columns and counted in ``n_ambiguous``. Per-position intervals
    resample whole sequences (their positions are not independent); per-sequence ones
    resample sequences, as :func:`task_metrics`.

    Returns one row per output column with :data:`CLASS_COLUMNS`: ``model, task, class``
    (empty for a binary task), the metrics of :func:`task_metrics` and ``n_pos, n_neg,
    n_ambiguous`` (rows: sequences, or real positions), ``n_boot``. A column with one class
    gets NaN and a :class:`SingleClassWarning`.
    """
    y, p = targets.one_vs_rest(labels, probs)
    names = targets.output_names
    y, p, names = _check(y, p, names)
    groups = None
    if targets.per_position:
        _, groups = np.unique(targets.position_rows(labels), return_inverse=True)
        groups = groups.reshape(-1)
    df, single = _rows(y, p, names, model, n_boot, ci, seed, groups)
    pairs = targets.output_tasks
    df.insert(2, "class", [c for _, c in pairs])
    df["task"] = [t for t, _ in pairs]
    if single:
        warnings.warn(
            f"{model}: output(s) {', '.join(single)} have a single class among {len(y)} "
            "rows; their auROC and auPR are NaN", SingleClassWarning, stacklevel=2)
    return df[CLASS_COLUMNS]


def _class_tasks(labels: np.ndarray, probs: np.ndarray, targets: Targets
                 ) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(task, true codes (M,), predicted codes (M,))`` per multiclass/per-position task,
    real positions and labelled sequences only."""
    labels = np.asarray(labels)
    y, _ = targets.one_vs_rest(labels, probs)  # checks shapes and codes
    pred = targets.predicted_class(probs)
    out = []
    for j, t in enumerate(targets.tasks):
        kind = targets.kinds[t]
        if kind == "binary":
            continue
        if kind == "per_position":
            real = labels != targets.ignore_index
            out.append((t, labels[real].astype(np.int64), pred[t][real]))
        else:
            real = labels[:, j] != targets.ignore_index
            out.append((t, labels[real, j].astype(np.int64), pred[t][real]))
    return out


def accuracy_metrics(labels: np.ndarray, probs: np.ndarray, targets: Targets,
                     model: str = "model") -> pd.DataFrame:
    """Accuracy of the most probable class, per multiclass or per-position task.

    Returns one row per such task with :data:`ACCURACY_COLUMNS`: ``model, task, accuracy``
    (fraction of sequences, or of real positions, whose argmax class is right), ``q3``
    (the same per-residue accuracy when the task's classes are exactly H, E, C; NaN
    otherwise), ``majority`` (accuracy of always predicting the most frequent true class:
    the baseline to beat) and ``n`` (sequences or real positions). Padded positions never
    count. Binary tasks have no row (see :func:`class_metrics`).
    """
    rows = []
    for t, true, pred in _class_tasks(labels, probs, targets):
        n = len(true)
        acc = float((true == pred).mean()) if n else math.nan
        major = float(np.bincount(true).max() / n) if n else math.nan
        q3 = acc if set(targets.classes[t]) == Q3_CLASSES else math.nan
        rows.append({"model": model, "task": t, "accuracy": acc, "q3": q3,
                     "majority": major, "n": n})
    return pd.DataFrame(rows, columns=ACCURACY_COLUMNS)


def class_precision_recall(labels: np.ndarray, probs: np.ndarray, targets: Targets,
                           model: str = "model") -> pd.DataFrame:
    """Precision, recall and F1 of the argmax class, per class of each multiclass or
    per-position task (:data:`PRECISION_COLUMNS`; ``support``: true members, ``predicted``:
    rows predicted as the class; NaN where a denominator is 0). Padded positions never
    count."""
    rows = []
    for t, true, pred in _class_tasks(labels, probs, targets):
        k = targets.n_classes(t)
        support = np.bincount(true, minlength=k)
        predicted = np.bincount(pred, minlength=k)
        hits = np.bincount(true[true == pred], minlength=k)
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(predicted > 0, hits / np.maximum(predicted, 1), np.nan)
            recall = np.where(support > 0, hits / np.maximum(support, 1), np.nan)
            both = support + predicted
            f1 = np.where(both > 0, 2 * hits / np.maximum(both, 1), np.nan)
        for c, name in enumerate(targets.classes[t]):
            rows.append({"model": model, "task": t, "class": name,
                         "precision": precision[c], "recall": recall[c], "f1": f1[c],
                         "support": int(support[c]), "predicted": int(predicted[c])})
    return pd.DataFrame(rows, columns=PRECISION_COLUMNS)


def average_rc(predict: Callable, X, batch_size: int | None = None):
    """Mean of forward and reverse-complement predictions: ``(f(X) + f(rc(X))) / 2``.

    ``X`` is one-hot ``(N, 4, L)`` (numpy, memmap or torch); ``predict`` maps such a batch to
    ``(N, ...)`` scores. With ``batch_size``, ``X`` is fed in slices of that many rows and
    the results concatenated (numpy), so a memory-mapped cache is never loaded whole.
    Averaging probabilities or logits is the caller's choice: pass the matching ``predict``.
    """
    if batch_size is None:
        return (predict(X) + predict(reverse_complement(X))) / 2
    parts = [np.asarray(average_rc(predict, np.asarray(X[i:i + batch_size])))
             for i in range(0, len(X), batch_size)]
    return np.concatenate(parts)


# --------------------------------------------------------------------------- regression


def _ranks(a: np.ndarray, axis: int = -1) -> np.ndarray:
    """Average ranks (ties share their mean rank) along ``axis``, ``float64``."""
    from scipy.stats import rankdata

    return rankdata(a, axis=axis)


def pearson(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Pearson r of the last axis: ``y``, ``p`` ``(..., n)`` → ``(...)``; NaN where either
    side is constant or ``n < 2``."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    yc = y - y.mean(axis=-1, keepdims=True)
    pc = p - p.mean(axis=-1, keepdims=True)
    den = np.sqrt((yc ** 2).sum(axis=-1) * (pc ** 2).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (yc * pc).sum(axis=-1) / den
    return np.where(den > 0, np.clip(r, -1.0, 1.0), np.nan)


def spearman(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Spearman rho of the last axis (Pearson r of average ranks): ``(..., n)`` → ``(...)``."""
    return pearson(_ranks(y), _ranks(p))


def regression_scores(labels: np.ndarray, preds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pearson r and Spearman rho per column of ``labels``/``preds`` ``(N, T)`` over the
    labelled (non-NaN) rows of each column: two ``(T,)`` arrays (NaN: fewer than 2 rows or a
    constant side)."""
    labels = _as_2d(labels, "labels").astype(np.float64)
    preds = _as_2d(preds, "preds").astype(np.float64)
    if labels.shape != preds.shape:
        raise ValueError(f"labels {labels.shape} and predictions {preds.shape} differ in shape")
    r = np.full(labels.shape[1], np.nan)
    rho = np.full(labels.shape[1], np.nan)
    for j in range(labels.shape[1]):
        keep = ~np.isnan(labels[:, j])
        if keep.sum() >= 2:
            r[j] = pearson(labels[keep, j], preds[keep, j])
            rho[j] = spearman(labels[keep, j], preds[keep, j])
    return r, rho


def _regression_boot(y: np.ndarray, p: np.ndarray, n_boot: int, seed: int
                     ) -> dict[str, np.ndarray]:
    """Pearson, Spearman and MSE of ``n_boot`` row resamples of ``y``, ``p`` ``(n,)``
    (``default_rng(seed)``, drawn in chunks of at most ``_BOOT_CELLS`` cells): ``(n_boot,)``
    each."""
    rng, n = np.random.default_rng(seed), len(y)
    chunk = max(1, _BOOT_CELLS // n)
    parts: dict[str, list[np.ndarray]] = {m: [] for m in REGRESSION_METRICS}
    for start in range(0, n_boot, chunk):
        idx = rng.integers(0, n, size=(min(chunk, n_boot - start), n))
        yb, pb = y[idx], p[idx]
        parts["pearson"].append(pearson(yb, pb))
        parts["spearman"].append(spearman(yb, pb))
        parts["mse"].append(((yb - pb) ** 2).mean(axis=1))
    return {m: np.concatenate(v) for m, v in parts.items()}


def regression_metrics(labels: np.ndarray, preds: np.ndarray, tasks: Sequence[str] | None = None,
                       model: str = "model", n_boot: int = 1000, ci: float = 0.95,
                       seed: int = 0) -> pd.DataFrame:
    """Pearson r, Spearman rho and MSE per regression task, with bootstrap intervals.

    ``labels`` ``(N, T)`` real values (NaN: no label, left out of that task and counted in
    ``n_missing``), ``preds`` ``(N, T)`` predictions in label units. ``n_boot`` resamples of
    each task's labelled rows (drawn from ``seed`` alone: models scored with one seed share
    them, as :func:`task_metrics`) give the central ``ci`` percentile interval. Returns
    :data:`REGRESSION_COLUMNS`, three rows per task (:data:`REGRESSION_METRICS`).
    """
    if not 0 < ci < 1:
        raise ValueError(f"ci must be between 0 and 1, got {ci}")
    labels = _as_2d(labels, "labels").astype(np.float64)
    preds = _as_2d(preds, "preds").astype(np.float64)
    if labels.shape != preds.shape:
        raise ValueError(f"labels {labels.shape} and predictions {preds.shape} differ in shape")
    tasks = [f"task{j}" for j in range(labels.shape[1])] if tasks is None else list(tasks)
    if len(tasks) != labels.shape[1]:
        raise ValueError(f"{len(tasks)} task names for {labels.shape[1]} label columns")
    if not np.isfinite(preds).all():
        raise ValueError(f"{model}: predictions contain NaN or inf")
    rows = []
    q = [100 * (1 - ci) / 2, 100 * (1 + ci) / 2]
    for j, t in enumerate(tasks):
        keep = ~np.isnan(labels[:, j])
        y, p = labels[keep, j], preds[keep, j]
        n = len(y)
        point = {"pearson": pearson(y, p) if n >= 2 else np.nan,
                 "spearman": spearman(y, p) if n >= 2 else np.nan,
                 "mse": float(np.mean((y - p) ** 2)) if n else np.nan}
        boot = {m: np.empty(0) for m in REGRESSION_METRICS}
        if n_boot > 0 and n >= 2:
            boot = _regression_boot(y, p, n_boot, seed)
        for m in REGRESSION_METRICS:
            ok = boot[m][~np.isnan(boot[m])]
            lo, hi = np.percentile(ok, q) if len(ok) else (np.nan, np.nan)
            rows.append({"model": model, "task": t, "metric": m, "value": float(point[m]),
                         "lo": lo, "hi": hi, "n": n, "n_missing": int((~keep).sum()),
                         "n_boot": len(ok)})
    return pd.DataFrame(rows, columns=REGRESSION_COLUMNS)


# --------------------------------------------------------------------------- one entry point


def empty_task_notes(table: pd.DataFrame) -> np.ndarray:
    """The ``note`` column of a task table: why a task's auROC and auPR are NaN
    (no positives or no negatives in the test split), else empty."""
    return np.select([table["n_pos"] == 0, table["n_neg"] == 0],
                     ["no positives in the test split", "no negatives in the test split"], "")


def evaluate_scores(labels: np.ndarray, scores: Mapping[str, np.ndarray], targets: Targets,
                    n_boot: int = 1000, seed: int = 0, by_class: bool | None = None
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The test metrics of every scorer, for genome datasets and sequence sets alike.

    ``labels`` are the cache's (``(N, tasks)`` codes, or ``(N, L)`` per position; 255 no
    label) and ``scores`` maps a model name to its probabilities, laid out as ``targets``
    says (``(N, n_outputs)`` or ``(N, K, L)``). With ``by_class`` (default: unless every
    task is binary) one row per output column (:func:`class_metrics`), else one row per task
    (:func:`task_metrics`) with a ``note`` on tasks without positives or negatives. Returns
    ``(metrics, accuracy)``: the accuracy table (:func:`accuracy_metrics`) is empty when
    every task is binary. Every model is resampled with the same ``seed`` (paired CIs).

    Regression targets: ``scores`` are predictions in label units (``Targets.probabilities``)
    and ``metrics`` is :func:`regression_metrics` of every model (:data:`REGRESSION_COLUMNS`);
    the accuracy table is empty (:data:`ACCURACY_COLUMNS`).
    """
    if targets.regression:
        table = pd.concat([regression_metrics(labels, s, list(targets.tasks), model=name,
                                              n_boot=n_boot, seed=seed)
                           for name, s in scores.items()], ignore_index=True)
        return table, pd.DataFrame(columns=ACCURACY_COLUMNS)
    if by_class is None:
        by_class = not targets.all_binary
    frames, accuracy = [], []
    for name, s in scores.items():
        if by_class:
            frames.append(class_metrics(labels, s, targets, model=name, n_boot=n_boot,
                                        seed=seed))
        else:
            frames.append(task_metrics(labels, s, list(targets.tasks), model=name,
                                       n_boot=n_boot, seed=seed))
        accuracy.append(accuracy_metrics(labels, s, targets, model=name))
    table = pd.concat(frames, ignore_index=True)
    if not by_class:
        table["note"] = empty_task_notes(table)
    return table, pd.concat(accuracy, ignore_index=True)


def predictions_table(ids: np.ndarray, labels: np.ndarray, probs: np.ndarray,
                      targets: Targets, lengths: np.ndarray | None = None,
                      by_class: bool | None = None) -> pd.DataFrame:
    """predictions.tsv.gz as a table, one layout per label kind.

    ``ids`` ``(N,)`` name the cache rows (:func:`seqcnn.data.cache.load_split`). Per task
    (``by_class`` false; default: every task binary): ``region, task, label, score`` with
    label ``NA`` where ambiguous (255). Regression: ``id, task, label, prediction`` (label NaN
    where missing). Per output column: ``id, output, label, score``
    (one-vs-rest labels). Per position: ``id, position, label, p_<class>...`` over the real
    positions (``lengths`` ``(N,)``).
    """
    ids = np.asarray(ids)
    labels = np.asarray(labels)
    n = len(labels)
    if targets.regression:  # id, task, label (NA: none), prediction
        tasks = list(targets.tasks)
        pred = pd.DataFrame({"id": np.repeat(ids, len(tasks)), "task": np.tile(tasks, n),
                             "label": labels.reshape(-1).astype(np.float64),
                             "prediction": np.asarray(probs).reshape(-1)})
        return pred
    if by_class is None:
        by_class = not targets.all_binary
    if targets.per_position:
        real = np.arange(probs.shape[-1])[None, :] < np.asarray(lengths)[:, None]
        rows, pos = np.nonzero(real)
        classes = list(targets.classes[targets.tasks[0]])
        pred = pd.DataFrame({"id": ids[rows], "position": pos + 1,
                             "label": np.asarray(classes)[labels[rows, pos]]})
        for k, c in enumerate(classes):
            pred[f"p_{c}"] = probs[rows, k, pos]
        return pred
    if by_class:
        names = targets.output_names
        y, _ = targets.one_vs_rest(labels, probs)
        return pd.DataFrame({"id": np.repeat(ids, len(names)),
                             "output": np.tile(names, n),
                             "label": y.reshape(-1).astype(int),
                             "score": probs.reshape(n, -1).reshape(-1)})
    tasks = list(targets.tasks)
    pred = pd.DataFrame({"region": np.repeat(ids, len(tasks)), "task": np.tile(tasks, n),
                         "label": pd.array(labels.reshape(-1), dtype="Int64"),
                         "score": probs.reshape(-1)})
    pred.loc[labels.reshape(-1) == AMBIGUOUS, "label"] = pd.NA  # no label: NA, not 255
    return pred
