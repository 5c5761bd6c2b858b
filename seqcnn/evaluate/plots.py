"""Evaluation figures (matplotlib, Agg backend, PNG): curves, score distributions, per
chromosome and per task comparisons of a model and its baselines.

Inputs are plain arrays and the tidy tables of :mod:`seqcnn.evaluate.metrics`; ``scores`` maps a
model name to its ``(N, tasks)`` scores on the same regions, in the order drawn (the first
is the model, the rest its baselines). A model keeps its colour across figures. Labels are
0/1 or 255 (ambiguous: no label for that task): a row is left out of the curves and
histograms of the tasks it has no label for, and the panel titles count those rows.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from seqcnn.evaluate.metrics import AMBIGUOUS  # noqa: E402

_PALETTE = plt.get_cmap("tab10").colors
_LABEL = {"auroc": "auROC", "auprc": "auPR"}


def _colors(models: Sequence[str]) -> dict[str, tuple]:
    return {m: _PALETTE[i % len(_PALETTE)] for i, m in enumerate(models)}


def _chrom_key(name: str) -> tuple:
    """Natural order: chr2 before chr10, numbers before letters (chrX, chrM)."""
    parts = re.split(r"(\d+)", str(name))
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


def _shown(tasks: Sequence[str], max_tasks: int) -> tuple[list[int], str]:
    shown = list(range(min(len(tasks), max_tasks)))
    note = f" (first {len(shown)} of {len(tasks)} tasks)" if len(shown) < len(tasks) else ""
    return shown, note


def _check(scores: Mapping[str, np.ndarray], labels: np.ndarray, tasks: Sequence[str]
           ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    labels = np.asarray(labels)
    labels = labels[:, None] if labels.ndim == 1 else labels
    if labels.shape[1] != len(tasks):
        raise ValueError(f"{len(tasks)} task names for {labels.shape[1]} label columns")
    out = {}
    for name, s in scores.items():
        s = np.asarray(s, dtype=np.float64)
        s = s[:, None] if s.ndim == 1 else s
        if s.shape != labels.shape:
            raise ValueError(f"scores of {name} have shape {s.shape}, labels {labels.shape}")
        out[name] = s
    if not out:
        raise ValueError("no scores to plot")
    return out, labels


def _labelled(labels: np.ndarray, j: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Task ``j``'s labelled rows ``(N,)`` bool, their 0/1 labels ``(M,)``, and a note
    counting the ambiguous rows left out (empty when there are none)."""
    keep = labels[:, j] != AMBIGUOUS
    n_amb = int((~keep).sum())
    return keep, labels[keep, j], f", {n_amb:,} ambiguous" if n_amb else ""


def _save(fig, path: str | os.PathLike) -> None:
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def roc_pr_curves(scores: Mapping[str, np.ndarray], labels: np.ndarray, tasks: Sequence[str],
                  path: str | os.PathLike, max_tasks: int = 12) -> None:
    """ROC (left) and precision–recall (right) curves, one row per task, every model drawn.

    ``scores``: model name → ``(N, tasks)``; ``labels``: 0/1 (255: left out)
    ``(N, tasks)``. Legends give
    auROC / auPR; the PR panel marks the positive fraction (a random model's precision).
    Tasks past ``max_tasks`` are left out (the title says so).
    """
    scores, labels = _check(scores, labels, tasks)
    colors = _colors(list(scores))
    shown, note = _shown(tasks, max_tasks)
    fig, axes = plt.subplots(len(shown), 2, figsize=(9, 3.6 * len(shown)), dpi=100,
                             squeeze=False)
    for row, j in enumerate(shown):
        ax_roc, ax_pr = axes[row]
        keep, y, ambiguous = _labelled(labels, j)
        n_pos = int(y.sum())
        one_class = n_pos in (0, len(y))
        for name, s in scores.items():
            if one_class:
                break
            sj = s[keep, j]
            fpr, tpr, _ = roc_curve(y, sj)
            ax_roc.plot(fpr, tpr, color=colors[name], lw=1.5,
                        label=f"{name} ({roc_auc_score(y, sj):.3f})")
            prec, rec, _ = precision_recall_curve(y, sj)
            ax_pr.plot(rec, prec, color=colors[name], lw=1.5, drawstyle="steps-post",
                       label=f"{name} ({average_precision_score(y, sj):.3f})")
        ax_roc.plot([0, 1], [0, 1], color="grey", ls=":", lw=1)
        if len(y):
            ax_pr.axhline(n_pos / len(y), color="grey", ls=":", lw=1)
        for ax, kind in ((ax_roc, "ROC"), (ax_pr, "PR")):
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1.02)
            ax.set_title(f"{tasks[j]} — {kind} (n+={n_pos:,}, n−={len(y) - n_pos:,}"
                         f"{ambiguous})", fontsize=10)
            if one_class:
                ax.text(0.5, 0.5, "one class: no curve", ha="center", va="center")
            else:
                ax.legend(frameon=False, fontsize=8,
                          loc="lower right" if kind == "ROC" else "lower left",
                          title="auROC" if kind == "ROC" else "auPR", title_fontsize=8)
        ax_roc.set_xlabel("false positive rate")
        ax_roc.set_ylabel("true positive rate")
        ax_pr.set_xlabel("recall")
        ax_pr.set_ylabel("precision")
    if note:
        fig.suptitle(note.strip(" ()"), fontsize=9)
    _save(fig, path)


