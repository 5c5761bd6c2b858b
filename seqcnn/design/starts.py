"""Starting sequences: random with a composition, the test split's negatives, or a FASTA."""

from __future__ import annotations

import os

import numpy as np

from seqcnn.alphabet import letters, one_hot_batch
from seqcnn.errors import InputError


def composition(onehot: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Letter frequencies of one-hot ``(n, A, L)`` (columns without a letter left out):
    float64 ``(A,)`` summing to 1 (uniform when there is no letter)."""
    counts = np.zeros(onehot.shape[1])
    for s in range(0, len(onehot), chunk):
        counts += np.asarray(onehot[s:s + chunk], dtype=np.int64).sum(axis=(0, 2))
    total = counts.sum()
    return counts / total if total else np.full(len(counts), 1 / len(counts))


def random_starts(freqs: np.ndarray, n: int, length: int, seed: int = 0) -> np.ndarray:
    """``n`` sequences of ``length`` letters drawn independently with frequencies ``freqs``
    ``(A,)``: one-hot ``uint8`` ``(n, A, length)``."""
    rng = np.random.default_rng(seed)
    codes = rng.choice(len(freqs), size=(n, length), p=np.asarray(freqs) / np.sum(freqs))
    return np.eye(len(freqs), dtype=np.uint8)[codes].transpose(0, 2, 1).copy()


def negatives(onehot: np.ndarray, labels: np.ndarray, ids: np.ndarray, n: int, seed: int = 0,
              ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows (fewer when there are fewer) whose labels are all 0, drawn without
    replacement with ``seed``, in cache order: ``(onehot (m, A, L), ids (m,))``."""
    labels = np.asarray(labels)
    rows = np.flatnonzero((labels.reshape(len(labels), -1) == 0).all(axis=1))
    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(rows, size=min(n, len(rows)), replace=False))
    return np.asarray(onehot[take], dtype=np.uint8), np.asarray(ids)[take]


def from_fasta(path: str | os.PathLike, alphabet: str, length: int, n: int,
               ) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` records of a FASTA, one-hot ``(m, A, length)`` with their ids. Every
    sequence must be ``length`` letters of ``alphabet`` long (else :class:`InputError`
    naming the record)."""
    from seqcnn.data.fasta import read_fasta

    df = read_fasta(path).head(n)
    allowed = set(letters(alphabet) + letters(alphabet).lower() + "Nn")
    for r in df.itertuples():
        if len(r.sequence) != length:
            raise InputError(f"{path}: record {r.id} (line {r.line}) has {len(r.sequence)} "
                             f"letters; the model reads {length}: give start sequences of "
                             f"exactly {length} letters")
        bad = set(r.sequence) - allowed
        if bad:
            raise InputError(f"{path}: record {r.id} (line {r.line}) has letters outside the "
                             f"{alphabet} alphabet ({''.join(sorted(bad))}); fix the FASTA")
    return one_hot_batch(list(df["sequence"]), alphabet, length), df["id"].to_numpy()


__all__ = ["composition", "from_fasta", "negatives", "random_starts"]
