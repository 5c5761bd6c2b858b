"""Sequence-set datasets: labelled sequences from a FASTA and a TSV, not intervals on a genome.

MPRA promoter libraries, RNA probes, protein families and secondary-structure sets come as
sequences with labels. This module reads them, checks them, splits them and writes the same
memory-mappable cache as the genome path (:mod:`seqcnn.data.cache`), plus a length array.

Inputs
------
- a FASTA (plain or gzipped, multi-line records); the id is the header up to the first
  whitespace. Lowercase letters are accepted. ``N`` (DNA/RNA) and ``X`` (protein) are
  accepted as *unknown* residues and encode as all-zero columns (see ``unknown``); any other
  letter outside the alphabet is an error that names the record and the position.
- a labels TSV (plain or gzipped; ``#`` lines skipped) with a header and an ``id`` column,
  and either
  * ``label_columns``: one or more per-sequence columns. Numbers that are all integral
    (``1``, ``1.0``, ``1e0``) are integer classes: non-negative ones keep their value as class
    code (``0``/``1`` only: a *binary* task; otherwise *multiclass* with classes
    ``"0" .. str(max)``), a column with negatives gets codes in numeric order;
    ``true``/``false`` (any case) is *binary* (false → 0); other strings become integer codes
    in sorted order of the distinct values (*multiclass*; the class list is returned). A
    column where at least half the values are numbers and some are not integers is a
    quantity: a *regression* target (``label_type`` ``null``: detected, with the evidence in
    ``report["label_type"]``; given as ``binary``/``multiclass``: an error); more than
    :data:`MANY_CLASSES` integer classes is a warning. With ``label_type: regression`` every
    label column is read as real numbers (``float32``; a word is an error naming the row),
    trained with ``loss`` ``mse`` or ``poisson`` (values must be >= 0); or
  * ``position_label``: one column holding a string with one character per residue (e.g.
    secondary structure ``H``/``E``/``C``); its characters are the classes (sorted, or in the
    order of ``position_classes`` when given).
- optionally a ``split`` column (``train``/``valid``/``test``) and a ``group`` column.

Missing labels (empty, ``NA``, ``N/A``, ``NaN``, ``null``, any case: :data:`MISSING_VALUES`)
are never a class: an error naming the rows, or with ``missing_labels: drop`` those records
are dropped and counted (``report["missing_labels"]``, ``report["dropped"]``).

Alphabet
--------
``auto`` picks ``dna`` (only ACGTN), ``rna`` (only ACGUN) or ``protein`` (other letters);
nucleotides with both U and T are an error naming records of each, and so are letters that
are mostly nucleotides (:data:`NUCLEIC_FRACTION`) with a few others (IUPAC codes such as R,
Y), which would otherwise be read as protein. ``dna`` reads U as T and
``rna`` reads T as U, counted in ``report["converted"]`` and warned.

Splits
------
With a ``split`` column, it is used as is. Otherwise a seeded random split with fractions
``train/valid/test`` (default 0.8/0.1/0.1), stratified on the first label column: each class
is permuted and cut at the fractions with a random phase (so small classes are rounded
without bias and the expected counts are exact). With a ``group`` column, whole groups are
assigned (greedily, largest first, to the split whose class counts most lack them), so no
group straddles two splits. Identical sequences in different splits are reported
(``report["duplicates"]``), and dropped only on request (``dedupe``).

Cache layout (one directory, per split ``s``)
----------------------------------------------
- ``{s}.onehot.npy``  ``uint8`` ``(N, A, L)``: one-hot, **zero** past each sequence's end;
- ``{s}.lengths.npy`` ``int32`` ``(N,)``: the number of real positions of each row;
- ``{s}.labels.npy``  ``uint8`` ``(N, tasks)`` per-sequence class codes, or ``(N, L)``
  per-position class codes with ``255`` (:data:`IGNORE`) past the end, or ``float32``
  ``(N, tasks)`` values of regression targets (``NaN`` = no label);
- ``{s}.ids.tsv``: ``id`` and ``length`` per row, in cache order.

``L`` is the dataset's longest sequence (over all splits), or ``max_len`` when given; longer
sequences are cropped to their first ``max_len`` residues or dropped (``too_long``), counted.
Without ``max_len``, a longest sequence more than :data:`OUTLIER_FACTOR` (4) times the 99th
percentile of lengths is warned with the cache size padded to it and to the suggested
``max_len`` (``report["length_outliers"]``).

Padding convention
------------------
The cache is always ``uint8`` one-hot with zero padding **plus** ``lengths``; the padding
*mode* is applied at load time by :func:`seqcnn.train.batches.pad_batch`, so one cache
serves every mode (a
padding experiment compares modes without rebuilding it, and the cache stays a quarter of
the size of ``float32``):

- ``zeros``: padded columns are 0, no mask (the model sees the padding: the classic shortcut);
- ``zeros+mask``: padded columns are 0 and a mask ``(N, L)`` (``True`` on real positions) is
  returned for the masked layers of :mod:`seqcnn.models`;
- ``uniform``: padded columns are ``1/A`` in every channel (an "unknown residue" prior), no
  mask.

Unknown residues *inside* a sequence (N, X) stay all-zero in every mode: they are real
positions.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqcnn.alphabet import ALPHABETS, UNKNOWN, letters, lookup_table, one_hot_codes
from seqcnn.data import SPLITS
from seqcnn.data.cache import IGNORE, NpyWriter
from seqcnn.data.fasta import read_fasta
from seqcnn.data.genome import open_text
from seqcnn.errors import EXAMPLES, SeqSetError, examples, require_file

TOO_LONG = ("crop", "drop")
#: ``label_type`` of a sequence set's per-sequence label columns (``None``: detected).
LABEL_TYPES = ("regression", "binary", "multiclass")
#: Random splits of regression targets stratify on this many quantile bins of the first
#: label column.
REGRESSION_STRATA = 10
DEDUPE = ("none", "across", "all")
MISSING_LABELS = ("error", "drop")
#: Label values read as *missing* (compared case-insensitively): never a class.
MISSING_VALUES = frozenset({"", "na", "n/a", "nan", "null"})
#: Label values read as a boolean binary task (case-insensitive): false → 0, true → 1.
BOOLEAN_VALUES = {"false": 0, "true": 1}
#: An integer label column with more classes than this gets a "regression?" warning.
MANY_CLASSES = 20
#: The longest sequence is a length outlier past this many times the 99th percentile.
OUTLIER_FACTOR = 4
#: Under ``alphabet: auto``, letters at least this much A/C/G/T/U/N are nucleic acid, even
#: with other letters (IUPAC codes): an error, not protein (real proteins are ~25 % ACGT).
NUCLEIC_FRACTION = 0.9
#: Letters accepted as an unknown residue (encoded as an all-zero column), per alphabet.
DEFAULT_UNKNOWN = {"dna": "N", "rna": "N", "protein": "X"}

_INT = re.compile(r"^-?[0-9]+$")


def _rows(ids: Sequence[str], lines: Sequence[int], idx: Sequence[int],
          n: int = EXAMPLES) -> str:
    """``'id' (line 3), 'id2' (line 7) … (+k more)`` for the rows ``idx``."""
    idx = list(idx)
    shown = ", ".join(f"{str(ids[i])!r} (line {lines[i]})" for i in idx[:n])
    return shown + (f" … (+{len(idx) - n} more)" if len(idx) > n else "")


# --------------------------------------------------------------------------- alphabet


def _ascii(seqs: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated ASCII bytes of ``seqs`` and their end offsets ``(n,)``."""
    buf = np.frombuffer("".join(seqs).encode("ascii", errors="replace"), dtype=np.uint8)
    ends = np.cumsum([len(s) for s in seqs], dtype=np.int64)
    return buf, ends


