"""Genomic regions: read and validate BED/narrowPeak, resize, filter, merge, write.

Coordinates are 0-based, half-open (BED). A region table is a ``pandas.DataFrame`` with
columns ``chrom, start, end, name, strand`` (``+``, ``-`` or ``.``), ``summit`` (offset
from ``start``, -1 when unknown), ``file`` and ``line`` (where the region came from, for
error messages), and after labelling one ``uint8`` column per task.

:func:`prepare_regions` does read → resize → filter → merge → sort → write for any number
of regions in bounded memory (chunks and an external sort), with the same result.

Chromosome names are checked against the genome before anything is dropped
(:func:`check_chrom_names`; renamed first with a ``chrom_aliases`` file,
:func:`read_chrom_aliases`), and a task left with no region is an error
(:class:`~seqcnn.errors.EmptyTaskError`). Labels come from overlap
(:func:`label_by_overlap`): 1 for every task with a window overlapping the region by at
least ``label_overlap`` of its length, 255 (:data:`AMBIGUOUS`) for a smaller overlap, else 0.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from seqcnn.data.cache import IGNORE
from seqcnn.data.genome import Genome, base_fractions, open_text
from seqcnn.errors import ConfigError, EmptyTaskError, InputError

#: Drop reasons, in the order they are applied.
DROP_REASONS = ("unknown_chrom", "off_chrom_end", "blacklist", "too_many_n")

#: Label of a region for a task whose window overlaps it by less than ``label_overlap``
#: (but more than 0 bp): neither positive nor negative; training and metrics ignore it.
AMBIGUOUS = IGNORE

#: A BED file with fewer of its regions on the genome's chromosomes than this stops the run
#: (:func:`check_chrom_names`) when none is, or when renaming (a ``chr`` prefix, letter
#: case) would put more of them there: a naming mismatch, not a subset genome.
MIN_KNOWN_FRACTION = 0.5


class BedFormatError(InputError):
    """Malformed BED input; the message names the file, the line and the fix.

    ``check`` is which check failed, in the order :func:`read_bed` applies them (0: too
    few columns, 1: narrowPeak columns, 2: start, 3: end, 4: start >= end, 5: strand,
    6: summit): reading a whole file reports the first line failing the first check.
    """

    def __init__(self, message: str, check: int = 0) -> None:
        super().__init__(message)
        self.check = check


class RegionDropError(InputError):
    """Raised instead of dropping a region when ``strict`` is on."""


class ChromNameError(InputError):
    """A BED file whose chromosome names do not match the genome's."""


def _is_skipped(line: str) -> bool:
    s = line.lstrip()
    return not s or s.startswith(("#", "track", "browser"))


