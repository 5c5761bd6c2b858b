"""Negative regions: GC-matched genomic background, dinucleotide shuffles, or a user BED.

All functions return region tables (see :mod:`seqcnn.data.regions`) with a ``source`` column
(``background``, ``shuffle`` or ``user``) and every task label 0.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from seqcnn.alphabet import UNKNOWN, lookup_table
from seqcnn.data.genome import Genome, base_fractions
from seqcnn.data.regions import overlaps, sort_regions
from seqcnn.errors import ConfigError

GC_BIN_WIDTH = 0.02
_log = logging.getLogger("seqcnn.data.negatives")


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
             width: float = GC_BIN_WIDTH) -> tuple[np.ndarray, np.ndarray]:
    """Choose candidates whose GC histogram matches the positives' (bins of ``width``).

    Returns the chosen candidate indices (sorted) and the shortfall per GC bin
    (``(1 / width,)`` int): bins without enough candidates borrow from the nearest bins;
    whatever still lacks is owed to its bin, not invented.
    """
    nbins = int(round(1 / width))
    need = _bin_targets(pos_gc, ratio, width)
    cand_bin = np.clip((cand_gc / width).astype(int), 0, nbins - 1)
    pools = [list(rng.permutation(np.flatnonzero(cand_bin == b))) for b in range(nbins)]
    chosen: list[int] = []
    owed = np.zeros(nbins, dtype=np.int64)
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
        owed[b] = k
    return np.sort(np.asarray(chosen, dtype=np.int64)), owed


def _merge(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union of intervals ``[starts, ends)`` (``(n,)`` each, any order; touching intervals
    join) → sorted, disjoint ``(m,)`` starts and ends."""
    if len(starts) == 0:
        return starts.astype(np.int64), ends.astype(np.int64)
    order = np.argsort(starts, kind="stable")
    s, e = starts[order].astype(np.int64), ends[order].astype(np.int64)
    reach = np.maximum.accumulate(e)
    first = np.flatnonzero(np.r_[True, s[1:] > reach[:-1]])
    return s[first], np.maximum.reduceat(e, first)


def free_space(sizes: Mapping[str, int], excluded: pd.DataFrame, min_length: int = 1
               ) -> pd.DataFrame:
    """The genome minus ``excluded`` (chrom, start, end; may overlap, may name chromosomes
    absent from ``sizes``) as disjoint intervals of at least ``min_length`` bp: a table
    chrom, start, end in ``sizes`` order, then by start."""
    names, starts, ends = [], [], []
    groups = excluded.groupby("chrom", sort=False).indices if len(excluded) else {}
    ex_start = excluded["start"].to_numpy(np.int64) if len(excluded) else None
    ex_end = excluded["end"].to_numpy(np.int64) if len(excluded) else None
    for chrom, size in sizes.items():
        idx = groups.get(chrom)
        if idx is None:
            s = e = np.zeros(0, dtype=np.int64)
        else:
            s, e = _merge(np.clip(ex_start[idx], 0, size), np.clip(ex_end[idx], 0, size))
        fs, fe = np.r_[0, e], np.r_[s, size]
        keep = fe - fs >= max(1, min_length)
        names.append(np.full(int(keep.sum()), chrom, dtype=object))
        starts.append(fs[keep])
        ends.append(fe[keep])
    return _interval_table(names, starts, ends)


def _interval_table(names: list[np.ndarray], starts: list[np.ndarray], ends: list[np.ndarray]
                    ) -> pd.DataFrame:
    """One table chrom, start, end from per-chromosome arrays (one DataFrame, not one per
    chromosome: assemblies of many scaffolds stay fast)."""
    names, starts, ends = names or [[]], starts or [[]], ends or [[]]
    return pd.DataFrame({"chrom": np.concatenate(names).astype(object),
                         "start": np.concatenate(starts).astype(np.int64),
                         "end": np.concatenate(ends).astype(np.int64)})


def n_gaps(genome: Genome, chunk: int = 1 << 24) -> pd.DataFrame:
    """Runs of non-ACGT bases (N gaps, IUPAC codes) of every chromosome: a table chrom,
    start, end (0-based, half-open). Reads one chromosome at a time, ``chunk`` bp at a time
    (memory: the chromosome plus a few bytes per base of one chunk)."""
    lut = lookup_table("dna")
    names, starts, ends = [], [], []
    for chrom in genome.sizes:
        seq = genome.chromosome(chrom)
        run_start, run_end = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        for a in range(0, len(seq), chunk):
            unknown = (lut[seq[a:a + chunk]] == UNKNOWN).view(np.int8)
            edge = np.diff(np.r_[np.int8(0), unknown, np.int8(0)])
            run_start.append(np.flatnonzero(edge == 1) + a)
            run_end.append(np.flatnonzero(edge == -1) + a)
        s, e = _merge(np.concatenate(run_start), np.concatenate(run_end))  # joins chunk edges
        names.append(np.full(len(s), chrom, dtype=object))
        starts.append(s)
        ends.append(e)
    return _interval_table(names, starts, ends)


