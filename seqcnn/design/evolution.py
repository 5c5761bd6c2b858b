"""Directed evolution: rounds of all single substitutions, keep the best ``beam``.

Each round scores every single substitution of every kept sequence with in-silico
mutagenesis (:func:`seqcnn.interpret.attribution.ism`: batched, fast ISM for zoo models),
one call per task the objective reads and per strand (DNA: the reverse complement's map,
flipped back, is the other strand's; the two are averaged as
:func:`~seqcnn.design.objective.model_logits` averages logits). A mutant's logits are the
sequence's plus its ISM difference; the objective of every mutant follows
(:class:`~seqcnn.design.objective.Objective`). Substitutions that would exceed the edit
budget are not candidates. Per starting sequence the ``beam`` best distinct candidates are
kept (``beam=1``: greedy); a start stops when no candidate beats its best sequence by more
than ``tol``, all stop at ``max_rounds`` or after ``budget`` rounds (one substitution
per round).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from torch import nn

from seqcnn.design.edits import allowed_substitutions, count_edits
from seqcnn.design.objective import (
    Design,
    Objective,
    both_strands,
    model_logits,
    trajectory_rows,
)


def mutant_logits(model: nn.Module, x: np.ndarray, tasks: tuple[int, ...], alphabet: str,
                  batch_size: int = 256, *, forward_only: bool = False) -> dict[int, np.ndarray]:
    """Logit change of every single substitution per task: one-hot ``(n, A, L)`` →
    ``{task: (n, A, L)}`` float64 (0 at the observed letters), both strands averaged where
    :func:`~seqcnn.design.objective.both_strands`."""
    from seqcnn.interpret.attribution import ism

    xf = np.ascontiguousarray(x, dtype=np.float32)
    out = {}
    for t in tasks:
        d = np.asarray(ism(model, xf, target=t, batch_size=batch_size), np.float64)
        if both_strands(alphabet, forward_only):
            rc = np.ascontiguousarray(xf[:, ::-1, ::-1])
            d_rc = np.asarray(ism(model, rc, target=t, batch_size=batch_size), np.float64)
            d = (d + d_rc[:, ::-1, ::-1]) / 2
        out[t] = d
    return out


def _distinct_best(cand_obj: np.ndarray, keys: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` best candidates (``cand_obj`` ``(m,)``) with distinct ``keys``
    (rows of bytes), best first."""
    order = np.argsort(-cand_obj, kind="stable")
    seen, out = set(), []
    for j in order:
        key = keys[j].tobytes()
        if key in seen:
            continue
        seen.add(key)
        out.append(j)
        if len(out) == k:
            break
    return np.asarray(out, dtype=int)


def evolve(model: nn.Module, start: np.ndarray, objective: Objective, alphabet: str,
           budget: int | None = None, beam: int = 1, max_rounds: int = 50,
           tol: float = 1e-4, batch_size: int = 256, *, forward_only: bool = False) -> Design:
    """Directed evolution of one-hot ``start`` ``(n, A, L)`` (module docstring) →
    :class:`~seqcnn.design.objective.Design` (trajectory: round 0 is the start). The
    search is deterministic: ties go to the lower position, then the lower letter."""
    if beam < 1:
        raise ValueError(f"beam must be at least 1, got {beam}")
    start = np.asarray(start, dtype=np.uint8)
    n, A, L = start.shape
    best = start.copy()
    logits = model_logits(model, best, alphabet, batch_size, forward_only=forward_only)
    best_obj = objective.score_logits(logits)
    rows = [trajectory_rows(0, logits, best_obj, np.zeros(n, int))]
    # the beam: kept sequences, their start index, logits and objective
    pool, owner, pool_logits = best.copy(), np.arange(n), logits
    active = np.ones(n, bool)
    # one substitution per round: ``budget`` rounds reach the budget
    rounds = max_rounds if budget is None else min(max_rounds, budget)
    for r in range(1, rounds + 1):
        keep = active[owner]
        pool, owner, pool_logits = pool[keep], owner[keep], pool_logits[keep]
        if not len(pool):
            break
        delta = mutant_logits(model, pool, objective.tasks, alphabet, batch_size,
                              forward_only=forward_only)
        cand = objective.score({t: pool_logits[:, t, None, None] + delta[t]
                                for t in objective.tasks})
        cand = np.where(allowed_substitutions(pool, start[owner], budget), cand, -np.inf)
        new_pool, new_owner = [], []
        for i in np.unique(owner):
            rows_i = np.flatnonzero(owner == i)
            flat = cand[rows_i].reshape(-1)
            finite = np.flatnonzero(np.isfinite(flat))
            if not len(finite) or flat[finite].max() <= best_obj[i] + tol:
                active[i] = False
                continue
            # candidate keys: the mutated sequence as letter codes
            m, a, pos = np.unravel_index(finite, (len(rows_i), A, L))
            codes = pool[rows_i].argmax(axis=1)[m]
            codes[np.arange(len(m)), pos] = a
            chosen = _distinct_best(flat[finite], codes.astype(np.uint8), beam)
            for j in chosen:
                y = pool[rows_i[m[j]]].copy()
                y[:, pos[j]] = 0
                y[a[j], pos[j]] = 1
                new_pool.append(y)
                new_owner.append(i)
        if not new_pool:
            break
        pool, owner = np.stack(new_pool), np.asarray(new_owner)
        pool_logits = model_logits(model, pool, alphabet, batch_size, forward_only=forward_only)
        pool_obj = objective.score_logits(pool_logits)
        for i in np.unique(owner):
            rows_i = np.flatnonzero(owner == i)
            j = rows_i[np.argmax(pool_obj[rows_i])]
            if pool_obj[j] > best_obj[i]:
                best[i], best_obj[i], logits[i] = pool[j], pool_obj[j], pool_logits[j]
        rows.append(trajectory_rows(r, logits, best_obj, count_edits(best, start)))
    return Design(x=best, start=start, trajectory=pd.concat(rows, ignore_index=True))


__all__ = ["evolve", "mutant_logits"]