def detect_alphabet(
    seqs: Sequence[str], ids: Sequence[str] | None = None, path: str | os.PathLike = "",
    lines: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Guess the alphabet from the letters used (case-insensitive).

    Only ``ACGTN`` → ``dna``; only ``ACGUN`` → ``rna``; anything else → ``protein``. Returns
    ``{"alphabet", "observed" (sorted distinct letters), "rule"}``, for the log and manifest.
    Only nucleotide letters with *both* ``U`` and ``T`` raise :class:`SeqSetError` naming
    the records with each (``ids``, header ``lines``, ``path``) and the fix (``alphabet:
    rna`` reads T as U, ``alphabet: dna`` reads U as T): auto cannot choose, and calling
    such a file protein would be wrong.
    """
    buf, _ = _ascii(seqs)
    counts = np.bincount(buf, minlength=256)
    observed = "".join(sorted({chr(c).upper() for c in np.flatnonzero(counts)}))
    if set(observed) <= set("ACGTN"):
        alphabet, rule = "dna", "only A, C, G, T (and N)"
    elif set(observed) <= set("ACGUN"):
        alphabet, rule = "rna", "only A, C, G, U (and N)"
    elif set(observed) <= set("ACGTUN"):
        raise SeqSetError(_mixed_u_t_message(seqs, ids, path, lines))
    else:
        nucleic = sum(int(counts[ord(c)] + counts[ord(c.lower())]) for c in "ACGTUN")
        if nucleic >= NUCLEIC_FRACTION * len(buf):
            raise SeqSetError(_ambiguous_nucleic_message(seqs, ids, path, lines,
                                                         nucleic / len(buf)))
        alphabet, rule = "protein", "letters other than A, C, G, T/U, N"
    return {"alphabet": alphabet, "observed": observed, "rule": rule}


def _ambiguous_nucleic_message(seqs: Sequence[str], ids: Sequence[str] | None,
                               path: str | os.PathLike, lines: Sequence[int] | None,
                               fraction: float) -> str:
    """The error for nucleic acids with other letters (IUPAC codes) under ``auto``."""
    ids = [f"#{i + 1}" for i in range(len(seqs))] if ids is None else list(ids)
    lines = ["?"] * len(seqs) if lines is None else list(lines)
    nucleic = set("ACGTUN")
    rows = [i for i, q in enumerate(seqs) if set(q.upper()) - nucleic]
    others = sorted(set().union(*(set(seqs[i].upper()) for i in rows)) - nucleic)
    where = f"{path}: " if str(path) else ""
    return (
        f"{where}the letters are {100 * fraction:.1f} % A, C, G, T/U, N (nucleic acid), with "
        f"other letters {', '.join(others)} in {len(rows)} record(s): "
        f"{_rows(ids, lines, rows)}; alphabet: auto would call this protein. If these are "
        "ambiguity codes, replace them with N (an unknown base), then alphabet: auto or dna "
        "| rna; if the file really is protein, set alphabet: protein."
    )


def _mixed_u_t_message(seqs: Sequence[str], ids: Sequence[str] | None,
                       path: str | os.PathLike, lines: Sequence[int] | None) -> str:
    """The error for nucleotide sequences that use both U and T."""
    ids = [f"#{i + 1}" for i in range(len(seqs))] if ids is None else list(ids)
    lines = ["?"] * len(seqs) if lines is None else list(lines)
    with_u = [i for i, s in enumerate(seqs) if "U" in s or "u" in s]
    with_t = [i for i, s in enumerate(seqs) if "T" in s or "t" in s]
    where = f"{path}: " if str(path) else ""
    return (
        f"{where}the sequences use both U and T (RNA and DNA letters) and otherwise only "
        f"A, C, G, N, so alphabet: auto cannot choose. {len(with_u)} record(s) have U: "
        f"{_rows(ids, lines, with_u)}; {len(with_t)} record(s) have T: "
        f"{_rows(ids, lines, with_t)}. Set alphabet: rna in the dataset's config to read T as "
        "U (or alphabet: dna to read U as T; the converted records are counted in the log "
        "and the manifest), or fix the file."
    )


#: The letter each nucleotide alphabet reads as its own: ``(from, to)``.
_CONVERT = {"dna": ("U", "T"), "rna": ("T", "U")}


def convert_nucleotides(
    seqs: list[str], ids: Sequence[str], alphabet: str
) -> tuple[list[str], dict[str, Any] | None]:
    """Read U as T for ``dna`` and T as U for ``rna`` (case kept); other alphabets unchanged.

    Returns the sequences and ``{"from", "to", "records", "residues", "examples"}`` (``None``
    for protein), for the log and the manifest.
    """
    if alphabet not in _CONVERT:
        return seqs, None
    src, dst = _CONVERT[alphabet]
    table = str.maketrans(src + src.lower(), dst + dst.lower())
    out = list(seqs)
    rows: list[int] = []
    residues = 0
    for i, seq in enumerate(seqs):
        n = seq.count(src) + seq.count(src.lower())
        if n:
            out[i] = seq.translate(table)
            rows.append(i)
            residues += n
    return out, {"from": src, "to": dst, "records": len(rows), "residues": residues,
                 "examples": [str(ids[i]) for i in rows[:EXAMPLES]]}


def check_letters(
    ids: Sequence[str], seqs: Sequence[str], alphabet: str, path: str | os.PathLike,
    unknown: str | None = None, lines: Sequence[int] | None = None,
) -> None:
    """Raise :class:`SeqSetError` at the first letter outside ``alphabet`` + ``unknown``.

    The message names the file, the record id (and header line), the letter and its 1-based
    position, and how many records have bad letters. ``unknown`` defaults to
    :data:`DEFAULT_UNKNOWN` for the alphabet (``N`` or ``X``).
    """
    if unknown is None:
        unknown = DEFAULT_UNKNOWN[alphabet]
    valid = lookup_table(alphabet) != UNKNOWN
    for ch in unknown:
        valid[ord(ch.upper())] = valid[ord(ch.lower())] = True
    buf, ends = _ascii(seqs)
    bad = np.flatnonzero(~valid[buf])
    if not len(bad):
        return
    records = np.unique(np.searchsorted(ends, bad, side="right"))
    rec = int(records[0])
    start = int(ends[rec - 1]) if rec else 0
    pos = int(bad[0]) - start
    where = f"record {ids[rec]!r}" + (f" (line {lines[rec]})" if lines is not None else "")
    raise SeqSetError(
        f"{path}: {where}: letter {seqs[rec][pos]!r} at position {pos + 1} (1-based) is not in "
        f"the {alphabet} alphabet {letters(alphabet)}"
        + (f" (unknown residue: {unknown})" if unknown else "")
        + f"; {len(records)} record(s) have such letters: {examples(ids[int(r)] for r in records)}."
        " Fix or remove them, or choose another alphabet (alphabet: dna | rna | protein | auto)."
    )


# --------------------------------------------------------------------------- labels


def read_labels(path: str | os.PathLike, id_column: str = "id") -> pd.DataFrame:
    """Read a labels TSV (plain or gzipped) → DataFrame of strings plus ``line`` (1-based).

    ``#`` lines and blank lines are skipped; the first other line is the header. Values are
    kept as stripped strings. Raises :class:`SeqSetError` naming the file and line for a
    wrong number of fields, a missing ``id_column``, empty or duplicate ids.
    """
    path = Path(path)
    require_file(path, "labels TSV")
    header: list[str] | None = None
    rows: list[list[str]] = []
    line_no: list[int] = []
    with open_text(path) as fh:
        for no, raw in enumerate(fh, start=1):
            text = raw.rstrip("\r\n")
            if not text.strip() or text.startswith("#"):
                continue
            fields = [f.strip() for f in text.split("\t")]
            if header is None:
                header = fields
                dupe = sorted({h for h in header if header.count(h) > 1})
                if dupe:
                    raise SeqSetError(f"{path}, line {no}: repeated column(s) {examples(dupe)}")
                if id_column not in header:
                    raise SeqSetError(
                        f"{path}, line {no}: no {id_column!r} column in the header "
                        f"(columns: {', '.join(header)}); the labels file must be tab-separated "
                        f"with a column {id_column!r} holding the FASTA ids"
                    )
                continue
            if len(fields) != len(header):
                raise SeqSetError(
                    f"{path}, line {no}: {len(fields)} tab-separated field(s), the header has "
                    f"{len(header)} ({', '.join(header)})"
                )
            rows.append(fields)
            line_no.append(no)
    if header is None:
        raise SeqSetError(f"{path}: empty labels file (no header line)")
    df = pd.DataFrame(rows, columns=header, dtype=object)
    if "line" in header:
        raise SeqSetError(f"{path}: 'line' is a reserved column name; rename it")
    df["line"] = np.asarray(line_no, dtype=np.int64)
    empty = np.flatnonzero((df[id_column] == "").to_numpy())
    if len(empty):
        raise SeqSetError(f"{path}, line {df['line'][empty[0]]}: empty {id_column!r}")
    dup = df[id_column].duplicated(keep=False).to_numpy()
    if dup.any():
        first = df[id_column][np.flatnonzero(dup)[0]]
        at = df.loc[df[id_column] == first, "line"].tolist()
        names = df[id_column][dup].unique()
        raise SeqSetError(
            f"{path}: duplicate id {first!r} (lines {', '.join(map(str, at))}); {len(names)} "
            f"id(s) are labelled more than once: {examples(names)}. Keep one row per id."
        )
    return df


def match_labels(
    records: pd.DataFrame, labels: pd.DataFrame, fasta_path: str | os.PathLike,
    labels_path: str | os.PathLike, id_column: str = "id",
) -> pd.DataFrame:
    """Labels rows in the order of the FASTA ``records``; every id must be in both files.

    Raises :class:`SeqSetError` with the counts and first ids of sequences without labels
    and of labels without sequences.
    """
    seq_ids = pd.Index(records["id"])
    lab_ids = pd.Index(labels[id_column])
    no_label = seq_ids[~seq_ids.isin(lab_ids)]
    no_seq = lab_ids[~lab_ids.isin(seq_ids)]
    if len(no_label) or len(no_seq):
        msg = []
        if len(no_label):
            msg.append(f"{len(no_label)} sequence id(s) in {fasta_path} have no row in "
                       f"{labels_path}: {examples(no_label)}")
        if len(no_seq):
            msg.append(f"{len(no_seq)} id(s) in {labels_path} have no sequence in "
                       f"{fasta_path}: {examples(no_seq)}")
        raise SeqSetError("; ".join(msg) + f". Every id must be in both files (column "
                          f"{id_column!r} of the labels, the first word of the FASTA header).")
    return labels.set_index(id_column, drop=False).loc[seq_ids].reset_index(drop=True)


def is_missing(values: Iterable[str]) -> np.ndarray:
    """Boolean mask of label values that mean *no label* (:data:`MISSING_VALUES`)."""
    return np.fromiter((str(v).strip().lower() in MISSING_VALUES for v in values), dtype=bool)


def missing_labels_message(
    path: str | os.PathLike, missing: Mapping[str, np.ndarray], ids: Sequence[str],
    lines: Sequence[int],
) -> str:
    """The error for label columns with missing values: file, rows (id, line), count, fix."""
    rows = np.flatnonzero(np.logical_or.reduce(list(missing.values())))
    cols = {c: int(m.sum()) for c, m in missing.items() if m.any()}
    where = (f"label column {next(iter(cols))!r}" if len(cols) == 1 else "label columns "
             + ", ".join(f"{c!r} ({n} rows)" for c, n in cols.items()))
    return (
        f"{path}: {len(rows)} row(s) have no value in {where} (empty, NA, NaN or null): "
        f"{_rows(ids, lines, rows)}. A missing label is not a class. Fill them in, remove "
        "those rows and their sequences, or set missing_labels: drop in the dataset's config "
        "to drop these records (counted in the log and the manifest)."
    )


def _number(value: str) -> float | None:
    """``value`` as a finite float, or ``None`` when it is not a number."""
    try:
        x = float(value)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def _integer_classes(ints: np.ndarray, column: str, path: str | os.PathLike,
                     ids: Sequence[str], lines: Sequence[int]
                     ) -> tuple[np.ndarray, list[str], str]:
    """Integer labels → codes: non-negative ones keep their value (``0``/``1``: binary),
    a column with negatives gets codes in numeric order (multi-class)."""
    if ints.min() < 0:
        uniq, codes = np.unique(ints, return_inverse=True)
        if len(uniq) >= IGNORE:
            raise SeqSetError(f"{path}: column {column!r} has {len(uniq)} classes; at most "
                              f"{IGNORE - 1} are supported; if it is a quantity, set "
                              "label_type: regression in the dataset's config")
        return codes.reshape(-1).astype(np.uint8), [str(c) for c in uniq], "multiclass"
    top = int(ints.max())
    if top >= IGNORE:
        i = int(np.argmax(ints))
        raise SeqSetError(f"{path}, line {lines[i]} (id {ids[i]!r}): class {top} in "
                          f"{column!r}; class codes must be below {IGNORE}; if the column is "
                          "a quantity, set label_type: regression in the dataset's config")
    kind = "binary" if top <= 1 else "multiclass"
    return ints.astype(np.uint8), [str(c) for c in range(max(top, 1) + 1)], kind


def _not_classes_message(values: np.ndarray, numbers: list[float | None], column: str,
                         path: str | os.PathLike, ids: Sequence[str], lines: Sequence[int]
                         ) -> str:
    """The error for a column of (mostly) non-integer numbers: a quantity, not classes."""
    frac = [i for i, x in enumerate(numbers) if x is not None and not x.is_integer()]
    words = [i for i, x in enumerate(numbers) if x is None]
    i = frac[0]
    text = (f"; {len(words)} are not numbers, e.g. {values[words[0]]!r} for "
            f"{_rows(ids, lines, words[:1])}" if words else "")
    return (
        f"{path}: label column {column!r} holds numbers that are not integers, e.g. "
        f"{values[i]!r} for {_rows(ids, lines, [i])} ({len(frac)} of {len(values)} values are "
        f"not integers{text}). Classes are 0/1 (binary), integers or words (multi-class). If "
        "the column is a quantity, set label_type: regression in the dataset's config (or "
        "leave label_type out: detected); otherwise turn it into classes (e.g. 1 where the "
        "value passes a threshold, else 0), or leave it out with label_columns."
    )


def encode_label_column(
    values: Sequence[str], column: str, path: str | os.PathLike, ids: Sequence[str],
    lines: Sequence[int],
) -> tuple[np.ndarray, list[str], str]:
    """Per-sequence label strings → (``uint8`` codes ``(N,)``, classes, kind).

    - numbers that are all integral (``1``, ``1.0``, ``1e0``) are integer classes: values
      ``>= 0`` keep their value (``binary`` when only 0/1, else ``multiclass`` with classes
      ``"0" .. str(max)``); with negatives, codes follow numeric order (``multiclass``);
    - ``true``/``false`` (any case) only: ``binary``, false → 0, true → 1;
    - other strings get codes in sorted order (``multiclass``).

    Missing values (:data:`MISSING_VALUES`), a column where at least half the values are
    numbers and some are not integers (a quantity: regression is not supported), and more
    than 254 classes raise :class:`SeqSetError`.
    """
    values = np.asarray(values, dtype=object)
    missing = is_missing(values)
    if missing.any():
        raise SeqSetError(missing_labels_message(path, {column: missing}, ids, lines))
    lowered = {str(v).lower() for v in values}
    if lowered and lowered <= set(BOOLEAN_VALUES):
        codes = np.array([BOOLEAN_VALUES[str(v).lower()] for v in values], dtype=np.uint8)
        return codes, ["0", "1"], "binary"
    numbers = [_number(str(v)) for v in values]
    n_numbers = sum(x is not None for x in numbers)
    integral = all(x is not None and x.is_integer() for x in numbers)
    if n_numbers == len(values) and integral:
        ints = np.array([int(x) for x in numbers], dtype=np.int64)
        return _integer_classes(ints, column, path, ids, lines)
    if 2 * n_numbers >= len(values) and any(x is not None and not x.is_integer()
                                            for x in numbers):
        raise SeqSetError(_not_classes_message(values, numbers, column, path, ids, lines))
    classes, codes = np.unique(values.astype(str), return_inverse=True)
    if len(classes) >= IGNORE:
        raise SeqSetError(f"{path}: column {column!r} has {len(classes)} classes; at most "
                          f"{IGNORE - 1} are supported")
    return codes.reshape(-1).astype(np.uint8), [str(c) for c in classes], "multiclass"


def regression_evidence(values: Sequence[str]) -> dict[str, Any] | None:
    """Why a label column reads as a quantity, or ``None``: at least half its values are
    numbers and some are not integers. Returns ``{"numbers", "non_integer", "values",
    "example"}`` (counts, and the first non-integer value as written)."""
    numbers = [_number(str(v)) for v in values]
    frac = [i for i, x in enumerate(numbers) if x is not None and not x.is_integer()]
    n_numbers = sum(x is not None for x in numbers)
    if not frac or 2 * n_numbers < len(numbers):
        return None
    return {"numbers": n_numbers, "non_integer": len(frac), "values": len(numbers),
            "example": str(values[frac[0]])}


def encode_regression_column(
    values: Sequence[str], column: str, path: str | os.PathLike, ids: Sequence[str],
    lines: Sequence[int], loss: str = "mse",
) -> np.ndarray:
    """Per-sequence label strings → ``float32`` ``(N,)`` values of a regression target.

    Missing values (:data:`MISSING_VALUES`) become NaN (no label; :func:`load_seqset`
    handles them before, per ``missing_labels``). A value that is not a number (or is
    infinite), and with ``loss="poisson"`` a negative value, raises :class:`SeqSetError`
    naming the file, line and id, and the fix."""
    values = np.asarray(values, dtype=object)
    missing = is_missing(values)
    numbers = [None if m else _number(str(v)) for v, m in zip(values, missing, strict=True)]
    bad = [i for i, x in enumerate(numbers) if x is None and not missing[i]]
    if bad:
        raise SeqSetError(
            f"{path}: label column {column!r} is a regression target but {len(bad)} value(s) "
            f"are not finite numbers, e.g. {values[bad[0]]!r} for {_rows(ids, lines, bad)}; "
            "fix or remove those rows, or give the column's label_type (binary or multiclass) "
            "if it holds classes")
    out = np.array([np.nan if x is None else x for x in numbers], dtype=np.float32)
    if loss == "poisson":
        neg = np.flatnonzero(out < 0)
        if len(neg):
            raise SeqSetError(
                f"{path}: label column {column!r} has {len(neg)} negative value(s), e.g. "
                f"{values[neg[0]]!r} for {_rows(ids, lines, neg)}; loss: poisson models "
                "counts (>= 0): use loss: mse for values that can be negative (e.g. log "
                "ratios), or give counts")
    return out


def quantile_strata(values: np.ndarray, bins: int = REGRESSION_STRATA) -> np.ndarray:
    """Quantile bin codes ``uint8`` ``(N,)`` of ``values`` ``(N,)`` (NaN: its own bin), so a
    random split of a regression target keeps each split's value distribution alike."""
    values = np.asarray(values, dtype=np.float64)
    real = ~np.isnan(values)
    out = np.full(len(values), bins, dtype=np.uint8)
    if real.any():
        edges = np.quantile(values[real], np.linspace(0, 1, bins + 1)[1:-1])
        out[real] = np.searchsorted(edges, values[real], side="right")
    return out


def encode_position_labels(
    values: Sequence[str], seqs: Sequence[str], column: str, path: str | os.PathLike,
    ids: Sequence[str], lines: Sequence[int], classes: str | None = None,
) -> tuple[list[np.ndarray], list[str]]:
    """Per-position label strings → (one ``uint8`` code array ``(L_i,)`` per sequence, classes).

    Each string must have one character per residue of its sequence. Classes are the sorted
    distinct characters, or ``classes`` (its order gives the codes; other characters raise).
    """
    for i, (lab, seq) in enumerate(zip(values, seqs, strict=True)):
        if len(lab) != len(seq):
            raise SeqSetError(
                f"{path}, line {lines[i]} (id {ids[i]!r}): per-position label {column!r} has "
                f"{len(lab)} character(s) but the sequence has {len(seq)}; give one label "
                "character per residue"
            )
    buf, ends = _ascii(list(values))
    if classes is None:
        classes = "".join(sorted({chr(c) for c in np.unique(buf)}))
    if len(classes) >= IGNORE or len(set(classes)) != len(classes):
        raise SeqSetError(f"position classes {classes!r} must be distinct and fewer than {IGNORE}")
    table = np.full(256, IGNORE, dtype=np.uint8)
    for code, ch in enumerate(classes):
        table[ord(ch)] = code
    codes = table[buf]
    bad = np.flatnonzero(codes == IGNORE)
    if len(bad):
        rec = int(np.searchsorted(ends, bad[0], side="right"))
        pos = int(bad[0]) - (int(ends[rec - 1]) if rec else 0)
        raise SeqSetError(
            f"{path}, line {lines[rec]} (id {ids[rec]!r}): per-position label "
            f"{values[rec][pos]!r} at position {pos + 1} is not one of the classes {classes!r}"
        )
    return np.split(codes, ends[:-1]), list(classes)


# --------------------------------------------------------------------------- splits


def _fractions(fractions: Mapping[str, float] | Sequence[float]) -> np.ndarray:
    if isinstance(fractions, Mapping):
        unknown = set(fractions) - set(SPLITS)
        if unknown:
            raise ValueError(f"fractions: unknown split(s) {examples(sorted(unknown))}")
        fractions = [float(fractions.get(s, 0.0)) for s in SPLITS]
    f = np.asarray(fractions, dtype=np.float64)
    if f.shape != (3,) or (f < 0).any() or not np.isclose(f.sum(), 1.0):
        raise ValueError(f"fractions must be three non-negative numbers (train, valid, test) "
                         f"summing to 1, got {list(fractions)}")
    return f


def random_split(
    n: int,
    fractions: Mapping[str, float] | Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    strata: np.ndarray | None = None,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """Seeded split name per row ``(n,)`` (``object`` array of train/valid/test).

    ``strata`` ``(n,)`` (class codes) keeps each class's fractions close to ``fractions``.
    Without ``groups``, each class is permuted and cut with a random phase (stochastic
    rounding: expected counts exact, small classes unbiased). With ``groups`` ``(n,)``, whole
    groups are assigned, largest first (ties in seeded random order), each to the split where
    it most reduces the squared class-count deficit, relative to the class size.
    """
    f = _fractions(fractions)
    if n == 0:
        return np.empty(0, dtype=object)
    rng = np.random.default_rng(seed)
    strata = np.zeros(n, dtype=np.int64) if strata is None else np.asarray(strata)
    _, codes = np.unique(strata, return_inverse=True)
    codes = codes.reshape(-1)
    out = np.empty(n, dtype=np.int64)
    if groups is None:
        cut = np.cumsum(f)[:-1]
        for c in range(int(codes.max()) + 1):
            idx = rng.permutation(np.flatnonzero(codes == c))
            u = (np.arange(len(idx)) + rng.random()) / len(idx)
            out[idx] = np.searchsorted(cut, u, side="right")
    else:
        _, gcodes = np.unique(np.asarray(groups).astype(str), return_inverse=True)
        gcodes = gcodes.reshape(-1)
        n_groups, n_classes = int(gcodes.max()) + 1, int(codes.max()) + 1
        hist = np.zeros((n_groups, n_classes), dtype=np.float64)
        np.add.at(hist, (gcodes, codes), 1.0)
        total = hist.sum(axis=0)
        target = f[:, None] * total[None, :]
        weight = 1.0 / np.maximum(total, 1.0)
        current = np.zeros_like(target)
        order = rng.permutation(n_groups)
        order = order[np.argsort(-hist.sum(axis=1)[order], kind="stable")]
        assigned = np.empty(n_groups, dtype=np.int64)
        open_split = f > 0
        for g in order:
            h = hist[g]
            delta = ((2.0 * (current - target) + h) * h * weight).sum(axis=1)
            delta[~open_split] = np.inf
            s = int(np.argmin(delta))
            assigned[g] = s
            current[s] += h
        out = assigned[gcodes]
    return np.asarray(SPLITS, dtype=object)[out]


def find_duplicates(
    ids: Sequence[str], seqs: Sequence[str], split: np.ndarray, examples: int = EXAMPLES
) -> dict[str, Any]:
    """Identical sequences (case-insensitive) within and across splits.

    Returns ``{"across_splits": {"sequences", "records", "examples"}, "within_split":
    {"records"}}``: ``sequences`` is the number of distinct sequences found in more than one
    split, ``records`` the rows carrying them, ``examples`` up to ``examples`` lists of
    ``"id (split)"``; ``within_split.records`` counts rows repeating an earlier row of the same
    split. Also ``later_copies_across`` and ``later_copies_all``: boolean ``(n,)`` masks of the
    rows :func:`load_seqset` drops with ``dedupe: across`` / ``all`` (all but the first copy
    in file order, or those whose split differs from the first copy's).
    """
    key, _ = pd.factorize(pd.Series([s.upper() for s in seqs], dtype=object))
    split = np.asarray(split, dtype=object)
    n = len(key)
    first_row = pd.Series(np.arange(n)).groupby(key).transform("min").to_numpy()
    later = first_row != np.arange(n)
    differs = split != split[first_row] if n else np.zeros(0, dtype=bool)
    frame = pd.DataFrame({"key": key, "split": split})
    n_splits = frame.groupby("key")["split"].nunique()
    multi = n_splits.index[n_splits.to_numpy() > 1]
    in_multi = np.isin(key, multi)
    ex: list[list[str]] = []
    ids_arr = np.asarray(ids, dtype=object)
    for k in multi[:examples]:
        rows = np.flatnonzero(key == k)
        ex.append([f"{ids_arr[r]} ({split[r]})" for r in rows[:examples]])
    same_split_repeat = pd.Series(list(zip(key, split, strict=True))).duplicated().to_numpy() \
        if n else np.zeros(0, dtype=bool)
    return {
        "across_splits": {"sequences": int(len(multi)), "records": int(in_multi.sum()),
                          "examples": ex},
        "within_split": {"records": int(same_split_repeat.sum())},
        "later_copies_across": later & differs,
        "later_copies_all": later,
    }


# --------------------------------------------------------------------------- the set


@dataclass
class SeqSet:
    """A checked, split sequence set in memory (file order), ready for :func:`write_seqset_cache`.

    ``labels`` is ``uint8`` ``(N, tasks)`` for per-sequence labels, or ``None`` with
    ``position_labels`` (one ``uint8`` array ``(L_i,)`` per sequence). ``classes`` maps each
    task (or the per-position column) to its class names. ``seq_len`` is the cache length
    ``L``; every sequence is at most ``seq_len`` long.
    """

    ids: np.ndarray
    seqs: list[str]
    alphabet: str
    seq_len: int
    split: np.ndarray
    tasks: list[str]
    classes: dict[str, list[str]]
    kinds: dict[str, str]
    labels: np.ndarray | None = None
    position_labels: list[np.ndarray] | None = None
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter((len(s) for s in self.seqs), dtype=np.int32, count=len(self.seqs))

    @property
    def per_position(self) -> bool:
        return self.position_labels is not None

    def __len__(self) -> int:
        return len(self.seqs)

    def rows(self, split: str) -> np.ndarray:
        """Row indices of ``split``, in file order."""
        return np.flatnonzero(self.split == split)


def load_seqset(
    fasta: str | os.PathLike,
    labels: str | os.PathLike,
    *,
    alphabet: str = "auto",
    id_column: str = "id",
    label_columns: Sequence[str] | None = None,
    position_label: str | None = None,
    position_classes: str | None = None,
    split_column: str = "split",
    group_column: str = "group",
    fractions: Mapping[str, float] | Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    max_len: int | None = None,
    too_long: str = "crop",
    dedupe: str = "none",
    unknown: str | None = None,
    missing_labels: str = "error",
    label_type: str | None = None,
    loss: str = "mse",
) -> SeqSet:
    """Read, check, label, split and length-filter a sequence set.

    - ``alphabet``: ``dna | rna | protein | auto`` (auto: :func:`detect_alphabet`, reported);
      ``dna`` reads U as T and ``rna`` T as U (:func:`convert_nucleotides`, counted).
    - ``label_columns``: per-sequence label columns (default: every column but id, split,
      group); or ``position_label``: one per-position label column (not both).
    - ``split_column`` used when present in the labels file; else :func:`random_split` with
      ``fractions`` and ``seed``, stratified on the first label column; ``group_column`` (when
      present) keeps groups whole.
    - ``max_len``: cache length cap (default: the longest sequence); longer sequences are
      cropped to their first ``max_len`` residues or dropped (``too_long``), counted.
    - ``dedupe``: ``none`` (report identical sequences only), ``across`` (drop later copies
      that sit in another split than the first copy), ``all`` (drop every later copy).
    - ``unknown``: letters accepted as unknown residues (default N for DNA/RNA, X for
      protein).
    - ``missing_labels``: a missing value (:data:`MISSING_VALUES`) in a label column is an
      ``error`` naming the rows, or (``drop``) drops those records, counted.
    - ``label_type``: ``regression | binary | multiclass`` for every per-sequence label
      column, or ``None`` (detected: a column of non-integer numbers is regression; the
      evidence goes to ``report["label_type"]``); ``loss`` (``mse | poisson``) of regression
      targets: poisson needs values >= 0.

    Without ``max_len``, a longest sequence past :data:`OUTLIER_FACTOR` times the 99th
    percentile of lengths is reported with its padding cost (:func:`length_outliers`).
    Returns a :class:`SeqSet` whose ``report`` holds everything decided and counted.
    """
    _check_load_options(too_long, dedupe, missing_labels, max_len)
    _check_label_options(label_type, loss, position_label)
    fasta, labels = Path(fasta), Path(labels)
    f = _fractions(fractions)
    recs, report = _read_sequences(fasta, labels, alphabet, unknown)
    table, columns = _read_label_table(recs, labels, id_column, label_columns, position_label,
                                       (id_column, split_column, group_column),
                                       missing_labels, report)
    lab = _encode_labels(table, columns, recs, labels, position_label, position_classes,
                         report, label_type, loss)
    split = _assign_split(table, recs, labels, f, seed, lab, split_column, group_column,
                          report)
    keep = _filter_records(recs, lab, split, max_len, too_long, dedupe, report)
    return _assemble(recs, lab, split, keep, max_len, f, fasta, report)


def _check_load_options(too_long: str, dedupe: str, missing_labels: str,
                        max_len: int | None) -> None:
    """Raise ``ValueError`` for an option of :func:`load_seqset` outside its choices."""
    if too_long not in TOO_LONG:
        raise ValueError(f"too_long must be one of {', '.join(TOO_LONG)}, got {too_long!r}")
    if dedupe not in DEDUPE:
        raise ValueError(f"dedupe must be one of {', '.join(DEDUPE)}, got {dedupe!r}")
    if missing_labels not in MISSING_LABELS:
        raise ValueError(f"missing_labels must be one of {', '.join(MISSING_LABELS)}, got "
                         f"{missing_labels!r}")
    if max_len is not None and (isinstance(max_len, bool) or int(max_len) < 1):
        raise ValueError(f"max_len must be a positive integer or null, got {max_len!r}")


def _check_label_options(label_type: str | None, loss: str, position_label: str | None
                         ) -> None:
    """Raise ``ValueError`` for a ``label_type`` or ``loss`` outside its choices, or a
    ``label_type`` with per-position labels."""
    if label_type is not None and label_type not in LABEL_TYPES:
        raise ValueError(f"label_type must be one of {', '.join(LABEL_TYPES)} or null, got "
                         f"{label_type!r}")
    from seqcnn.data.targets import REGRESSION_LOSSES

    if loss not in REGRESSION_LOSSES:
        raise ValueError(f"loss must be one of {', '.join(REGRESSION_LOSSES)}, got {loss!r}")
    if label_type is not None and position_label is not None:
        raise ValueError("label_type is for per-sequence label columns; position_label "
                         f"{position_label!r} is per position: leave label_type out")


@dataclass
class _Records:
    """Sequences in file order while :func:`load_seqset` works on them."""

    path: Path  # the FASTA
    frame: pd.DataFrame  # read_fasta's table (id, sequence, line), as read
    ids: np.ndarray  # (N,) object
    seqs: list[str]  # converted (U/T), later cropped to max_len
    lines: np.ndarray  # (N,) FASTA line of each header
    alphabet: str

    def keep(self, rows: np.ndarray) -> None:
        """Keep the records where the boolean ``rows`` ``(N,)`` is true."""
        self.ids, self.lines = self.ids[rows], self.lines[rows]
        self.seqs = [q for q, k in zip(self.seqs, rows, strict=True) if k]


def _read_sequences(fasta: Path, labels: Path, alphabet: str, unknown: str | None
                    ) -> tuple[_Records, dict[str, Any]]:
    """Step 1: read the FASTA, decide the alphabet (``auto``: detected), read U as T (DNA)
    or T as U (RNA), check the letters. Returns the records and the report begun."""
    frame = read_fasta(fasta)
    ids = frame["id"].to_numpy(dtype=object)
    seqs = list(frame["sequence"])
    report: dict[str, Any] = {
        "source": {"fasta": str(fasta), "labels": str(labels), "records": len(ids)},
        "warnings": [],
    }
    lines = frame["line"].to_numpy()
    if alphabet == "auto":
        detection = detect_alphabet(seqs, ids, fasta, lines) | {"detected": True}
    elif alphabet in ALPHABETS:
        detection = {"alphabet": alphabet, "detected": False}
    else:
        raise ValueError(f"alphabet must be auto or one of {', '.join(ALPHABETS)}, "
                         f"got {alphabet!r}")
    alphabet = detection["alphabet"]
    report["alphabet_detection"] = detection
    seqs, report["converted"] = convert_nucleotides(seqs, ids, alphabet)
    if report["converted"] and report["converted"]["records"]:
        c = report["converted"]
        report["warnings"].append(
            f"{fasta}: alphabet {alphabet}: read {c['from']} as {c['to']} in {c['records']} "
            f"record(s) "
            f"({c['residues']} residues), e.g. {examples(c['examples'])}")
    check_letters(ids, seqs, alphabet, fasta, unknown, lines=lines)
    return _Records(fasta, frame, ids, seqs, lines, alphabet), report


def _read_label_table(recs: _Records, labels: Path, id_column: str,
                      label_columns: Sequence[str] | None, position_label: str | None,
                      reserved: tuple[str, ...], missing_labels: str,
                      report: dict[str, Any]) -> tuple[pd.DataFrame, list[str]]:
    """Step 2: read the labels in FASTA order (every id in both files), choose the label
    columns (given, the position label, or all but ``reserved``), handle missing values
    (records dropped from ``recs`` too). Returns the table and the label columns."""
    table = match_labels(recs.frame, read_labels(labels, id_column), recs.path, labels,
                         id_column)
    if position_label is not None:
        if label_columns:
            raise ValueError("give label_columns or position_label, not both")
        columns = [position_label]
    else:
        columns = list(label_columns) if label_columns is not None else \
            [c for c in table.columns if c not in {*reserved, "line"}]
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise SeqSetError(f"{labels}: no column(s) {examples(missing)} (columns: "
                          f"{', '.join(c for c in table.columns if c != 'line')})")
    if not columns:
        id_column, split_column, group_column = reserved
        raise SeqSetError(f"{labels}: no label columns besides {id_column!r}, "
                          f"{split_column!r}, {group_column!r}")
    keep_labelled = _missing_labels(table, id_column, columns, labels, missing_labels, report)
    if not keep_labelled.all():
        table = table[keep_labelled].reset_index(drop=True)
        recs.keep(keep_labelled)
    return table, columns


@dataclass
class _Labels:
    """Encoded labels: per sequence ``y`` ``(N, tasks)`` uint8, or per position one uint8
    array per sequence; the class names and kind of each column."""

    columns: list[str]
    classes: dict[str, list[str]]
    kinds: dict[str, str]
    y: np.ndarray | None = None
    pos_codes: list[np.ndarray] | None = None

    @property
    def regression(self) -> bool:
        return bool(self.kinds) and all(k == "regression" for k in self.kinds.values())

    @property
    def strata(self) -> np.ndarray | None:
        """What a random split stratifies on: the first label column (per sequence; its
        quantile bins for a regression target)."""
        if self.y is None:
            return None
        return quantile_strata(self.y[:, 0]) if self.regression else self.y[:, 0]


def _encode_labels(table: pd.DataFrame, columns: list[str], recs: _Records, labels: Path,
                   position_label: str | None, position_classes: str | None,
                   report: dict[str, Any], label_type: str | None = None,
                   loss: str = "mse") -> _Labels:
    """Step 3: label values to class codes (:func:`encode_label_column`, or
    :func:`encode_position_labels` checked against each sequence's length), or to float32
    values of regression targets (:func:`encode_regression_column`; given or detected);
    warns about integer columns with many classes."""
    lines = table["line"].to_numpy()
    out = _Labels(columns, {}, {})
    if position_label is not None:
        out.pos_codes, cls = encode_position_labels(
            list(table[position_label]), recs.seqs, position_label, labels, recs.ids, lines,
            position_classes)
        out.classes[position_label], out.kinds[position_label] = cls, "per_position"
        return out
    if _regression_columns(table, columns, labels, label_type, loss, report):
        out.y = np.empty((len(recs.ids), len(columns)), dtype=np.float32)
        for j, col in enumerate(columns):
            out.y[:, j] = encode_regression_column(list(table[col]), col, labels, recs.ids,
                                                   lines, loss)
            out.classes[col], out.kinds[col] = [], "regression"
        return out
    out.y = np.empty((len(recs.ids), len(columns)), dtype=np.uint8)
    for j, col in enumerate(columns):
        out.y[:, j], out.classes[col], out.kinds[col] = encode_label_column(
            list(table[col]), col, labels, recs.ids, lines)
        if len(out.classes[col]) > MANY_CLASSES and all(_INT.match(c)
                                                         for c in out.classes[col]):
            report["warnings"].append(
                f"{labels}: label column {col!r} has integer values read as "
                f"{len(out.classes[col])} classes; if it is a quantity, set label_type: "
                "regression in the dataset's config")
        if label_type is not None and out.kinds[col] != label_type:
            raise SeqSetError(
                f"{labels}: label_type is {label_type} but column {col!r} reads as "
                f"{out.kinds[col]} (classes {examples(out.classes[col])}); fix the column or "
                "the dataset's label_type (or leave label_type out: detected)")
    return out


def _regression_columns(table: pd.DataFrame, columns: list[str], labels: Path,
                        label_type: str | None, loss: str, report: dict[str, Any]) -> bool:
    """Whether the label columns are regression targets: ``label_type: regression``, or
    (``label_type`` null) a column of non-integer numbers (:func:`regression_evidence`).
    Records the decision and its evidence in ``report["label_type"]``. Detected regression
    beside class columns raises :class:`SeqSetError` (one kind per dataset)."""
    evidence = {c: regression_evidence(list(table[c])) for c in columns}
    found = [c for c, e in evidence.items() if e]
    if label_type is not None:
        report["label_type"] = {"label_type": label_type, "detected": False,
                                "loss": loss if label_type == "regression" else None}
        return label_type == "regression"
    if not found:
        report["label_type"] = {"label_type": None, "detected": True, "loss": None}
        return False
    others = [c for c in columns if c not in found]
    if others:
        raise SeqSetError(
            f"{labels}: column(s) {examples(found)} hold non-integer numbers (regression) but "
            f"{examples(others)} do not; one dataset has one label type: list the regression "
            "columns (label_columns) in one dataset and the class columns in another, or set "
            "label_type")
    e = evidence[found[0]]
    report["label_type"] = {
        "label_type": "regression", "detected": True, "loss": loss,
        "evidence": {c: evidence[c] for c in found}}
    report["label_type"]["message"] = (
        f"{labels}: label column(s) {', '.join(found)} read as regression targets (detected: "
        f"{e['non_integer']} of {e['values']} values in {found[0]!r} are non-integer numbers, "
        f"e.g. {e['example']!r}); loss {loss}. Set label_type in the dataset's config to "
        "choose")
    return True


def _assign_split(table: pd.DataFrame, recs: _Records, labels: Path, f: np.ndarray,
                  seed: int, lab: _Labels, split_column: str, group_column: str,
                  report: dict[str, Any]) -> np.ndarray:
    """Step 4: each record's split ``(N,)`` (object): the ``split_column`` (checked: known
    values, groups whole) or :func:`random_split` (seeded, stratified, by group)."""
    groups = table[group_column].to_numpy(dtype=object) if group_column in table else None
    if split_column in table:
        split = table[split_column].to_numpy(dtype=object)
        _check_split_column(split, groups, table["line"].to_numpy(), recs.ids, labels,
                            split_column, group_column)
        report["split"] = {"source": "column", "column": split_column}
    else:
        strata = lab.strata
        split = random_split(len(recs.ids), f, seed, strata, groups)
        report["split"] = {"source": "random", "fractions": dict(zip(SPLITS, f.tolist(),
                                                                     strict=True)),
                           "seed": int(seed),
                           "stratify": None if strata is None else lab.columns[0]}
    report["split"]["group_column"] = group_column if groups is not None else None
    if groups is not None:
        report["split"]["groups"] = int(pd.unique(groups).size)
    return split


def _check_split_column(split: np.ndarray, groups: np.ndarray | None, lines: np.ndarray,
                        ids: np.ndarray, labels: Path, split_column: str,
                        group_column: str) -> None:
    """Every split value is one of :data:`SPLITS`, and every group sits in one split."""
    bad = np.flatnonzero(~np.isin(split.astype(str), SPLITS))
    if len(bad):
        i = bad[0]
        raise SeqSetError(
            f"{labels}, line {lines[i]} (id {ids[i]!r}): split {split[i]!r} is not one of "
            f"{', '.join(SPLITS)}; {len(bad)} row(s) have another value"
        )
    if groups is not None:
        spread = pd.Series(split).groupby(groups).nunique()
        torn = spread.index[spread.to_numpy() > 1]
        if len(torn):
            raise SeqSetError(
                f"{labels}: {len(torn)} {group_column!r} value(s) have members in several "
                f"splits: {examples(torn)}; a group must sit in one split (fix the "
                f"{split_column!r} column, or drop it to split at random by group)"
            )


def _filter_records(recs: _Records, lab: _Labels, split: np.ndarray, max_len: int | None,
                    too_long: str, dedupe: str, report: dict[str, Any]) -> np.ndarray:
    """Step 5: crop or drop sequences past ``max_len`` (cropping ``recs`` and per-position
    labels in place), find identical sequences and drop copies per ``dedupe``. Returns the
    records to keep, boolean ``(N,)``; the counts go to ``report``."""
    keep = np.ones(len(recs.ids), dtype=bool)
    lengths = _lengths(recs.seqs)
    cropped = 0
    if max_len is not None:
        max_len = int(max_len)
        long_rows = np.flatnonzero(lengths > max_len)
        if too_long == "drop":
            keep[long_rows] = False
        else:
            cropped = len(long_rows)
            for i in long_rows:
                recs.seqs[i] = recs.seqs[i][:max_len]
                if lab.pos_codes is not None:
                    lab.pos_codes[i] = lab.pos_codes[i][:max_len]
        report["too_long"] = {"max_len": max_len, "action": too_long, "records": len(long_rows),
                              "examples": [str(recs.ids[i]) for i in long_rows[:EXAMPLES]]}
    else:
        report["too_long"] = {"max_len": None, "action": too_long, "records": 0, "examples": []}
    dropped_long = int((~keep).sum())

    rows = np.flatnonzero(keep)
    dups = find_duplicates(recs.ids[rows], [recs.seqs[i] for i in rows], split[rows])
    drop_dup = {"none": np.zeros(len(rows), dtype=bool), "across": dups["later_copies_across"],
                "all": dups["later_copies_all"]}[dedupe]
    keep[rows[drop_dup]] = False
    report["duplicates"] = {k: v for k, v in dups.items() if not k.startswith("later_")} | {
        "dedupe": dedupe, "dropped": int(drop_dup.sum())}
    if dups["across_splits"]["sequences"] and dedupe == "none":
        report["warnings"].append(
            f"{dups['across_splits']['sequences']} sequence(s) occur in more than one split "
            f"({dups['across_splits']['records']} records), e.g. "
            f"{dups['across_splits']['examples'][:1]}; set dedupe: across to drop later copies")
    report["dropped"] = {"missing_labels": report["missing_labels"]["records"],
                         "too_long": dropped_long, "duplicates": int(drop_dup.sum())}
    report["cropped"] = cropped
    return keep


def _lengths(seqs: Sequence[str]) -> np.ndarray:
    """Lengths ``(N,)`` int64."""
    return np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))