def score_distributions(scores: Mapping[str, np.ndarray], labels: np.ndarray,
                        tasks: Sequence[str], path: str | os.PathLike, bins: int = 40,
                        max_tasks: int = 12) -> None:
    """Histograms of scores of positives and negatives: rows are tasks, columns models.

    Each panel's bins span that model's scores on that task's labelled rows; heights are
    densities, so classes of different sizes compare. Ambiguous rows (255) are left out
    (the title counts them).
    """
    scores, labels = _check(scores, labels, tasks)
    shown, note = _shown(tasks, max_tasks)
    models = list(scores)
    fig, axes = plt.subplots(len(shown), len(models), dpi=100, squeeze=False,
                             figsize=(3.6 * len(models), 2.8 * len(shown)))
    for row, j in enumerate(shown):
        keep, y, ambiguous = _labelled(labels, j)
        y = y.astype(bool)
        for col, name in enumerate(models):
            ax = axes[row, col]
            s = scores[name][keep, j]
            edges = np.histogram_bin_edges(s, bins=bins)
            for mask, label, color in ((~y, "negative", "#7f7f7f"), (y, "positive", "#d62728")):
                if mask.any():
                    ax.hist(s[mask], bins=edges, density=True, histtype="stepfilled",
                            alpha=0.45, color=color, label=f"{label} (n={mask.sum():,})")
            ax.set_title(f"{tasks[j]} — {name}{ambiguous}", fontsize=10)
            ax.set_xlabel("score")
            ax.set_ylabel("density")
            ax.legend(frameon=False, fontsize=7)
    if note:
        fig.suptitle(note.strip(" ()"), fontsize=9)
    _save(fig, path)


