"""Genome FASTA access: index, chromosome sizes, and fast batched extraction.

A :class:`Genome` reads a plain FASTA through its ``.fai`` index and keeps **one
chromosome at a time** in memory as a flat ``uint8`` array (ASCII, newlines removed).
Extraction of many equal-length windows from that array is a single strided gather, so
the cost per region is a memory copy, not a Python call. Regions should be sorted by
chromosome (as the workflow writes them) so that each chromosome is loaded once.

Memory: the largest chromosome (about 250 MB for human chr1) plus the caller's batch.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pysam

from seqcnn.alphabet import UNKNOWN, lookup_table
from seqcnn.errors import InputError

FAI_COLUMNS = ["chrom", "length", "offset", "linebases", "linewidth"]


def is_gzipped(path: str | os.PathLike) -> bool:
    """Whether ``path`` starts with the gzip magic bytes (plain gzip or bgzip)."""
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


@contextlib.contextmanager
def gzip_errors(path: str | os.PathLike) -> Iterator[None]:
    """Turn the errors of reading a damaged gzip file into an :class:`InputError` naming
    ``path`` (Python raises a bare ``EOFError`` for a truncated file)."""
    try:
        yield
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise InputError(
            f"{path}: truncated or corrupt gzip ({err}): re-download or re-compress the file "
            "(`gzip -t` tests it)"
        ) from err


class _CheckedGzipFile(gzip.GzipFile):
    """A :class:`gzip.GzipFile` whose read errors name the file (see :func:`gzip_errors`)."""

    def read(self, size=-1):
        with gzip_errors(self.name):
            return super().read(size)

    def read1(self, size=-1):
        with gzip_errors(self.name):
            return super().read1(size)

    def readinto(self, b):
        with gzip_errors(self.name):
            return super().readinto(b)

    def readline(self, size=-1):
        with gzip_errors(self.name):
            return super().readline(size)

    def peek(self, n):
        with gzip_errors(self.name):
            return super().peek(n)


def open_text(path: str | os.PathLike) -> io.TextIOBase:
    """Open a text file for reading, plain or gzip/bgzip (detected by magic bytes).

    A truncated or corrupt gzip file raises :class:`InputError` naming it when read.
    """
    if is_gzipped(path):
        return io.TextIOWrapper(_CheckedGzipFile(os.fspath(path), "rb"), encoding="utf-8",
                                errors="replace")
    return open(path, encoding="utf-8", errors="replace")


class _HeaderScanner:
    """Count the sequence names of a FASTA fed as byte blocks: the first word of each
    ``>`` line, as samtools faidx takes it."""

    _SPACE = re.compile(rb"\s")

    def __init__(self) -> None:
        self.names: Counter = Counter()
        self._carry = b"\n"  # the file's start is a line start

    def feed(self, block: bytes) -> None:
        buf = self._carry + block
        pos = 0
        while (p := buf.find(b"\n>", pos)) >= 0:
            m = self._SPACE.search(buf, p + 2)
            if m is None:  # the name goes on in the next block
                self._carry = buf[p:]
                return
            self.names[buf[p + 2:m.start()].decode("utf-8", "replace")] += 1
            pos = m.start()
        self._carry = b"\n" if buf.endswith(b"\n") else b""

    def close(self) -> Counter:
        """The name counts, once every block is fed."""
        if self._carry.startswith(b"\n>"):
            self.names[self._carry[2:].decode("utf-8", "replace")] += 1
        self._carry = b""
        return self.names


def _copy_scanning(fin, fout, scanner: _HeaderScanner, block: int = 16 << 20) -> None:
    """Copy ``fin`` to ``fout`` (``None``: only read), feeding every block to ``scanner``."""
    while data := fin.read(block):
        scanner.feed(data)
        if fout is not None:
            fout.write(data)


def _check_unique_names(names: Counter, src: Path) -> None:
    dup = [(n, k) for n, k in names.items() if k > 1]
    if dup:
        shown = ", ".join(f"{n!r} ({k} times)" for n, k in dup[:10])
        more = f" and {len(dup) - 10} more" if len(dup) > 10 else ""
        raise InputError(
            f"{src}: duplicated sequence name(s) {shown}{more}. Each FASTA record needs a "
            "unique name (the first word of its '>' line); an index keeps only the first "
            "copy. Rename or remove the duplicates (e.g. `seqkit rmdup -n`)."
        )


def prepare_fasta(src: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Make ``dest`` a plain, indexed FASTA of ``src`` and return the ``.fai`` path.

    Plain input is linked (absolute symlink, no copy); gzip/bgzip input is decompressed
    (streamed, constant memory). The index (samtools faidx format) is written to
    ``dest + '.fai'``. Raises :class:`InputError` naming ``src`` for a file that is not
    FASTA, a truncated or corrupt gzip, duplicated sequence names, or lines of unequal
    length within a sequence.
    """
    src, dest = Path(src), Path(dest)
    if not src.exists():
        raise FileNotFoundError(f"genome FASTA not found: {src}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() or dest.is_symlink():
        dest.unlink()
    scanner = _HeaderScanner()
    if is_gzipped(src):
        try:
            with gzip_errors(src), gzip.open(src, "rb") as fin, open(dest, "wb") as fout:
                _copy_scanning(fin, fout, scanner)
        except InputError:
            dest.unlink(missing_ok=True)
            raise
    else:
        dest.symlink_to(src.resolve())
        with open(dest, "rb") as fin:
            _copy_scanning(fin, None, scanner)
    with open(dest, "rb") as fh:
        if fh.read(1) != b">":
            raise InputError(f"{src}: not a FASTA file (first character is not '>')")
    _check_unique_names(scanner.close(), src)
    fai = Path(str(dest) + ".fai")
    if fai.exists():
        fai.unlink()
    try:
        pysam.faidx(str(dest))
    except pysam.SamtoolsError as err:
        raise InputError(
            f"{src}: could not index the FASTA ({err}). Lines within a sequence must have "
            "equal length; reformat with e.g. `seqkit seq -w 60`."
        ) from err
    return fai


def read_fai(fai: str | os.PathLike) -> pd.DataFrame:
    """Read a ``.fai`` index → DataFrame with columns chrom, length, offset, linebases,
    linewidth (one row per sequence, file order)."""
    return pd.read_csv(
        fai, sep="\t", header=None, usecols=range(5), names=FAI_COLUMNS,
        dtype={"chrom": str},
    )


def chrom_sizes(fai: str | os.PathLike) -> dict[str, int]:
    """Chromosome name → length in bp, in file order."""
    df = read_fai(fai)
    return dict(zip(df["chrom"], df["length"].astype(int), strict=True))


class Genome:
    """Plain FASTA with a ``.fai`` index; one chromosome cached at a time.

    ``Genome(path)`` expects ``path + '.fai'`` (see :func:`prepare_fasta`).
    """

    def __init__(self, path: str | os.PathLike, fai: str | os.PathLike | None = None):
        self.path = Path(path)
        fai = Path(fai) if fai is not None else Path(str(self.path) + ".fai")
        if not fai.exists():
            raise FileNotFoundError(f"{fai} not found: index the genome with prepare_fasta()")
        index = read_fai(fai)
        dup = index["chrom"][index["chrom"].duplicated()].unique().tolist()
        if dup:
            raise InputError(
                f"{fai}: duplicated sequence name(s) {', '.join(map(repr, dup[:10]))} in the "
                "index; each sequence needs a unique name: fix the FASTA and index it again "
                "(prepare_fasta)"
            )
        self.index = index.set_index("chrom")
        self.sizes: dict[str, int] = {c: int(n) for c, n in self.index["length"].items()}
        self._chrom: str | None = None
        self._seq: np.ndarray | None = None

    def __contains__(self, chrom: str) -> bool:
        return chrom in self.sizes

    def chromosome(self, chrom: str) -> np.ndarray:
        """Whole chromosome as ``uint8`` ASCII ``(length,)``; cached until the next chrom."""
        if chrom == self._chrom and self._seq is not None:
            return self._seq
        if chrom not in self.sizes:
            raise KeyError(f"chromosome {chrom!r} is not in {self.path}")
        row = self.index.loc[chrom]
        length, offset = int(row["length"]), int(row["offset"])
        lb, lw = int(row["linebases"]), int(row["linewidth"])
        nbytes = (length // lb) * lw + length % lb if lb else 0
        self._seq = None  # release the previous chromosome before reading the next
        available = max(0, min(nbytes, self.path.stat().st_size - offset))
        raw = np.fromfile(self.path, dtype=np.uint8, count=available, offset=offset)
        if len(raw) < nbytes:  # last line without a terminator
            raw = np.concatenate([raw, np.full(nbytes - len(raw), ord("\n"), np.uint8)])
        if lw > lb:  # strip line terminators (\n or \r\n): keep the first lb of each line
            full = (len(raw) // lw) * lw
            body = raw[:full].reshape(-1, lw)[:, :lb].ravel()
            seq = np.concatenate([body, raw[full:full + (length - len(body))]])
        else:
            seq = raw
        if len(seq) != length:
            raise InputError(f"{self.path}: {chrom} has {len(seq)} bases, the index says "
                             f"{length}: the FASTA changed after indexing; index it again")
        self._chrom, self._seq = chrom, np.ascontiguousarray(seq)
        return self._seq

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """One region as a string (0-based, half-open), case as in the file."""
        return self.chromosome(chrom)[start:end].tobytes().decode("ascii")

    def windows(self, chrom: str, starts: np.ndarray, length: int) -> np.ndarray:
        """Equal-length windows of one chromosome: starts ``(n,)`` → ``uint8`` ``(n, length)``.

        Starts must satisfy ``0 <= start <= chrom_length - length``.
        """
        seq = self.chromosome(chrom)
        starts = np.asarray(starts, dtype=np.int64)
        if len(starts) and (starts.min() < 0 or starts.max() + length > len(seq)):
            raise ValueError(f"window outside {chrom} (length {len(seq)})")
        view = np.lib.stride_tricks.sliding_window_view(seq, length)
        return view[starts]


def base_fractions(genome: Genome, regions: pd.DataFrame, chunk: int = 8192
                   ) -> tuple[np.ndarray, np.ndarray]:
    """GC fraction (of A/C/G/T bases) and N fraction (non-ACGT) per region: two ``(n,)``.

    Regions may have any length; all must lie within their chromosome.
    """
    lut = lookup_table("dna")
    n = len(regions)
    gc = np.zeros(n, dtype=np.float64)
    nfrac = np.zeros(n, dtype=np.float64)
    chrom = regions["chrom"].to_numpy()
    start = regions["start"].to_numpy(np.int64)
    end = regions["end"].to_numpy(np.int64)
    for c in pd.unique(chrom):
        idx = np.flatnonzero(chrom == c)
        s, e = start[idx], end[idx]
        length = e - s
        seq = genome.chromosome(c)
        if (length == length[0]).all() and len(idx) * length[0] < len(seq):
            # few regions of one length: count inside the windows (work ~ regions x length)
            n_gc, n_n = np.zeros(len(idx), np.int64), np.zeros(len(idx), np.int64)
            for a in range(0, len(idx), chunk):
                w = lut[np.lib.stride_tricks.sliding_window_view(seq, int(length[0]))[
                    s[a:a + chunk]]]
                n_gc[a:a + chunk] = ((w == 1) | (w == 2)).sum(axis=1)
                n_n[a:a + chunk] = (w == UNKNOWN).sum(axis=1)
        else:
            # many or variable-length regions: cumulative counts along the chromosome
            codes = lut[seq]
            n_gc = _window_counts((codes == 1) | (codes == 2), s, e)
            n_n = _window_counts(codes == UNKNOWN, s, e)
        nfrac[idx] = n_n / length
        acgt = length - n_n
        gc[idx] = np.divide(n_gc, acgt, out=np.full(len(idx), np.nan), where=acgt > 0)
    return gc, nfrac


def _window_counts(flags: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Number of true ``flags`` in each ``[start, end)``, via one cumulative sum."""
    dtype = np.int32 if len(flags) < 2**31 else np.int64  # int32 cumsum is ~20x faster
    cum = np.empty(len(flags) + 1, dtype=dtype)
    cum[0] = 0
    np.cumsum(flags, dtype=dtype, out=cum[1:])
    return (cum[end] - cum[start]).astype(np.int64)
