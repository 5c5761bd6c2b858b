"""Train/valid/test splits by whole chromosome or by range (no base in two splits).

``split: {valid: [...], test: [...]}`` lists whole chromosomes (``chr8``) and ranges
(``chr1:20000001-25000000``: 1-based and inclusive, as genome browsers and samtools write
them; commas allowed). A region belongs to ``valid``/``test`` when it lies wholly inside one
of that split's chromosomes or ranges; a region that straddles a range edge is dropped
(:data:`DROPPED`); every other region is ``train``. ``split: auto`` picks whole chromosomes
(:func:`auto_split`), or contiguous blocks of one chromosome when fewer than three
chromosomes have regions (:func:`auto_blocks`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from seqcnn.errors import ConfigError, EmptyTaskError

#: Label of a region that straddles the edge of a range split: it goes to no split.
DROPPED = "dropped"
_RANGE = re.compile(r"^(?P<chrom>.+):(?P<start>[0-9,]+)-(?P<end>[0-9,]+)$")
_FORMAT = ("write a range as chrom:start-end, 1-based and inclusive (as genome browsers and "
           "samtools show them), e.g. chr1:20000001-25000000")


@dataclass(frozen=True)
class Span:
    """One entry of ``split``: a whole chromosome or a range, 0-based half-open inside."""

    split: str
    chrom: str
    start: int
    end: int
    text: str
    whole: bool


# --------------------------------------------------------------------------- parsing


def _chrom_list(sizes: Mapping[str, int], n: int = 10) -> str:
    names = list(sizes)
    return ", ".join(names[:n]) + (f" … ({len(names)} in all)" if len(names) > n else "")


def parse_span(text: str, split: str, sizes: Mapping[str, int], key: str = "split") -> Span:
    """One chromosome name or ``chrom:start-end`` range (1-based, inclusive) of ``split``."""
    text = str(text).strip()
    if text in sizes:
        return Span(split, text, 0, int(sizes[text]), text, True)
    m = _RANGE.match(text)
    if not m and ":" not in text:
        raise ConfigError(
            f"{key}: {split} names {text}, which is not a chromosome of the genome "
            f"({_chrom_list(sizes)}); use a chromosome name from the genome FASTA, or "
            f"{_FORMAT}")
    if not m:
        raise ConfigError(
            f"{key}: {text!r} in {split} is neither a chromosome of the genome nor a range; "
            f"give a chromosome name ({_chrom_list(sizes)}) or {_FORMAT}")
    chrom = m["chrom"]
    start, end = (int(m[k].replace(",", "")) for k in ("start", "end"))
    if start < 1 or start > end:
        why = (f"start 0 (ranges are 1-based: the BED interval {start}-{end} is "
               f"{chrom}:{start + 1}-{end})" if start < 1 else "start after end")
        raise ConfigError(f"{key}: {text!r} in {split}: {why}; {_FORMAT} (start ≥ 1, "
                          "start ≤ end)")
    if chrom not in sizes:
        raise ConfigError(
            f"{key}: range {text} in {split} is on {chrom}, which is not a chromosome of the "
            f"genome ({_chrom_list(sizes)}); use a chromosome name from the genome FASTA")
    if end > sizes[chrom]:
        raise ConfigError(
            f"{key}: range {text} in {split} ends past the end of {chrom} "
            f"({sizes[chrom]:,} bp); use an end ≤ {sizes[chrom]}")
    return Span(split, chrom, start - 1, end, text, False)


def _check_overlaps(spans: Sequence[Span], key: str) -> None:
    by_chrom: dict[str, list[Span]] = {}
    for s in spans:
        by_chrom.setdefault(s.chrom, []).append(s)
    for chrom, group in by_chrom.items():
        group = sorted(group, key=lambda s: (s.start, s.end))
        for a, b in zip(group, group[1:], strict=False):
            if b.start < a.end:
                both = f"{chrom}:{b.start + 1}-{min(a.end, b.end)}"
                a, b = sorted((a, b), key=spans.index)  # as the config lists them
                raise ConfigError(
                    f"{key}: {a.split} {a.text} and {b.split} {b.text} overlap ({both}); "
                    "the chromosomes and ranges of valid and test must not overlap: "
                    "shorten or move one of them")


def parse_split(split: Mapping[str, Sequence[str]], sizes: Mapping[str, int],
                key: str = "split") -> list[Span]:
    """The ``valid`` and ``test`` entries of ``split`` as :class:`Span` s, checked: on genome
    chromosomes, inside them, well formed, not overlapping. Errors name ``key``."""
    spans = [parse_span(text, name, sizes, key)
             for name in ("valid", "test") for text in split.get(name, [])]
    _check_overlaps(spans, key)
    return spans


# --------------------------------------------------------------------------- assignment


def assign(regions: pd.DataFrame, split: Mapping[str, Sequence[str]],
           sizes: Mapping[str, int], key: str = "split") -> np.ndarray:
    """Split name per region: ``valid``/``test`` when wholly inside one of that split's
    chromosomes or ranges, :data:`DROPPED` when it straddles a range edge, else ``train``.

    ``regions`` has ``chrom``, ``start``, ``end`` (0-based, half-open); ``sizes`` maps the
    genome's chromosomes to their lengths."""
    out = np.full(len(regions), "train", dtype=object)
    chrom = regions["chrom"].to_numpy()
    start, end = regions["start"].to_numpy(), regions["end"].to_numpy()
    for s in parse_split(split, sizes, key):
        on = chrom == s.chrom
        if s.whole:
            out[on] = s.split
            continue
        touches = on & (start < s.end) & (end > s.start)
        inside = touches & (start >= s.start) & (end <= s.end)
        out[touches & ~inside] = DROPPED
        out[inside & (out != DROPPED)] = s.split
    return out