def chromosome_performance(per_chrom: pd.DataFrame, path: str | os.PathLike,
                           metric: str = "auroc", max_tasks: int = 12) -> None:
    """A metric per chromosome, one panel per task, one marker per model.

    ``per_chrom`` is :func:`seqcnn.evaluate.metrics.per_chromosome_metrics` output (several models
    concatenated); intervals are drawn where ``{metric}_lo``/``_hi`` are present and finite.
    Tick labels give each chromosome's number of regions (n) and positives of the task.
    """
    need = {"model", "task", "chrom", "n", "n_pos", metric}
    if missing := need - set(per_chrom.columns):
        raise ValueError(f"per_chrom lacks column(s) {', '.join(sorted(missing))}")
    tasks = list(dict.fromkeys(per_chrom["task"]))
    shown, note = _shown(tasks, max_tasks)
    models = list(dict.fromkeys(per_chrom["model"]))
    colors = _colors(models)
    chroms = sorted(dict.fromkeys(per_chrom["chrom"]), key=_chrom_key)
    x = {c: i for i, c in enumerate(chroms)}
    width = 0.8 / max(len(models), 1)
    fig, axes = plt.subplots(len(shown), 1, dpi=100, squeeze=False,
                             figsize=(max(5.0, 0.55 * len(chroms) + 2), 3.2 * len(shown)))
    for row, j in enumerate(shown):
        ax = axes[row, 0]
        sub = per_chrom[per_chrom["task"] == tasks[j]]
        for k, m in enumerate(models):
            d = sub[sub["model"] == m]
            xs = np.array([x[c] for c in d["chrom"]]) + (k - (len(models) - 1) / 2) * width
            v = d[metric].to_numpy(float)
            err = None
            if {f"{metric}_lo", f"{metric}_hi"} <= set(d.columns):
                lo, hi = d[f"{metric}_lo"].to_numpy(float), d[f"{metric}_hi"].to_numpy(float)
                if np.isfinite(lo).any():
                    err = np.nan_to_num(np.vstack([v - lo, hi - v]), nan=0.0)
            ax.errorbar(xs, v, yerr=err, fmt="o", ms=5, color=colors[m], capsize=2, label=m)
        counts = sub.drop_duplicates("chrom").set_index("chrom")
        ax.set_xticks(range(len(chroms)))
        ticks = [f"{c}\nn={int(counts.loc[c, 'n']):,}\npos={int(counts.loc[c, 'n_pos']):,}"
                 if c in counts.index else c for c in chroms]
        ax.set_xticklabels(ticks, fontsize=7)
        ax.set_xlim(-0.6, len(chroms) - 0.4)
        if metric == "auroc":
            ax.axhline(0.5, color="grey", ls=":", lw=1)
        ax.set_ylabel(_LABEL.get(metric, metric))
        ax.set_title(f"{tasks[j]} — {_LABEL.get(metric, metric)} by chromosome", fontsize=10)
        ax.legend(frameon=False, fontsize=8)
    if note:
        fig.suptitle(note.strip(" ()"), fontsize=9)
    _save(fig, path)


def task_comparison(metrics: pd.DataFrame, path: str | os.PathLike, x_model: str,
                    y_models: Sequence[str] | None = None, metric: str = "auroc") -> None:
    """One point per task: ``metric`` of ``x_model`` (x) against each other model (y).

    ``metrics`` is :func:`seqcnn.evaluate.metrics.task_metrics` output for several models; points
    above the diagonal are tasks where the y model wins. Readable for hundreds of tasks,
    where per-task curves are not.
    """
    wide = metrics.pivot_table(index="task", columns="model", values=metric, sort=False)
    if x_model not in wide.columns:
        raise ValueError(f"no {metric} for model {x_model!r}; have {', '.join(wide.columns)}")
    y_models = [m for m in (y_models or wide.columns) if m != x_model]
    colors = _colors(list(dict.fromkeys(metrics["model"])))
    fig, ax = plt.subplots(figsize=(4.6, 4.4), dpi=100)
    values = wide[[x_model, *y_models]].to_numpy(float)
    finite = values[np.isfinite(values)]
    lo = min(0.5, float(finite.min())) if finite.size else 0.5
    for m in y_models:
        wins = int((wide[m] > wide[x_model]).sum())
        ax.scatter(wide[x_model], wide[m], s=18, color=colors[m], alpha=0.8,
                   label=f"{m} (higher on {wins}/{len(wide)})")
    ax.plot([lo, 1], [lo, 1], color="grey", ls=":", lw=1)
    ax.set_xlim(lo - 0.01, 1.005)
    ax.set_ylim(lo - 0.01, 1.005)
    name = _LABEL.get(metric, metric)
    ax.set_xlabel(f"{name} of {x_model}")
    ax.set_ylabel(f"{name} of the other models")
    ax.set_title(f"{name} per task", fontsize=10)
    ax.legend(frameon=False, fontsize=8)
    _save(fig, path)


