"""Gradient design: a straight-through relaxation of the one-hot input with an edit penalty.

Ledidi (Schreiber et al.) is not installed here; this is the same idea written for seqcnn.
Each sequence carries free logits ``W`` ``(A, L)``, initialised to ``init`` at the start's
letters and 0 elsewhere. A step draws a hard one-hot sample ``argmax(W + Gumbel noise)``;
the model sees that hard sequence in the forward pass and the gradient flows through the
softmax ``softmax((W + noise) / tau)`` (straight-through Gumbel-softmax). The loss per
sequence is ``−objective + penalty × edits`` (edits: positions whose letter differs from
the start, counted through the same straight-through estimate); Adam updates ``W``.

Every step's hard sample is scored exactly in the forward pass; the best sample within the
edit budget is kept per sequence (the start itself is always within it). With a budget, a
sample with more edits has its edits of smallest logit gain ``W[new] − W[start]`` reverted
before scoring (:func:`~seqcnn.design.edits.enforce_budget`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from seqcnn.design.edits import count_edits, enforce_budget
from seqcnn.design.objective import Design, Objective, forward_logits, trajectory_rows
from seqcnn.models.zoo import model_device


def _gumbel(shape: tuple[int, ...], gen: torch.Generator, device: torch.device) -> torch.Tensor:
    u = torch.rand(shape, generator=gen).clamp_(1e-9, 1 - 1e-9).to(device)
    return -torch.log(-torch.log(u))


def relax(model: nn.Module, start: np.ndarray, objective: Objective, alphabet: str,
          budget: int | None = None, steps: int = 200, lr: float = 0.5, tau: float = 1.0,
          penalty: float = 0.05, init: float = 2.0, seed: int = 0, batch_size: int = 128,
          log_every: int = 10, *, forward_only: bool = False) -> Design:
    """Design from one-hot ``start`` ``(n, A, L)`` (module docstring) →
    :class:`~seqcnn.design.objective.Design`; the trajectory has the best sequences every
    ``log_every`` steps (round = step). ``seed`` fixes the Gumbel noise; ``forward_only``:
    score the forward strand only (:func:`~seqcnn.design.objective.both_strands`)."""
    start = np.asarray(start, dtype=np.uint8)
    n, A, L = start.shape
    dev = model_device(model)
    model.eval()
    trainable = [q for q in model.parameters() if q.requires_grad]
    for q in trainable:  # gradients for the input only; restored below
        q.requires_grad_(False)
    gen = torch.Generator().manual_seed(seed)
    best = start.copy()
    best_obj = np.full(n, -np.inf)
    best_logits = np.zeros((n, 0))
    rows = []
    for s in range(0, n, batch_size):
        x0 = torch.as_tensor(start[s:s + batch_size], dtype=torch.float32, device=dev)
        W = (x0 * init).clone().requires_grad_(True)
        opt = torch.optim.Adam([W], lr=lr)
        for step in range(steps + 1):
            noise = _gumbel(tuple(W.shape), gen, dev) if step > 0 else torch.zeros_like(W)
            soft = torch.softmax((W + noise) / tau, dim=1)
            hard_np = np.eye(A, dtype=np.uint8)[(W + noise).argmax(dim=1).cpu().numpy()]
            hard_np = hard_np.transpose(0, 2, 1)
            if budget is not None:
                w = W.detach().cpu().numpy()
                gain = (w * hard_np).sum(1) - (w * start[s:s + batch_size]).sum(1)
                hard_np = enforce_budget(hard_np, start[s:s + batch_size], budget, gain)
            hard = torch.as_tensor(hard_np, dtype=torch.float32, device=dev)
            x = hard + soft - soft.detach()
            z = forward_logits(model, x, alphabet, forward_only=forward_only)
            obj = objective.score_logits(z)
            edits = (1 - (x * x0).sum(dim=1)).sum(dim=1)
            loss = (-obj + penalty * edits).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            o = obj.detach().double().cpu().numpy()
            better = o > best_obj[s:s + batch_size]
            idx = s + np.flatnonzero(better)
            best[idx], best_obj[idx] = hard_np[better], o[better]
            zl = z.detach().double().cpu().numpy()
            if best_logits.shape[1] != zl.shape[1]:
                best_logits = np.zeros((n, zl.shape[1]))
            best_logits[idx] = zl[better]
            if step % log_every == 0 or step == steps:
                sl = slice(s, s + len(x0))
                rows.append(trajectory_rows(step, best_logits[sl], best_obj[sl],
                                            count_edits(best[sl], start[sl]),
                                            index=np.arange(sl.start, sl.stop)))
    for q in trainable:
        q.requires_grad_(True)
    traj = pd.concat(rows, ignore_index=True).sort_values(["round", "sequence"],
                                                          ignore_index=True)
    return Design(x=best, start=start, trajectory=traj)


__all__ = ["relax"]
