"""The one-hot tensor cache: streamed to ``.npy`` in chunks, memory-mapped when read.

``{split}.onehot.npy`` is ``uint8`` ``(N, alphabet, seq_len)`` and ``{split}.labels.npy``
``uint8`` ``(N, tasks)``, rows in the order of ``regions/{split}.bed``. Both are written
to a temporary file beside the target and renamed at the end, so a killed job never
leaves a file that looks complete; a SHA-256 of each file is computed while writing.
Peak memory is one chunk plus one chromosome, whatever the number of regions.
"""

from __future__ import annotations

import hashlib
import io
import os
import zlib
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from seqcnn.alphabet import UNKNOWN, letters, lookup_table, one_hot_codes
from seqcnn.genome import Genome


class NpyWriter:
    """Write a ``.npy`` array of known shape chunk by chunk along axis 0.

    Use as a context manager: data goes to ``path + '.tmp'``; on a clean exit the file is
    checked for completeness and renamed to ``path``; on an exception it is deleted.
    ``sha256`` holds the hex digest of the final file's bytes.
    """

    def __init__(self, path: str | os.PathLike, shape: tuple[int, ...], dtype=np.uint8):
        self.path = Path(path)
        self.tmp = Path(str(self.path) + ".tmp")
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.rows = 0
        self.sha256 = ""
        self._hash = hashlib.sha256()

    def __enter__(self) -> NpyWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {
            "descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
            "shape": self.shape,
        })
        self._fh = open(self.tmp, "wb")
        self._fh.write(header.getvalue())
        self._hash.update(header.getvalue())
        return self

    def write(self, chunk: np.ndarray) -> None:
        chunk = np.ascontiguousarray(chunk, dtype=self.dtype)
        if chunk.shape[1:] != self.shape[1:]:
            raise ValueError(f"chunk shape {chunk.shape} does not fit {self.shape}")
        if self.rows + len(chunk) > self.shape[0]:
            raise ValueError(f"more than {self.shape[0]} rows written to {self.path}")
        buf = memoryview(chunk).cast("B")
        self._fh.write(buf)
        self._hash.update(buf)
        self.rows += len(chunk)

    def __exit__(self, exc_type, exc, tb) -> None:
        self._fh.close()
        if exc_type is not None:
            self.tmp.unlink(missing_ok=True)
            return
        if self.rows != self.shape[0]:
            self.tmp.unlink(missing_ok=True)
            raise RuntimeError(f"{self.path}: wrote {self.rows} of {self.shape[0]} rows")
        os.replace(self.tmp, self.path)
        self.sha256 = self._hash.hexdigest()


def _seed(chrom: str, start: int, copy: int, seed: int) -> int:
    return zlib.crc32(f"{chrom}:{start}:{copy}:{seed}".encode())


