"""seqcnn.train.batches: padding modes and length-grouped batches."""

import numpy as np
import pytest
import torch

from seqcnn.train.batches import LengthGroupedBatchSampler, length_grouped_batches, pad_batch


def test_pad_batch_modes():
    x = np.zeros((3, 4, 6), dtype=np.uint8)
    x[:, 0, :] = 1  # non-zero everywhere, even in the padding: pad_batch must overwrite it
    lengths = np.array([6, 2, 4], dtype=np.int32)
    real = np.arange(6)[None, :] < lengths[:, None]

    z, mask = pad_batch(x, lengths, "zeros")
    assert mask is None and z.dtype == np.float32
    assert (z[:, 0][real] == 1).all() and (z.transpose(0, 2, 1)[~real] == 0).all()

    zm, mask = pad_batch(x, lengths, "zeros+mask")
    np.testing.assert_array_equal(mask, real)
    np.testing.assert_array_equal(zm, z)

    u, mask = pad_batch(torch.from_numpy(x), torch.from_numpy(lengths), "uniform")
    assert mask is None and isinstance(u, torch.Tensor)
    pad_cols = u.permute(0, 2, 1)[torch.from_numpy(~real)]
    assert torch.allclose(pad_cols, torch.full_like(pad_cols, 0.25))
    assert torch.equal(u.permute(0, 2, 1)[torch.from_numpy(real)],
                       torch.from_numpy(z).permute(0, 2, 1)[torch.from_numpy(real)])

    t, mask = pad_batch(x[1:], lengths[1:], "zeros+mask", trim=True)
    assert t.shape == (2, 4, 4) and mask.shape == (2, 4)
    with pytest.raises(ValueError, match="padding mode"):
        pad_batch(x, lengths, "reflect")
    with pytest.raises(ValueError, match="lengths must lie"):
        pad_batch(x, np.array([7, 1, 1]), "zeros")


def test_length_grouped_batches_cover_once_with_low_spread():
    rng = np.random.default_rng(0)
    lengths = rng.integers(50, 500, size=1003)
    batches = length_grouped_batches(lengths, 32, seed=1, epoch=0)
    flat = np.concatenate(batches)
    assert len(batches) == 32 and np.array_equal(np.sort(flat), np.arange(1003))
    spread = np.mean([np.ptp(lengths[b]) for b in batches[:-1]])
    random_spread = np.mean([np.ptp(lengths[b]) for b in np.array_split(rng.permutation(1003),
                                                                        32)])
    assert spread < 0.15 * random_spread
    again = length_grouped_batches(lengths, 32, seed=1, epoch=0)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))
    other = length_grouped_batches(lengths, 32, seed=1, epoch=1)
    assert not np.array_equal(np.concatenate(other), flat)
    # batch order is shuffled: not sorted by length across the epoch
    means = [lengths[b].mean() for b in batches]
    assert not (np.all(np.diff(means) >= 0) or np.all(np.diff(means) <= 0))
    dropped = length_grouped_batches(lengths, 32, seed=1, epoch=0, drop_last=True)
    assert len(dropped) == 31 and all(len(b) == 32 for b in dropped)
    sampler = LengthGroupedBatchSampler(lengths, 32, seed=1)
    sampler.set_epoch(1)
    keys = list(sampler)
    assert len(keys) == len(sampler) == 32 and keys[0][0] == 1
    assert np.array_equal(keys[0][1], other[0])
