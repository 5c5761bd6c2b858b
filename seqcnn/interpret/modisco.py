"""TF-MoDISco (modisco-lite) on hypothetical contributions: patterns as PPMs and CWMs.

:func:`run_modisco` takes DeepLIFT/SHAP hypothetical contributions and one-hot sequences in
this project's layout ``(N, 4, L)`` and calls ``modiscolite.tfmodisco.TFMoDISco`` (which wants
``(N, L, 4)``). Each pattern (positive metacluster ``pos_pattern_i``, negative
``neg_pattern_i``) comes back as

- ``ppms[name]``: ``(4, w)`` position probability matrix from the pattern's sequence matrix
  (the mean one-hot of its aligned seqlets), trimmed to its contribution core;
- ``cwms[name]``: ``(4, w)`` contribution weight matrix (mean contributions), same trim;
- ``n_seqlets[name]``: the number of seqlets in the pattern.

Trimming keeps the span from the first to the last position whose total absolute
contribution is at least ``trim_fraction`` of the pattern's maximum (0.3, as
modisco-lite's report does). The PPMs go to :func:`seqcnn.interpret.meme.write_meme` and
:func:`seqcnn.interpret.motifs.tomtom_jaspar` like the filters' PPMs do.

modisco-lite compiles its numba kernels the first time (tens of seconds) and caches them on
disk only when it can fork compiler children: not after another Python thread (tangermeme's
tqdm monitor) or numba's OpenMP threads (memelite's Tomtom) have started in the process. Run
it in a process of its own, on attributions read from disk.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Patterns(NamedTuple):
    """TF-MoDISco patterns by name: ``ppms`` and ``cwms`` ``(4, w)``, ``n_seqlets``."""

    ppms: dict[str, np.ndarray]
    cwms: dict[str, np.ndarray]
    n_seqlets: dict[str, int]


def trim_span(cwm: np.ndarray, trim_fraction: float = 0.3) -> tuple[int, int]:
    """``(start, end)`` of the positions of ``cwm`` ``(A, w)`` from the first to the last whose
    summed absolute contribution is ``>= trim_fraction`` × the maximum."""
    score = np.abs(np.asarray(cwm)).sum(axis=0)
    keep = np.flatnonzero(score >= trim_fraction * score.max())
    if keep.size == 0:
        return 0, score.size
    return int(keep[0]), int(keep[-1]) + 1


def run_modisco(
    hypothetical: np.ndarray,
    X: np.ndarray,
    max_seqlets: int = 2000,
    window: int = 21,
    flank: int = 10,
    min_metacluster_size: int = 100,
    final_min_cluster_size: int = 20,
    n_leiden_runs: int = 50,
    trim_fraction: float = 0.3,
    **kwargs,
) -> Patterns:
    """TF-MoDISco on hypothetical contributions ``(N, 4, L)`` and one-hot ``X`` ``(N, 4, L)``.

    ``max_seqlets`` caps seqlets per metacluster, ``window`` is the seqlet core
    (``sliding_window_size``), ``flank`` its flanks; ``min_metacluster_size`` seqlets are
    needed for a metacluster, ``final_min_cluster_size`` for a pattern. Other keyword
    arguments go to ``TFMoDISco`` unchanged. Returns :class:`Patterns` (empty if no
    metacluster had enough seqlets).
    """
    from modiscolite.tfmodisco import TFMoDISco

    hyp = np.ascontiguousarray(np.transpose(np.asarray(hypothetical, np.float32), (0, 2, 1)))
    oh = np.ascontiguousarray(np.transpose(np.asarray(X, np.float32), (0, 2, 1)))
    if hyp.shape != oh.shape or hyp.shape[-1] != 4:
        raise ValueError(f"need (N, 4, L) arrays of one shape, got {hypothetical.shape}, "
                         f"{np.shape(X)}")
    pos, neg = TFMoDISco(
        one_hot=oh, hypothetical_contribs=hyp, sliding_window_size=window, flank_size=flank,
        min_metacluster_size=min_metacluster_size, max_seqlets_per_metacluster=max_seqlets,
        final_min_cluster_size=final_min_cluster_size, n_leiden_runs=n_leiden_runs, **kwargs,
    )
    out = Patterns({}, {}, {})
    for prefix, patterns in (("pos", pos), ("neg", neg)):
        for i, pattern in enumerate(patterns or []):
            name = f"{prefix}_pattern_{i}"
            cwm = np.asarray(pattern.contrib_scores, dtype=np.float64).T
            ppm = np.asarray(pattern.sequence, dtype=np.float64).T
            s, e = trim_span(cwm, trim_fraction)
            total = ppm[:, s:e].sum(axis=0, keepdims=True)
            out.ppms[name] = ppm[:, s:e] / np.where(total > 0, total, 1)
            out.cwms[name] = cwm[:, s:e]
            out.n_seqlets[name] = len(pattern.seqlets)
    return out
