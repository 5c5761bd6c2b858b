"""Losses for quantitative tracks: profiles (multinomial), total counts (MSE of log1p), bins
(Poisson), and BPNet's profile + count mixture.

Shapes: ``N`` regions, ``T`` tracks, ``L`` output positions (or bins). Counts are read
counts (non-negative floats; bigWig signal need not be integer). Losses are in nats.

- :func:`multinomial_nll`: the profile loss. ``log p = log_softmax(logits)`` over positions
  (per region and track), ``nll = -Σ_l counts_l · log p_l``; with ``coefficient`` (the
  default) minus the log multinomial coefficient ``log(n!) - Σ_l log(counts_l!)`` (``n =
  Σ counts``, factorials by ``lgamma(k + 1)``), which makes it the exact negative
  log-likelihood of the observed counts given their total (as bpnet-lite's ``MNLLLoss``).
  The coefficient does not depend on the model, so it changes values, not gradients.
- :func:`log1p_mse`: the count loss, ``(log_counts - log(1 + Σ_l counts))²``.
- :func:`poisson_nll`: binned rates ``λ`` vs counts ``k``: ``λ - k · log(λ + eps)`` (as
  ``torch.nn.functional.poisson_nll_loss(log_input=False, full=False)``), plus ``log(k!)``
  with ``full`` (exact, where torch uses Stirling's approximation).
- :func:`count_loss_weight`: BPNet's weight ``λ`` of the count loss.
- :class:`ProfileCountLoss`: ``profile + λ · count``, each a mean over regions and tracks.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor, nn

REDUCTIONS = ("mean", "sum", "none")


def _reduce(values: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    if reduction == "none":
        return values
    raise ValueError(f"unknown reduction {reduction!r}; choose one of {', '.join(REDUCTIONS)}")


def _same_shape(a: Tensor, b: Tensor, what: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{what}: predictions {tuple(a.shape)} and targets {tuple(b.shape)} "
                         "differ in shape")


def log_multinomial_coefficient(counts: Tensor) -> Tensor:
    """``log(n! / Π_l counts_l!)`` over the last axis: ``(..., L)`` → ``(...)``."""
    return torch.lgamma(counts.sum(-1) + 1) - torch.lgamma(counts + 1).sum(-1)


def multinomial_nll(logits: Tensor, counts: Tensor, *, coefficient: bool = True,
                    reduction: str = "mean") -> Tensor:
    """Multinomial NLL of ``counts`` ``(N, T, L)`` under ``softmax(logits)`` over ``L``.

    Per region and track ``-Σ_l counts_l · log_softmax(logits)_l``, minus
    :func:`log_multinomial_coefficient` when ``coefficient``; ``reduction`` ``mean`` /
    ``sum`` over ``(N, T)``, or ``none`` for the ``(N, T)`` values. Logits need not be
    normalised. A region with no counts contributes 0.
    """
    _same_shape(logits, counts, "multinomial_nll")
    counts = counts.to(logits.dtype)
    nll = -(counts * torch.log_softmax(logits, dim=-1)).sum(-1)
    if coefficient:
        nll = nll - log_multinomial_coefficient(counts)
    return _reduce(nll, reduction)


def log1p_mse(log_counts: Tensor, totals: Tensor, reduction: str = "mean") -> Tensor:
    """``(log_counts - log(1 + totals))²`` for predicted ``log_counts`` ``(N, T)`` and
    observed total counts ``totals`` ``(N, T)`` (sum a profile's counts over positions
    first)."""
    _same_shape(log_counts, totals, "log1p_mse")
    return _reduce((log_counts - torch.log1p(totals.to(log_counts.dtype))) ** 2, reduction)


def poisson_nll(rates: Tensor, counts: Tensor, *, full: bool = False, eps: float = 1e-8,
                reduction: str = "mean") -> Tensor:
    """Poisson NLL of ``counts`` under ``rates`` (expected counts, > 0), any equal shapes.

    ``rates - counts · log(rates + eps)``, plus ``lgamma(counts + 1)`` with ``full``.
    """
    _same_shape(rates, counts, "poisson_nll")
    counts = counts.to(rates.dtype)
    nll = rates - counts * torch.log(rates + eps)
    if full:
        nll = nll + torch.lgamma(counts + 1)
    return _reduce(nll, reduction)


def count_loss_weight(counts: np.ndarray | Tensor, scale: float = 1.0) -> float:
    """BPNet's count-loss weight: ``scale × mean total count`` per region and track.

    ``counts`` is ``(N, T, L)`` profiles (summed over ``L``) or ``(N, T)`` totals, usually
    of the training peaks. ``scale=1`` is what bpnet-lite's ``bpnet fit`` does when no
    ``count_loss_weight`` is given (the mean over peaks and tracks of the summed signal);
    ``scale=0.5`` is the BPNet paper's ``λ = n_obs / 2`` (Avsec et al. 2021, Methods: with
    it the profile and count losses weigh about equally). The profile loss grows with the
    number of reads while the count loss, in log space, does not; hence a weight that grows
    with the counts.
    """
    values = torch.as_tensor(counts, dtype=torch.float64)
    if values.dim() == 3:
        values = values.sum(-1)
    if values.dim() != 2 or values.numel() == 0:
        raise ValueError(f"counts must be (N, T, L) or (N, T) with N >= 1, got "
                         f"{tuple(values.shape)}")
    return float(scale * values.mean())


class ProfileCountParts(NamedTuple):
    """The mixture and its two terms (each a mean over regions and tracks)."""

    total: Tensor
    profile: Tensor
    count: Tensor


class ProfileCountLoss(nn.Module):
    """BPNet's loss: ``multinomial_nll(profile_logits, counts) + count_weight ·
    log1p_mse(log_counts, counts.sum(-1))``.

    ``forward(profile_logits (N, T, L), log_counts (N, T), counts (N, T, L))`` returns
    :class:`ProfileCountParts` (``.total`` to back-propagate; ``.profile`` and ``.count``
    to log). ``count_weight`` from :func:`count_loss_weight`. One multinomial per track
    (bpnet-lite pools all tracks of a region into one multinomial and one total; per track
    keeps tracks of different depth apart).
    """

    def __init__(self, count_weight: float, coefficient: bool = True) -> None:
        super().__init__()
        if not count_weight >= 0:
            raise ValueError(f"count_weight must be >= 0, got {count_weight}")
        self.count_weight = float(count_weight)
        self.coefficient = coefficient

    def forward(self, profile_logits: Tensor, log_counts: Tensor, counts: Tensor
                ) -> ProfileCountParts:
        profile = multinomial_nll(profile_logits, counts, coefficient=self.coefficient)
        count = log1p_mse(log_counts, counts.sum(-1))
        return ProfileCountParts(profile + self.count_weight * count, profile, count)


__all__ = [
    "ProfileCountLoss",
    "ProfileCountParts",
    "count_loss_weight",
    "log1p_mse",
    "log_multinomial_coefficient",
    "multinomial_nll",
    "poisson_nll",
]
