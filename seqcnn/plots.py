"""Figures written by the workflow (matplotlib, Agg backend, PNG)."""

from __future__ import annotations

import os
from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


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
