"""Variants from a VCF as pairs of one-hot windows (reference and alternative allele).

:class:`VariantReader` reads a VCF (plain, gzip or bgzip; ``pysam.VariantFile``) record by
record in batches of about ``chunk_size`` alleles of one chromosome and yields one
:class:`VariantChunk` of the scorable ones per batch: memory does not grow with the number
of variants. Each multi-allelic record is split into one variant per
ALT allele. What is not scored is counted per reason (:data:`DROP_REASONS`, in the order
they are checked):

- ``symbolic``: symbolic alleles (``<DEL>``, ``<INS>``…), breakends (``G]17:198982]``,
  ``.A``) and the spanning-deletion placeholder ``*``;
- ``no_alt``: a record without an ALT allele (``.``) or an ALT equal to REF;
- ``non_acgt``: REF or ALT with letters other than A, C, G, T, N, or an empty REF;
- ``too_long``: more than ``max_indel_len`` bases beyond the VCF's padding base
  (``max(len(REF), len(ALT)) − 1 > max_indel_len``; ``max_indel_len`` is capped at
  ``seq_len − seq_len // 2 − 1`` so that every allele fits the window's right half);
- ``unknown_chrom``: on a chromosome the genome lacks (after ``chrom_aliases``);
- ``outside_chromosome``: REF runs past the chromosome's end;
- ``ref_mismatch``: REF differs from the genome there (case ignored); under ``strict`` this
  is an :class:`~seqcnn.errors.InputError` naming the record instead.

Chromosome names are checked as for BED files
(:func:`seqcnn.data.regions.check_chrom_names`): when most records are on chromosomes the
genome lacks, a :class:`~seqcnn.data.regions.ChromNameError` names both lists and the fix.

Windows: ``seq_len`` bases, the variant's first base (VCF ``POS``) at index
``c = seq_len // 2`` of both windows. The alternative window is the same left flank, the ALT
allele, then the bases after REF, cut or extended at the far (right) end to ``seq_len``: an
insertion pushes the right flank out, a deletion pulls more of it in, so both windows share
their start, their centre and their length (as Basenji and gReLU do). Bases past a
chromosome's end are N (all-zero columns), counted as ``padded``.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seqcnn.alphabet import lookup_table, one_hot_codes
from seqcnn.data.genome import Genome
from seqcnn.data.regions import check_chrom_names
from seqcnn.errors import InputError

#: Why an allele is not scored, in the order the checks run.
DROP_REASONS = ("symbolic", "no_alt", "non_acgt", "too_long", "unknown_chrom",
                "outside_chromosome", "ref_mismatch")
#: Columns of :attr:`VariantChunk.table`.
COLUMNS = ["chrom", "pos", "id", "ref", "alt", "kind", "record", "allele"]
_ACGTN = frozenset("ACGTN")
_N = ord("N")
_CODES = lookup_table("dna")
_UPPER = np.frombuffer(bytes(range(256)).upper(), np.uint8)


@dataclass
class VariantChunk:
    """Scored alleles of one chromosome: ``table`` (:data:`COLUMNS`; ``pos`` 1-based as in
    the VCF, ``record`` the 0-based record number, ``allele`` the 1-based ALT number) and
    the one-hot windows ``ref``, ``alt``: ``uint8`` ``(n, 4, seq_len)``, A, C, G, T."""

    table: pd.DataFrame
    ref: np.ndarray
    alt: np.ndarray

    def __len__(self) -> int:
        return len(self.table)


def is_symbolic(alt: str) -> bool:
    """Whether an ALT allele is symbolic (``<…>``), a breakend or ``*``."""
    return (alt.startswith("<") or "[" in alt or "]" in alt or alt == "*"
            or (len(alt) > 1 and (alt.startswith(".") or alt.endswith("."))))


def allele_kind(ref: str, alt: str) -> str:
    """``snv``, ``mnv`` (equal lengths > 1), ``insertion``, ``deletion`` or ``complex``
    (different lengths and different first bases)."""
    if len(ref) == len(alt):
        return "snv" if len(ref) == 1 else "mnv"
    if ref[0] != alt[0]:
        return "complex"
    return "insertion" if len(alt) > len(ref) else "deletion"


def drop_reason(ref: str, alt: str | None, max_indel_len: int) -> str | None:
    """The first of the allele-level reasons of :data:`DROP_REASONS` that applies, or None.
    An empty REF counts as ``non_acgt``."""
    if alt is not None and is_symbolic(alt):
        return "symbolic"
    if alt is None or alt in (".", "") or alt.upper() == ref.upper():
        return "no_alt"
    if not ref or not set(ref.upper()) <= _ACGTN or not set(alt.upper()) <= _ACGTN:
        return "non_acgt"
    if max(len(ref), len(alt)) - 1 > max_indel_len:
        return "too_long"
    return None


def gather(seq: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Windows ``seq[s:s + length]`` for each start ``(n,)`` → ``uint8`` ``(n, length)``;
    positions before 0 or past the end are ``N``. Windows inside the sequence are one copy
    from a strided view; only the others are built index by index."""
    starts = np.asarray(starts, dtype=np.int64)
    out = np.full((len(starts), length), _N, np.uint8)
    if not len(starts) or length <= 0:
        return out
    inside = (starts >= 0) & (starts + length <= len(seq))
    if len(seq) >= length:
        view = np.lib.stride_tricks.sliding_window_view(seq, length)
        out[inside] = view[starts[inside]]
    edge = np.flatnonzero(~inside)
    if len(edge) and len(seq):
        idx = starts[edge, None] + np.arange(length)
        ok = (idx >= 0) & (idx < len(seq))
        out[edge] = np.where(ok, seq[np.clip(idx, 0, len(seq) - 1)], _N)
    return out


