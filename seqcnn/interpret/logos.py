"""Information-content logos (logomaker) of learned motifs beside their best JASPAR match.

Letter heights are ``p_a · IC`` in bits (``IC = log2 A − H``: at most 2 bits for DNA). The
match is drawn under the motif on the same x axis, aligned as Tomtom aligned them
(:func:`seqcnn.interpret.motifs.tomtom`): query position ``i`` faces position
``i + offset`` of the target, reverse-complemented first when ``strand`` is ``-``.

Figures are made with :class:`matplotlib.figure.Figure` (no pyplot state) and written as PNG.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from seqcnn.alphabet import ALPHABETS


def information_matrix(ppm: np.ndarray) -> np.ndarray:
    """Letter heights ``(A, w)`` in bits: ``p_a · (log2 A − H)`` per position."""
    from seqcnn.interpret.filters import information_content

    p = np.clip(np.asarray(ppm, dtype=np.float64), 0, None)
    p = p / np.where(p.sum(axis=0) > 0, p.sum(axis=0), 1)
    return p * information_content(p)[None, :]


def draw_logo(
    ax: Axes, ppm: np.ndarray, alphabet: str = "dna", start: int = 0, title: str | None = None
) -> None:
    """Draw an information-content logo of ``ppm`` ``(A, w)`` on ``ax`` at x = start, …"""
    import logomaker

    letters = ALPHABETS.get(alphabet, alphabet)
    heights = information_matrix(ppm)
    df = pd.DataFrame(heights.T, columns=list(letters),
                      index=np.arange(start, start + heights.shape[1]))
    scheme = "classic" if len(letters) == 4 else "chemistry"
    logomaker.Logo(df, ax=ax, color_scheme=scheme, show_spines=False)
    # DNA/RNA on the full 2-bit scale; protein filters rarely approach log2(20) bits, so
    # their axis stops a little above the tallest column (the axis still reads in bits)
    top = np.log2(len(letters)) if len(letters) == 4 else min(
        np.log2(len(letters)), max(0.5, 1.15 * float(heights.sum(axis=0).max(initial=0))))
    ax.set_ylim(0, top)
    ax.set_ylabel("bits", fontsize=7)
    ax.tick_params(labelsize=6)
    if title:
        ax.set_title(title, fontsize=8, loc="left")


def _aligned_target(ppm: np.ndarray, offset: int, strand: str) -> tuple[np.ndarray, int]:
    """Target PPM as aligned to the query (reverse complement for ``-``) and its x start."""
    t = np.asarray(ppm)
    if strand == "-":
        t = t[::-1, ::-1]
    return t, -int(offset)


def _draw_pair(
    axes: tuple[Axes, Axes], ppm: np.ndarray, name: str, alphabet: str,
    match: np.ndarray | None, match_title: str | None, offset: int, strand: str,
) -> None:
    top, bottom = axes
    draw_logo(top, ppm, alphabet, 0, name)
    lo, hi = 0, ppm.shape[1]
    if match is not None:
        t, start = _aligned_target(match, offset, strand)
        draw_logo(bottom, t, alphabet, start, match_title)
        lo, hi = min(lo, start), max(hi, start + t.shape[1])
    else:
        bottom.axis("off")
    for ax in axes:
        ax.set_xlim(lo - 0.5, hi - 0.5)


def plot_motif_logo(
    path: str | os.PathLike,
    ppm: np.ndarray,
    name: str = "",
    alphabet: str = "dna",
    match: np.ndarray | None = None,
    match_title: str | None = None,
    offset: int = 0,
    strand: str = "+",
    dpi: int = 100,
) -> None:
    """One motif's logo (top) and, if given, its match aligned under it: a PNG at ``path``."""
    width = max(ppm.shape[1], 0 if match is None else match.shape[1] + abs(offset))
    fig = Figure(figsize=(max(3.0, 0.3 * width), 2.6), dpi=dpi)
    axes = fig.subplots(2, 1, sharex=False)
    _draw_pair(tuple(axes), ppm, name, alphabet, match, match_title, offset, strand)
    fig.tight_layout()
    fig.savefig(path)


def plot_logo_grid(
    path: str | os.PathLike,
    motifs: Mapping[str, np.ndarray],
    matches: pd.DataFrame | None = None,
    targets: Mapping[str, np.ndarray] | None = None,
    alphabet: str = "dna",
    ncols: int = 4,
    dpi: int = 80,
) -> None:
    """A grid of logos, one cell per motif (in ``motifs`` order), each with its best match.

    ``matches``: one row per query (:func:`seqcnn.interpret.motifs.best_matches`); the
    match's PPM comes from ``targets`` (id → ``(4, w)``). Motifs without a row get no match.
    """
    names = list(motifs)
    best = {} if matches is None else {r.query: r for r in matches.itertuples(index=False)}
    ncols = max(1, min(ncols, len(names)))
    nrows = max(1, -(-len(names) // ncols))
    pairs = targets is not None  # no match row when there is nothing to match against
    fig = Figure(figsize=(3.6 * ncols, (2.4 if pairs else 1.4) * nrows), dpi=dpi)
    grid = fig.add_gridspec(nrows * (2 if pairs else 1), ncols, hspace=0.9, wspace=0.3)
    for k, name in enumerate(names):
        r, c = divmod(k, ncols)
        if not pairs:
            draw_logo(fig.add_subplot(grid[r, c]), motifs[name], alphabet, 0, name)
            continue
        axes = (fig.add_subplot(grid[2 * r, c]), fig.add_subplot(grid[2 * r + 1, c]))
        row = best.get(name)
        match = None
        title = None
        offset, strand = 0, "+"
        if row is not None and targets is not None and row.target_id in targets:
            match = targets[row.target_id]
            title = f"{row.target_id} {row.target_name} (q={row.q:.2g}, {row.strand})"
            offset, strand = int(row.offset), row.strand
        _draw_pair(axes, motifs[name], name, alphabet, match, title, offset, strand)
    if not names:
        fig.text(0.5, 0.5, "no motifs", ha="center")
    fig.savefig(path)
