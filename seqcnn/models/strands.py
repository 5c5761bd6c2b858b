"""One logit per sequence and task, optionally averaged over both strands."""

from __future__ import annotations

import torch
from torch import nn


def sequence_logits(model: nn.Module, x: torch.Tensor, both_strands: bool = True) -> torch.Tensor:
    """Logits ``(n, T)`` of one-hot ``x`` ``(n, A, L)`` (float, differentiable).

    Per-position outputs ``(n, T, L')`` are summed over length. With ``both_strands`` the
    model also sees the reverse complement (channels and length flipped, in the same batch)
    and the two logits are averaged: DNA only.
    """
    if both_strands:
        y = model(torch.cat([x, x.flip(dims=(-2, -1))]))
        y = y.reshape(len(y), y.shape[1], -1).sum(dim=-1)
        return (y[:len(x)] + y[len(x):]) / 2
    y = model(x)
    return y.reshape(len(y), y.shape[1], -1).sum(dim=-1)
