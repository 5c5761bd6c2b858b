"""Pooling heads: masks respected; positional heads (local_max, attention) keep where a motif
sits, global max pooling cannot."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqcnn.alphabet import one_hot_codes
from seqcnn.models import build_model
from seqcnn.models.heads import AttentionPool, PoolingHead
from seqcnn.train.loop import predict, task_metrics, train

MOTIF = [3, 2, 0, 1, 3, 1, 0, 2]  # TGACTCAG
SMALL = {"arch": "dilated", "filters": 8, "first_kernel": 9, "layers": 1, "kernel": 3}


def positional(n: int, seed: int, length: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Random DNA, every sequence with one motif: at offset 50 (label 1) or 250 (label 0)."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(n, length))
    labels = (np.arange(n) % 2 == 0).astype(np.uint8)[:, None]
    for i in range(n):
        at = 50 if labels[i, 0] else 250
        codes[i, at:at + len(MOTIF)] = MOTIF
    return one_hot_codes(codes, 4), labels


def test_attention_pool_weights_sum_to_one_over_valid_positions():
    torch.manual_seed(0)
    pool = AttentionPool(channels=3, length=10, heads=2)
    x = torch.randn(2, 3, 10)
    mask = torch.ones(2, 10, dtype=torch.bool)
    mask[1, 6:] = False
    w = pool.weights(x, mask)
    assert w.shape == (2, 2, 10)
    assert torch.allclose(w.sum(-1), torch.ones(2, 2))
    assert torch.all(w[1, :, 6:] == 0)
    changed = x.clone()
    changed[1, :, 6:] = 1e6  # padding content never reaches the output
    assert torch.equal(pool(x, mask), pool(changed, mask))
    assert pool(x, mask).shape == (2, 6)


@pytest.mark.parametrize("kind,features", [("attention", 3 * 4), ("local_max", 3 * 5)])
def test_positional_heads_need_the_fixed_length(kind, features):
    head = PoolingHead(kind, channels=3, length=10, bins=5, heads=4)
    assert head.out_features == features
    assert head(torch.randn(2, 3, 10)).shape == (2, features)
    with pytest.raises(ValueError, match="needs feature length 10"):
        head(torch.randn(2, 3, 12))


def test_global_max_gives_the_same_output_wherever_the_motif_sits():
    x = torch.zeros(2, 4, 300)  # the motif alone on an empty background, at 50 and at 250
    for row, at in enumerate((50, 250)):
        x[row, MOTIF, torch.arange(at, at + len(MOTIF))] = 1.0
    outputs = {}
    for pool in ("global_max", "local_max", "attention"):
        torch.manual_seed(0)
        model = build_model({**SMALL, "pool": pool, "local_bins": 6}, 4, 1, 300).eval()
        with torch.no_grad():
            outputs[pool] = model(x)[:, 0]
    assert outputs["global_max"][0] == outputs["global_max"][1]
    assert outputs["local_max"][0] != outputs["local_max"][1]
    assert outputs["attention"][0] != outputs["attention"][1]


def test_local_pool_separates_motif_position_where_global_max_cannot():
    x, y = positional(256, seed=1)
    xv, yv = positional(128, seed=2)
    cfg = {"epochs": 6, "batch_size": 32, "patience": 0, "seed": 0, "lr": 0.01}
    auroc = {}
    for pool in ("global_max", "local_max"):
        res = train({**SMALL, "pool": pool, "local_bins": 6}, (x[:192], y[:192]),
                    (x[192:], y[192:]), cfg, progress=False)
        auroc[pool] = float(task_metrics(yv, predict(res.model, xv))[0][0])
    assert auroc["local_max"] > 0.95
    assert auroc["global_max"] < 0.75