# --------------------------------------------------------------------------- auto


def _closest_subset(counts: Mapping[str, int], target: float, exclude: set[str]) -> list[str]:
    """Greedy: add the chromosome that brings the total closest to ``target`` until no
    addition helps; always at least one chromosome. Deterministic (ties by name)."""
    chosen: list[str] = []
    total = 0
    pool = sorted(c for c in counts if c not in exclude and counts[c] > 0)
    while pool:
        best = min(pool, key=lambda c: (abs(total + counts[c] - target), c))
        if chosen and abs(total + counts[best] - target) >= abs(total - target):
            break
        chosen.append(best)
        total += counts[best]
        pool.remove(best)
    return sorted(chosen)


def auto_split(counts: Mapping[str, int], fraction: float = 0.1) -> dict[str, list[str]]:
    """Choose whole chromosomes for ``test`` then ``valid``, each close to ``fraction`` of
    the regions (``counts``: chromosome → regions); the rest is ``train``.

    Needs at least three chromosomes with regions (see :func:`auto_blocks` otherwise).
    """
    nonempty = [c for c, n in counts.items() if n > 0]
    if len(nonempty) < 3:
        raise ConfigError(
            f"split: auto needs regions on at least 3 chromosomes, found {len(nonempty)} "
            f"({', '.join(nonempty)}); give split: {{valid: [...], test: [...]}} explicitly"
        )
    target = fraction * sum(counts.values())
    test = _closest_subset(counts, target, exclude=set())
    # keep at least one chromosome for training
    rest = [c for c in nonempty if c not in test]
    valid = _closest_subset(counts, target, exclude=set(test) | {max(rest, key=counts.get)})
    return {"valid": valid, "test": test}