def _assemble(recs: _Records, lab: _Labels, split: np.ndarray, keep: np.ndarray,
              max_len: int | None, f: np.ndarray, fasta: Path,
              report: dict[str, Any]) -> SeqSet:
    """The :class:`SeqSet` of the kept records; counts per split, lengths and length
    outliers (without ``max_len``) in ``report``. Nothing kept raises :class:`SeqSetError`."""
    rows = np.flatnonzero(keep)
    if not len(rows):
        raise SeqSetError(f"{fasta}: no sequence is left after filtering ({report['dropped']})")
    final_lengths = _lengths(recs.seqs)[rows]  # already cropped to max_len
    seq_len = int(max_len) if max_len is not None else int(final_lengths.max())
    out = SeqSet(
        ids=recs.ids[rows], seqs=[recs.seqs[i] for i in rows], alphabet=recs.alphabet,
        seq_len=seq_len, split=split[rows], tasks=lab.columns, classes=lab.classes,
        kinds=lab.kinds, labels=None if lab.y is None else lab.y[rows],
        position_labels=None if lab.pos_codes is None else [lab.pos_codes[i] for i in rows],
        report=report,
    )
    report["label_kind"] = "per_position" if out.per_position else "per_sequence"
    report["counts"] = {s: int((out.split == s).sum()) for s in SPLITS}
    for s in SPLITS:
        if f[SPLITS.index(s)] > 0 and not report["counts"][s]:
            report["warnings"].append(f"split {s!r} is empty")
    report["lengths"] = {"min": int(final_lengths.min()),
                         "median": float(np.median(final_lengths)),
                         "max": int(final_lengths.max()), "seq_len": seq_len}
    report["length_outliers"] = None
    if max_len is None:
        label_width = None if out.per_position else len(lab.columns)
        report["length_outliers"] = length_outliers(final_lengths, out.ids, len(
            letters(recs.alphabet)), label_width)
        if report["length_outliers"]:
            longest = int(np.argmax(final_lengths))
            report["warnings"].append(length_outlier_warning(
                report["length_outliers"], fasta, int(recs.lines[rows][longest])))
    return out


