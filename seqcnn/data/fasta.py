"""FASTA files: read records (plain or gzipped, multi-line) and write them."""

from __future__ import annotations

import gzip
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from seqcnn.data.genome import open_text
from seqcnn.errors import SeqSetError, examples, require_file


def read_fasta(path: str | os.PathLike) -> pd.DataFrame:
    """Read a FASTA (plain or gzipped, multi-line records) → DataFrame ``id, sequence, line``.

    ``id`` is the header up to the first whitespace, ``line`` the header's 1-based line
    number. Whitespace inside sequence lines is removed; blank lines and ``;`` comment lines
    are skipped. Raises :class:`SeqSetError` naming the file and record for data before the
    first header, a header without id, empty sequences and duplicate ids.
    """
    path = Path(path)
    require_file(path, "FASTA")
    ids: list[str] = []
    lines: list[int] = []
    seqs: list[str] = []
    parts: list[str] = []
    with open_text(path) as fh:
        for no, raw in enumerate(fh, start=1):
            if raw.startswith(">"):
                if ids:
                    seqs.append("".join(parts))
                parts = []
                token = raw[1:].split(maxsplit=1)
                if not token:
                    raise SeqSetError(f"{path}, line {no}: header '>' has no id; write '>name'")
                ids.append(token[0])
                lines.append(no)
                continue
            if raw.startswith(";"):
                continue
            chunk = "".join(raw.split())
            if not chunk:
                continue
            if not ids:
                raise SeqSetError(
                    f"{path}, line {no}: sequence data before the first '>' header; "
                    "is this a FASTA file?"
                )
            parts.append(chunk)
    if ids:
        seqs.append("".join(parts))
    if not ids:
        raise SeqSetError(f"{path}: no FASTA records (no line starts with '>')")
    df = pd.DataFrame({"id": pd.Series(ids, dtype=object),
                       "sequence": pd.Series(seqs, dtype=object),
                       "line": np.asarray(lines, dtype=np.int64)})
    empty = np.flatnonzero(df["sequence"].str.len().to_numpy() == 0)
    if len(empty):
        i = empty[0]
        raise SeqSetError(
            f"{path}: record {df['id'][i]!r} (line {df['line'][i]}) has an empty sequence; "
            f"{len(empty)} empty record(s): {examples(df['id'].iloc[empty])}. Remove them."
        )
    dup = df["id"].duplicated(keep=False).to_numpy()
    if dup.any():
        first = df["id"][np.flatnonzero(dup)[0]]
        at = df.loc[df["id"] == first, "line"].tolist()
        names = df["id"][dup].unique()
        raise SeqSetError(
            f"{path}: duplicate id {first!r} (lines {', '.join(map(str, at))}); "
            f"{len(names)} id(s) occur more than once: {examples(names)}. Ids must be unique."
        )
    return df


def write_fasta(path: str | os.PathLike, records: Mapping[str, str | np.ndarray],
                width: int = 60) -> Path:
    """Write ``{id: sequence}`` to a FASTA, ``width`` letters per line; gzipped (with mtime
    0, so the same records give the same bytes) when ``path`` ends in ``.gz``.

    A sequence is a string or a ``uint8`` array of ASCII codes (a whole chromosome is
    written without building a string).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(path, "wb", mtime=0) if path.suffix == ".gz" else open(path, "wb") as fh:
        for name, seq in records.items():
            fh.write(f">{name}\n".encode())
            fh.write(_wrapped(np.frombuffer(seq.encode(), np.uint8) if isinstance(seq, str)
                              else np.asarray(seq, dtype=np.uint8), width))
    return path


def _wrapped(seq: np.ndarray, width: int) -> bytes:
    """``uint8`` letters ``(L,)`` → bytes with a newline after every ``width`` letters."""
    full = len(seq) // width * width
    body = np.empty((full // width, width + 1), dtype=np.uint8)
    body[:, :width] = seq[:full].reshape(-1, width)
    body[:, width] = ord("\n")
    tail = seq[full:].tobytes() + b"\n" if full < len(seq) else b""
    return body.tobytes() + tail