def dinucleotide_shuffle_codes(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Dinucleotide-preserving shuffle of one integer-coded sequence ``(L,)`` → ``(L,)``.

    Altschul–Erickson: a random Eulerian path through the dinucleotide graph that keeps
    the first and last letters, so every dinucleotide count is preserved exactly. Codes
    outside 0..3 (N) are treated as a fifth letter and shuffled along.
    """
    codes = np.asarray(codes)
    n = len(codes)
    if n < 3:
        return codes.copy()
    symbols = np.unique(codes)
    last = codes[-1]
    # edges: for each letter, the list of successors in order of occurrence
    succ = {int(s): list(codes[1:][codes[:-1] == s]) for s in symbols}
    # random last-edge tree rooted at the final letter (Wilson-style via random walks)
    last_edge: dict[int, int] = {}
    in_tree = {int(last)}
    for s in map(int, symbols):
        if not succ[s] and s != last:
            continue
        u = s
        path = {}
        while u not in in_tree:
            nxt = succ[u][rng.integers(len(succ[u]))]
            path[u] = int(nxt)
            u = int(nxt)
        u = s
        while u not in in_tree:
            last_edge[u] = path[u]
            in_tree.add(u)
            u = path[u]
    for s, edges in succ.items():
        if s in last_edge:
            edges.remove(last_edge[s])
            rng.shuffle(edges)
            edges.append(last_edge[s])
        else:
            rng.shuffle(edges)
    out = np.empty(n, dtype=codes.dtype)
    out[0] = codes[0]
    pos = {s: 0 for s in succ}
    for i in range(1, n):
        prev = int(out[i - 1])
        out[i] = succ[prev][pos[prev]]
        pos[prev] += 1
    return out


@dataclass
class CacheStats:
    """What :func:`write_cache` wrote: rows, label counts (1: positive, 255: ambiguous,
    see :func:`seqcnn.regions.label_by_overlap`), checksums."""

    n: int = 0
    positives: dict[str, int] = field(default_factory=dict)
    ambiguous: dict[str, int] = field(default_factory=dict)
    sha256: dict[str, str] = field(default_factory=dict)
    bytes: int = 0


def encode_regions(
    genome: Genome, regions: pd.DataFrame, seq_len: int, alphabet: str = "dna",
    seed: int = 0,
) -> np.ndarray:
    """Extract and one-hot encode regions of length ``seq_len``: → ``uint8`` ``(n, A, L)``.

    Rows are processed chromosome by chromosome (each loaded once if the table is sorted);
    ``-`` strand rows are reverse-complemented; rows whose ``source`` is ``shuffle`` are
    dinucleotide-shuffled with a seed derived from their coordinates and ``seed``.
    """
    size = len(letters(alphabet))
    n = len(regions)
    out = np.empty((n, size, seq_len), dtype=np.uint8)
    if n == 0:
        return out
    chrom = regions["chrom"].to_numpy()
    start = regions["start"].to_numpy(np.int64)
    if not ((regions["end"].to_numpy(np.int64) - start) == seq_len).all():
        raise ValueError(f"every region must be {seq_len} bp long; resize first")
    change = np.flatnonzero(chrom[1:] != chrom[:-1]) + 1
    bounds = np.concatenate([[0], change, [n]])
    lut = lookup_table(alphabet)
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        windows = genome.windows(chrom[a], start[a:b], seq_len)
        one_hot_codes(lut[windows], size, out=out[a:b])
    if "source" in regions:
        shuffled = np.flatnonzero((regions["source"] == "shuffle").to_numpy())
        if len(shuffled):
            names = regions["name"].to_numpy()
            for i in shuffled:
                codes = np.where(out[i].any(0), out[i].argmax(0), UNKNOWN)
                rng = np.random.default_rng(_seed(chrom[i], int(start[i]), hash_name(names[i]),
                                                  seed))
                one_hot_codes(dinucleotide_shuffle_codes(codes, rng), size, out=out[i])
    minus = np.flatnonzero((regions["strand"] == "-").to_numpy())
    if len(minus):
        out[minus] = out[minus][:, ::-1, ::-1]
    return out


def hash_name(name: str) -> int:
    """A stable integer from a region name (for per-region seeds)."""
    return zlib.crc32(str(name).encode())


def write_cache(
    genome: Genome,
    chunks: Iterable[pd.DataFrame],
    n: int,
    tasks: list[str],
    onehot_path: str | os.PathLike,
    labels_path: str | os.PathLike,
    seq_len: int,
    alphabet: str = "dna",
    seed: int = 0,
    progress: Iterator | None = None,
    in_flight: int = 2,
) -> CacheStats:
    """Stream region chunks (from :func:`seqcnn.regions.read_regions`) into the cache.

    ``n`` is the total number of rows (the ``.npy`` header is written first). Returns
    :class:`CacheStats`; raises if the chunks hold more or fewer than ``n`` rows.
    """
    size = len(letters(alphabet))
    stats = CacheStats(positives={t: 0 for t in tasks}, ambiguous={t: 0 for t in tasks})
    with NpyWriter(onehot_path, (n, size, seq_len)) as x_out, \
            NpyWriter(labels_path, (n, len(tasks))) as y_out, \
            ThreadPoolExecutor(max_workers=1) as writer:
        # one thread writes and hashes chunk i while this one encodes chunk i + 1;
        # at most ``in_flight`` chunks wait, so memory stays bounded
        pending: deque = deque()
        for df in chunks:
            x = encode_regions(genome, df, seq_len, alphabet, seed)
            y = df[tasks].to_numpy(np.uint8) if tasks else np.zeros((len(df), 0), np.uint8)
            pending.append(writer.submit(_write_pair, x_out, y_out, x, y))
            while len(pending) > in_flight:
                pending.popleft().result()
            for j, t in enumerate(tasks):
                stats.positives[t] += int((y[:, j] == 1).sum())
                stats.ambiguous[t] += int((y[:, j] == 255).sum())
            stats.n += len(df)
            if progress is not None:
                progress.update(len(df))
        while pending:
            pending.popleft().result()
    stats.sha256 = {"onehot": x_out.sha256, "labels": y_out.sha256}
    stats.bytes = n * size * seq_len + n * len(tasks)
    return stats


def _write_pair(x_out: NpyWriter, y_out: NpyWriter, x: np.ndarray, y: np.ndarray) -> None:
    x_out.write(x)
    y_out.write(y)


def load_cache(onehot_path: str | os.PathLike, labels_path: str | os.PathLike
               ) -> tuple[np.ndarray, np.ndarray]:
    """Memory-map a cache split: ``(N, A, L)`` and ``(N, tasks)`` ``uint8``, read-only."""
    return np.load(onehot_path, mmap_mode="r"), np.load(labels_path, mmap_mode="r")
