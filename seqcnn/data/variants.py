"""Variants from a VCF as pairs of one-hot windows (reference and alternative allele).

:class:`VariantReader` reads a VCF (plain, gzip or bgzip; ``pysam.VariantFile``) record by
record and yields :class:`VariantChunk` s of at most ``chunk_size`` alleles: memory does not
grow with the number of variants. Each multi-allelic record is split into one variant per
ALT allele. What is not scored is counted per reason (:data:`DROP_REASONS`, in the order
they are checked):

- ``symbolic``: symbolic alleles (``<DEL>``, ``<INS>``…), breakends (``G]17:198982]``,
  ``.A``) and the spanning-deletion placeholder ``*``;
- ``no_alt``: a record without an ALT allele (``.``) or an ALT equal to REF;
- ``non_acgt``: REF or ALT with letters other than A, C, G, T, N;
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
    """The first of the allele-level reasons of :data:`DROP_REASONS` that applies, or None."""
    if alt is not None and is_symbolic(alt):
        return "symbolic"
    if alt is None or alt in (".", "") or alt.upper() == ref.upper():
        return "no_alt"
    if not set(ref.upper()) <= _ACGTN or not set(alt.upper()) <= _ACGTN:
        return "non_acgt"
    if max(len(ref), len(alt)) - 1 > max_indel_len:
        return "too_long"
    return None


def gather(seq: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Windows ``seq[s:s + length]`` for each start ``(n,)`` → ``uint8`` ``(n, length)``;
    positions before 0 or past the end are ``N``."""
    idx = np.asarray(starts, dtype=np.int64)[:, None] + np.arange(length)
    inside = (idx >= 0) & (idx < len(seq))
    out = seq[np.clip(idx, 0, max(len(seq) - 1, 0))] if len(seq) else np.full(idx.shape, _N)
    return np.where(inside, out, _N).astype(np.uint8)