def read_bed(path: str | os.PathLike, narrowpeak: bool | None = None,
             chunksize: int | None = None) -> pd.DataFrame | Iterator[pd.DataFrame]:
    """Read BED3+, BED6 or narrowPeak (plain or gzipped) into a region table.

    ``track``, ``browser``, ``#`` and blank lines are skipped. ``narrowpeak`` (default:
    guessed from a ``.narrowPeak``/``.np`` suffix, or 10 columns) takes the summit from
    column 10 (``-1`` means none). A strand column (6) of ``+``/``-``/``.`` is kept.

    With ``chunksize``, return an iterator of tables of at most ``chunksize`` regions each
    (in file order; none for a file without regions) instead, reading the file as it goes:
    memory is bounded by the chunk, not the file. The tables are the pieces of the one
    table read at once (same values, same ``line`` numbers), and the error raised (when
    the first bad chunk is reached) is the one reading at once raises.

    Raises :class:`BedFormatError` naming the file and line for too few columns,
    non-integer or negative coordinates, ``start >= end``, a bad strand or summit.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"BED file not found: {path}")
    name = path.name.lower()
    if narrowpeak is None:
        narrowpeak = name.endswith((".narrowpeak", ".narrowpeak.gz", ".np", ".np.gz"))
    if chunksize is not None:
        if chunksize < 1:
            raise ValueError(f"chunksize must be positive, got {chunksize}")
        return _read_bed_chunks(path, narrowpeak, chunksize)
    with open_text(path) as fh:
        lines = fh.read().splitlines()
    keep = [i for i, line in enumerate(lines) if not _is_skipped(line)]
    data = [lines[i] for i in keep]
    line_no = np.asarray(keep, dtype=np.int64) + 1
    return _parse_bed(path, data, line_no, narrowpeak)


#: What :meth:`str.splitlines` splits on (after universal-newline translation of ``\r``).
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def _line_blocks(path: Path, block: int = 1 << 16) -> Iterator[list[str]]:
    """The lines of a text file, as ``open_text(path).read().splitlines()`` gives them,
    in lists read ``block`` characters at a time."""
    carry = ""
    with open_text(path) as fh:
        while text := fh.read(block):
            text = carry + text
            lines = text.splitlines()
            carry = "" if text[-1] in _LINE_BREAKS else lines.pop()
            yield lines
    if carry:
        yield [carry]


def _data_chunks(path: Path, chunksize: int) -> Iterator[tuple[list[str], np.ndarray]]:
    """Non-skipped lines of a BED file and their 1-based line numbers, ``chunksize`` at a
    time."""
    data: list[str] = []
    nums: list[int] = []
    line_no = 0
    for lines in _line_blocks(path):
        for line in lines:
            line_no += 1
            if not _is_skipped(line):
                data.append(line)
                nums.append(line_no)
                if len(data) == chunksize:
                    yield data, np.asarray(nums, dtype=np.int64)
                    data, nums = [], []
    if data:
        yield data, np.asarray(nums, dtype=np.int64)


def _max_columns(path: Path, cap: int) -> int:
    """Most tab-separated columns of a data line of the file, at most ``cap`` (stops early)."""
    width = 0
    for lines in _line_blocks(path):
        for line in lines:
            if not _is_skipped(line):
                width = max(width, line.count("\t") + 1)
                if width >= cap:
                    return cap
    return width


def _read_bed_chunks(path: Path, narrowpeak: bool, chunksize: int) -> Iterator[pd.DataFrame]:
    # Which columns a table has (name if any line has 4+ columns, strand if 6+) depends
    # on the widest line of the whole file: known from the first chunk when it has 6+
    # columns (BED6, narrowPeak), else from one extra pass over the file.
    # On an error, the rest of the file is checked too: reading at once reports the
    # first line failing the first check, which is the first chunk's failing it.
    floor = None
    chunks = _data_chunks(path, chunksize)
    for data, line_no in chunks:
        if floor is None:
            floor = 6 if max(d.count("\t") for d in data) + 1 >= 6 else _max_columns(path, 6)
        try:
            table = _parse_bed(path, data, line_no, narrowpeak, floor)
        except BedFormatError as err:
            first = err
            for data, line_no in chunks:
                if first.check == 0:
                    break
                try:
                    _parse_bed(path, data, line_no, narrowpeak, floor)
                except BedFormatError as later:
                    if later.check < first.check:
                        first = later
            raise first from None
        yield table


def _parse_bed(path: Path, data: list[str], line_no: np.ndarray, narrowpeak: bool,
               min_width: int = 0) -> pd.DataFrame:
    """Validate and parse the data lines of a BED file (see :func:`read_bed`); the table
    has the columns of a file whose widest line has ``min_width`` columns or more."""
    if not data:
        return _empty_table()
    ncols = np.fromiter((d.count("\t") + 1 for d in data), dtype=np.int64, count=len(data))
    few = np.flatnonzero(ncols < 3)
    if len(few):
        i = few[0]
        raise BedFormatError(
            f"{path}, line {line_no[i]}: {ncols[i]} column(s), BED needs at least 3 "
            f"(chrom, start, end) separated by tabs: {data[i][:80]!r}", 0
        )
    if narrowpeak is None or narrowpeak:
        short = np.flatnonzero(ncols < 10)
        if narrowpeak and len(short):
            i = short[0]
            raise BedFormatError(
                f"{path}, line {line_no[i]}: narrowPeak needs 10 columns (summit in column "
                f"10), found {ncols[i]}; give the file a .bed suffix to read it as plain BED", 1
            )
    present = int(ncols.max())
    width = max(present, min_width)
    table = pd.read_csv(
        io.StringIO("\n".join(data)), sep="\t", header=None, names=range(present),
        usecols=[c for c in (0, 1, 2, 3, 5) if c < present] + ([9] if narrowpeak else []),
        dtype=str, keep_default_na=False, na_filter=False, quoting=3, engine="c",
    )
    for c in (3, 5):
        if present <= c < width:  # no line has it here, some line elsewhere in the file
            table[c] = ""  # what a line shorter than the widest one reads as
    start = _parse_coord(table[1], "start", path, line_no, data)
    end = _parse_coord(table[2], "end", path, line_no, data)
    bad = np.flatnonzero(start >= end)
    if len(bad):
        i = bad[0]
        raise BedFormatError(
            f"{path}, line {line_no[i]}: start ({start[i]}) >= end ({end[i]}); BED intervals "
            "are 0-based half-open, so end must be greater than start", 4
        )
    n = len(table)
    out = pd.DataFrame({
        "chrom": table[0].str.strip().to_numpy(dtype=object),
        "start": start,
        "end": end,
        "name": table[3].to_numpy(dtype=object) if width > 3 else np.full(n, ".", object),
        "strand": np.full(n, ".", object),
        "summit": np.full(n, -1, dtype=np.int64),
    })
    if width >= 6:
        strand = table[5].str.strip().replace("", ".")
        bad = np.flatnonzero(~strand.isin(["+", "-", "."]).to_numpy())
        if len(bad):
            i = bad[0]
            raise BedFormatError(
                f"{path}, line {line_no[i]}: strand (column 6) is {strand.iloc[i]!r}; "
                "use +, - or .", 5
            )
        out["strand"] = strand.to_numpy(dtype=object)
    if narrowpeak:
        summit = pd.to_numeric(table[9], errors="coerce").to_numpy()
        length = end - start
        bad = np.flatnonzero(
            np.isnan(summit) | (summit != np.round(summit)) | (summit < -1)
            | (summit >= length)
        )
        if len(bad):
            i = bad[0]
            raise BedFormatError(
                f"{path}, line {line_no[i]}: summit (column 10) is {table[9].iloc[i]!r}; it "
                f"must be an integer offset from start in [0, {length[i]}) or -1 for none", 6
            )
        out["summit"] = summit.astype(np.int64)
    out["file"] = str(path)
    out["line"] = line_no
    return out


def _parse_coord(col: pd.Series, what: str, path: Path, line_no: np.ndarray,
                 data: list[str]) -> np.ndarray:
    s = col.str.strip()
    ok = s.str.fullmatch(r"\d+").to_numpy(dtype=bool)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        value = s.iloc[i]
        why = "is negative" if value.startswith("-") else "is not an integer"
        raise BedFormatError(
            f"{path}, line {line_no[i]}: {what} {value!r} {why}; BED coordinates are "
            f"non-negative integers (0-based): {data[i][:80]!r}", 2 if what == "start" else 3
        )
    return s.astype(np.int64).to_numpy()


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame({
        "chrom": pd.Series(dtype=object), "start": pd.Series(dtype=np.int64),
        "end": pd.Series(dtype=np.int64), "name": pd.Series(dtype=object),
        "strand": pd.Series(dtype=object), "summit": pd.Series(dtype=np.int64),
        "file": pd.Series(dtype=object), "line": pd.Series(dtype=np.int64),
    })


# --------------------------------------------------------------------- chromosome names


def read_chrom_aliases(path: str | os.PathLike, genome_names: Iterable[str]) -> dict[str, str]:
    """Read a chromosome alias file into ``{alias: genome name}``.

    One line per chromosome, two or more columns separated by tabs (or spaces); ``#`` and
    blank lines are skipped. The column holding the most of the genome's names is the
    name column, whichever it is, and every other value on a line is an alias of that
    line's name: UCSC ``chromAlias.txt`` (the genome's name first, then its aliases) and
    ``alias → name`` files both work. Aliases that are themselves genome names, or that
    would map to two different names, are left out.

    Raises :class:`InputError` naming the file for a line with one column, or when no
    column holds any of the genome's names.
    """
    ordered = list(genome_names)
    genome = set(ordered)
    rows: list[list[str]] = []
    with open_text(path) as fh:
        for no, line in enumerate(fh, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            fields = line.split()
            if len(fields) < 2:
                raise InputError(
                    f"{path}, line {no}: {line.strip()[:80]!r} has one column; a chrom_aliases "
                    "file needs two columns or more (the genome's name and its aliases), "
                    "separated by tabs")
            rows.append(fields)
    width = max((len(r) for r in rows), default=0)
    hits = [sum(len(r) > c and r[c] in genome for r in rows) for c in range(width)]
    if not rows or max(hits) == 0:
        raise InputError(
            f"{path}: no column of the chrom_aliases file holds a name of the genome's "
            f"chromosome(s) ({_abbreviate(ordered)}); one column must hold the genome's "
            "names (check that the file is for this assembly)")
    col = int(np.argmax(hits))
    found: dict[str, set[str]] = {}
    for r in rows:
        if len(r) <= col or r[col] not in genome:
            continue
        for c, alias in enumerate(r):
            if c != col and alias not in genome:
                found.setdefault(alias, set()).add(r[col])
    return {a: next(iter(n)) for a, n in found.items() if len(n) == 1}


def rename_chroms(regions: pd.DataFrame, aliases: Mapping[str, str] | None) -> pd.DataFrame:
    """The table with chromosome names found in ``aliases`` replaced by their genome name."""
    if not aliases or not len(regions):
        return regions
    chrom = regions["chrom"]
    renamed = chrom.map(aliases)
    if renamed.isna().all():
        return regions
    return regions.assign(chrom=renamed.fillna(chrom).to_numpy(dtype=object))


def _abbreviate(names: list[str], k: int = 8) -> str:
    """``a, b, c, … (N names)``: the first ``k`` names and how many there are."""
    shown = ", ".join(map(str, names[:k]))
    return shown + (f", … ({len(names)} names)" if len(names) > k else "")


def _renaming(name: str, genome: set[str], lower: Mapping[str, str]) -> str | None:
    """The genome's name that ``name`` becomes by a ``chr`` prefix added or removed and/or
    letter case, if any."""
    for cand in (name, "chr" + name, name[3:] if name[:3].lower() == "chr" else ""):
        if cand in genome:
            return cand
        if cand and cand.lower() in lower:
            return lower[cand.lower()]
    return None


def _renaming_hint(unknown: Mapping[str, int], genome_names: list[str]) -> tuple[str, int]:
    """The likely fix for BED names ``unknown`` (name → regions), and how many regions it
    would put on the genome's chromosomes (0: no simple renaming works)."""
    genome = set(genome_names)
    lower = {g.lower(): g for g in genome_names}
    kinds: dict[str, list] = {}
    for name, n in sorted(unknown.items(), key=lambda kv: -kv[1]):
        target = _renaming(name, genome, lower)
        if target is None:
            continue
        if len(target) > len(name):
            kind = f"add the {target[:len(target) - len(name)]!r} prefix to"
        elif len(target) < len(name):
            kind = f"remove the {name[:len(name) - len(target)]!r} prefix from"
        else:
            kind = "change the letter case of"
        entry = kinds.setdefault(kind, [0, name, target])
        entry[0] += n
    if not kinds:
        return ("no simple renaming (a 'chr' prefix, letter case) matches them: the file "
                "may use another naming scheme (e.g. RefSeq NC_000001.11 for UCSC chr1, "
                "GenBank CM000663.2) or come from another assembly.", 0)
    kind, (fixed, name, target) = max(kinds.items(), key=lambda kv: kv[1][0])
    why = ("the names differ only in case" if kind.startswith("change") else
           "the names differ by a prefix")
    return (f"{why} ({name} → {target}): {kind} column 1 of the file (fixes {fixed} "
            "regions).", fixed)