def exclusion_zones(positives: pd.DataFrame, seq_len: int, blacklist: pd.DataFrame | None,
                    gaps: pd.DataFrame | None) -> pd.DataFrame:
    """Where no negative may lie: every positive ± ``seq_len``, the blacklist and the N
    gaps, as one table chrom, start, end (unmerged; :func:`free_space` clips and merges)."""
    parts = [pd.DataFrame({"chrom": positives["chrom"].astype(str),
                           "start": positives["start"].to_numpy(np.int64) - seq_len,
                           "end": positives["end"].to_numpy(np.int64) + seq_len})]
    for extra in (blacklist, gaps):
        if extra is not None and len(extra):
            parts.append(extra[["chrom", "start", "end"]].astype({"chrom": str}))
    return pd.concat(parts, ignore_index=True)


def window_capacity(free: pd.DataFrame, seq_len: int) -> np.ndarray:
    """How many non-overlapping ``seq_len`` windows each free interval holds: ``(n,)``."""
    return ((free["end"] - free["start"]).to_numpy(np.int64) // seq_len).clip(min=0)


def place_windows(free: pd.DataFrame, n: int, seq_len: int, rng: np.random.Generator
                  ) -> pd.DataFrame:
    """``min(n, capacity)`` non-overlapping ``seq_len`` windows inside the ``free`` intervals.

    Each interval's share is a weighted draw (multivariate hypergeometric over the
    intervals' capacities, so no interval gets more than it holds); inside an interval,
    ``k`` windows take sorted uniform offsets in its slack (length − ``k × seq_len``), the
    j-th shifted by ``j × seq_len``: no trial and error, no overlap. Returns chrom, start,
    end in ``free``'s order.
    """
    cap = window_capacity(free, seq_len)
    n = int(min(n, cap.sum()))
    if n == 0:
        return free.iloc[:0][["chrom", "start", "end"]].reset_index(drop=True)
    k = rng.multivariate_hypergeometric(cap, n, method="marginals")
    which = np.repeat(np.arange(len(free)), k)
    slack = (free["end"] - free["start"]).to_numpy(np.int64)[which] - k[which] * seq_len
    offset = (rng.random(n) * (slack + 1)).astype(np.int64)
    order = np.lexsort((offset, which))  # sort offsets within each interval
    offset = offset[order]
    rank = np.arange(n) - np.repeat(np.cumsum(k) - k, k)  # j-th window of its interval
    start = free["start"].to_numpy(np.int64)[which] + offset + rank * seq_len
    return pd.DataFrame({"chrom": free["chrom"].to_numpy()[which], "start": start,
                         "end": start + seq_len})


def _bin_label(b: int, width: float = GC_BIN_WIDTH) -> str:
    return f"{b * width:.2f}-{(b + 1) * width:.2f}"


def shortfall_by_bin(pos_gc: np.ndarray, owed: np.ndarray, ratio: float,
                     width: float = GC_BIN_WIDTH) -> list[dict]:
    """The GC bins that lack negatives: one dict per bin with ``gc`` (its range, e.g.
    ``0.40-0.42``), ``needed`` (ratio × positives in it) and ``short`` (negatives missing)."""
    need = _bin_targets(pos_gc, ratio, width)
    return [{"gc": _bin_label(b, width), "needed": int(need[b]), "short": int(owed[b])}
            for b in np.flatnonzero(owed)]


def shortfall_message(summary: Mapping, dataset: str, strict: bool = False) -> str:
    """One paragraph on negatives asked but not placed: how many, in which GC bins, why
    (the free space and what it holds), and the fixes by config key."""
    key = f"datasets.{dataset}"
    bins = ", ".join(f"{b['gc']}: {b['short']}" for b in summary.get("shortfall_by_gc", []))
    asked = summary["n"] + summary["shortfall"]
    text = (f"dataset {dataset!r}: gc_matched negatives: placed {summary['n']:,} of the "
            f"{asked:,} asked ({key}.negative_ratio {summary['ratio']:g} × "
            f"{summary['n_positives']:,} positives); {summary['shortfall']:,} missing"
            + (f", by GC bin: {bins}" if bins else "") + ". ")
    if summary["capacity"] == 0:
        text += (f"The free space (the genome minus every positive ± seq_len "
                 f"{summary['seq_len']} bp, the blacklist and N gaps) has no room for one "
                 f"{summary['seq_len']}-bp window. ")
    else:
        text += (f"The free space (the genome minus every positive ± seq_len "
                 f"{summary['seq_len']} bp, the blacklist and N gaps: "
                 f"{summary['free_bp']:,} bp) holds {summary['capacity']:,} non-overlapping "
                 f"windows; {summary['candidates']:,} were placed and "
                 + ("that is all of them. " if summary["candidates"] == summary["capacity"]
                    else "too few of them have the positives' GC. "))
    text += (f"Fix: lower {key}.negative_ratio, a smaller {key}.seq_len, or "
             f"{key}.negatives: dinuc_shuffle (or a BED of your own negatives)")
    text += ("; or set strict: false to go on with fewer negatives." if strict
             else "; strict: true makes this an error.")
    return text


def _candidates(positives: pd.DataFrame, genome: Genome, seq_len: int, n_cand: int,
                rng: np.random.Generator, blacklist: pd.DataFrame | None,
                log: logging.Logger) -> tuple[pd.DataFrame, dict]:
    """Up to ``n_cand`` non-overlapping windows drawn from the free space; and the free
    space's size (``free_bp``, ``capacity`` in windows, ``n_gap_bp``)."""
    gaps = n_gaps(genome)
    free = free_space(genome.sizes, exclusion_zones(positives, seq_len, blacklist, gaps),
                      min_length=seq_len)
    cap = int(window_capacity(free, seq_len).sum())
    free_bp = int((free["end"] - free["start"]).sum())
    log.info("free space for negatives: %s bp in %s intervals (N gaps: %s bp), room for %s "
             "non-overlapping %d-bp windows", f"{free_bp:,}", f"{len(free):,}",
             f"{int((gaps['end'] - gaps['start']).sum()):,}", f"{cap:,}", seq_len)
    cand = place_windows(free, n_cand, seq_len, rng)
    log.info("placed %s candidate windows (asked %s%s)", f"{len(cand):,}", f"{n_cand:,}",
             ", all the free space holds" if len(cand) < n_cand else "")
    n_gap_bp = int((gaps["end"] - gaps["start"]).sum())
    return cand, {"free_bp": free_bp, "capacity": cap, "n_gap_bp": n_gap_bp}


def gc_matched(
    positives: pd.DataFrame,
    genome: Genome,
    seq_len: int,
    ratio: float,
    tasks: list[str],
    seed: int = 0,
    blacklist: pd.DataFrame | None = None,
    max_n_fraction: float = 0.1,
    oversample: int = 5,
    strict: bool = False,
    dataset: str = "dataset",
    logger: logging.Logger | None = None,
) -> tuple[pd.DataFrame, dict]:
    """GC-matched genomic background, drawn from the free space.

    The free space is the genome minus every positive ± ``seq_len``, the blacklist and
    the N gaps (non-ACGT runs). ``oversample`` × the number needed (capped by how many
    non-overlapping ``seq_len`` windows the free space holds) are placed in it at random
    (seeded, :func:`place_windows`); those above ``max_n_fraction`` are removed; then
    :func:`match_gc` picks the negatives. Time: one pass over the genome for the gaps and
    one for the candidates' GC; never trial and error.

    When fewer than ``ratio`` × positives match, the negatives found are returned and the
    summary says what lacks per GC bin (``shortfall_by_gc``); with ``strict`` it is a
    :class:`ConfigError` naming ``datasets.<dataset>`` keys and the fixes. Returns the
    negatives and a summary (n, candidates, capacity, free_bp, shortfall, ...).
    """
    log = logger or _log
    n_need = int(round(ratio * len(positives)))
    summary: dict = {"n": 0, "ratio": ratio, "n_positives": len(positives),
                     "seq_len": seq_len, "shortfall": 0, "shortfall_by_gc": []}
    if n_need == 0:
        return _as_negatives(positives.iloc[:0], tasks, "background"), summary
    rng = np.random.default_rng(seed)
    cand, space = _candidates(positives, genome, seq_len, n_need * oversample, rng, blacklist,
                              log)
    cand = sort_regions(cand, genome.sizes)
    cand_gc, cand_n = base_fractions(genome, cand)
    ok = (cand_n <= max_n_fraction) & ~np.isnan(cand_gc)
    pos_gc, _ = base_fractions(genome, positives)
    pos_gc = pos_gc[~np.isnan(pos_gc)]
    idx, owed = match_gc(pos_gc, cand_gc[ok], ratio, rng)
    neg = cand.loc[ok].iloc[idx].reset_index(drop=True)
    neg["name"] = [f"bg{i + 1}" for i in range(len(neg))]
    neg["strand"], neg["summit"], neg["file"], neg["line"] = ".", -1, "free space", 0
    summary.update(space, n=len(neg), candidates=len(cand), removed_too_many_n=int((~ok).sum()),
                   shortfall=int(owed.sum()), shortfall_by_gc=shortfall_by_bin(pos_gc, owed,
                                                                               ratio))
    log.info("GC-matched %s negatives for %s positives (ratio %g)", f"{len(neg):,}",
             f"{len(positives):,}", ratio)
    if summary["shortfall"]:
        message = shortfall_message(summary, dataset, strict)
        if strict:
            raise ConfigError(message)
        log.warning("%s", message)
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
