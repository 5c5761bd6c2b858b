"""Figures of a design: the score trajectory and logos of the edited windows."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd


def plot_trajectory(path: str | os.PathLike, trajectory: pd.DataFrame, tasks: Sequence[str],
                    title: str = "", xlabel: str = "round") -> None:
    """Per task, the guiding model's mean probability over the sequences by round (10–90 %
    band), and the mean number of edits; written as PNG."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.2))
    ax, ax2 = fig.subplots(1, 2)
    for t, task in enumerate(tasks):
        col = f"logit_{t}"
        if col not in trajectory:
            continue
        p = trajectory.assign(p=1 / (1 + np.exp(-trajectory[col]))).groupby("round")["p"]
        mean, lo, hi = p.mean(), p.quantile(0.1), p.quantile(0.9)
        ax.plot(mean.index, mean.to_numpy(), label=task)
        ax.fill_between(mean.index, lo.to_numpy(), hi.to_numpy(), alpha=0.2)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("guiding model probability (mean)")
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9, loc="left")
    edits = trajectory.groupby("round")["edits"].mean()
    ax2.plot(edits.index, edits.to_numpy(), color="0.3")
    ax2.set_xlabel(xlabel)
    ax2.set_ylabel("edits (mean)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_windows(path: str | os.PathLike, table: pd.DataFrame, maps: np.ndarray,
                 x: np.ndarray, rows: Sequence[int], letters: str, title: str = "") -> None:
    """Logos of the projected ISM map over the edited window of the designed sequences
    ``rows`` (indices into ``maps``/``x``, matching ``table``'s rows by ``id`` order), each
    titled with its JASPAR name; written as PNG."""
    import logomaker
    from matplotlib.figure import Figure

    n = max(1, len(rows))
    fig = Figure(figsize=(7, 1.5 * n))
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    if not len(rows):
        axes[0].text(0.5, 0.5, "no edited sequence", ha="center", va="center")
        axes[0].axis("off")
    for ax, (k, i) in zip(axes, enumerate(rows), strict=False):
        r = table.iloc[k]
        a, b = int(r["start"]), int(r["end"])
        df = pd.DataFrame((maps[i][:, a:b] * x[i][:, a:b]).T, columns=list(letters),
                          index=np.arange(a, b))
        logomaker.Logo(df, ax=ax, color_scheme="classic" if len(letters) == 4 else
                       "chemistry", show_spines=False)
        name = f"{r['motif_id']} {r['motif_name']} (q {r['motif_q']:.2g})" \
            if r["motif_id"] else "no JASPAR match"
        ax.set_title(f"{r['id']} {a}–{b}: {name}", fontsize=8, loc="left")
        ax.tick_params(labelsize=6)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


__all__ = ["plot_trajectory", "plot_windows"]