def check_chrom_names(counts: Mapping[str, int], genome_names: Iterable[str],
                      path: str | os.PathLike, what: str = "regions",
                      genome_path: str | os.PathLike | None = None) -> None:
    """Stop when the chromosome names of a BED file do not match the genome's.

    ``counts`` maps the file's chromosome names to their number of regions (after
    ``chrom_aliases``). When fewer than :data:`MIN_KNOWN_FRACTION` of the regions are on
    the genome's chromosomes and either none is or a simple renaming would put more there,
    raises :class:`ChromNameError` with both name lists and the likely fix. Otherwise (a
    genome holding a subset of the chromosomes) those regions are dropped with a count.
    """
    genome_names = list(genome_names)
    genome = set(genome_names)
    total = sum(counts.values())
    known = sum(n for c, n in counts.items() if c in genome)
    if not total or known >= MIN_KNOWN_FRACTION * total:
        return
    unknown = {c: n for c, n in counts.items() if c not in genome}
    fix, fixed = _renaming_hint(unknown, genome_names)
    if known and not fixed:
        return
    ordered = [c for c, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    where = f" {genome_path}" if genome_path else ""
    raise ChromNameError(
        f"{path} ({what}): {total - known} of {total} regions are on chromosomes absent from "
        f"the genome{where}. Names in the file: {_abbreviate(ordered)}; names in the genome: "
        f"{_abbreviate(genome_names)}. Likely fix: {fix} Or set chrom_aliases: "
        "path/to/aliases.tsv in the dataset's config (a line per chromosome: the genome's "
        "name, then its aliases, tab-separated; a UCSC chromAlias.txt works)."
    )


def read_genome_bed(path: str | os.PathLike, genome_names: Iterable[str],
                    aliases: Mapping[str, str] | None = None, what: str = "regions",
                    narrowpeak: bool | None = False) -> pd.DataFrame:
    """Read a BED file to use with a genome (a blacklist, a user's negatives): rename its
    chromosomes with ``aliases`` (:func:`read_chrom_aliases`), then
    :func:`check_chrom_names` (``what`` names the file's role in the message)."""
    table = rename_chroms(read_bed(path, narrowpeak=narrowpeak), aliases)
    check_chrom_names(table["chrom"].value_counts().to_dict(), genome_names, path, what)
    return table


def resize(regions: pd.DataFrame, seq_len: int) -> pd.DataFrame:
    """Resize every region to ``seq_len`` around its summit, or else its centre.

    Strand-aware: on ``-`` the window is mirrored (rounding toward the 5' end of the
    feature), so a feature and its reverse-strand copy give reverse-complement sequences.
    Returns a copy; resized regions may run off chromosome ends (see :func:`filter_regions`).
    """
    if seq_len <= 0:
        raise ValueError(f"seq_len must be positive, got {seq_len}")
    out = regions.copy()
    start = out["start"].to_numpy(np.int64)
    end = out["end"].to_numpy(np.int64)
    summit = out["summit"].to_numpy(np.int64)
    minus = (out["strand"] == "-").to_numpy()
    half = seq_len // 2
    has_summit = summit >= 0
    # centre as a "point between bases" doubled, to treat both strands symmetrically
    centre_lo = (start + end) // 2          # floor centre (+ and . strands)
    centre_hi = (start + end + 1) // 2      # ceil centre (- strand)
    new_start = np.where(minus, centre_hi + half - seq_len, centre_lo - half)
    summit_pos = start + summit
    new_start = np.where(
        has_summit, np.where(minus, summit_pos + 1 + half - seq_len, summit_pos - half),
        new_start,
    )
    out["start"] = new_start
    out["end"] = new_start + seq_len
    out["summit"] = np.where(has_summit, summit_pos - new_start, -1)
    return out


def overlaps(regions: pd.DataFrame, other: pd.DataFrame) -> np.ndarray:
    """Boolean ``(len(regions),)``: does each region overlap any interval of ``other``?"""
    hit = np.zeros(len(regions), dtype=bool)
    if len(regions) == 0 or len(other) == 0:
        return hit
    for chrom, idx in regions.groupby("chrom", sort=False).indices.items():
        o = other[other["chrom"] == chrom]
        if o.empty:
            continue
        o = o.sort_values("start")
        ostart = o["start"].to_numpy(np.int64)
        oend_max = np.maximum.accumulate(o["end"].to_numpy(np.int64))
        s = regions["start"].to_numpy(np.int64)[idx]
        e = regions["end"].to_numpy(np.int64)[idx]
        # last interval starting before e; overlap if the running max end exceeds s
        j = np.searchsorted(ostart, e, side="left") - 1
        hit[idx] = (j >= 0) & (oend_max[np.maximum(j, 0)] > s)
    return hit


def filter_regions(
    regions: pd.DataFrame,
    genome: Genome,
    max_n_fraction: float = 0.1,
    blacklist: pd.DataFrame | None = None,
    strict: bool = False,
) -> tuple[pd.DataFrame, Counter]:
    """Drop regions on chromosomes absent from ``genome``, running off a chromosome end,
    overlapping the ``blacklist``, or with a fraction of non-ACGT bases above
    ``max_n_fraction``; return the kept regions and the count per reason (first reason
    that applies, in :data:`DROP_REASONS` order).

    With ``strict`` the first drop raises :class:`RegionDropError` naming the file, line
    and reason instead.
    """
    reasons, length = _drop_reasons(regions, genome.sizes, blacklist)
    n_fraction = _drop_n_rich(regions, genome, reasons, max_n_fraction)
    dropped = reasons != ""
    if strict and dropped.any():
        i = int(np.flatnonzero(dropped)[0])
        raise _drop_error(regions.iloc[i], reasons[i], length[i], n_fraction[i],
                          max_n_fraction)
    counts = Counter({r: int((reasons == r).sum()) for r in DROP_REASONS})
    return regions.loc[~dropped].reset_index(drop=True), counts


def _drop_reasons(regions: pd.DataFrame, sizes: Mapping[str, int],
                  blacklist: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """The drop reasons that need no sequence (``""``: kept so far) and the chromosome
    lengths (0 when unknown), per region."""
    reasons = np.full(len(regions), "", dtype=object)
    known = regions["chrom"].isin(list(sizes)).to_numpy()
    reasons[~known] = "unknown_chrom"
    length = regions["chrom"].map(sizes).fillna(0).to_numpy(np.int64)
    off = known & ((regions["start"].to_numpy() < 0) | (regions["end"].to_numpy() > length))
    reasons[off & (reasons == "")] = "off_chrom_end"
    if blacklist is not None and len(blacklist):
        black = overlaps(regions, blacklist)
        reasons[black & (reasons == "")] = "blacklist"
    return reasons, length


def _drop_n_rich(regions: pd.DataFrame, genome: Genome, reasons: np.ndarray,
                 max_n_fraction: float, windowed: bool = False) -> np.ndarray:
    """Mark ``too_many_n`` (in place) among the regions kept so far; their N fractions
    (0 for the others). ``windowed``: see :func:`_windowed_n_fractions`."""
    n_fraction = np.zeros(len(regions))
    inside = reasons == ""
    if inside.any():
        kept = regions.loc[inside]
        n_fraction[inside] = (_windowed_n_fractions(genome, kept) if windowed
                              else base_fractions(genome, kept)[1])
    reasons[(n_fraction > max_n_fraction) & (reasons == "")] = "too_many_n"
    return n_fraction


def _windowed_n_fractions(genome: Genome, regions: pd.DataFrame) -> np.ndarray:
    """:func:`~seqcnn.data.genome.base_fractions`' N fractions (the same values), in batches of
    regions few enough for it to count inside the windows (memory ~ batch x length)
    rather than along the whole chromosome (~ 10 bytes per base). For regions sorted by
    chromosome (each is loaded once)."""
    out = np.empty(len(regions))
    chrom = regions["chrom"].to_numpy()
    length = (regions["end"] - regions["start"]).to_numpy()
    bounds = np.flatnonzero(np.r_[True, chrom[1:] != chrom[:-1], True])
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        batch = max(1, (genome.sizes[chrom[a]] - 1) // int(length[a:b].max()))
        for i in range(a, b, batch):
            j = min(i + batch, b)
            out[i:j] = base_fractions(genome, regions.iloc[i:j])[1]
    return out


def _drop_error(row: Mapping, reason: str, chrom_length: int, n_fraction: float,
                max_n_fraction: float) -> RegionDropError:
    """The :class:`RegionDropError` of ``strict`` for one dropped region (a table row)."""
    detail = {
        "unknown_chrom": f"chromosome {row['chrom']!r} is not in the genome",
        "off_chrom_end": f"after resizing to {row['end'] - row['start']} bp the region "
                         f"{row['chrom']}:{row['start']}-{row['end']} runs off the "
                         f"chromosome (length {chrom_length})",
        "blacklist": "it overlaps the blacklist",
        "too_many_n": f"its N fraction {n_fraction:.3f} exceeds "
                      f"max_n_fraction={max_n_fraction}",
    }[reason]
    return RegionDropError(
        f"{row['file']}, line {row['line']}: region dropped ({reason}): {detail}. "
        "Set strict: false to drop such regions with a count in the log instead."
    )


def label_and_merge(per_task: Mapping[str, pd.DataFrame]) -> tuple[pd.DataFrame, int]:
    """Stack resized regions of several tasks into one labelled table.

    Regions with identical ``chrom, start, end, strand`` merge into one row whose label is
    1 for every task that had it (the union). Returns the table, sorted by chromosome and
    start, and the number of rows merged away.
    """
    tasks = list(per_task)
    frames = []
    for t, df in per_task.items():
        df = df.copy()
        for u in tasks:
            df[u] = np.uint8(u == t)
        frames.append(df)
    allr = pd.concat(frames, ignore_index=True) if frames else _empty_table()
    key = ["chrom", "start", "end", "strand"]
    agg = {c: "first" for c in allr.columns if c not in key and c not in tasks}
    agg.update({t: "max" for t in tasks})
    merged = allr.groupby(key, sort=False, as_index=False).agg(agg)
    n_merged = len(allr) - len(merged)
    merged = merged[key[:3] + ["name", key[3]] + [c for c in merged.columns
                                                  if c not in key + ["name"]]]
    for t in tasks:
        merged[t] = merged[t].astype(np.uint8)
    return merged.reset_index(drop=True), n_merged


def min_overlap_bp(seq_len: int, label_overlap: float) -> int:
    """Fewest bp of overlap with a task's window that make a region positive for it."""
    if not 0 < label_overlap <= 1:
        raise ConfigError(f"label_overlap must be in (0, 1], got {label_overlap}")
    return max(1, math.ceil(label_overlap * seq_len - 1e-9))


def _window_keys(rank: np.ndarray, start: np.ndarray) -> np.ndarray:
    """One sortable int64 per window: chromosome rank, then start (starts are >= 0)."""
    return (np.asarray(rank, np.int64) << 40) + np.asarray(start, np.int64)


def _overlap_codes(keys: np.ndarray, identity: np.ndarray, rows: np.ndarray, seq_len: int,
                   min_bp: int) -> np.ndarray:
    """Labels ``(len(rows), tasks)`` of the windows ``rows`` among all windows ``keys``
    (:func:`_window_keys`, all ``seq_len`` long) whose own tasks are ``identity``: 1 where
    a window of the task overlaps by ``min_bp`` or more, :data:`AMBIGUOUS` where it
    overlaps by less, else 0."""
    out = np.zeros((len(rows), identity.shape[1]), dtype=np.uint8)
    q = keys[rows]
    for j in range(identity.shape[1]):
        w = np.sort(keys[identity[:, j] == 1])
        if not len(w) or not len(q):
            continue
        i = np.searchsorted(w, q)
        right = np.where(i < len(w), w[np.minimum(i, len(w) - 1)] - q, seq_len)
        left = np.where(i > 0, q - w[np.maximum(i - 1, 0)], seq_len)
        overlap = seq_len - np.minimum(np.minimum(left, right), seq_len)
        out[:, j] = np.where(overlap >= min_bp, 1, np.where(overlap > 0, AMBIGUOUS, 0))
    return out


def label_by_overlap(regions: pd.DataFrame, tasks: list[str],
                     label_overlap: float | None = 0.5) -> pd.DataFrame:
    """Relabel merged windows (from :func:`label_and_merge`: all of one length, labelled
    with the tasks whose peak made them) by overlap, as Basset and DeepSEA label bins.

    A region is 1 for every task with a window overlapping it by at least
    ``label_overlap`` of its length (so always for the tasks that made it),
    :data:`AMBIGUOUS` (255) for a task whose windows overlap it by less (but by 1 bp or
    more), else 0. Strands are ignored. ``None`` keeps the labels (identical windows
    only). Returns a copy.
    """
    out = regions.copy()
    if label_overlap is None or not len(out) or not tasks:
        return out
    length = (out["end"] - out["start"]).to_numpy(np.int64)
    if (length != length[0]).any():
        raise ValueError("label_by_overlap needs regions of one length; resize first")
    seq_len = int(length[0])
    rank = pd.factorize(out["chrom"])[0]
    keys = _window_keys(rank, out["start"].to_numpy(np.int64))
    identity = out[tasks].to_numpy(np.uint8)
    codes = _overlap_codes(keys, identity, np.arange(len(out)), seq_len,
                           min_overlap_bp(seq_len, label_overlap))
    for j, t in enumerate(tasks):
        out[t] = codes[:, j]
    return out


def sort_regions(regions: pd.DataFrame, chrom_order: Iterable[str]) -> pd.DataFrame:
    """Sort by chromosome (in ``chrom_order``, e.g. FASTA order) then start and end."""
    order = {c: i for i, c in enumerate(chrom_order)}
    rank = regions["chrom"].map(order).fillna(len(order)).astype(np.int64)
    idx = np.lexsort((regions["end"].to_numpy(), regions["start"].to_numpy(), rank.to_numpy()))
    return regions.iloc[idx].reset_index(drop=True)


#: Columns of the public ``regions/{split}.bed`` before the task labels.
BED_COLUMNS = ["chrom", "start", "end", "name", "score", "strand"]


def write_regions(regions: pd.DataFrame, path: str | os.PathLike, tasks: list[str]) -> None:
    """Write a labelled region table as BED6 + one 0/1 column per task + ``source``.

    The first line is a ``#`` header naming the columns (skipped by BED readers).
    ``source`` is ``peak``, ``background`` (genomic negative), ``shuffle`` (dinucleotide
    shuffle of the region's sequence) or ``user`` (user-given negative).
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        _write_header(fh, tasks)
        _write_rows(fh, regions, tasks)


def _write_header(fh: io.TextIOBase, tasks: list[str]) -> None:
    fh.write("#" + "\t".join(BED_COLUMNS + list(tasks) + ["source"]) + "\n")


def _write_rows(fh: io.TextIOBase, regions: pd.DataFrame, tasks: list[str]) -> None:
    """Append rows of a labelled region table in :func:`write_regions`' format."""
    df = regions.copy()
    df["score"] = 0
    if "source" not in df:
        df["source"] = "peak"
    df[BED_COLUMNS + list(tasks) + ["source"]].to_csv(fh, sep="\t", header=False,
                                                       index=False)


def read_regions(path: str | os.PathLike, chunksize: int | None = None):
    """Read a table written by :func:`write_regions` (all at once, or in chunks)."""
    with open(path) as fh:
        header = fh.readline()
    if not header.startswith("#"):
        raise ValueError(f"{path}: missing the '#chrom ...' header line of a seqcnn region table")
    cols = header[1:].rstrip("\n").split("\t")
    dtype = {c: np.int64 for c in ("start", "end", "score")}
    dtype.update({c: str for c in ("chrom", "name", "strand", "source")})
    dtype.update({c: np.uint8 for c in cols if c not in dtype})
    return pd.read_csv(path, sep="\t", comment=None, skiprows=1, header=None, names=cols,
                       dtype=dtype, keep_default_na=False, chunksize=chunksize)


def task_columns(regions: pd.DataFrame) -> list[str]:
    """Task label columns of a table read by :func:`read_regions`."""
    return [c for c in regions.columns if c not in BED_COLUMNS + ["source"]]


# --------------------------------------------------------------------------- streaming

#: Columns (and types) of the temporary records of :func:`prepare_regions`: one line per
#: region kept by the sequence-free filters; chromosome rank (genome order), start, end,
#: strand, task index, line in the task's file, name.
_RECORD = {"rank": np.int64, "start": np.int64, "end": np.int64, "strand": str,
           "task": np.int64, "line": np.int64, "name": str}
#: ``sort`` keys of the records: genome order, then the identity of a merged region
#: (strand), then the first occurrence (task, line): the order label_and_merge sees them.
_SORT_KEYS = ("-k1,1n", "-k2,2n", "-k3,3n", "-k4,4", "-k5,5n", "-k6,6n")


def prepare_regions(
    task_files: Mapping[str, str | os.PathLike],
    genome: Genome,
    seq_len: int,
    out_path: str | os.PathLike,
    max_n_fraction: float = 0.1,
    blacklist: pd.DataFrame | None = None,
    strict: bool = False,
    chunk_size: int = 10_000,
    tmp_dir: str | os.PathLike | None = None,
    sort_buffer: str = "16M",
    chrom_aliases: Mapping[str, str] | None = None,
    label_overlap: float | None = 0.5,
    allow_empty_tasks: bool = False,
) -> dict:
    """Read, validate, resize, filter, merge, sort and write the peaks of several tasks
    with memory bounded by ``chunk_size``, whatever the number of regions.

    The output file is byte for byte the one of the in-memory path: :func:`read_bed` →
    :func:`resize` → :func:`filter_regions` per task, :func:`label_and_merge`,
    :func:`sort_regions` in genome order, :func:`label_by_overlap`, ``source = "peak"``,
    :func:`write_regions`; the counts and ``strict`` errors are the same as well. How:

    1. each task file is read in chunks (:func:`read_bed` with ``chunksize``), its
       chromosomes renamed with ``chrom_aliases`` (:func:`read_chrom_aliases`), resized,
       and filtered for what needs no sequence (unknown chromosome, off its end,
       blacklist); the kept regions go to a temporary file. Once the file is read, its
       chromosome names are checked (:func:`check_chrom_names`);
    2. that file is sorted by ``sort`` (coreutils, ``LC_ALL=C``, at most ``sort_buffer``
       of memory, spilling to ``tmp_dir``) by chromosome rank, start, end, strand, task
       and line;
    3. the sorted file is streamed in chunks: the N-fraction filter (one chromosome at a
       time, as :class:`Genome` caches), then regions with the same interval and strand
       (now adjacent) merge into one labelled with the union of their tasks, named after
       the first (task order, then file order), and equal intervals on different strands
       come in order of first appearance, as the stable sort of the in-memory path does;
       then the merged windows are labelled by overlap (``label_overlap``, see
       :func:`label_by_overlap`; ``None``: identical windows only), holding back the
       windows of the last ``seq_len`` bp until the next chunk.

    ``task_files`` maps task names (label columns, in order) to BED/narrowPeak paths.
    ``tmp_dir`` (default: the system's) holds about twice the kept regions as text.

    Returns ``{"tasks": {task: {"file", "read", "kept", "dropped": {reason: n},
    "unknown_chroms": {name: n} (the 10 commonest)}}, "merged_duplicates", "positives",
    "positives_per_task": {task: n}, "ambiguous_per_task": {task: n}, "empty_tasks":
    [task], "summit": {task: whether any region had a summit}}``.

    Raises :class:`~seqcnn.errors.ConfigError` when ``seq_len`` is longer than every
    chromosome, :class:`ChromNameError` for a task file whose names do not match the
    genome's, and :class:`~seqcnn.errors.EmptyTaskError` naming every task left with no
    region (an empty file, or all dropped: the counts per reason and the fix) unless
    ``allow_empty_tasks`` (then they are listed in ``empty_tasks``).

    With ``strict``, raises what the in-memory path raises first: per task in order, the
    :class:`BedFormatError` of its file, else a :class:`RegionDropError` for its first
    dropped line (the file is read to its end first, and the N filter comes after the
    sort, so the error comes later than it would in memory; the log lines of the tasks
    before do not appear). The output is written under a temporary name and renamed at
    the end, so a failure leaves no output.

    Memory: a chunk of regions, one chromosome (:class:`Genome`), and ``sort``'s buffer
    in its own process.
    """
    if seq_len <= 0:
        raise ValueError(f"seq_len must be positive, got {seq_len}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    sizes = genome.sizes
    _check_seq_len(seq_len, sizes, genome.path)
    min_bp = None if label_overlap is None else min_overlap_bp(seq_len, label_overlap)
    tasks = list(task_files)
    chroms = np.array(list(sizes), dtype=object)
    files = [str(Path(p)) for p in task_files.values()]
    stats = {t: {"file": os.fspath(p), "read": 0, "kept": 0,
                 "dropped": dict.fromkeys(DROP_REASONS, 0)} for t, p in task_files.items()}
    replay = _StrictReplay(len(tasks)) if strict else None
    reader = _TaskReader(seq_len, sizes, blacklist, chunk_size, chrom_aliases, max_n_fraction,
                         genome.path)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    part = out_path.with_name(f".{out_path.name}.partial")
    with tempfile.TemporaryDirectory(prefix="seqcnn_regions_", dir=tmp_dir) as tmp:
        records = Path(tmp) / "records.tsv"
        summit = _write_task_records(records, reader, task_files, stats, replay)
        sorted_records = Path(tmp) / "sorted.tsv"
        _sort_records(records, sorted_records, Path(tmp), sort_buffer)
        records.unlink()
        try:
            kept, written = _merge_records(
                sorted_records, part, genome, chroms, tasks, files, max_n_fraction, stats,
                None if replay is None else replay.drop_at, chunk_size,
                _Labeller(len(tasks), seq_len, min_bp) if min_bp is not None else None)
            if replay is not None:
                replay.raise_first()
            for t, task in enumerate(tasks):
                stats[task]["kept"] = int(kept[t])
            empty = [task for task in tasks if not stats[task]["kept"]]
            if empty and not allow_empty_tasks:
                raise _empty_task_error({t: stats[t] for t in empty}, seq_len, max_n_fraction)
            os.replace(part, out_path)
        finally:
            part.unlink(missing_ok=True)
    n_out = written["rows"]
    return {"tasks": stats, "merged_duplicates": int(kept.sum()) - n_out, "positives": n_out,
            "positives_per_task": {t: int(n) for t, n in
                                   zip(tasks, written["positive"], strict=True)},
            "ambiguous_per_task": {t: int(n) for t, n in
                                   zip(tasks, written["ambiguous"], strict=True)},
            "empty_tasks": empty, "summit": summit}


def _write_task_records(records: Path, reader: _TaskReader,
                        task_files: Mapping[str, str | os.PathLike], stats: dict,
                        replay: _StrictReplay | None) -> dict[str, bool]:
    """Step 1 of :func:`prepare_regions`: every task file's kept regions into ``records``;
    returns whether each task's file had summits. Under ``strict``, stops at the first task
    that will fail (the N filter may still find an earlier line; later tasks cannot matter).
    """
    summit = dict.fromkeys(task_files, False)
    with open(records, "w", encoding="utf-8") as fh:
        for t, (task, path) in enumerate(task_files.items()):
            try:
                summit[task] = reader.write(fh, t, task, path, stats[task], replay)
            except (BedFormatError, FileNotFoundError) as err:
                if replay is None:
                    raise
                replay.note_error(t, err)
                break
            if replay is not None and t in replay.drop_at:
                break
    return summit


@dataclass
class _StrictReplay:
    """What ``strict`` raises in :func:`prepare_regions`, replayed in the order of the
    in-memory path: per task in order, its file's format error, else its first dropped
    line."""

    n_tasks: int
    #: first drop per task: ``{task index: (line, error)}`` (also filled by the N filter)
    drop_at: dict[int, tuple[int, RegionDropError]] = field(default_factory=dict)
    pending: Exception | None = None  # a task file's format error, raised last
    pending_task: int = field(init=False)  # its task index (n_tasks: none)

    def __post_init__(self) -> None:
        self.pending_task = self.n_tasks

    def note_drop(self, t: int, bed: pd.DataFrame, reasons: np.ndarray, length: np.ndarray,
                  max_n_fraction: float) -> None:
        """Keep the first region of this chunk that task ``t`` drops, unless it has one."""
        dropped = reasons != ""
        if dropped.any() and t not in self.drop_at:
            i = int(np.flatnonzero(dropped)[0])
            self.drop_at[t] = (int(bed["line"].iat[i]), _drop_error(
                bed.iloc[i], reasons[i], length[i], 0.0, max_n_fraction))

    def note_error(self, t: int, err: Exception) -> None:
        """Task ``t``'s file cannot be read: raised unless an earlier task drops a region
        (maybe for its N, found after the sort)."""
        self.pending, self.pending_task = err, t

    def raise_first(self) -> None:
        """Raise what the in-memory path raises first, if anything."""
        for t in range(self.pending_task):
            if t in self.drop_at:
                raise self.drop_at[t][1]
        if self.pending is not None:
            raise self.pending


@dataclass(frozen=True)
class _TaskReader:
    """Step 1 of :func:`prepare_regions` for one task file: read in chunks, rename,
    resize, drop what needs no sequence, write the rest as records."""

    seq_len: int
    sizes: Mapping[str, int]
    blacklist: pd.DataFrame | None
    chunk_size: int
    chrom_aliases: Mapping[str, str] | None
    max_n_fraction: float
    genome_path: Path

    def write(self, fh: io.TextIOBase, t: int, task: str, path: str | os.PathLike,
              st: dict, replay: _StrictReplay | None) -> bool:
        """Write task ``t``'s kept regions to ``fh``, counting into ``st`` (read, dropped
        per reason, unknown chromosomes); check its chromosome names. Returns whether any
        region had a summit."""
        rank = {c: i for i, c in enumerate(self.sizes)}
        names: Counter = Counter()
        summit = False
        for bed in read_bed(path, chunksize=self.chunk_size):
            bed = rename_chroms(bed, self.chrom_aliases)
            names.update(bed["chrom"].value_counts().to_dict())
            st["read"] += len(bed)
            summit = summit or bool((bed["summit"] >= 0).any())
            bed = resize(bed, self.seq_len)
            reasons, length = _drop_reasons(bed, self.sizes, self.blacklist)
            for r in DROP_REASONS[:-1]:
                st["dropped"][r] += int((reasons == r).sum())
            if replay is not None:
                replay.note_drop(t, bed, reasons, length, self.max_n_fraction)
            _write_records(fh, bed.loc[reasons == ""], rank, t)
        _check_task_names(names, self.sizes, path, task, self.genome_path, st)
        return summit


def _check_seq_len(seq_len: int, sizes: Mapping[str, int], genome_path: Path) -> None:
    """Stop when no window of ``seq_len`` fits on any chromosome."""
    if sizes and seq_len > max(sizes.values()):
        name = max(sizes, key=sizes.__getitem__)
        raise ConfigError(
            f"seq_len {seq_len} is longer than every chromosome of the genome {genome_path} "
            f"(longest: {name}, {sizes[name]} bp): no region fits. Set seq_len to at most "
            f"{sizes[name]}, or check that genome is the right FASTA.")


def _check_task_names(names: Counter, sizes: Mapping[str, int], path: str | os.PathLike,
                      task: str, genome_path: Path, st: dict) -> None:
    """:func:`check_chrom_names` for a task's file; keep its commonest unknown names."""
    check_chrom_names(names, sizes, path, f"peaks of task {task!r}", genome_path)
    unknown = [(c, n) for c, n in names.items() if c not in sizes]
    st["unknown_chroms"] = dict(sorted(unknown, key=lambda kv: (-kv[1], kv[0]))[:10])


#: What to check when every region of a task was dropped for a reason.
_EMPTY_HINTS = {
    "unknown_chrom": "their chromosomes are not in the genome (see chrom_aliases)",
    "off_chrom_end": "resized to seq_len={seq_len} bp they run off their chromosome's end "
                     "(lower seq_len, or check that the peaks are for this assembly)",
    "blacklist": "they overlap the blacklist (check that it is for this assembly)",
    "too_many_n": "more than max_n_fraction={max_n} of their bases are not ACGT (check that "
                  "the genome is not hard-masked, or raise max_n_fraction)",
}


def _empty_task_error(empty: Mapping[str, dict], seq_len: int, max_n: float) -> EmptyTaskError:
    """The :class:`EmptyTaskError` for the tasks ``empty`` (task → stats)."""
    parts = []
    for task, st in empty.items():
        if not st["read"]:
            parts.append(f"task {task!r}: {st['file']} has no regions (the file is empty or "
                         "holds only comment, track or browser lines)")
            continue
        drops = {r: n for r, n in st["dropped"].items() if n}
        hints = "; ".join(_EMPTY_HINTS[r].format(seq_len=seq_len, max_n=max_n) for r in drops)
        parts.append(f"task {task!r}: all {st['read']} regions of {st['file']} were dropped "
                     f"({', '.join(f'{r} {n}' for r, n in drops.items())}): {hints}")
    return EmptyTaskError(
        "; ".join(parts) + ". A task with no positives cannot be trained or evaluated: fix "
        "its file, or set allow_empty_tasks: true in the dataset's config to keep it (all "
        "its labels 0, with a warning)."
    )


def _write_records(fh: io.TextIOBase, regions: pd.DataFrame, rank: Mapping[str, int],
                   task: int) -> None:
    """Append regions (on known chromosomes) as :data:`_RECORD` lines."""
    n = len(regions)
    if not n:
        return
    first = regions["chrom"].map(rank).astype(np.int64).astype(str)
    others = [regions[c].astype(str).to_numpy(dtype=object)
              for c in ("start", "end", "strand")]
    others.append(np.full(n, str(task), dtype=object))
    others += [regions[c].astype(str).to_numpy(dtype=object) for c in ("line", "name")]
    fh.write("\n".join(first.str.cat(others, sep="\t")))
    fh.write("\n")


def _sort_records(src: Path, dest: Path, tmp: Path, buffer: str) -> None:
    """External sort of :data:`_RECORD` lines with ``sort`` (bounded memory)."""
    exe = shutil.which("sort")
    if exe is None:
        raise RuntimeError("preparing regions needs the `sort` command (coreutils)")
    cmd = [exe, "-t", "\t", *_SORT_KEYS, "-S", buffer, "-T", str(tmp), "-o", str(dest),
           str(src)]
    proc = subprocess.run(cmd, env={**os.environ, "LC_ALL": "C"}, capture_output=True,
                          text=True)
    if proc.returncode:
        raise RuntimeError(f"sorting the regions failed ({' '.join(cmd)}): "
                           f"{proc.stderr.strip()}")


def _merge_records(path: Path, out: Path, genome: Genome, chroms: np.ndarray,
                   tasks: list[str], files: list[str], max_n_fraction: float, stats: dict,
                   drop_at: dict | None, chunk_size: int, labeller: _Labeller | None
                   ) -> tuple[np.ndarray, dict]:
    """Step 3 of :func:`prepare_regions`: N filter, merge, label (``labeller``; ``None``:
    identical windows only), write ``out``. Counts ``too_many_n`` into ``stats``; with
    ``drop_at`` (strict) keeps there the first drop per task. Returns the kept regions per
    task and ``{"positive": per task, "ambiguous": per task, "rows": n}`` written."""
    n_tasks = len(tasks)
    kept = np.zeros(n_tasks, dtype=np.int64)
    n_rich = np.zeros(n_tasks, dtype=np.int64)
    written = {"positive": np.zeros(n_tasks, dtype=np.int64),
               "ambiguous": np.zeros(n_tasks, dtype=np.int64), "rows": 0}
    merger = _Merger(n_tasks)

    def label(groups):
        return groups if labeller is None else labeller.add(groups)

    reader = (pd.read_csv(path, sep="\t", header=None, names=list(_RECORD), dtype=_RECORD,
                          quoting=3, na_filter=False, keep_default_na=False, engine="c",
                          chunksize=chunk_size)
              if path.stat().st_size else contextlib.nullcontext(()))
    with open(out, "w") as fh, reader as chunks:
        _write_header(fh, tasks)
        for rec in chunks:
            rec["chrom"] = chroms[rec["rank"].to_numpy()]
            reasons = np.full(len(rec), "", dtype=object)
            n_fraction = _drop_n_rich(rec, genome, reasons, max_n_fraction, windowed=True)
            drop = reasons != ""
            n_rich += np.bincount(rec["task"].to_numpy()[drop], minlength=n_tasks)
            if drop_at is not None and drop.any():
                _first_n_drops(rec, drop, n_fraction, max_n_fraction, files, genome.sizes,
                               drop_at)
            rec = rec.loc[~drop]
            kept += np.bincount(rec["task"].to_numpy(), minlength=n_tasks)
            _write_groups(fh, label(merger.add(rec)), chroms, tasks, written)
        _write_groups(fh, label(merger.add(None)), chroms, tasks, written)
        if labeller is not None:
            _write_groups(fh, labeller.finish(), chroms, tasks, written)
    for t, task in enumerate(tasks):
        stats[task]["dropped"]["too_many_n"] += int(n_rich[t])
    return kept, written


def _write_groups(fh: io.TextIOBase, groups: dict[str, np.ndarray] | None, chroms: np.ndarray,
                  tasks: list[str], written: dict) -> None:
    """Append merged regions of :class:`_Merger` to the table; count them in ``written``."""
    if groups is None or not len(groups["rank"]):
        return
    written["positive"] += (groups["labels"] == 1).sum(axis=0, dtype=np.int64)
    written["ambiguous"] += (groups["labels"] == AMBIGUOUS).sum(axis=0, dtype=np.int64)
    written["rows"] += len(groups["rank"])
    table = pd.DataFrame({"chrom": chroms[groups["rank"]], "start": groups["start"],
                          "end": groups["end"], "name": groups["name"],
                          "strand": groups["strand"]})
    for j, t in enumerate(tasks):
        table[t] = groups["labels"][:, j]
    table["source"] = "peak"
    _write_rows(fh, table, tasks)


def _first_n_drops(rec: pd.DataFrame, drop: np.ndarray, n_fraction: np.ndarray,
                   max_n_fraction: float, files: list[str], sizes: Mapping[str, int],
                   drop_at: dict) -> None:
    """Keep in ``drop_at`` the N-rich region of lowest line per task (strict)."""
    idx = np.flatnonzero(drop)
    task = rec["task"].to_numpy()[idx]
    line = rec["line"].to_numpy()[idx]
    order = np.lexsort((line, task))
    first = order[np.r_[True, task[order][1:] != task[order][:-1]]]
    for k in first:
        t, i = int(task[k]), int(idx[k])
        if t in drop_at and drop_at[t][0] < line[k]:
            continue
        row = {"file": files[t], "line": int(line[k]), "chrom": rec["chrom"].iat[i],
               "start": int(rec["start"].iat[i]), "end": int(rec["end"].iat[i])}
        drop_at[t] = (int(line[k]), _drop_error(row, "too_many_n", sizes[row["chrom"]],
                                                n_fraction[i], max_n_fraction))


class _Merger:
    """Merge sorted :data:`_RECORD` chunks: one region per (chromosome, start, end, strand)
    with the union of the tasks' labels and its first record's name; within an interval,
    strands in order of first appearance (task, line). The groups of the last interval of
    a chunk are held back (as merged groups, at most three) until the next chunk."""

    KEYS = ("rank", "start", "end", "strand", "task", "line", "name")

    def __init__(self, n_tasks: int) -> None:
        self.n_tasks = n_tasks
        self.carry: dict[str, np.ndarray] | None = None

    def add(self, rec: pd.DataFrame | None) -> dict[str, np.ndarray] | None:
        """Add a chunk (``None``: the end); return the finished groups, if any."""
        if rec is not None:
            part = {k: rec[k].to_numpy() for k in self.KEYS}
            labels = np.zeros((len(rec), self.n_tasks), dtype=np.uint8)
            labels[np.arange(len(rec)), part["task"]] = 1
            part["labels"] = labels
            if self.carry is not None:
                part = {k: np.concatenate([self.carry[k], v]) for k, v in part.items()}
        elif self.carry is not None:
            part = self.carry
        else:
            return None
        self.carry = None
        n = len(part["rank"])
        if not n:
            return None
        same_run = np.zeros(n, dtype=bool)
        same_run[1:] = ((part["rank"][1:] == part["rank"][:-1])
                        & (part["start"][1:] == part["start"][:-1])
                        & (part["end"][1:] == part["end"][:-1]))
        same_group = same_run.copy()
        same_group[1:] &= (part["strand"][1:] == part["strand"][:-1]).astype(bool)
        g = np.flatnonzero(~same_group)
        groups = {k: part[k][g] for k in self.KEYS}
        groups["labels"] = np.maximum.reduceat(part["labels"], g, axis=0)
        new_run = ~same_run[g]
        run = np.cumsum(new_run)
        if rec is not None:  # the last interval may go on in the next chunk
            last = int(np.flatnonzero(new_run)[-1])
            self.carry = {k: v[last:] for k, v in groups.items()}
            groups = {k: v[:last] for k, v in groups.items()}
            run = run[:last]
            if not last:
                return None
        order = np.lexsort((groups["line"], groups["task"], run))
        return {k: v[order] for k, v in groups.items()}


class _Labeller:
    """Label merged windows (:class:`_Merger` groups, in genome order) by overlap as
    :func:`label_by_overlap` does, in bounded memory: a window is labelled once every
    window within ``seq_len`` bp after it has been seen; the windows of the last
    ``2 * seq_len`` bp stay as context for the next chunk."""

    def __init__(self, n_tasks: int, seq_len: int, min_bp: int) -> None:
        self.n_tasks, self.seq_len, self.min_bp = n_tasks, seq_len, min_bp
        self.buf: dict[str, np.ndarray] | None = None
        self.done = 0  # rows of buf already labelled and returned (context)

    def add(self, groups: dict[str, np.ndarray] | None) -> dict[str, np.ndarray] | None:
        """Add merged groups; return those now labelled (``labels``: by overlap)."""
        if groups is None or not len(groups["rank"]):
            return None
        part = {k: v for k, v in groups.items() if k != "labels"}
        part["identity"] = groups["labels"]
        part["key"] = _window_keys(groups["rank"], groups["start"])
        if self.buf is not None:
            part = {k: np.concatenate([self.buf[k], v]) for k, v in part.items()}
        self.buf = part
        # a window is complete when no later one (key >= the last key) can overlap it
        ready = int(np.searchsorted(part["key"], part["key"][-1] - self.seq_len, "right"))
        return self._emit(ready)

    def finish(self) -> dict[str, np.ndarray] | None:
        """The windows still held back, labelled."""
        if self.buf is None:
            return None
        return self._emit(len(self.buf["key"]))

    def _emit(self, ready: int) -> dict[str, np.ndarray] | None:
        buf, done = self.buf, self.done
        out = None
        if ready > done:
            out = {k: v[done:ready] for k, v in buf.items() if k not in ("identity", "key")}
            out["labels"] = _overlap_codes(buf["key"], buf["identity"],
                                           np.arange(done, ready), self.seq_len, self.min_bp)
        n = len(buf["key"])
        if ready >= n:
            self.buf, self.done = None, 0
            return out
        lo = int(np.searchsorted(buf["key"], buf["key"][ready] - self.seq_len, "right"))
        self.buf = {k: v[lo:] for k, v in buf.items()}
        self.done = ready - lo
        return out
