"""Motif implanting: greedy insertion of motif consensus sequences where the model wants.

The idea of tangermeme's ``greedy_substitution`` (which designs one sequence at a time,
trying every motif at every position), batched over sequences and with the positions
chosen by the model: each round, for every motif (and, for DNA, its reverse complement)
every placement is ranked by the first-order change of the objective,
``Σ ∂objective/∂x · (x_with_motif − x)`` (the gradient of the objective, on both strands
unless ``forward_only``),
the ``top_positions`` best placements per motif are scored exactly with the model, and the
best one per sequence is kept if it raises the objective by more than ``tol`` and stays
within the edit budget. Rounds stop at ``max_rounds`` insertions or when nothing helps.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import torch
from torch import nn

from seqcnn.design.edits import count_edits
from seqcnn.design.objective import (
    Design,
    Objective,
    forward_logits,
    model_logits,
    trajectory_rows,
)
from seqcnn.models.zoo import model_device


def consensus(ppm: np.ndarray) -> np.ndarray:
    """The consensus of a probability matrix ``(A, w)`` as one-hot ``uint8`` ``(A, w)``."""
    ppm = np.asarray(ppm)
    return np.eye(ppm.shape[0], dtype=np.uint8)[ppm.argmax(axis=0)].T.copy()


def objective_gradient(model: nn.Module, x: np.ndarray, objective: Objective, alphabet: str,
                       batch_size: int = 128, *, forward_only: bool = False) -> np.ndarray:
    """``∂objective/∂x`` at one-hot ``x`` ``(n, A, L)``: float64 ``(n, A, L)``."""
    dev = model_device(model)
    model.eval()
    out = []
    for s in range(0, len(x), batch_size):
        xb = torch.as_tensor(np.ascontiguousarray(x[s:s + batch_size]), dtype=torch.float32,
                             device=dev).requires_grad_(True)
        z = forward_logits(model, xb, alphabet, forward_only=forward_only)
        obj = objective.score_logits(z).sum()
        (g,) = torch.autograd.grad(obj, xb)
        out.append(g.double().cpu().numpy())
    return np.concatenate(out) if out else np.zeros(np.shape(x))


def placement_gain(grad: np.ndarray, x: np.ndarray, motif: np.ndarray) -> np.ndarray:
    """First-order gain of pasting one-hot ``motif`` ``(A, w)`` at every offset of every
    sequence: ``(n, L − w + 1)`` float64."""
    n, A, L = x.shape
    w = motif.shape[1]
    gx = (grad * x).sum(axis=1)  # (n, L): the gradient at the letters in place
    win = np.lib.stride_tricks.sliding_window_view
    gm = (win(grad, w, axis=2) * motif[None, :, None, :]).sum(axis=(1, 3))  # (n, L−w+1)
    return gm - win(gx, w, axis=1).sum(axis=-1)


def implant(model: nn.Module, start: np.ndarray, objective: Objective, alphabet: str,
            motifs: Mapping[str, np.ndarray], budget: int | None = None,
            max_rounds: int = 3, top_positions: int = 8, tol: float = 1e-4,
            batch_size: int = 256, *, forward_only: bool = False) -> Design:
    """Greedy motif insertion into one-hot ``start`` ``(n, A, L)`` (module docstring).
    ``motifs``: name → probability matrix ``(A, w)`` (its consensus is inserted). The
    :class:`~seqcnn.design.objective.Design` lists the inserted motifs in ``inserted``."""
    start = np.asarray(start, dtype=np.uint8)
    n, A, L = start.shape
    variants = []
    for name, ppm in motifs.items():
        m = consensus(ppm)
        if m.shape[0] != A:
            raise ValueError(f"motif {name} has {m.shape[0]} letters, the sequences {A}")
        if m.shape[1] > L:
            continue
        variants.append((name, "+", m))
        if alphabet == "dna":  # a motif may act in either orientation, oriented data or not
            variants.append((name, "-", m[::-1, ::-1].copy()))
    x = start.copy()
    logits = model_logits(model, x, alphabet, batch_size, forward_only=forward_only)
    obj = objective.score_logits(logits)
    rows = [trajectory_rows(0, logits, obj, np.zeros(n, int))]
    inserted = []
    active = np.ones(n, bool)
    for r in range(1, max_rounds + 1):
        if not active.any() or not variants:
            break
        act = np.flatnonzero(active)
        grad = objective_gradient(model, x[act], objective, alphabet, forward_only=forward_only)
        cands, meta = [], []
        for v, (_, _, m) in enumerate(variants):
            gain = placement_gain(grad, x[act], m)
            top = np.argsort(-gain, axis=1, kind="stable")[:, :top_positions]
            for k, i in enumerate(act):
                for off in top[k]:
                    y = x[i].copy()
                    y[:, off:off + m.shape[1]] = m
                    cands.append(y)
                    meta.append((i, v, int(off)))
        cands = np.stack(cands)
        meta = np.asarray(meta)
        ok = np.ones(len(cands), bool) if budget is None else (
            count_edits(cands, start[meta[:, 0]]) <= budget)
        score = np.full(len(cands), -np.inf)
        if ok.any():
            z = model_logits(model, cands[ok], alphabet, batch_size,
                             forward_only=forward_only)
            score[ok] = objective.score_logits(z)
        for i in act:
            rows_i = np.flatnonzero(meta[:, 0] == i)
            j = rows_i[np.argmax(score[rows_i])]
            if not np.isfinite(score[j]) or score[j] <= obj[i] + tol:
                active[i] = False
                continue
            x[i], obj[i] = cands[j], score[j]
            name, strand, _ = variants[meta[j, 1]]
            inserted.append({"sequence": int(i), "round": r, "motif": name,
                             "strand": strand, "start": int(meta[j, 2])})
        logits = model_logits(model, x, alphabet, batch_size, forward_only=forward_only)
        rows.append(trajectory_rows(r, logits, obj, count_edits(x, start)))
    return Design(x=x, start=start, trajectory=pd.concat(rows, ignore_index=True),
                  inserted=pd.DataFrame(inserted, columns=["sequence", "round", "motif",
                                                           "strand", "start"]))


__all__ = ["consensus", "implant", "objective_gradient", "placement_gain"]
