"""Quantitative tracks: bigWig signal over the cache's regions, as regression targets.

A genome dataset may give ``tracks: {name: signal.bw}`` (and ``controls:``, input or bias
tracks read the same way). For every region of a split the signal of each track is read
over the central ``output_len`` bp of the region's ``seq_len`` (pyBigWig) and turned into
one of three targets (:data:`TARGET_KINDS`):

- ``counts``  ``float32 (N, tracks)``: the sum over the central ``output_len`` bp;
- ``profile`` ``float32 (N, tracks, output_len)``: the centred crop, base by base;
- ``binned``  ``float32 (N, tracks, output_len // bin_size)``: sums over consecutive bins.

The crop starts ``(seq_len - output_len) // 2`` bp into the region. Positions the bigWig
has no value for (NaN) count as 0 and are counted (``nan_bp`` per track). Rows of ``-``
strand regions, whose one-hot is reverse-complemented, are reversed along positions too.
Chromosome names are checked as for BED files (:func:`seqcnn.data.regions.check_chrom_names`,
renamed first with ``chrom_aliases``). :func:`write_track_targets` streams a split's region
table into ``{split}.targets.npy`` (or ``.controls.npy``) with
:class:`seqcnn.data.cache.NpyWriter`: memory is one chunk, whatever the number of regions.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqcnn.data.cache import NpyWriter
from seqcnn.data.regions import check_chrom_names
from seqcnn.errors import ConfigError, InputError, examples

#: What a track becomes per region.
TARGET_KINDS = ("counts", "profile", "binned")
#: First four bytes of a bigWig (magic 0x888FFC26, little-endian) and of a bigBed.
_BIGWIG_MAGIC = (b"\x26\xfc\x8f\x88", b"\x88\x8f\xfc\x26")
_BIGBED_MAGIC = (b"\xeb\xf2\x89\x87", b"\x87\x89\xf2\xeb")


class TrackError(InputError):
    """A bigWig that cannot give a dataset's targets; the message names the file and fix."""


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class TrackSettings:
    """What targets are made: ``target`` kind, ``seq_len`` and ``output_len`` (bp),
    ``bin_size`` (bp, ``binned`` only, else None)."""

    target: str
    seq_len: int
    output_len: int
    bin_size: int | None = None

    @property
    def offset(self) -> int:
        """bp from a region's start to the crop's start (the crop is centred)."""
        return (self.seq_len - self.output_len) // 2

    def shape(self, n: int, tracks: int) -> tuple[int, ...]:
        """Shape of the targets of ``n`` regions and ``tracks`` tracks."""
        if self.target == "counts":
            return (n, tracks)
        if self.target == "binned":
            return (n, tracks, self.output_len // int(self.bin_size))
        return (n, tracks, self.output_len)


def track_settings(cfg: Mapping[str, Any], key: str = "dataset") -> TrackSettings:
    """A genome dataset's :class:`TrackSettings` from its config (``target`` default
    ``counts``, ``output_len`` default ``seq_len``), checked; :class:`ConfigError` names
    ``key.<name>`` and the fix."""
    target = cfg.get("target") or "counts"
    seq_len = int(cfg["seq_len"])
    output_len = cfg.get("output_len")
    output_len = seq_len if output_len is None else output_len
    bin_size = cfg.get("bin_size")
    if target not in TARGET_KINDS:
        raise ConfigError(f"config key {key}.target is {target!r}; use one of "
                          f"{', '.join(TARGET_KINDS)}")
    if isinstance(output_len, bool) or not isinstance(output_len, int) or output_len < 1:
        raise ConfigError(f"config key {key}.output_len must be a positive integer (bp), "
                          f"got {output_len!r}")
    if output_len > seq_len:
        raise ConfigError(f"config key {key}.output_len is {output_len}, longer than seq_len "
                          f"{seq_len}: targets are a centred crop of the input; set "
                          f"output_len <= {seq_len} or raise seq_len")
    if target == "binned":
        if isinstance(bin_size, bool) or not isinstance(bin_size, int) or bin_size < 1:
            raise ConfigError(f"config key {key}.bin_size: target binned needs a positive "
                              f"integer bin size (bp), got {bin_size!r}")
        if output_len % bin_size:
            raise ConfigError(
                f"config key {key}.bin_size {bin_size} does not divide output_len "
                f"{output_len}; use a divisor (e.g. {_divisor_near(output_len, bin_size)}) "
                "or change output_len")
    elif bin_size is not None:
        raise ConfigError(f"config key {key}.bin_size applies to target: binned only "
                          f"(target is {target}); remove it or set target: binned")
    return TrackSettings(target, seq_len, output_len, bin_size if target == "binned" else None)


def _divisor_near(n: int, k: int) -> int:
    divisors = [d for d in range(1, n + 1) if n % d == 0]
    return min(divisors, key=lambda d: (abs(d - k), d))


# --------------------------------------------------------------------------- reading


def check_bigwig(path: str | os.PathLike, what: str = "track") -> Path:
    """``path`` as a Path when it is a readable bigWig; :class:`TrackError` naming the file,
    its role (``what``, e.g. ``tracks.ATAC``) and the fix otherwise."""
    path = Path(path)
    if not path.exists():
        raise TrackError(f"{path} ({what}): bigWig file not found; check the path in the "
                         "dataset's config (relative paths are from the workflow's folder)")
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic in _BIGBED_MAGIC:
        raise TrackError(f"{path} ({what}): a bigBed file, not a bigWig; give a signal track "
                         "(bigWig, e.g. from bamCoverage or bedGraphToBigWig)")
    if magic not in _BIGWIG_MAGIC:
        raise TrackError(f"{path} ({what}): not a bigWig file (first bytes {magic!r}); "
                         "convert bedGraph/wig with bedGraphToBigWig or wigToBigWig, or "
                         "point the config at the .bw file")
    return path


def open_bigwig(path: str | os.PathLike, what: str = "track"):
    """An open pyBigWig reader of a checked bigWig (:func:`check_bigwig`)."""
    import pyBigWig

    path = check_bigwig(path, what)
    try:
        bw = pyBigWig.open(str(path))
    except RuntimeError as err:
        raise TrackError(f"{path} ({what}): pyBigWig cannot read it ({err}); the file may be "
                         "truncated: copy or build it again") from err
    if not bw.isBigWig():
        bw.close()
        raise TrackError(f"{path} ({what}): not a bigWig file; give a signal track")
    return bw


def chrom_map(bw_sizes: Mapping[str, int], genome_sizes: Mapping[str, int],
              aliases: Mapping[str, str] | None, path: str | os.PathLike,
              what: str = "track") -> dict[str, str]:
    """Genome chromosome name → the bigWig's name, for the bigWig's chromosomes renamed with
    ``aliases`` (``{alias: genome name}``, :func:`seqcnn.data.regions.read_chrom_aliases`).

    The bigWig's names are checked against the genome's as a BED file's are
    (:func:`~seqcnn.data.regions.check_chrom_names`, one count per chromosome): a naming
    mismatch stops with the likely fix. A chromosome whose length differs from the
    genome's is a :class:`TrackError` (another assembly).
    """
    aliases = aliases or {}
    renamed = {aliases.get(c, c): c for c in bw_sizes}
    check_chrom_names({g: 1 for g in renamed}, list(genome_sizes), path,
                      what=f"bigWig {what}; counted per chromosome")
    wrong = [(g, bw_sizes[b], genome_sizes[g]) for g, b in renamed.items()
             if g in genome_sizes and int(bw_sizes[b]) != int(genome_sizes[g])]
    if wrong:
        g, bw_len, g_len = wrong[0]
        raise TrackError(
            f"{path} ({what}): chromosome {g} is {bw_len} bp in the bigWig but {g_len} bp in "
            f"the genome ({len(wrong)} chromosome(s) differ): the track was made on another "
            "assembly; use a bigWig aligned to this genome")
    return {g: b for g, b in renamed.items() if g in genome_sizes}


def check_region_chroms(chroms: Mapping[str, int], mapping: Mapping[str, str],
                        bw_names: Iterable[str], path: str | os.PathLike,
                        what: str = "track") -> None:
    """:class:`TrackError` when regions (``chroms``: genome name → regions there) lie on
    chromosomes the bigWig lacks (``mapping`` from :func:`chrom_map`)."""
    absent = {c: n for c, n in chroms.items() if c not in mapping}
    if not absent:
        return
    raise TrackError(
        f"{path} ({what}): {sum(absent.values())} region(s) lie on chromosome(s) absent from "
        f"the bigWig: {examples(absent)}; the bigWig has {examples(sorted(bw_names))}. Fix: "
        "set chrom_aliases in the dataset's config if the names differ, or use a bigWig "
        "covering these chromosomes (or a split without them)")


def track_values(source, chrom: str, starts: np.ndarray, length: int,
                 tally: dict[str, int] | None = None) -> np.ndarray:
    """Signal of ``length`` bp from each of ``starts`` ``(N,)`` on ``chrom`` (the bigWig's
    name) → ``float32 (N, length)``.

    ``source`` is a bigWig path or an open reader (:func:`open_bigwig`). Positions without
    a value (NaN) become 0; their number is added to ``tally["nan_bp"]``. A window past the
    chromosome's end is a :class:`TrackError`.
    """
    starts = np.asarray(starts, dtype=np.int64)
    out = np.empty((len(starts), length), dtype=np.float32)
    with _reader(source) as bw:
        size = int(bw.chroms(chrom) or 0)
        bad = np.flatnonzero((starts < 0) | (starts + length > size))
        if len(bad):
            s = int(starts[bad[0]])
            raise TrackError(f"{_name(source)}: window {chrom}:{s}-{s + length} lies outside "
                             f"the bigWig's {chrom} ({size} bp); {len(bad)} window(s) do: the "
                             "regions and the track come from different assemblies")
        for i, s in enumerate(starts):
            out[i] = bw.values(chrom, int(s), int(s) + length, numpy=True)
    nan = np.isnan(out)
    n_nan = int(nan.sum())
    if n_nan:
        out[nan] = 0.0
    if tally is not None:
        tally["nan_bp"] = tally.get("nan_bp", 0) + n_nan
    return out


@contextmanager
def _reader(source) -> Iterator[Any]:
    if isinstance(source, (str, os.PathLike)):
        bw = open_bigwig(source)
        try:
            yield bw
        finally:
            bw.close()
    else:
        yield source


def _name(source) -> str:
    return str(source) if isinstance(source, (str, os.PathLike)) else "bigWig"


# --------------------------------------------------------------------------- targets


def crop(values: np.ndarray, output_len: int) -> np.ndarray:
    """The centred ``output_len`` of ``(..., L)`` → ``(..., output_len)`` (a view); the
    crop starts at ``(L - output_len) // 2``."""
    length = values.shape[-1]
    if output_len > length:
        raise ValueError(f"output_len {output_len} is longer than the input ({length})")
    a = (length - output_len) // 2
    return values[..., a:a + output_len]


def counts_target(profile: np.ndarray) -> np.ndarray:
    """Total signal per region and track: ``(N, T, L)`` → ``float32 (N, T)`` (summed in
    float64)."""
    return profile.sum(axis=-1, dtype=np.float64).astype(np.float32)


def binned_target(profile: np.ndarray, bin_size: int) -> np.ndarray:
    """Sums over consecutive bins: ``(N, T, L)`` → ``float32 (N, T, L // bin_size)``;
    ``bin_size`` must divide ``L``."""
    n, t, length = profile.shape
    if length % bin_size:
        raise ValueError(f"bin_size {bin_size} does not divide the profile length {length}")
    return profile.reshape(n, t, length // bin_size, bin_size).sum(
        axis=-1, dtype=np.float64).astype(np.float32)


def make_targets(profile: np.ndarray, settings: TrackSettings) -> np.ndarray:
    """Targets of one kind from cropped profiles ``(N, T, output_len)`` (float32)."""
    if settings.target == "counts":
        return counts_target(profile)
    if settings.target == "binned":
        return binned_target(profile, int(settings.bin_size))
    return np.ascontiguousarray(profile, dtype=np.float32)


def region_profiles(readers: Mapping[str, Any], maps: Mapping[str, Mapping[str, str]],
                    regions: pd.DataFrame, settings: TrackSettings,
                    tallies: Mapping[str, dict[str, int]]) -> np.ndarray:
    """Cropped signal of every track over ``regions`` (a table with chrom, start, end,
    strand; each ``seq_len`` long) → ``float32 (N, tracks, output_len)``.

    ``readers``: track → open bigWig; ``maps``: track → :func:`chrom_map`; ``tallies``:
    track → counts (``nan_bp``) updated in place. ``-`` strand rows are reversed.
    """
    n = len(regions)
    out = np.zeros((n, len(readers), settings.output_len), dtype=np.float32)
    if not n:
        return out
    chrom = regions["chrom"].to_numpy()
    start = regions["start"].to_numpy(np.int64) + settings.offset
    for j, (track, bw) in enumerate(readers.items()):
        for c in pd.unique(chrom):
            rows = np.flatnonzero(chrom == c)
            out[rows, j] = track_values(bw, maps[track][c], start[rows], settings.output_len,
                                        tallies[track])
    minus = np.flatnonzero((regions["strand"] == "-").to_numpy())
    if len(minus):
        out[minus] = out[minus][:, :, ::-1]
    return out


@dataclass
class TrackStats:
    """What :func:`write_track_targets` wrote: rows, the target ``shape``, per-track
    ``totals`` (sum of the targets) and ``nan_bp`` (positions read as 0), rows reversed
    (``-`` strand), the file's ``sha256``."""

    n: int = 0
    shape: tuple[int, ...] = ()
    totals: dict[str, float] = field(default_factory=dict)
    nan_bp: dict[str, int] = field(default_factory=dict)
    minus_strand: int = 0
    sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "shape": list(self.shape), "totals": self.totals,
                "nan_bp": self.nan_bp, "minus_strand_reversed": self.minus_strand,
                "sha256": self.sha256}