def _missing_labels(table: pd.DataFrame, id_column: str, columns: Sequence[str], path: Path,
                    action: str, report: dict[str, Any]) -> np.ndarray:
    """Rows of ``table`` to keep: raise on missing label values (``error``) or drop them
    (``drop``), recording ``report["missing_labels"]`` and a warning."""
    ids, lines = table[id_column].to_numpy(dtype=object), table["line"].to_numpy()
    missing = {c: is_missing(table[c]) for c in columns}
    rows = np.logical_or.reduce(list(missing.values()))
    report["missing_labels"] = {"action": action, "records": int(rows.sum()),
                                "columns": {c: int(m.sum()) for c, m in missing.items()
                                            if m.any()},
                                "examples": [str(i) for i in ids[rows][:EXAMPLES]]}
    if not rows.any():
        return ~rows
    if action == "error":
        raise SeqSetError(missing_labels_message(path, missing, ids, lines))
    if rows.all():
        raise SeqSetError(f"{path}: every row lacks a label in {examples(columns)}; "
                          "missing_labels: drop would drop them all")
    report["warnings"].append(
        f"{path}: dropped {int(rows.sum())} record(s) with no label (empty, NA, NaN or null; "
        f"missing_labels: drop): {_rows(ids, lines, np.flatnonzero(rows))}")
    return ~rows