def variant_windows(seq: np.ndarray, pos0: np.ndarray, refs: list[str], alts: list[str],
                    seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """ASCII windows ``(n, seq_len)`` of the reference and the alternative allele of each
    variant on one chromosome ``seq`` (``uint8`` ASCII): ``pos0`` 0-based starts of REF at
    index ``seq_len // 2``; the alternative's far flank cut or extended (module docstring)."""
    c = seq_len // 2
    pos0 = np.asarray(pos0, dtype=np.int64)
    ref_w = gather(seq, pos0 - c, seq_len)
    alt_w = ref_w.copy()
    if not len(pos0):
        return ref_w, alt_w
    snv = np.fromiter((len(r) == len(a) for r, a in zip(refs, alts, strict=True)), bool,
                      len(refs))
    for i in np.flatnonzero(snv):  # substitutions: the ALT letters over REF's
        a = alts[i].upper().encode()
        alt_w[i, c:c + len(a)] = np.frombuffer(a, np.uint8)[:seq_len - c]
    for i in np.flatnonzero(~snv):  # indels: left flank, ALT, then the far flank
        a = np.frombuffer(alts[i].upper().encode(), np.uint8)[:seq_len - c]
        rest = seq_len - c - len(a)
        alt_w[i, c:c + len(a)] = a
        alt_w[i, c + len(a):] = gather(seq, pos0[i:i + 1] + len(refs[i]), rest)[0]
    return ref_w, alt_w


def to_onehot(ascii_windows: np.ndarray) -> np.ndarray:
    """ASCII ``(n, L)`` → one-hot ``uint8`` ``(n, 4, L)`` (N and other letters all zero)."""
    return one_hot_codes(_CODES[ascii_windows], 4)


class VariantReader:
    """Iterate over the scorable alleles of a VCF in :class:`VariantChunk` s (module
    docstring). ``counts`` (reason → alleles, plus ``records``, ``alleles``, ``scored``,
    ``padded``) and ``unknown_chroms`` are complete once the iteration has finished.

    ``aliases`` maps the VCF's chromosome names to the genome's
    (:func:`seqcnn.data.regions.read_chrom_aliases`).
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
            for rec in vcf:
                counts[self.aliases.get(rec.chrom, rec.chrom)] += 1
        check_chrom_names(counts, self.genome.sizes, self.path, "variants",
                          self.genome.path)
        return dict(counts)

    def __iter__(self) -> Iterator[VariantChunk]:
        self.check_chroms()
        rows: list[tuple] = []
        with self._open() as vcf:
            for i, rec in enumerate(vcf):
                self.counts["records"] += 1
                chrom = self.aliases.get(rec.chrom, rec.chrom)
                if rows and (rows[-1][0] != chrom or len(rows) >= self.chunk_size):
                    yield self._chunk(rows)
                    rows = []
                rows.extend(self._alleles(i, rec, chrom))
        if rows:
            yield self._chunk(rows)

    def _alleles(self, i: int, rec, chrom: str) -> list[tuple]:
        """The scorable alleles of one record as table rows; drops counted."""
        ref = rec.ref or ""
        out = []
        for k, alt in enumerate(rec.alts or (None,), 1):
            self.counts["alleles"] += 1
            reason = drop_reason(ref, alt, self.max_indel_len)
            if reason is None:
                reason = self._locus_reason(i, rec, chrom, ref, alt)
            if reason is not None:
                self.counts[reason] += 1
                if reason == "unknown_chrom":
                    self.unknown_chroms[rec.chrom] += 1
                continue
            out.append((chrom, rec.pos, rec.id or ".", ref.upper(), alt.upper(),
                        allele_kind(ref.upper(), alt.upper()), i, k))
        return out

    def _locus_reason(self, i: int, rec, chrom: str, ref: str, alt: str) -> str | None:
        """``unknown_chrom``, ``outside_chromosome`` or ``ref_mismatch`` (an error under
        ``strict``), or None."""
        size = self.genome.sizes.get(chrom)
        if size is None:
            return "unknown_chrom"
        start = rec.pos - 1
        if start + len(ref) > size:
            return "outside_chromosome"
        found = self.genome.chromosome(chrom)[start:start + len(ref)].tobytes().decode()
        if found.upper() == ref.upper():
            return None
        if self.strict:
            raise InputError(
                f"{self.path}, record {i + 1} ({rec.chrom}:{rec.pos} {ref}>{alt}): REF "
                f"{ref!r} differs from the genome {self.genome.path} there ({found!r}). The "
                "VCF may be for another assembly, or not normalised: check the assembly, run "
                "`bcftools norm -f genome.fa --check-ref s` on it, or set "
                "variants_options: {strict: false} to drop and count such variants")
        return "ref_mismatch"

    def _chunk(self, rows: list[tuple]) -> VariantChunk:
        table = pd.DataFrame(rows, columns=COLUMNS)
        if not len(table):
            empty = np.zeros((0, 4, self.seq_len), np.uint8)
            return VariantChunk(table, empty, empty.copy())
        seq = self.genome.chromosome(table["chrom"].iat[0])
        pos0 = table["pos"].to_numpy(np.int64) - 1
        ref_w, alt_w = variant_windows(seq, pos0, table["ref"].tolist(), table["alt"].tolist(),
                                       self.seq_len)
        c = self.seq_len // 2
        far = np.maximum(table["ref"].str.len(), table["alt"].str.len()).to_numpy()
        self.counts["padded"] += int(((pos0 - c < 0) | (pos0 - c + self.seq_len + far
                                                          > len(seq))).sum())
        self.counts["scored"] += len(table)
        return VariantChunk(table, to_onehot(ref_w), to_onehot(alt_w))


def drop_summary(counts: Mapping[str, int]) -> str:
    """``3 symbolic, 1 ref_mismatch`` (reasons with a count), or ``none``."""
    parts = [f"{counts[r]} {r}" for r in DROP_REASONS if counts.get(r)]
    return ", ".join(parts) or "none"


__all__ = ["COLUMNS", "DROP_REASONS", "VariantChunk", "VariantReader", "allele_kind",
           "drop_reason", "drop_summary", "gather", "is_symbolic", "to_onehot",
           "variant_windows"]