def write_track_targets(
    tracks: Mapping[str, str | os.PathLike], chunks: Iterable[pd.DataFrame], n: int,
    settings: TrackSettings, out_path: str | os.PathLike, genome_sizes: Mapping[str, int],
    aliases: Mapping[str, str] | None = None, what: str = "tracks",
) -> TrackStats:
    """Stream region chunks (:func:`seqcnn.data.regions.read_regions`, ``n`` rows in all)
    into ``out_path``: ``float32`` targets of :meth:`TrackSettings.shape`, rows in the
    chunks' order. ``tracks``: name → bigWig; ``what`` names them in messages (``tracks``
    or ``controls``). Regions on a chromosome a bigWig lacks, or rows of dinucleotide-
    shuffled negatives (no measured signal), are a :class:`TrackError`.
    """
    names = list(tracks)
    stats = TrackStats(shape=settings.shape(n, len(names)), totals={t: 0.0 for t in names},
                       nan_bp={t: 0 for t in names})
    tallies: dict[str, dict[str, int]] = {t: {"nan_bp": 0} for t in names}
    totals = {t: 0.0 for t in names}
    with ExitStack() as stack:
        readers = {}
        for t in names:
            bw = open_bigwig(tracks[t], f"{what}.{t}")
            stack.callback(bw.close)
            readers[t] = bw
        maps = {t: chrom_map(readers[t].chroms(), genome_sizes, aliases, tracks[t],
                             f"{what}.{t}") for t in names}
        out = stack.enter_context(NpyWriter(out_path, stats.shape, np.float32))
        for df in chunks:
            _check_chunk(df, settings, maps, readers, tracks, what)
            y = make_targets(region_profiles(readers, maps, df, settings, tallies), settings)
            out.write(y)
            sums = y.reshape(len(y), len(names), -1).sum(axis=(0, 2), dtype=np.float64)
            for j, t in enumerate(names):
                totals[t] += float(sums[j])
            stats.n += len(df)
            stats.minus_strand += int((df["strand"] == "-").sum())
    stats.totals = {t: round(v, 3) for t, v in totals.items()}
    stats.nan_bp = {t: tallies[t]["nan_bp"] for t in names}
    stats.sha256 = out.sha256
    return stats


def _check_chunk(df: pd.DataFrame, settings: TrackSettings, maps, readers, tracks,
                 what: str) -> None:
    length = (df["end"] - df["start"]).to_numpy()
    if len(df) and not (length == settings.seq_len).all():
        raise ValueError(f"every region must be {settings.seq_len} bp long; resize first")
    if "source" in df and (df["source"] == "shuffle").any():
        raise TrackError(
            f"{what}: {int((df['source'] == 'shuffle').sum())} region(s) are dinucleotide-"
            "shuffled negatives, which have no measured signal; set negatives: gc_matched "
            "(or a BED of background regions) in a dataset with tracks")
    counts = df["chrom"].value_counts().to_dict()
    for t, m in maps.items():
        check_region_chroms(counts, m, readers[t].chroms(), tracks[t], f"{what}.{t}")


__all__ = [
    "TARGET_KINDS", "TrackError", "TrackSettings", "TrackStats", "binned_target",
    "check_bigwig", "check_region_chroms", "chrom_map", "counts_target", "crop",
    "make_targets", "open_bigwig", "region_profiles", "track_settings", "track_values",
    "write_track_targets",
]