def ascii_matrix(alleles: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Alleles (ASCII strings) → upper-case bytes ``uint8`` ``(n, longest)``, zero-padded,
    and their lengths ``(n,)`` int64."""
    lengths = np.fromiter(map(len, alleles), np.int64, len(alleles))
    width = max(1, int(lengths.max(initial=0)))
    raw = np.array(alleles, dtype=f"S{width}").view(np.uint8).reshape(len(alleles), width)
    return _UPPER[raw], lengths


def variant_windows(seq: np.ndarray, pos0: np.ndarray, refs: list[str], alts: list[str],
                    seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """ASCII windows ``(n, seq_len)`` of the reference and the alternative allele of each
    variant on one chromosome ``seq`` (``uint8`` ASCII): ``pos0`` 0-based starts of REF at
    index ``seq_len // 2``; the alternative's far flank cut or extended (module docstring).

    One gather for all kinds: column ``c + k`` of the alternative is ALT's ``k``-th letter
    for ``k < len(ALT)``, else the genome at ``pos0 + len(REF) + k − len(ALT)``."""
    c, right = seq_len // 2, seq_len - seq_len // 2
    pos0 = np.asarray(pos0, dtype=np.int64)
    ref_w = gather(seq, pos0 - c, seq_len)
    alt_w = ref_w.copy()
    if not len(pos0):
        return ref_w, alt_w
    ref_len = np.fromiter(map(len, refs), np.int64, len(refs))
    letters, alt_len = ascii_matrix(alts)
    k = np.arange(right)
    allele = np.zeros((len(pos0), right), np.uint8)
    w = min(letters.shape[1], right)
    allele[:, :w] = letters[:, :w]
    flank = gather(seq, pos0 + ref_len - alt_len, right)
    alt_w[:, c:] = np.where(k < alt_len[:, None], allele, flank)
    return ref_w, alt_w


def allele_kinds(ref: np.ndarray, alt: np.ndarray, ref_len: np.ndarray, alt_len: np.ndarray
                 ) -> np.ndarray:
    """:func:`allele_kind` of many alleles from their :func:`ascii_matrix` bytes and
    lengths: object array ``(n,)``."""
    same_first = ref[:, 0] == alt[:, 0]
    kind = np.where(ref_len == alt_len, np.where(ref_len == 1, "snv", "mnv"),
                    np.where(~same_first, "complex",
                             np.where(alt_len > ref_len, "insertion", "deletion")))
    return kind.astype(object)


def to_onehot(ascii_windows: np.ndarray) -> np.ndarray:
    """ASCII ``(n, L)`` → one-hot ``uint8`` ``(n, 4, L)`` (N and other letters all zero)."""
    return one_hot_codes(_CODES[ascii_windows], 4)


class VariantReader:
    """Iterate over the scorable alleles of a VCF in :class:`VariantChunk` s (module
    docstring). ``counts`` (reason → alleles, plus ``records``, ``alleles``, ``scored``,
    ``padded``) and ``unknown_chroms`` are complete once the iteration has finished.

    ``aliases`` maps the VCF's chromosome names to the genome's
    (:func:`seqcnn.data.regions.read_chrom_aliases`).

    Speed: pysam parses the records; everything after that works on a batch of records
    of one chromosome at once (REF checked against the genome with one gather, windows
    cut with one gather, kinds and counts as arrays). The only per-allele Python is the
    allele-level check of :func:`drop_reason`, memoised for short alleles.
    """

    def __init__(self, path: str | os.PathLike, genome: Genome, seq_len: int, *,
                 aliases: Mapping[str, str] | None = None, max_indel_len: int = 50,
                 strict: bool = False, chunk_size: int = 1024) -> None:
        self.path, self.genome, self.seq_len = Path(path), genome, seq_len
        self.aliases = dict(aliases or {})
        #: ``max_indel_len``, capped so that the longest allele fits the window's right half
        self.max_indel_len = min(max_indel_len, seq_len - seq_len // 2 - 1)
        self.strict, self.chunk_size = strict, chunk_size
        self.counts: Counter = Counter({r: 0 for r in DROP_REASONS})
        self.unknown_chroms: Counter = Counter()
        self._reasons: dict[tuple[str, str | None], str | None] = {}

    def _open(self):
        import pysam

        if not self.path.exists():
            raise InputError(f"variants file not found: {self.path}: check the path under "
                             "the dataset's variants: in the config")
        try:
            return pysam.VariantFile(str(self.path))
        except (OSError, ValueError) as err:
            raise InputError(f"{self.path}: not a readable VCF ({err}); give a VCF (plain, "
                             "gzip or bgzip) with a ##fileformat=VCF header") from err

    def check_chroms(self) -> dict[str, int]:
        """Records per chromosome (after ``aliases``); raises
        :class:`~seqcnn.data.regions.ChromNameError` when the names do not fit the genome."""
        counts: Counter = Counter()
        with self._open() as vcf:
            counts.update(self.aliases.get(rec.chrom, rec.chrom) for rec in vcf)
        check_chrom_names(counts, self.genome.sizes, self.path, "variants", self.genome.path)
        return dict(counts)

    def __iter__(self) -> Iterator[VariantChunk]:
        self.check_chroms()
        batch: list[tuple] = []
        alleles = 0
        with self._open() as vcf:
            for i, rec in enumerate(vcf):
                chrom, alts = rec.chrom, rec.alts
                if batch and (batch[-1][1] != chrom or alleles >= self.chunk_size):
                    chunk = self._chunk(batch)
                    if chunk is not None:
                        yield chunk
                    batch, alleles = [], 0
                batch.append((i, chrom, rec.pos, rec.id, rec.ref, alts))
                alleles += len(alts) if alts else 1
        if batch:
            chunk = self._chunk(batch)
            if chunk is not None:
                yield chunk

    def _reason(self, ref: str, alt: str | None) -> str | None:
        """:func:`drop_reason`, memoised for alleles of at most 2 letters."""
        key = (ref, alt)
        try:
            return self._reasons[key]
        except KeyError:
            reason = drop_reason(ref, alt, self.max_indel_len)
            if len(ref) <= 2 and (alt is None or len(alt) <= 2):
                self._reasons[key] = reason
            return reason

    def _chunk(self, batch: list[tuple]) -> VariantChunk | None:
        """The scorable alleles of a batch of records on one chromosome; drops counted."""
        self.counts["records"] += len(batch)
        rows = [(i, pos, vid, ref or "", alt, k) for i, _, pos, vid, ref, alts in batch
                for k, alt in enumerate(alts or (None,), 1)]
        self.counts["alleles"] += len(rows)
        reasons = [self._reason(r[3], r[4]) for r in rows]
        self.counts.update(r for r in reasons if r is not None)
        rows = [r for r, why in zip(rows, reasons, strict=True) if why is None]
        if not rows:
            return None
        name = batch[0][1]
        chrom = self.aliases.get(name, name)
        if chrom not in self.genome.sizes:
            self.counts["unknown_chrom"] += len(rows)
            self.unknown_chroms[name] += len(rows)
            return None
        record, pos, ids, refs, alts, allele = (list(x) for x in zip(*rows, strict=True))
        pos0 = np.asarray(pos, np.int64) - 1
        ref_b, ref_len = ascii_matrix(refs)
        inside = pos0 + ref_len <= self.genome.sizes[chrom]
        self.counts["outside_chromosome"] += int((~inside).sum())
        seq = self.genome.chromosome(chrom)
        found = _UPPER[gather(seq, pos0, ref_b.shape[1])]
        match = ((found == ref_b) | (np.arange(ref_b.shape[1]) >= ref_len[:, None])).all(1)
        mismatch = inside & ~match
        if mismatch.any() and self.strict:
            j = int(np.flatnonzero(mismatch)[0])
            self._mismatch_error(record[j], name, pos[j], refs[j], alts[j],
                                 seq[pos0[j]:pos0[j] + ref_len[j]].tobytes().decode())
        self.counts["ref_mismatch"] += int(mismatch.sum())
        keep = np.flatnonzero(inside & match)
        if not len(keep):
            return None
        pos0, ref_b, ref_len = pos0[keep], ref_b[keep], ref_len[keep]
        refs = [refs[j].upper() for j in keep]
        alts = [alts[j].upper() for j in keep]
        alt_b, alt_len = ascii_matrix(alts)
        table = pd.DataFrame({
            "chrom": np.full(len(keep), chrom, dtype=object),
            "pos": pos0 + 1,
            "id": np.array([ids[j] or "." for j in keep], dtype=object),
            "ref": np.array(refs, dtype=object), "alt": np.array(alts, dtype=object),
            "kind": allele_kinds(ref_b, alt_b, ref_len, alt_len),
            "record": np.asarray(record, np.int64)[keep],
            "allele": np.asarray(allele, np.int64)[keep]}, columns=COLUMNS)
        ref_w, alt_w = variant_windows(seq, pos0, refs, alts, self.seq_len)
        c = self.seq_len // 2
        far = np.maximum(ref_len, alt_len)
        self.counts["padded"] += int(((pos0 - c < 0) | (pos0 - c + self.seq_len + far
                                                          > len(seq))).sum())
        self.counts["scored"] += len(table)
        return VariantChunk(table, to_onehot(ref_w), to_onehot(alt_w))

    def _mismatch_error(self, i: int, name: str, pos: int, ref: str, alt: str,
                        found: str) -> None:
        raise InputError(
            f"{self.path}, record {i + 1} ({name}:{pos} {ref}>{alt}): REF "
            f"{ref!r} differs from the genome {self.genome.path} there ({found!r}). The "
            "VCF may be for another assembly, or not normalised: check the assembly, run "
            "`bcftools norm -f genome.fa --check-ref s` on it, or set "
            "variants_options: {strict: false} to drop and count such variants")


def drop_summary(counts: Mapping[str, int]) -> str:
    """``3 symbolic, 1 ref_mismatch`` (reasons with a count), or ``none``."""
    parts = [f"{counts[r]} {r}" for r in DROP_REASONS if counts.get(r)]
    return ", ".join(parts) or "none"


__all__ = ["COLUMNS", "DROP_REASONS", "VariantChunk", "VariantReader", "allele_kind",
           "allele_kinds", "ascii_matrix", "drop_reason", "drop_summary", "gather",
           "is_symbolic", "to_onehot", "variant_windows"]