def regression_scatter(preds: Mapping[str, np.ndarray], labels: np.ndarray,
                       tasks: Sequence[str], path: str | os.PathLike,
                       max_points: int = 5000, seed: int = 0) -> None:
    """Predicted against observed values of regression targets: one panel per (task,
    model), Pearson r in the title, the diagonal dashed. ``preds`` maps a model to ``(N,
    tasks)`` predictions in label units; ``labels`` ``(N, tasks)`` (NaN rows left out). At
    most ``max_points`` rows drawn per panel (a seeded sample; r uses every labelled row)."""
    from seqcnn.evaluate.metrics import pearson

    labels = np.asarray(labels, dtype=np.float64).reshape(len(labels), -1)
    colors = _colors(list(preds))
    fig, axes = plt.subplots(len(tasks), len(preds), squeeze=False,
                             figsize=(3.4 * len(preds), 3.2 * len(tasks)))
    rng = np.random.default_rng(seed)
    for j, task in enumerate(tasks):
        keep = np.flatnonzero(~np.isnan(labels[:, j]))
        shown = keep if len(keep) <= max_points else np.sort(rng.choice(keep, max_points,
                                                                         replace=False))
        for i, (name, p) in enumerate(preds.items()):
            p = np.asarray(p, dtype=np.float64).reshape(len(labels), -1)[:, j]
            ax = axes[j, i]
            ax.scatter(labels[shown, j], p[shown], s=4, alpha=0.4, color=colors[name],
                       linewidths=0)
            both = np.concatenate([labels[keep, j], p[keep]]) if len(keep) else np.zeros(1)
            lo, hi = float(both.min()), float(both.max())
            ax.plot([lo, hi], [lo, hi], "--", color="0.5", lw=0.8)
            r = pearson(labels[keep, j], p[keep]) if len(keep) > 1 else np.nan
            ax.set_title(f"{task}: {name}\nr = {r:.3f} (n = {len(keep)})", fontsize=9)
            ax.set_xlabel("observed")
            ax.set_ylabel("predicted")
    _save(fig, path)


def residual_histograms(preds: Mapping[str, np.ndarray], labels: np.ndarray,
                        tasks: Sequence[str], path: str | os.PathLike) -> None:
    """Histograms of residuals (predicted − observed) per task, one colour per model."""
    labels = np.asarray(labels, dtype=np.float64).reshape(len(labels), -1)
    colors = _colors(list(preds))
    fig, axes = plt.subplots(1, len(tasks), squeeze=False, figsize=(4 * len(tasks), 3.2))
    for j, task in enumerate(tasks):
        keep = ~np.isnan(labels[:, j])
        ax = axes[0, j]
        for name, p in preds.items():
            res = np.asarray(p, dtype=np.float64).reshape(len(labels), -1)[keep, j] \
                - labels[keep, j]
            ax.hist(res, bins=50, histtype="step", color=colors[name], label=name)
        ax.set_title(f"{task}: residuals", fontsize=9)
        ax.set_xlabel("predicted − observed")
        ax.legend(fontsize=7)
    _save(fig, path)


def profile_examples(observed: np.ndarray, predicted: np.ndarray, tasks: Sequence[str],
                     names: Sequence[str], path: str | os.PathLike) -> None:
    """Observed read counts (bars) and the predicted profile scaled to the observed total
    (line) of a few regions: one row per region, one column per task. ``observed`` ``(n,
    T, L)`` counts, ``predicted`` ``(n, T, L)`` probabilities, ``names`` ``(n,)`` titles."""
    observed = np.asarray(observed, dtype=np.float64)
    n, t, length = observed.shape
    fig, axes = plt.subplots(max(n, 1), t, squeeze=False, figsize=(4.2 * t, 1.9 * max(n, 1)))
    x = np.arange(length) - length // 2
    for i in range(n):
        for j, task in enumerate(tasks):
            ax = axes[i, j]
            total = observed[i, j].sum()
            ax.bar(x, observed[i, j], width=1.0, color="0.6", label="observed")
            ax.plot(x, predicted[i, j] * total, color=_PALETTE[0], lw=1.0, label="predicted")
            ax.set_title(f"{names[i]}  {task} ({total:.0f} reads)", fontsize=8)
            ax.tick_params(labelsize=7)
    axes[0, 0].legend(fontsize=7)
    axes[-1, 0].set_xlabel("bp from the centre")
    _save(fig, path)
