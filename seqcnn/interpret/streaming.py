"""Attributions over a whole split in bounded memory: the split (a memory-mapped
``(N, A, L)`` uint8 one-hot, as :func:`seqcnn.data.cache.load_split` gives) is read in chunks
of rows, and only per-chunk arrays and the selected sequences' maps are held, so peak memory
does not grow with ``N``.

- :func:`top_complete_positives`: per task, the rows of the ``n`` highest-scoring positives
  without N (what DeepLIFT/SHAP's shuffles need), best first; one pass over the split.
- :func:`map_chunks`: one map function run on ``chunk`` sequences at a time, written into
  one float32 array, with progress after every chunk.
- :func:`chunked_attributions`: :func:`seqcnn.interpret.attribution.attributions` (and ISM)
  run on ``chunk`` sequences at a time, written into float32 maps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from torch import nn

from seqcnn.interpret.attribution import attributions, ism, logits


@dataclass
class TopPositives:
    """Per task ``t``: ``rows[t]`` ``(≤ n,)`` int64 split rows, best first; ``positives[t]``
    and ``complete[t]``: how many positives the split has, and how many of them have no N."""

    rows: list[np.ndarray]
    positives: np.ndarray
    complete: np.ndarray


def top_complete_positives(model: nn.Module, onehot, labels, n: int,
                           chunk: int = 128) -> TopPositives:
    """The ``n`` highest-scoring positives (``labels == 1``) of each task among sequences
    without N, streamed ``chunk`` rows at a time: ``onehot`` ``(N, A, L)`` uint8 and
    ``labels`` ``(N, T)`` uint8 may be memory-maps. Ties keep split order (as
    :func:`~seqcnn.interpret.attribution.top_positives`)."""
    n_tasks = labels.shape[1]
    best_score = [np.empty(0, np.float32) for _ in range(n_tasks)]
    best_row = [np.empty(0, np.int64) for _ in range(n_tasks)]
    positives = np.zeros(n_tasks, np.int64)
    complete_pos = np.zeros(n_tasks, np.int64)
    for s in range(0, len(onehot), chunk):
        x = np.array(onehot[s:s + chunk])  # a copy of one chunk (a memory-map is read-only)
        y = np.array(labels[s:s + chunk])
        complete = x.sum(axis=1, dtype=np.uint8).min(axis=1) == 1  # one letter everywhere
        scores = logits(model, x, batch_size=chunk)
        for t in range(n_tasks):
            pos = y[:, t] == 1
            positives[t] += int(pos.sum())
            keep = np.flatnonzero(pos & complete)
            complete_pos[t] += len(keep)
            sc = np.concatenate([best_score[t], scores[keep, t].astype(np.float32)])
            rw = np.concatenate([best_row[t], keep.astype(np.int64) + s])
            order = np.lexsort((rw, -sc))[:n]  # best score first, then split order
            best_score[t], best_row[t] = sc[order], rw[order]
    return TopPositives(best_row, positives, complete_pos)


def map_chunks(fn: Callable[[np.ndarray], np.ndarray], X, n: int, chunk: int = 32,
               progress: Callable[[str], None] | None = None, what: str = "") -> np.ndarray:
    """``fn`` (one-hot ``(k, A, L)`` → maps ``(k, A, L)``) on the first ``n`` rows of ``X``
    (maybe a memory-map), ``chunk`` rows at a time → ``(n, A, L)`` float32. ``progress``
    hears ``"{what}: {done} of {n} sequences"`` after every chunk."""
    out = np.zeros((n, *X.shape[1:]), np.float32)
    for s in range(0, n, chunk):
        x = np.asarray(X[s:min(s + chunk, n)])
        out[s:s + len(x)] = fn(x)
        if progress:
            progress(f"{what}: {s + len(x)} of {n} sequences")
    return out


def chunked_attributions(model: nn.Module, X, methods: Sequence[str], target: int = 0,
                         chunk: int = 32, n_ism: int | None = None,
                         progress: Callable[[str], None] | None = None,
                         **options) -> dict[str, np.ndarray]:
    """``{method: (N, A, L) float32}`` as :func:`attributions` gives, run on ``chunk``
    sequences of ``X`` at a time (``options``: its keyword options). With ``n_ism``, also
    ``ism``: the centred ISM map (``center=True``) of the first ``n_ism`` sequences,
    ``(n_ism, A, L)``. ``progress`` (e.g. a logger's ``info``) hears after every chunk."""
    shape = (len(X), *X.shape[1:])
    out = {m: np.zeros(shape, np.float32) for m in methods}
    for s in range(0, len(X), chunk):
        x = np.asarray(X[s:s + chunk])
        for m, attr in attributions(model, x, methods, target=target, **options).items():
            out[m][s:s + len(x)] = attr
        if progress:
            progress(f"{'/'.join(methods)}: {s + len(x)} of {len(X)} sequences")
    if n_ism is not None:
        out["ism"] = map_chunks(lambda x: ism(model, x, target, center=True), X,
                                min(n_ism, len(X)), chunk, progress, "ism")
    return out
