"""Genomic regions: read and validate BED/narrowPeak, resize, filter, merge, write.

Coordinates are 0-based, half-open (BED). A region table is a ``pandas.DataFrame`` with
columns ``chrom, start, end, name, strand`` (``+``, ``-`` or ``.``), ``summit`` (offset
from ``start``, -1 when unknown), ``file`` and ``line`` (where the region came from, for
error messages), and after labelling one ``uint8`` column per task.
"""

from __future__ import annotations

import io
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from seqcnn.genome import Genome, base_fractions, open_text

#: Drop reasons, in the order they are applied.
DROP_REASONS = ("unknown_chrom", "off_chrom_end", "blacklist", "too_many_n")


class BedFormatError(ValueError):
    """Malformed BED input; the message names the file, the line and the fix."""


class RegionDropError(ValueError):
    """Raised instead of dropping a region when ``strict`` is on."""


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
    table read at once (same values, same ``line`` numbers); validation is per chunk, so
    a file with several errors reports the first one of the first bad chunk.

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


def _line_blocks(path: Path, block: int = 1 << 20) -> Iterator[list[str]]:
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
    floor = None
    for data, line_no in _data_chunks(path, chunksize):
        if floor is None:
            floor = 6 if max(d.count("\t") for d in data) + 1 >= 6 else _max_columns(path, 6)
        yield _parse_bed(path, data, line_no, narrowpeak, floor)


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
            f"(chrom, start, end) separated by tabs: {data[i][:80]!r}"
        )
    if narrowpeak is None or narrowpeak:
        short = np.flatnonzero(ncols < 10)
        if narrowpeak and len(short):
            i = short[0]
            raise BedFormatError(
                f"{path}, line {line_no[i]}: narrowPeak needs 10 columns (summit in column "
                f"10), found {ncols[i]}; give the file a .bed suffix to read it as plain BED"
            )
    width = max(int(ncols.max()), min_width)
    table = pd.read_csv(
        io.StringIO("\n".join(data)), sep="\t", header=None, names=range(width),
        dtype=str, keep_default_na=False, na_filter=False, quoting=3, engine="c",
    )
    start = _parse_coord(table[1], "start", path, line_no, data)
    end = _parse_coord(table[2], "end", path, line_no, data)
    bad = np.flatnonzero(start >= end)
    if len(bad):
        i = bad[0]
        raise BedFormatError(
            f"{path}, line {line_no[i]}: start ({start[i]}) >= end ({end[i]}); BED intervals "
            "are 0-based half-open, so end must be greater than start"
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
                "use +, - or ."
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
                f"must be an integer offset from start in [0, {length[i]}) or -1 for none"
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
            f"non-negative integers (0-based): {data[i][:80]!r}"
        )
    return s.astype(np.int64).to_numpy()


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame({
        "chrom": pd.Series(dtype=object), "start": pd.Series(dtype=np.int64),
        "end": pd.Series(dtype=np.int64), "name": pd.Series(dtype=object),
        "strand": pd.Series(dtype=object), "summit": pd.Series(dtype=np.int64),
        "file": pd.Series(dtype=object), "line": pd.Series(dtype=np.int64),
    })


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
                 max_n_fraction: float) -> np.ndarray:
    """Mark ``too_many_n`` (in place) among the regions kept so far; their N fractions
    (0 for the others)."""
    n_fraction = np.zeros(len(regions))
    inside = reasons == ""
    if inside.any():
        n_fraction[inside] = base_fractions(genome, regions.loc[inside])[1]
    reasons[(n_fraction > max_n_fraction) & (reasons == "")] = "too_many_n"
    return n_fraction


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