def _cache_bytes(n: int, size: int, length: int, label_width: int | None) -> int:
    """Bytes of a cache of ``n`` rows: one-hot, labels (``None``: per position), lengths."""
    return n * size * length + n * (length if label_width is None else label_width) + 4 * n


def length_outliers(lengths: np.ndarray, ids: Sequence[str], size: int,
                    label_width: int | None, factor: float = OUTLIER_FACTOR
                    ) -> dict[str, Any] | None:
    """Sequences longer than ``factor`` × the 99th percentile of ``lengths``, or ``None``.

    The percentile is the ``lower`` one (a length that occurs), so a single giant among a
    hundred sequences does not raise it. Returns ``longest`` (length, ``longest_id``),
    ``p99``, ``factor``, ``records`` and ``examples`` past the threshold,
    ``suggested_max_len`` (the longest length within it), and the cache bytes padded to the
    longest (``cache_bytes``) and to the suggestion with ``too_long: crop``
    (``cache_bytes_at_suggested``). ``size`` is the alphabet size, ``label_width`` the
    label columns (``None`` for per-position labels).
    """
    lengths = np.asarray(lengths)
    if not len(lengths):
        return None
    p99 = int(np.percentile(lengths, 99, method="lower"))
    over = lengths > factor * p99
    if not over.any():
        return None
    suggested = int(lengths[~over].max())
    longest = int(np.argmax(lengths))
    n = len(lengths)
    return {
        "longest": int(lengths[longest]), "longest_id": str(ids[longest]), "p99": p99,
        "factor": factor, "records": int(over.sum()),
        "examples": [str(i) for i in np.asarray(ids, dtype=object)[over][:EXAMPLES]],
        "suggested_max_len": suggested,
        "cache_bytes": _cache_bytes(n, size, int(lengths[longest]), label_width),
        "cache_bytes_at_suggested": _cache_bytes(n, size, suggested, label_width),
    }


