"""Figures written by the workflow (matplotlib, Agg backend, PNG)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def gc_histogram(gc: Mapping[str, np.ndarray], path: str | os.PathLike,
                 title: str = "GC content") -> None:
    """Overlaid GC-fraction histograms (one per set, bins of 0.02) with medians marked."""
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    edges = np.linspace(0, 1, 51)
    for (name, values), color in zip(gc.items(), ["#1f77b4", "#ff7f0e", "#2ca02c"],
                                     strict=False):
        v = np.asarray(values, dtype=float)
        v = v[~np.isnan(v)]
        if not len(v):
            continue
        ax.hist(v, bins=edges, histtype="step", lw=2, color=color,
                label=f"{name} (n={len(v):,}, median {np.median(v):.3f})")
        ax.axvline(np.median(v), color=color, ls=":", lw=1)
    ax.set_xlabel("GC fraction of A/C/G/T bases")
    ax.set_ylabel("regions")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def training_curves(log: pd.DataFrame, path: str | os.PathLike, best_epoch: int | None = None,
                    title: str = "Training") -> None:
    """Loss (train, valid) and validation auROC/auPR per epoch from ``train_log.tsv``
    (columns epoch, train_loss, valid_loss, valid_auroc, valid_auprc); the kept epoch is
    marked with a dashed line."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=100)
    ax1.plot(log["epoch"], log["train_loss"], "o-", ms=3, label="train")
    ax1.plot(log["epoch"], log["valid_loss"], "o-", ms=3, label="valid")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("loss")
    ax1.legend(frameon=False)
    ax2.plot(log["epoch"], log["valid_auroc"], "o-", ms=3, label="valid auROC")
    ax2.plot(log["epoch"], log["valid_auprc"], "o-", ms=3, label="valid auPR")
    ax2.set_xlabel("epoch")
    ax2.set_ylim(min(0.5, float(np.nanmin(log[["valid_auroc", "valid_auprc"]].to_numpy()))), 1.0)
    ax2.legend(frameon=False, loc="lower right")
    for ax in (ax1, ax2):
        if best_epoch is not None:
            ax.axvline(best_epoch, color="grey", ls="--", lw=1)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def length_histogram(lengths: Mapping[str, np.ndarray], path: str | os.PathLike,
                     seq_len: int | None = None, title: str = "Sequence lengths") -> None:
    """Overlaid length histograms (residues), one per split; the cache length dashed."""
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    values = [np.asarray(v) for v in lengths.values() if len(v)]
    hi = max([int(v.max()) for v in values] + [seq_len or 1])
    lo = min([int(v.min()) for v in values] + [hi])
    edges = np.linspace(lo, hi + 1, min(60, hi - lo + 2))
    for name, v in lengths.items():
        if len(v):
            ax.hist(v, bins=edges, histtype="step", lw=2,
                    label=f"{name} (n={len(v):,}, median {np.median(v):.0f})")
    if seq_len is not None:
        ax.axvline(seq_len, color="grey", ls="--", lw=1, label=f"cache length {seq_len}")
    ax.set_xlabel("length (residues)")
    ax.set_ylabel("sequences")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def periodicity(periods: np.ndarray, power: np.ndarray, dominant: np.ndarray,
                path: str | os.PathLike, marks: Mapping[str, float] | None = None,
                title: str = "Filter periodicity") -> None:
    """Spectra ``power (F, n)`` over ``periods (n,)`` (grey, mean in black, each normalised
    to its maximum) and a histogram of each filter's ``dominant`` period ``(F,)``; ``marks``
    (label → period) are drawn as vertical lines on both."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6), dpi=100)
    p = np.asarray(power, dtype=float)
    p = p / np.maximum(p.max(axis=1, keepdims=True), 1e-12)
    for row in p:
        ax1.plot(periods, row, color="0.8", lw=0.6)
    if len(p):
        ax1.plot(periods, p.mean(axis=0), color="black", lw=2, label="mean")
    d = np.asarray(dominant, dtype=float)
    d = d[~np.isnan(d)]
    edges = np.linspace(float(np.min(periods)), float(np.max(periods)), 40)
    ax2.hist(d, bins=edges, color="#1f77b4")
    for (label, value), color in zip((marks or {}).items(), ["#d62728", "#2ca02c", "#9467bd"],
                                     strict=False):
        for ax in (ax1, ax2):
            ax.axvline(value, color=color, ls="--", lw=1.2, label=f"{label} {value:g}")
    ax1.set_xlabel("period (positions)")
    ax1.set_ylabel("power (normalised)")
    ax1.legend(frameon=False, fontsize=8)
    ax2.set_xlabel("dominant period (positions)")
    ax2.set_ylabel("filters")
    ax2.legend(frameon=False, fontsize=8)
    fig.suptitle(f"{title} ({len(p)} filters)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


#: Guide curves :func:`metrics_against_option` can draw: a function of the option value and
#: a legend label (``{}`` is the option's name).
GUIDES = {"inverse": (lambda x: 1.0 / x, "1/{}")}


def metrics_against_option(measured: pd.DataFrame, table: pd.DataFrame, plot: Mapping[str, Any],
                           path: str | os.PathLike, title: str = "") -> None:
    """One panel per metric in ``plot["metrics"]``: seqcnn's measurement per model against the
    model option ``plot["over"]`` (a column of ``measured``, models as rows), the expected
    range of each model from ``table`` (:func:`seqcnn.report.reference.compare` rows) as a grey
    bar, and ``plot["guides"]`` (metric → a :data:`GUIDES` name, e.g. ``1/x``) as a dashed
    line. Models without the option are left out; the x axis is log2 when all values are
    positive numbers spanning more than a factor 4."""
    over, metrics = plot["over"], list(plot["metrics"])
    frame = measured[measured[over].notna()].sort_values(over)
    x = frame[over].to_numpy()
    numeric = np.issubdtype(np.asarray(x).dtype, np.number)
    log2 = bool(numeric and len(x) and (x > 0).all() and x.max() / x.min() > 4)
    pos = x.astype(float) if numeric else np.arange(len(x), dtype=float)
    fig, axes = plt.subplots(1, len(metrics), dpi=100, squeeze=False,
                             figsize=(3.6 * len(metrics) + 0.4, 3.6))
    for ax, metric in zip(axes[0], metrics, strict=True):
        rows = table[table["metric"] == metric].set_index("model")
        for xi, model in zip(pos, frame.index, strict=True):
            if model in rows.index and np.isfinite(rows.at[model, "low"]):
                lo, hi = rows.at[model, "low"], rows.at[model, "high"]
                ax.plot([xi, xi], [lo, hi] if hi > lo else [lo - 0.01, hi + 0.01],
                        color="0.75", lw=7, solid_capstyle="butt", zorder=1)
        ax.plot(pos, frame[metric].to_numpy(float), "o-", color="#1f77b4", zorder=3,
                label="seqcnn")
        guide = plot.get("guides", {}).get(metric)
        if guide and numeric:
            grid = np.geomspace(pos.min(), pos.max(), 100) if log2 else \
                np.linspace(pos.min(), pos.max(), 100)
            curve, label = GUIDES[guide]
            ax.plot(grid, curve(grid), "--", color="#d62728", label=label.format(over))
        if log2:
            ax.set_xscale("log", base=2)
        ax.set_xticks(pos, [str(v) for v in x])
        ax.set_xlabel(over)
        ax.set_title(metric, fontsize=10)
        ax.legend(frameon=False, fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def reference_comparison(table: pd.DataFrame, path: str | os.PathLike,
                         title: str = "Published versus measured") -> None:
    """One panel per metric of :func:`seqcnn.report.reference.compare` output: the expected value or
    range (grey bar) and seqcnn's measurement (green when it agrees, red otherwise) per
    model, models in table order."""
    table = table[table["low"].notna()]  # trend rows have no bounds to draw
    metrics = list(dict.fromkeys(table["metric"]))
    fig, axes = plt.subplots(1, max(1, len(metrics)), dpi=100, squeeze=False,
                             figsize=(max(4.0, 0.55 * table["model"].nunique() + 2) *
                                      max(1, len(metrics)) * 0.8, 3.8))
    for ax, metric in zip(axes[0], metrics, strict=False):
        sub = table[table["metric"] == metric].reset_index(drop=True)
        x = np.arange(len(sub))
        lo, hi = sub["low"].to_numpy(float), sub["high"].to_numpy(float)
        ax.bar(x, np.maximum(hi - lo, 0.01 * max(1.0, np.nanmax(hi))), bottom=lo, width=0.6,
               color="0.8", label="published / expected")
        colors = np.where(sub["agrees"], "#2ca02c", "#d62728")
        ax.scatter(x, sub["measured"], color=colors, zorder=3, s=36, label="seqcnn")
        ax.set_xticks(x, sub["model"], rotation=45, ha="right", fontsize=8)
        ax.set_title(metric, fontsize=10)
        ax.legend(frameon=False, fontsize=7)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
