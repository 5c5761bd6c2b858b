"""Tests for seqcnn.train.losses: values by hand and against torch's distributions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seqcnn.train.losses import (
    ProfileCountLoss,
    count_loss_weight,
    log1p_mse,
    log_multinomial_coefficient,
    multinomial_nll,
    poisson_nll,
)


def test_multinomial_nll_by_hand():
    """p = (1/6, 2/6, 3/6), counts (1, 0, 2): P = 3!/(1! 0! 2!) · 1/6 · (1/2)² = 1/8."""
    logits = torch.log(torch.tensor([[[1.0, 2.0, 3.0]]]))  # unnormalised: softmax divides by 6
    counts = torch.tensor([[[1.0, 0.0, 2.0]]])
    without = multinomial_nll(logits, counts, coefficient=False)
    assert without.item() == pytest.approx(math.log(6) + 2 * math.log(2))  # -Σ k log p
    assert log_multinomial_coefficient(counts).item() == pytest.approx(math.log(3))
    assert multinomial_nll(logits, counts).item() == pytest.approx(math.log(8))
    # a constant added to the logits changes nothing
    assert multinomial_nll(logits + 7.5, counts).item() == pytest.approx(math.log(8))


def test_multinomial_nll_equals_torch_multinomial_per_region_and_track():
    torch.manual_seed(0)
    logits = torch.randn(3, 2, 10, dtype=torch.float64)
    counts = torch.randint(0, 6, (3, 2, 10)).to(torch.float64)
    counts[1, 0] = 0  # a region and track with no reads
    nll = multinomial_nll(logits, counts, reduction="none")
    assert nll.shape == (3, 2)
    for i in range(3):
        for t in range(2):
            n = int(counts[i, t].sum())
            if n == 0:
                assert nll[i, t].item() == 0.0
                continue
            dist = torch.distributions.Multinomial(n, logits=logits[i, t])
            assert nll[i, t].item() == pytest.approx(-dist.log_prob(counts[i, t]).item())
    assert multinomial_nll(logits, counts).item() == pytest.approx(nll.mean().item())
    assert multinomial_nll(logits, counts, reduction="sum").item() == pytest.approx(
        nll.sum().item())


def test_multinomial_gradient_is_expected_minus_observed_counts():
    """d NLL / d logits = n · softmax(logits) - counts, with or without the coefficient."""
    logits = torch.tensor([[[0.5, -1.0, 2.0, 0.0]]], requires_grad=True)
    counts = torch.tensor([[[3.0, 0.0, 4.0, 1.0]]])
    for coefficient in (True, False):
        (grad,) = torch.autograd.grad(multinomial_nll(logits, counts, coefficient=coefficient),
                                      logits)
        expected = 8 * torch.softmax(logits.detach(), -1) - counts
        torch.testing.assert_close(grad, expected)


def test_log1p_mse_by_hand():
    log_counts = torch.tensor([[math.log(4) + 0.5, math.log(1)], [math.log(11), 2.0]])
    totals = torch.tensor([[3.0, 0.0], [10.0, 0.0]])
    values = log1p_mse(log_counts, totals, reduction="none")
    torch.testing.assert_close(values, torch.tensor([[0.25, 0.0], [0.0, 4.0]]))
    assert log1p_mse(log_counts, totals).item() == pytest.approx(4.25 / 4)
    with pytest.raises(ValueError, match="differ in shape"):
        log1p_mse(log_counts, totals[:, :1])


def test_poisson_nll_equals_torch():
    torch.manual_seed(1)
    rates = torch.rand(4, 2, 5, dtype=torch.float64) * 5 + 0.1
    counts = torch.poisson(rates)
    torch.testing.assert_close(
        poisson_nll(rates, counts),
        F.poisson_nll_loss(rates, counts, log_input=False, full=False, eps=1e-8))
    exact = -torch.distributions.Poisson(rates).log_prob(counts)
    torch.testing.assert_close(poisson_nll(rates, counts, full=True, reduction="none"), exact)
    # by hand: rate 2, count 3: 2 - 3 log 2 (+ log 3! = log 6 when full)
    r, k = torch.tensor([2.0]), torch.tensor([3.0])
    assert poisson_nll(r, k).item() == pytest.approx(2 - 3 * math.log(2), rel=1e-6)
    assert poisson_nll(r, k, full=True).item() == pytest.approx(2 - 3 * math.log(2)
                                                                + math.log(6), rel=1e-6)


def test_count_loss_weight_is_the_mean_total_count():
    counts = np.zeros((2, 2, 4), dtype=np.float32)
    counts[0, 0] = [1, 2, 0, 0]  # total 3
    counts[0, 1] = [0, 0, 0, 5]  # 5
    counts[1, 0] = [1, 1, 1, 1]  # 4
    counts[1, 1] = [0, 0, 0, 0]  # 0
    assert count_loss_weight(counts) == pytest.approx(3.0)  # (3 + 5 + 4 + 0) / 4
    assert count_loss_weight(counts, scale=0.5) == pytest.approx(1.5)  # BPNet paper: n_obs/2
    assert count_loss_weight(torch.tensor([[3.0, 5.0], [4.0, 0.0]])) == pytest.approx(3.0)
    with pytest.raises(ValueError, match=r"\(N, T, L\) or \(N, T\)"):
        count_loss_weight(np.ones(5))


def test_profile_count_loss_mixes_the_two_terms():
    torch.manual_seed(2)
    logits = torch.randn(3, 2, 8)
    log_counts = torch.randn(3, 2)
    counts = torch.randint(0, 4, (3, 2, 8)).float()
    loss = ProfileCountLoss(count_weight=count_loss_weight(counts))
    parts = loss(logits, log_counts, counts)
    profile = multinomial_nll(logits, counts)
    count = ((log_counts - torch.log1p(counts.sum(-1))) ** 2).mean()
    torch.testing.assert_close(parts.profile, profile)
    torch.testing.assert_close(parts.count, count)
    weight = counts.sum(-1).mean()
    torch.testing.assert_close(parts.total, profile + weight * count)
    with pytest.raises(ValueError, match="count_weight"):
        ProfileCountLoss(count_weight=-1.0)