def length_outlier_warning(outliers: Mapping[str, Any], path: str | os.PathLike,
                           line: int | None = None) -> str:
    """The log line for :func:`length_outliers`: the record (header ``line``), the padding
    cost, the fix."""
    o = outliers
    cap = o["suggested_max_len"]
    at = f" (line {line})" if line is not None else ""
    return (
        f"{path}: record {o['longest_id']!r}{at} is {o['longest']} residues, "
        f"{o['longest'] / max(o['p99'], 1):.0f}x the 99th percentile of lengths ({o['p99']}); "
        f"padding every sequence to it makes the cache {o['cache_bytes'] / 1e6:.1f} MB instead "
        f"of {o['cache_bytes_at_suggested'] / 1e6:.1f} MB at max_len {cap} "
        f"({o['records']} record(s) longer than {cap}: {examples(o['examples'])}). Set "
        f"max_len: {cap} in the dataset's config (too_long: crop keeps their first {cap} "
        "residues, drop removes them), or remove them from the FASTA."
    )


# --------------------------------------------------------------------------- cache


def encode_chunk(
    seqs: Sequence[str], alphabet: str, seq_len: int
) -> tuple[np.ndarray, np.ndarray]:
    """One-hot a list of sequences padded to ``seq_len``: ``uint8`` ``(n, A, L)``, lengths ``(n,)``.

    Positions past a sequence's end, and unknown letters, are all-zero columns.
    """
    size = len(letters(alphabet))
    buf, ends = _ascii(seqs)
    lens = np.diff(ends, prepend=0)
    if len(lens) and lens.max() > seq_len:
        raise ValueError(f"a sequence of length {lens.max()} is longer than seq_len={seq_len}")
    codes = np.full((len(seqs), seq_len), UNKNOWN, dtype=np.uint8)
    rows = np.repeat(np.arange(len(seqs)), lens)
    cols = np.arange(len(buf)) - np.repeat(ends - lens, lens)
    codes[rows, cols] = lookup_table(alphabet)[buf]
    return one_hot_codes(codes, size), lens.astype(np.int32)


