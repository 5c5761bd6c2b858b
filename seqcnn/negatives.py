"""Negative regions: GC-matched genomic background, dinucleotide shuffles, or a user BED.

All functions return region tables (see :mod:`seqcnn.regions`) with a ``source`` column
(``background``, ``shuffle`` or ``user``) and every task label 0.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping

import numpy as np
import pandas as pd

from seqcnn.genome import Genome, base_fractions
from seqcnn.regions import overlaps, sort_regions

GC_BIN_WIDTH = 0.02


def _as_negatives(df: pd.DataFrame, tasks: list[str], source: str) -> pd.DataFrame:
    df = df.copy()
    for t in tasks:
        df[t] = np.uint8(0)
    df["source"] = source
    return df


def _bin_targets(pos_gc: np.ndarray, ratio: float, width: float) -> np.ndarray:
    """How many negatives each GC bin needs: ``ratio`` × positives per bin, rounded so the
    total is exactly ``round(ratio * n_pos)``."""
    nbins = int(round(1 / width))
    counts = np.bincount(np.clip((pos_gc / width).astype(int), 0, nbins - 1), minlength=nbins)
    cum = np.round(np.cumsum(counts) * ratio).astype(int)
    return np.diff(np.concatenate([[0], cum]))


def match_gc(pos_gc: np.ndarray, cand_gc: np.ndarray, ratio: float, rng: np.random.Generator,
             width: float = GC_BIN_WIDTH) -> tuple[np.ndarray, int]:
    """Choose candidates whose GC histogram matches the positives' (bins of ``width``).

    Returns the chosen candidate indices (sorted) and the shortfall: bins without enough
    candidates borrow from the nearest bins; whatever still lacks is counted, not invented.
    """
    nbins = int(round(1 / width))
    need = _bin_targets(pos_gc, ratio, width)
    cand_bin = np.clip((cand_gc / width).astype(int), 0, nbins - 1)
    pools = [list(rng.permutation(np.flatnonzero(cand_bin == b))) for b in range(nbins)]
    chosen: list[int] = []
    owed = 0
    for b in np.argsort(-need, kind="stable"):  # fill the populous bins first
        k = int(need[b])
        for dist in range(nbins):
            for nb in {b - dist, b + dist}:
                if k == 0:
                    break
                if 0 <= nb < nbins and pools[nb]:
                    take = min(k, len(pools[nb]))
                    chosen += pools[nb][:take]
                    del pools[nb][:take]
                    k -= take
            if k == 0 or dist > 3:  # never borrow from more than 3 bins (0.06 GC) away
                break
        owed += k
    return np.sort(np.asarray(chosen, dtype=np.int64)), owed


def _shuffle_candidates(positives: pd.DataFrame, sizes: Mapping[str, int],
                        sizes_file: str | os.PathLike, seq_len: int, n_cand: int, seed: int,
                        blacklist: pd.DataFrame | None) -> pd.DataFrame:
    """``n_cand`` non-overlapping random ``seq_len`` windows outside positives ± seq_len."""
    import pybedtools

    excl = positives[["chrom", "start", "end"]].copy()
    excl["start"] = (excl["start"] - seq_len).clip(lower=0)
    excl["end"] = np.minimum(excl["end"] + seq_len, excl["chrom"].map(sizes))
    if blacklist is not None and len(blacklist):
        excl = pd.concat([excl, blacklist[["chrom", "start", "end"]]], ignore_index=True)
    excl_bed = pybedtools.BedTool.from_dataframe(excl).sort().merge()
    template = pd.DataFrame({"chrom": next(iter(sizes)), "start": 0, "end": seq_len,
                             "name": [f"bg{i}" for i in range(n_cand)]})
    shuffled = pybedtools.BedTool.from_dataframe(template).shuffle(
        g=str(sizes_file), excl=excl_bed.fn, noOverlapping=True, seed=seed, maxTries=10000,
    )
    return shuffled.to_dataframe(disable_auto_names=True, header=None,
                                 names=["chrom", "start", "end", "name"],
                                 dtype={"chrom": str, "name": str})


def gc_matched(
    positives: pd.DataFrame,
    genome: Genome,
    sizes_file: str | os.PathLike,
    seq_len: int,
    ratio: float,
    tasks: list[str],
    seed: int = 0,
    blacklist: pd.DataFrame | None = None,
    max_n_fraction: float = 0.1,
    oversample: int = 5,
) -> tuple[pd.DataFrame, dict]:
    """GC-matched genomic background via ``bedtools shuffle``.

    Candidates (``oversample`` × the number needed, ``seq_len`` bp, non-overlapping) are
    placed at random (seeded) outside every positive ± ``seq_len`` and the blacklist;
    those above ``max_n_fraction`` are removed; then :func:`match_gc` picks the negatives.
    Returns the negatives and a summary (candidates, removed, shortfall).
    """
    import pybedtools

    n_need = int(round(ratio * len(positives)))
    if n_need == 0:
        return _as_negatives(positives.iloc[:0], tasks, "background"), {"n": 0}
    sizes = genome.sizes
    previous = tempfile.tempdir  # pybedtools' set_tempdir changes the global tempdir
    with tempfile.TemporaryDirectory(prefix="seqcnn_neg_") as tmp:
        pybedtools.helpers.set_tempdir(tmp)
        try:
            cand = _shuffle_candidates(positives, sizes, sizes_file, seq_len, n_need * oversample,
                                       seed, blacklist)
        finally:
            pybedtools.helpers.cleanup()
            tempfile.tempdir = previous
    n_cand = n_need * oversample
    cand = sort_regions(cand, genome.sizes)
    cand_gc, cand_n = base_fractions(genome, cand)
    ok = (cand_n <= max_n_fraction) & ~np.isnan(cand_gc)
    removed_n = int((~ok).sum())
    cand, cand_gc = cand.loc[ok].reset_index(drop=True), cand_gc[ok]
    pos_gc, _ = base_fractions(genome, positives)
    rng = np.random.default_rng(seed)
    idx, shortfall = match_gc(pos_gc[~np.isnan(pos_gc)], cand_gc, ratio, rng)
    neg = cand.iloc[idx].reset_index(drop=True)
    neg["strand"], neg["summit"], neg["file"], neg["line"] = ".", -1, "bedtools shuffle", 0
    neg["name"] = [f"bg{i + 1}" for i in range(len(neg))]
    summary = {
        "n": len(neg), "candidates": n_cand, "removed_too_many_n": removed_n,
        "shortfall": shortfall,
    }
    return _as_negatives(neg, tasks, "background"), summary


def dinucleotide_shuffled(positives: pd.DataFrame, ratio: float, tasks: list[str],
                          seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """``ratio`` shuffled copies of each positive (rows with ``source == 'shuffle'``).

    The copies keep the positive's coordinates (so they fall in its chromosome's split);
    the cache builder shuffles their sequences, preserving dinucleotide counts exactly.
    A fractional ratio adds a seeded random subset for the remainder.
    """
    whole = int(np.floor(ratio))
    extra = int(round((ratio - whole) * len(positives)))
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(whole):
        parts.append(positives.assign(name=positives["name"].astype(str) + f"_shuf{k + 1}"))
    if extra:
        pick = np.sort(rng.choice(len(positives), size=extra, replace=False))
        sub = positives.iloc[pick]
        parts.append(sub.assign(name=sub["name"].astype(str) + f"_shuf{whole + 1}"))
    neg = pd.concat(parts, ignore_index=True) if parts else positives.iloc[:0]
    return _as_negatives(neg, tasks, "shuffle"), {"n": len(neg)}


def user_negatives(candidates: pd.DataFrame, positives: pd.DataFrame, ratio: float,
                   tasks: list[str], seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """Negatives from a user BED (already resized and filtered): those overlapping a
    positive are removed, then ``ratio`` × positives are sampled (all, if fewer)."""
    hit = overlaps(candidates, positives)
    cand = candidates.loc[~hit].reset_index(drop=True)
    n_need = int(round(ratio * len(positives)))
    rng = np.random.default_rng(seed)
    if len(cand) > n_need:
        cand = cand.iloc[np.sort(rng.choice(len(cand), size=n_need, replace=False))]
    summary = {"n": len(cand), "removed_overlapping_positives": int(hit.sum()),
               "shortfall": max(0, n_need - len(cand))}
    return _as_negatives(cand.reset_index(drop=True), tasks, "user"), summary


def gc_table(gc: Mapping[str, np.ndarray], bins: int = 10) -> str:
    """A text histogram of GC fractions, one column per set, for logs."""
    edges = np.linspace(0, 1, bins + 1)
    names = list(gc)
    lines = ["GC bin      " + "".join(f"{n:>12}" for n in names)]
    hists = {n: np.histogram(np.asarray(v)[~np.isnan(v)], edges)[0] for n, v in gc.items()}
    for i in range(bins):
        lines.append(f"{edges[i]:.1f}-{edges[i + 1]:.1f}    "
                     + "".join(f"{hists[n][i]:>12d}" for n in names))
    lines.append("median      " + "".join(f"{np.nanmedian(gc[n]):>12.3f}" if len(gc[n])
                                          else f"{'-':>12}" for n in names))
    return "\n".join(lines)