def _best_cut(cuts: np.ndarray, inside: np.ndarray, straddle: np.ndarray, k: int) -> int:
    """Index of the cut with the fewest straddling windows among those within a quarter
    of ``k`` regions of the target (all cuts if none is); ties: closest to ``k``, first."""
    near = np.abs(inside - k) <= max(1, k // 4)
    pool = np.flatnonzero(near) if near.any() else np.arange(len(cuts))
    order = np.lexsort((pool, np.abs(inside[pool] - k), straddle[pool]))
    return int(pool[order[0]])


def auto_blocks(regions: pd.DataFrame, sizes: Mapping[str, int], fraction: float = 0.1,
                key: str = "split") -> dict[str, list[str]]:
    """Contiguous blocks of the chromosome with the most regions: ``valid`` from its start
    and ``test`` to its end, each holding about ``fraction`` of all regions, their inner
    edges cut where the fewest windows straddle them. Returned as 1-based inclusive ranges
    (what a user pastes into ``split``). Deterministic: ties go to genome order."""
    counts = regions["chrom"].value_counts()
    rank = {c: i for i, c in enumerate(sizes)}
    chrom = min(counts.index, key=lambda c: (-counts[c], rank.get(c, len(rank)), c))
    on = regions["chrom"].to_numpy() == chrom
    start = np.sort(regions["start"].to_numpy()[on])
    end = np.sort(regions["end"].to_numpy()[on])
    k = max(1, round(fraction * len(regions)))
    if on.sum() < 3 * k or on.sum() < 3:
        raise ConfigError(
            f"{key}: auto found regions on fewer than 3 chromosomes and too few on {chrom} "
            f"({on.sum()} of {len(regions)}) to cut into train, valid and test blocks; give "
            "split: {valid: [...], test: [...]} with chromosomes or ranges (chrom:start-end, "
            "1-based, inclusive)")
    # valid: [0, cut) at a region end; test: [cut, size) at a region start
    v_cuts = np.unique(end)
    v_in = np.searchsorted(end, v_cuts, side="right")
    v_cut = v_cuts[_best_cut(v_cuts, v_in, np.searchsorted(start, v_cuts) - v_in, k)]
    t_cuts = np.unique(start)
    t_in = len(start) - np.searchsorted(start, t_cuts)
    t_straddle = len(end) - np.searchsorted(end, t_cuts, side="right") - t_in
    t_cut = t_cuts[_best_cut(t_cuts, t_in, t_straddle, k)]
    if t_cut < v_cut:
        t_cut = v_cut
    size = int(sizes[chrom])
    return {"valid": [f"{chrom}:1-{int(v_cut)}"], "test": [f"{chrom}:{int(t_cut) + 1}-{size}"]}


def resolve_split(split: str | Mapping[str, Sequence[str]], regions: pd.DataFrame,
                  sizes: Mapping[str, int], fraction: float = 0.1, key: str = "split"
                  ) -> tuple[dict[str, list[str]], str]:
    """The concrete ``{valid, test}`` lists for the config's ``split`` and how they were
    chosen: ``given``, ``chromosomes`` (auto, ≥ 3 chromosomes with regions) or ``blocks``
    (auto, fewer: contiguous blocks, see :func:`auto_blocks`)."""
    if split != "auto":
        return {"valid": list(split.get("valid", [])), "test": list(split.get("test", []))}, \
            "given"
    counts = regions["chrom"].value_counts().to_dict()
    if sum(n > 0 for n in counts.values()) >= 3:
        return auto_split(counts, fraction), "chromosomes"
    return auto_blocks(regions, sizes, fraction, key), "blocks"


# --------------------------------------------------------------------------- tasks


def check_tasks(positives: Mapping[str, Mapping[str, int]], n: Mapping[str, int],
                split: Mapping[str, Sequence[str]], peak_files: Mapping[str, str],
                allow: bool, key: str = "dataset",
                negatives: Mapping[str, Mapping[str, int]] | None = None) -> list[str]:
    """Every task needs positives, and negatives, in every split. ``positives`` (and
    ``negatives``, regions labelled 0): split → task → count, ``n``: split → regions,
    ``split``: the chosen valid/test lists. Raises :class:`EmptyTaskError` naming each
    task and split without them; with ``allow`` returns those messages instead (for the
    log), an empty list when every task has both."""
    problems, fixes = [], []
    for kind, table in (("positives", positives), ("negatives", negatives or {})):
        for name, per_task in table.items():
            for task, count in per_task.items():
                if count:
                    continue
                where = f"{name}: {', '.join(split[name])}; " if split.get(name) else ""
                others = "".join(f"; {table[o].get(task, 0)} {kind} in {o}"
                                 for o in table if o != name)
                peaks = (f"; peaks: {peak_files[task]}"
                         if task in peak_files and kind == "positives" else "")
                problems.append(f"task {task} has no {kind} in the {name} split ({where}0 of "
                                f"{n[name]} regions{others}{peaks})")
                fixes.append(kind)
    if problems and not allow:
        fix = []
        if "positives" in fixes:
            fix.append(f"choose other valid/test chromosomes or ranges under {key}.split, "
                       "where the task's peaks fall")
        if "negatives" in fixes:
            fix.append("see the negatives step's log (negatives.log: how many could be "
                       f"placed); lower {key}.negative_ratio or {key}.seq_len, or use "
                       f"{key}.negatives: dinuc_shuffle")
        raise EmptyTaskError(
            "; ".join(problems) + ". Fix: " + "; or ".join(fix) + f"; or set "
            f"{key}.allow_empty_tasks: true to keep the task (evaluation and attribution "
            "then skip it where it cannot be scored)")
    return problems