def pad_position_labels(codes: Sequence[np.ndarray], seq_len: int) -> np.ndarray:
    """Per-position codes (one ``(L_i,)`` array each) → ``uint8`` ``(n, seq_len)``, 255-padded."""
    out = np.full((len(codes), seq_len), IGNORE, dtype=np.uint8)
    for i, c in enumerate(codes):
        out[i, :len(c)] = c
    return out


def _write_text(text: str, path: Path) -> None:
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_seqset_cache(
    seqset: SeqSet, cache_dir: str | os.PathLike, chunk_size: int = 4096,
    splits: Sequence[str] = SPLITS,
) -> dict[str, Any]:
    """Write ``{split}.onehot.npy``, ``.labels.npy``, ``.lengths.npy``, ``.ids.tsv`` per split.

    Arrays are streamed ``chunk_size`` rows at a time through :class:`seqcnn.data.cache.NpyWriter`
    (temporary file + rename, SHA-256). Returns a manifest dict: alphabet, letters, seq_len,
    label layout, tasks/classes, counts per split (with class counts), lengths, the load
    report (split, drops, crops, duplicates) and checksums. The caller writes it as JSON.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    size = len(letters(seqset.alphabet))
    length = seqset.seq_len
    n_label = length if seqset.per_position else len(seqset.tasks)
    regression = _is_regression(seqset)
    label_dtype = np.float32 if regression else np.uint8
    counts: dict[str, Any] = {}
    checksums: dict[str, dict[str, str]] = {}
    for split in splits:
        rows = seqset.rows(split)
        n = len(rows)
        class_counts = {t: np.zeros(len(seqset.classes[t]), dtype=np.int64)
                        for t in seqset.tasks}
        with NpyWriter(cache_dir / f"{split}.onehot.npy", (n, size, length)) as x_out, \
                NpyWriter(cache_dir / f"{split}.labels.npy", (n, n_label),
                          label_dtype) as y_out, \
                NpyWriter(cache_dir / f"{split}.lengths.npy", (n,), np.int32) as l_out:
            for a in range(0, n, chunk_size):
                idx = rows[a:a + chunk_size]
                x, lens = encode_chunk([seqset.seqs[i] for i in idx], seqset.alphabet, length)
                if seqset.per_position:
                    y = pad_position_labels([seqset.position_labels[i] for i in idx], length)
                    t = seqset.tasks[0]
                    class_counts[t] += np.bincount(y[y != IGNORE],
                                                   minlength=len(seqset.classes[t]))
                elif not regression:
                    y = seqset.labels[idx]
                    for j, t in enumerate(seqset.tasks):
                        class_counts[t] += np.bincount(y[:, j], minlength=len(seqset.classes[t]))
                else:
                    y = seqset.labels[idx]
                x_out.write(x)
                y_out.write(y)
                l_out.write(lens)
        lens_all = seqset.lengths[rows]
        _write_text("id\tlength\n" + "".join(
            f"{seqset.ids[i]}\t{m}\n" for i, m in zip(rows, lens_all, strict=True)),
            cache_dir / f"{split}.ids.tsv")
        counts[split] = {
            "n": n,
            "residues": int(lens_all.sum()),
            "class_counts": {t: dict(zip(seqset.classes[t], c.tolist(), strict=True))
                             for t, c in class_counts.items()},
        }
        if regression:
            counts[split]["values"] = value_summary(seqset.labels[rows], seqset.tasks)
        elif not seqset.per_position:
            counts[split]["positives"] = {t: int(c[1]) for t, c in class_counts.items()
                                          if seqset.kinds[t] == "binary"}
        for kind, w in (("onehot", x_out), ("labels", y_out), ("lengths", l_out)):
            checksums[f"{split}.{kind}.npy"] = {"sha256": w.sha256}
    label_layout = (f"uint8 (N, seq_len) class codes, {IGNORE} = padding"
                    if seqset.per_position else
                    "float32 (N, tasks) regression values, NaN = no label" if regression
                    else "uint8 (N, tasks) class codes")
    report = {k: v for k, v in seqset.report.items() if k not in ("counts", "label_kind")}
    return {
        **seqset_manifest_keys(seqset, report),
        "alphabet": seqset.alphabet,
        "letters": letters(seqset.alphabet),
        "seq_len": length,
        "label_kind": "per_position" if seqset.per_position else "per_sequence",
        "tasks": list(seqset.tasks),
        "task_kinds": dict(seqset.kinds),
        "classes": {t: list(c) for t, c in seqset.classes.items()},
        "ignore_index": IGNORE,
        "layout": {"onehot": "uint8 (N, alphabet, seq_len), zero past each length",
                   "labels": label_layout, "lengths": "int32 (N,)",
                   "ids": "{split}.ids.tsv: id, length (cache row order)",
                   "padding": "applied at load time: seqcnn.train.batches.pad_batch(x, lengths, "
                              "mode), mode zeros | zeros+mask | uniform"},
        "counts": counts,
        "checksums": checksums,
        **{k: v for k, v in report.items() if k != "source"},
    }


def seqset_manifest_keys(seqset: SeqSet, report: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of the one manifest schema (:func:`seqcnn.data.cache.validate_manifest`) that
    a sequence set fills its own way: ``schema``, ``kind``, ``source`` (the FASTA and labels
    files), ``targets`` and ``drops`` (records dropped per reason, cropped ones beside)."""
    from seqcnn.data.cache import MANIFEST_SCHEMA, drops_block
    from seqcnn.data.targets import Targets

    loss = (report.get("label_type") or {}).get("loss") or "mse"
    targets = Targets(tuple(seqset.tasks), dict(seqset.kinds),
                      {t: tuple(c) for t, c in seqset.classes.items()}, IGNORE,
                      {t: loss for t in seqset.tasks} if _is_regression(seqset) else None)
    return {"schema": MANIFEST_SCHEMA, "kind": "seqset",
            "source": {"kind": "seqset", **report.get("source", {})},
            "targets": targets.to_dict(),
            "drops": drops_block(report.get("dropped", {}), cropped=report.get("cropped", 0))}


