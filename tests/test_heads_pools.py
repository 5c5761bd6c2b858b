"""Pools that count as well as detect (local_avg, max_avg, local_max_avg): hand-computed
values with a mask, padding never read, DeepLIFT's fast path unchanged."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from seqcnn.interpret import DeepLiftView, deep_lift_shap, deeplift_view
from seqcnn.models import build_model
from seqcnn.models.heads import PoolingHead, masked_local_avg

# channels (2) x positions (5); the last position is padding (masked)
X = torch.tensor([[[1.0, 2.0, 3.0, 4.0, 5.0],
                   [0.0, -1.0, 6.0, 2.0, 9.0]]])
MASK = torch.tensor([[True, True, True, True, False]])

# 2 bins of ceil(5 / 2) = 3 positions: [0, 1, 2] and [3, (4)]
EXPECTED = {
    # means per bin, channel-major: ch0 (1+2+3)/3, 4/1; ch1 (0-1+6)/3, 2/1
    "local_avg": [2.0, 4.0, 5 / 3, 2.0],
    # global max of the valid positions, then their mean: (1+2+3+4)/4, (0-1+6+2)/4
    "max_avg": [4.0, 6.0, 2.5, 1.75],
    # max per bin (ch0 3, 4; ch1 6, 2), then the means per bin
    "local_max_avg": [3.0, 4.0, 6.0, 2.0, 2.0, 4.0, 5 / 3, 2.0],
}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_counting_pools_give_the_hand_computed_values(kind):
    head = PoolingHead(kind, channels=2, length=5, bins=2)
    out = head(X, MASK)
    assert head.out_features == len(EXPECTED[kind])
    torch.testing.assert_close(out, torch.tensor([EXPECTED[kind]]))
    padded = X.clone()
    padded[0, :, 4] = float("nan")  # whatever sits in the padding never reaches the output
    torch.testing.assert_close(head(padded, MASK), out)


def test_local_avg_of_an_all_padding_bin_is_zero_and_masked():
    mask = torch.tensor([[True, True, True, False, False]])
    mean, bins = masked_local_avg(X, mask, window=3)
    torch.testing.assert_close(mean, torch.tensor([[[2.0, 0.0], [5 / 3, 0.0]]]))
    assert bins.tolist() == [[True, False]]


def test_max_avg_accepts_any_length_and_local_avg_needs_the_fixed_one():
    head = PoolingHead("max_avg", channels=2, length=5)
    assert head(torch.ones(1, 2, 9)).shape == (1, 4)
    with pytest.raises(ValueError, match="needs feature length 5"):
        PoolingHead("local_avg", channels=2, length=5, bins=2)(torch.ones(1, 2, 9))


@pytest.mark.parametrize("pool", ["local_avg", "max_avg", "local_max_avg"])
def test_fast_deep_lift_shap_equals_tangermeme_with_counting_pools(pool):
    """A mean is linear, so the fast (hook-free) DeepLIFT path still takes these heads and
    gives tangermeme's maps on the same references."""
    from tangermeme.deep_lift_shap import deep_lift_shap as tm_dls

    from seqcnn.interpret import deeplift

    torch.manual_seed(0)
    model = build_model({"arch": "dilated", "filters": 6, "first_kernel": 7, "layers": 2,
                         "pool": pool, "local_bins": 4}, 4, 1, 40).eval()
    assert deeplift.supports(deeplift_view(model), (DeepLiftView,))
    codes = np.random.default_rng(1).integers(0, 4, (2, 40))
    x = np.eye(4, dtype=np.float32)[codes].transpose(0, 2, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = tm_dls(deeplift_view(model), torch.tensor(x), target=0, n_shuffles=3,
                      hypothetical=True, random_state=7, device="cpu").numpy()
    got = deep_lift_shap(model, x, target=0, n_shuffles=3, random_state=7, correct=False,
                         fast=True)
    scale = np.abs(want).max()
    assert scale > 0
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6 * scale)
