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
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from seqcnn.alphabet import reverse_complement

#: Column order of :func:`task_metrics`.
COLUMNS = ["model", "task", "auroc", "auroc_lo", "auroc_hi", "auprc", "auprc_lo", "auprc_hi",
           "n_pos", "n_neg", "n_boot"]

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
    if not np.isin(labels, (0, 1)).all():
        bad = np.unique(labels[~np.isin(labels, (0, 1))])[:5]
        raise ValueError(f"labels must be 0 or 1; found {bad.tolist()}")
    if tasks is None:
        tasks = [f"task{j}" for j in range(labels.shape[1])]
    tasks = list(tasks)
    if len(tasks) != labels.shape[1]:
        raise ValueError(f"{len(tasks)} task names for {labels.shape[1]} label columns")
    finite = np.isfinite(scores).all(axis=0)
    if not finite.all():
        bad = [t for t, ok in zip(tasks, finite, strict=True) if not ok]
        raise ValueError(f"scores of task(s) {', '.join(bad)} contain NaN or inf")
    return labels.astype(np.int8, copy=False), scores, tasks


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
               seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap auROC and auPR: two ``(n_boot, tasks)`` arrays (NaN for skipped resamples)."""
    n, t = labels.shape
    roc = np.full((n_boot, t), np.nan)
    pr = np.full((n_boot, t), np.nan)
    row = 0
    for w in bootstrap_weights(n, n_boot, seed):
        for j in columns:
            roc[row:row + len(w), j], pr[row:row + len(w), j] = weighted_auroc_auprc(
                labels[:, j], scores[:, j], w)
        row += len(w)
    return roc, pr


def _rows(labels: np.ndarray, scores: np.ndarray, tasks: list[str], model: str, n_boot: int,
          ci: float, seed: int) -> tuple[pd.DataFrame, list[str]]:
    """Metric rows for checked inputs, and the tasks with a single class (NaN rows)."""
    if not 0 < ci < 1:
        raise ValueError(f"ci must be between 0 and 1, got {ci}")
    n_pos = labels.sum(axis=0).astype(int)
    n_neg = len(labels) - n_pos
    two = np.flatnonzero((n_pos > 0) & (n_neg > 0))
    nan = np.full(len(tasks), np.nan)
    auroc, auprc = nan.copy(), nan.copy()
    for j in two:
        auroc[j] = roc_auc_score(labels[:, j], scores[:, j])
        auprc[j] = average_precision_score(labels[:, j], scores[:, j])
    lo_roc, hi_roc, lo_pr, hi_pr = nan.copy(), nan.copy(), nan.copy(), nan.copy()
    used = np.zeros(len(tasks), dtype=int)
    if n_boot > 0 and len(two):
        roc, pr = _bootstrap(labels, scores, two, n_boot, seed)
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
        "n_boot": used,
    }, columns=COLUMNS)
    single = [tasks[j] for j in sorted(set(range(len(tasks))) - set(two.tolist()))]
    return df, single


def task_metrics(labels: np.ndarray, scores: np.ndarray, tasks: Sequence[str] | None = None,
                 model: str = "model", n_boot: int = 1000, ci: float = 0.95, seed: int = 0
                 ) -> pd.DataFrame:
    """auROC and auPR per task with bootstrap percentile intervals.

    ``labels`` are 0/1 and ``scores`` any real numbers (probabilities or logits), both
    ``(N, tasks)`` (or ``(N,)`` for one task). ``n_boot`` resamples of the N regions
    (0: no intervals) give the central ``ci`` interval; ``seed`` fixes the resamples.
    Returns one row per task with :data:`COLUMNS`: ``model, task, auroc, auroc_lo,
    auroc_hi, auprc, auprc_lo, auprc_hi, n_pos, n_neg, n_boot`` (resamples used: those with
    both classes). A task with one class gets NaN metrics and a :class:`SingleClassWarning`.
    """
    labels, scores, tasks = _check(labels, scores, tasks)
    df, single = _rows(labels, scores, tasks, model, n_boot, ci, seed)
    if single:
        warnings.warn(
            f"{model}: task(s) {', '.join(single)} have a single class among {len(labels)} "
            "regions; their auROC and auPR are NaN", SingleClassWarning, stacklevel=2)
    return df


def per_chromosome_metrics(labels: np.ndarray, scores: np.ndarray, chrom: Sequence[str],
                           tasks: Sequence[str] | None = None, model: str = "model",
                           n_boot: int = 0, ci: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """:func:`task_metrics` on the regions of each chromosome separately.

    ``chrom`` is ``(N,)``, the chromosome of each row. Returns the columns of
    :func:`task_metrics` plus ``chrom`` and ``n`` (regions on that chromosome), chromosomes in
    order of first appearance. Chromosome–task pairs with one class get NaN and a single
    :class:`SingleClassWarning` that lists them all.
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