def _is_regression(seqset: SeqSet) -> bool:
    return not seqset.per_position and all(seqset.kinds[t] == "regression"
                                           for t in seqset.tasks)


def value_summary(values: np.ndarray, tasks: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per regression task: labelled rows ``n``, ``missing`` (NaN), ``mean``, ``sd``,
    ``min``, ``max`` of ``values`` ``(N, T)`` (NaN statistics for a task with none)."""
    values = np.asarray(values, dtype=np.float64)
    out = {}
    for j, t in enumerate(tasks):
        col = values[:, j][~np.isnan(values[:, j])]
        stats = ({"mean": float(col.mean()), "sd": float(col.std()), "min": float(col.min()),
                  "max": float(col.max())} if len(col) else
                 dict.fromkeys(("mean", "sd", "min", "max"), math.nan))
        out[t] = {"n": int(len(col)), "missing": int(len(values) - len(col)), **stats}
    return out


# --------------------------------------------------------------------------- loading


__all__ = [
    "DEFAULT_UNKNOWN",
    "IGNORE",
    "LABEL_TYPES",
    "SeqSet",
    "SeqSetError",
    "check_letters",
    "convert_nucleotides",
    "detect_alphabet",
    "encode_chunk",
    "encode_label_column",
    "encode_position_labels",
    "encode_regression_column",
    "find_duplicates",
    "is_missing",
    "length_outlier_warning",
    "length_outliers",
    "load_seqset",
    "value_summary",
    "match_labels",
    "pad_position_labels",
    "quantile_strata",
    "random_split",
    "read_labels",
    "regression_evidence",
    "write_seqset_cache",
]
