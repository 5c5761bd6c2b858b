"""Tests for seqcnn.models.profile: cropping against gradient footprints, heads, strands."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from seqcnn.alphabet import ALPHABETS, one_hot_batch, reverse_complement
from seqcnn.errors import ConfigError
from seqcnn.models.layers import same_padding
from seqcnn.models.profile import (
    BinnedModel,
    ProfileModel,
    ReverseComplementAverage,
    build_track_model,
    flip_tracks,
    max_output_len,
    reverse_complement_batch,
    track_permutation,
    trunk_extent,
)
from seqcnn.models.receptive_field import gradient_footprint
from seqcnn.models.zoo import build_trunk, checkpoint
from seqcnn.train.losses import ProfileCountLoss, count_loss_weight

TRUNK = {"arch": "dilated", "filters": 8, "layers": 3, "first_kernel": 9}
HYBRID = {"arch": "hybrid", "filters": 8, "layers": 2, "first_kernel": 9,
          "transformer_layers": 1, "heads": 2, "max_distance": 16, "dropout": 0.0}


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def random_onehot(n: int, length: int, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]
    return torch.from_numpy(one_hot_batch(seqs)).float()


def support(model: torch.nn.Module, output, length: int, n: int = 16) -> tuple[int, int]:
    """First and last input position with a non-zero gradient of ``output(model(x))``
    (summed over the batch), over ``n`` random inputs."""
    torch.manual_seed(1)
    x = torch.randn(n, 4, length, requires_grad=True)
    (grad,) = torch.autograd.grad(output(model(x)).sum(), x)
    hit = (grad != 0).any(0).any(0).nonzero()[:, 0]
    return int(hit.min()), int(hit.max())


# --------------------------------------------------------------------------- geometry


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"first_kernel": 8, "kernel": 4},  # even kernels: same padding is lopsided
        {"dilation_base": 3},
        {"arch": "hybrid", "transformer_layers": 0, "heads": 2},
    ],
)
def test_trunk_extent_matches_receptive_field_and_gradient_footprint(options):
    torch.manual_seed(0)
    trunk = build_trunk({**TRUNK, **options}, 4, 200).eval()
    left, right = trunk_extent(trunk)
    assert left + right + 1 == trunk.receptive_field
    assert gradient_footprint(trunk, 3 * trunk.receptive_field, "dna") == trunk.receptive_field
    length = 3 * trunk.receptive_field
    centre = length // 2  # feature position `centre` reads centre - left .. centre + right
    assert support(trunk, lambda h: h[0][..., centre], length) == (centre - left, centre + right)


@pytest.mark.parametrize(("first_kernel", "profile_kernel"), [(9, 11), (8, 6)])
def test_profile_cropping_matches_the_receptive_field(first_kernel, profile_kernel):
    """With the largest output_len, the first profile output reads from input 0 and the last
    up to input L - 1: every output sees its whole receptive field and no more fits."""
    trunk = {**TRUNK, "first_kernel": first_kernel}
    length = 120
    extent = trunk_extent(build_trunk(trunk, 4, length))
    best = max_output_len(length, extent, profile_kernel)
    torch.manual_seed(0)
    model = ProfileModel(4, 2, length, output_len=best, trunk=trunk,
                         profile_kernel=profile_kernel).eval()
    rf = sum(extent) + profile_kernel
    assert model.receptive_field == rf
    # L - rf + 1 outputs have a full receptive field; a centred window (L - output_len
    # even) of lopsided kernels may fit two or three fewer
    assert length - rf - 2 <= best <= length - rf + 1 and (length - best) % 2 == 0
    s, pad_left = (length - best) // 2, same_padding(profile_kernel)[0]
    for m in (0, best // 2, best - 1):
        first, last = support(model, lambda out, m=m: out[0][..., m], length)
        assert last - first + 1 == rf
        assert first == s + m - pad_left - extent[0]  # centred on input s + m
    first = support(model, lambda out: out[0][..., 0], length)[0]
    last = support(model, lambda out: out[0][..., best - 1], length)[1]
    assert first >= 0 and last <= length - 1
    assert first == 0 or last == length - 1  # no room for two more outputs
    if best == length - rf + 1:  # symmetric: both ends touch the input's ends
        assert (first, last) == (0, length - 1)
    # the count head reads the window the profile head reads, all of it inside the input
    assert support(model, lambda out: out[1], length) == (first, last)
    with pytest.raises(ConfigError, match=f"at most output_len={best} "):
        ProfileModel(4, 2, length, output_len=best + 2, trunk=trunk,
                     profile_kernel=profile_kernel)
    with pytest.raises(ConfigError, match="must be even"):
        ProfileModel(4, 2, length, output_len=best - 1, trunk=trunk,
                     profile_kernel=profile_kernel)


def test_binned_head_bins_see_their_positions_and_receptive_field():
    length, bin_size, output_len = 100, 10, 40
    torch.manual_seed(0)
    model = BinnedModel(4, 3, length, output_len=output_len, bin_size=bin_size,
                        trunk=TRUNK).eval()
    left, right = model.extent
    rates = model(random_onehot(5, length))
    assert rates.shape == (5, 3, 4) and (rates > 0).all()
    s = (length - output_len) // 2
    for b in range(4):
        span = support(model, lambda out, b=b: out[..., b], length)
        assert span == (s + b * bin_size - left, s + (b + 1) * bin_size - 1 + right)
    with pytest.raises(ConfigError, match="multiple of bin_size"):
        BinnedModel(4, 3, length, output_len=44, bin_size=10, trunk=TRUNK)
    with pytest.raises(ConfigError, match="at most output_len=70 "):
        BinnedModel(4, 3, length, output_len=80, bin_size=10, trunk=TRUNK)


def test_trunks_without_base_pair_resolution_are_refused():
    with pytest.raises(ConfigError, match="stride: 1"):
        ProfileModel(4, 1, 200, output_len=50, trunk={**TRUNK, "stride": 2})
    with pytest.raises(ConfigError, match="stride: 1"):
        ProfileModel(4, 1, 200, output_len=50, trunk={**HYBRID, "attention_pool": 2})
    with pytest.raises(ValueError, match="single feature width"):
        ProfileModel(4, 1, 600, output_len=50, trunk={"arch": "basset"})


# --------------------------------------------------------------------------- strands


def test_reverse_complement_batch_and_track_flips():
    x = random_onehot(3, 17)
    torch.testing.assert_close(reverse_complement_batch(x),
                               torch.from_numpy(reverse_complement(x.numpy())))
    assert track_permutation(4, [(0, 1), (3, 2)]) == [1, 0, 3, 2]
    assert track_permutation(3) == [0, 1, 2]
    with pytest.raises(ValueError, match="bad strand pair"):
        track_permutation(3, [(0, 1), (1, 2)])
    y = torch.arange(2 * 3 * 5.0).view(2, 3, 5)
    flipped = flip_tracks(y, [(0, 1)])
    torch.testing.assert_close(flipped[:, 0], y[:, 1].flip(-1))
    torch.testing.assert_close(flipped[:, 2], y[:, 2].flip(-1))
    torch.testing.assert_close(flip_tracks(flipped, [(0, 1)]), y)  # an involution
    counts = y.sum(-1)
    torch.testing.assert_close(flip_tracks(counts, [(0, 1)]), counts[:, [1, 0, 2]])


def test_flipped_targets_are_the_targets_of_the_reverse_complement():
    """A stranded toy signal (track 0: 'A' on the + strand, track 1: 'A' on the − strand,
    i.e. 'T'; track 2: G or C on either strand), cropped to a centred window: the targets of
    rc(x) are flip_tracks of the targets of x with pairs [(0, 1)]."""
    a, c, g, t = (ALPHABETS["dna"].index(b) for b in "ACGT")

    def signal(x: torch.Tensor, output_len: int) -> torch.Tensor:
        s = (x.shape[-1] - output_len) // 2
        y = torch.stack([x[:, a], x[:, t], x[:, g] + x[:, c]], dim=1)
        return y[..., s:s + output_len]

    x = random_onehot(4, 60, seed=3)
    for output_len in (20, 60):
        torch.testing.assert_close(signal(reverse_complement_batch(x), output_len),
                                   flip_tracks(signal(x, output_len), [(0, 1)]))


@pytest.mark.parametrize("trunk", [TRUNK, HYBRID])
def test_rc_averaged_profile_model_commutes_with_reverse_complement(trunk):
    torch.manual_seed(0)
    model = ProfileModel(4, 3, 80, output_len=30, trunk=trunk, profile_kernel=9).eval()
    pairs = [(0, 1)]
    averaged = ReverseComplementAverage(model, pairs)
    x = random_onehot(4, 80, seed=5)
    with torch.no_grad():
        profile, counts = averaged(x)
        rc_profile, rc_counts = averaged(reverse_complement_batch(x))
        raw_profile, _ = model(x)
        raw_rc_profile, _ = model(reverse_complement_batch(x))
    assert profile.shape == (4, 3, 30) and counts.shape == (4, 3)
    torch.testing.assert_close(rc_profile, flip_tracks(profile, pairs), rtol=0, atol=1e-6)
    torch.testing.assert_close(rc_counts, flip_tracks(counts, pairs), rtol=0, atol=1e-6)
    # control: the model alone is not reverse-complement equivariant
    assert not torch.allclose(raw_rc_profile, flip_tracks(raw_profile, pairs), atol=1e-3)


def test_rc_averaged_binned_model_commutes_with_reverse_complement():
    torch.manual_seed(0)
    model = BinnedModel(4, 2, 100, output_len=40, bin_size=8, trunk=TRUNK).eval()
    averaged = ReverseComplementAverage(model, [(0, 1)])
    x = random_onehot(3, 100, seed=6)
    with torch.no_grad():
        torch.testing.assert_close(averaged(reverse_complement_batch(x)),
                                   flip_tracks(averaged(x), [(0, 1)]), rtol=0, atol=1e-6)


# --------------------------------------------------------------------------- models


@pytest.mark.parametrize(
    "config",
    [
        {"target": "profile", "alphabet_size": 4, "n_tracks": 2, "seq_len": 80,
         "output_len": 30, "trunk": TRUNK, "profile_kernel": 9},
        {"target": "profile", "alphabet_size": 4, "n_tracks": 2, "seq_len": 80,
         "output_len": 30, "trunk": HYBRID, "profile_kernel": 9},
        {"target": "binned", "alphabet_size": 4, "n_tracks": 1, "seq_len": 100,
         "output_len": 40, "bin_size": 8, "trunk": TRUNK},
    ],
)
def test_track_models_rebuild_from_their_checkpoint(config, tmp_path):
    torch.manual_seed(0)
    model = build_track_model(config).eval()
    json.dumps(model.config)
    torch.save(checkpoint(model), tmp_path / "model.pt")
    saved = torch.load(tmp_path / "model.pt", weights_only=True)
    torch.manual_seed(1)
    rebuilt = build_track_model(saved["config"])
    rebuilt.load_state_dict(saved["state_dict"])
    rebuilt.eval()
    x = random_onehot(2, config["seq_len"])
    with torch.no_grad():
        a, b = model(x), rebuilt(x)
    for u, v in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,),
                    strict=True):
        assert torch.equal(u, v)
    with pytest.raises(ConfigError, match="unknown target"):
        build_track_model({**config, "target": "peaks"})


def test_profile_model_learns_a_footprint(one_thread):
    """Counts peak 3 positions either side of a planted GATTACA, and more reads where it
    is: 30 Adam steps with ProfileCountLoss lower both terms."""
    length, output_len, n = 64, 30, 32
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]
    counts = np.zeros((n, 1, output_len), dtype=np.float32)
    s = (length - output_len) // 2
    for i in range(n):
        pos = int(rng.integers(s, s + output_len - 7))
        seqs[i] = seqs[i][:pos] + "GATTACA" + seqs[i][pos + 7:]
        depth = 20 if i % 2 else 5
        counts[i, 0, pos - s - 3] += depth
        counts[i, 0, pos - s + 9 if pos - s + 9 < output_len else pos - s] += depth
        counts[i, 0] += rng.poisson(0.2, output_len)
    x = torch.from_numpy(one_hot_batch(seqs)).float()
    y = torch.from_numpy(counts)
    torch.manual_seed(0)
    model = ProfileModel(4, 1, length, output_len=output_len,
                         trunk={**TRUNK, "filters": 16}, profile_kernel=9)
    loss = ProfileCountLoss(count_loss_weight(y, scale=0.5))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    history = []
    for _ in range(30):
        optimizer.zero_grad()
        parts = loss(*model(x), y)
        parts.total.backward()
        optimizer.step()
        history.append(parts)
    assert history[-1].profile < 0.8 * history[0].profile
    assert history[-1].count < 0.5 * history[0].count
