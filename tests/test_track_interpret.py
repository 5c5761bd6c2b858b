"""Tests for seqcnn.interpret.tracks: head views, DeepLIFT/SHAP and ISM on profile models."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from seqcnn.alphabet import one_hot_batch
from seqcnn.errors import ConfigError
from seqcnn.interpret.attribution import correct_gradients, interpretability_auroc, project
from seqcnn.interpret.tracks import (
    HEADS,
    CountOutput,
    ProfileOutput,
    head_values,
    head_view,
    is_track_model,
    load_any_model,
    profile_objective,
    supports_fast,
    track_attributions,
    track_deep_lift_shap,
    track_ism,
)
from seqcnn.models.profile import BinnedModel, ProfileModel, ReverseComplementAverage
from seqcnn.models.zoo import checkpoint

TRUNK = {"arch": "dilated", "filters": 8, "layers": 2, "first_kernel": 7}
MOTIF = "GATTCA"


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def random_onehot(n: int, length: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return one_hot_batch(["".join(rng.choice(list("ACGT"), length)) for _ in range(n)])


def small_model(seed: int = 0, n_tracks: int = 2) -> ProfileModel:
    torch.manual_seed(seed)
    return ProfileModel(4, n_tracks, 48, output_len=20, trunk=TRUNK, profile_kernel=5).eval()


def linear_model(seed: int = 0) -> ProfileModel:
    """A profile model with every activation replaced by the identity: linear in ``x``."""
    model = small_model(seed)
    for block in [model.trunk.stem, *model.trunk.trunk]:
        block.act = nn.Identity()
    return model


def references(x: np.ndarray, n_shuffles: int, seed: int) -> np.ndarray:
    """The references track_deep_lift_shap draws for ``x`` (one chunk): ``(N, S, A, L)``."""
    from tangermeme.ersatz import dinucleotide_shuffle

    rows = torch.from_numpy(x).float().repeat_interleave(n_shuffles, dim=0)
    refs = dinucleotide_shuffle(rows, n=1, random_state=[seed + k for k in range(n_shuffles)]
                                * len(x))[:, 0]
    return refs.reshape(len(x), n_shuffles, *x.shape[1:]).numpy()


def gradient(view: nn.Module, x: np.ndarray, target: int) -> np.ndarray:
    xt = torch.from_numpy(x).float().requires_grad_(True)
    (g,) = torch.autograd.grad(view(xt)[:, target].sum(), xt)
    return g.numpy()


# --------------------------------------------------------------------------- the scalars


def test_views_give_the_documented_scalars():
    model = small_model()
    x = torch.from_numpy(random_onehot(5, 48)).float()
    with torch.no_grad():
        z, counts = model(x)
        count = CountOutput(model)(x)
        profile = ProfileOutput(model)(x)
    assert torch.equal(count, counts)
    zn = z.double().numpy()
    w = np.exp(zn - zn.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    want = (w * (zn - zn.mean(-1, keepdims=True))).sum(-1)  # sum_p w_p (z_p - mean z)
    assert profile.shape == (5, 2)
    np.testing.assert_allclose(profile.numpy(), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(head_values(model, x.numpy(), "profile"), want, rtol=1e-5,
                               atol=1e-6)


def test_profile_gradient_holds_the_softmax_constant():
    """∂/∂x of the profile objective is sum_p (w_p − 1/P) ∂z_p/∂x (w detached)."""
    model = small_model(1)
    x = torch.from_numpy(random_onehot(3, 48, seed=2)).float().requires_grad_(True)
    got = gradient(ProfileOutput(model), x.detach().numpy(), 1)
    z = model(x)[0][:, 1]
    w = torch.softmax(z.detach(), dim=-1) - 1.0 / z.shape[-1]
    (want,) = torch.autograd.grad((w * z).sum(), x)
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-5, atol=1e-7)


def test_head_view_rejects_what_it_cannot_explain():
    model = small_model()
    with pytest.raises(ConfigError, match="unknown head"):
        head_view(model, "bins")
    binned = BinnedModel(4, 1, 48, output_len=20, bin_size=5, trunk=TRUNK)
    with pytest.raises(ConfigError, match="binned"):
        head_view(binned, "count")
    assert is_track_model(model) and is_track_model(ReverseComplementAverage(model))


# --------------------------------------------------------------------------- DeepLIFT exact


@pytest.mark.parametrize("head", ["count", "profile"])
def test_deeplift_on_a_linear_toy_is_gradient_times_difference(head):
    """A linear model: DeepLIFT's multipliers are the gradient, so the corrected map equals
    the corrected gradient, and each map's contributions add up to f(x) − mean f(ref)
    (profile: with the sequence's softmax weights held for its references)."""
    model = linear_model(3)
    assert supports_fast(model, head)
    x = random_onehot(4, 48, seed=4)
    view = head_view(model, head)
    grad = gradient(view, x, 1)
    attr = track_deep_lift_shap(model, x, head, target=1, n_shuffles=6, random_state=5)
    np.testing.assert_allclose(attr, correct_gradients(grad), rtol=1e-4, atol=1e-6)

    raw = track_deep_lift_shap(model, x, head, target=1, n_shuffles=6, random_state=5,
                               correct=False)
    refs = references(x, 6, 5)
    # gradient × (x − ref), averaged over the references: the plain-gradient definition
    want = np.mean([(grad * (x - refs[:, k])).sum(axis=(1, 2)) for k in range(6)], axis=0)
    np.testing.assert_allclose(project(raw, x).sum(axis=(1, 2)), want, rtol=1e-4, atol=1e-5)
    with torch.no_grad():
        xt, rt = torch.from_numpy(x).float(), torch.from_numpy(refs).float().flatten(0, 1)
        if head == "count":
            fx, fr = view(xt)[:, 1], view(rt)[:, 1].reshape(4, 6)
        else:
            w = torch.softmax(model(xt)[0], dim=-1)
            fx = ProfileOutput(model)(xt)[:, 1]
            zr = model(rt)[0].reshape(4, 6, 2, -1)
            zr = zr - zr.mean(-1, keepdim=True)
            fr = (w[:, None] * zr).sum(-1)[..., 1]
    np.testing.assert_allclose(want, (fx[:, None] - fr).mean(1).numpy(), rtol=1e-4,
                               atol=1e-5)


def test_fast_path_matches_tangermeme_on_the_count_head():
    model = small_model(6)
    x = random_onehot(3, 48, seed=7)
    fast = track_deep_lift_shap(model, x, "count", 0, n_shuffles=4, random_state=1, fast=True)
    slow = track_deep_lift_shap(model, x, "count", 0, n_shuffles=4, random_state=1,
                                fast=False)
    np.testing.assert_allclose(fast, slow, rtol=1e-4, atol=1e-6)


def test_fast_path_matches_tangermeme_on_the_profile_head():
    """Both give each reference its sequence's softmax weights."""
    model = small_model(6)
    x = random_onehot(3, 48, seed=7)
    fast = track_deep_lift_shap(model, x, "profile", 0, n_shuffles=4, random_state=1,
                                fast=True)
    slow = track_deep_lift_shap(model, x, "profile", 0, n_shuffles=4, random_state=1,
                                fast=False)
    np.testing.assert_allclose(fast, slow, rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------- planted motif


def motif_model() -> ProfileModel:
    """One stem filter that fires (ReLU output 0.5) only on an exact MOTIF, no residual
    blocks, a count head that reads that filter and a profile head that does not."""
    trunk = {"arch": "dilated", "filters": 2, "layers": 0, "first_kernel": len(MOTIF)}
    model = ProfileModel(4, 1, 60, output_len=40, trunk=trunk, profile_kernel=1)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        conv = model.trunk.stem.conv
        conv.weight[0] = torch.from_numpy(one_hot_batch([MOTIF])[0]).float()
        conv.bias[0] = -(len(MOTIF) - 0.5)
        model.count.linear.weight[0, 0] = 10.0
    return model.eval()


def planted(n: int, at: int = 25, seed: int = 8) -> np.ndarray:
    rng = np.random.default_rng(seed)
    seqs = []
    while len(seqs) < n:
        s = "".join(rng.choice(list("ACGT"), 60))
        s = s[:at] + MOTIF + s[at + len(MOTIF):]
        if s.count(MOTIF) == 1:
            seqs.append(s)
    return one_hot_batch(seqs)


def test_count_head_attributions_sit_on_the_planted_motif():
    model = motif_model()
    x = planted(6)
    mask = np.zeros((6, 60), bool)
    mask[:, 25:25 + len(MOTIF)] = True
    with torch.no_grad():
        counts = model(torch.from_numpy(x).float())[1][:, 0]
    np.testing.assert_allclose(counts.numpy(), 10 * 0.5 / 40 * np.ones(6), rtol=1e-6)
    said = []
    maps = track_attributions(model, x, n_shuffles=8, n_ism=6, chunk=4, progress=said.append)
    assert said == ["count head DeepLIFT/SHAP: 4 of 6 sequences",
                    "count head DeepLIFT/SHAP: 6 of 6 sequences",
                    "count head ISM: 4 of 6 sequences", "count head ISM: 6 of 6 sequences",
                    "profile head DeepLIFT/SHAP: 4 of 6 sequences",
                    "profile head DeepLIFT/SHAP: 6 of 6 sequences"]
    # ISM only where it is kept: the count head (the default ism_heads)
    assert set(maps) == {"count.deeplift_shap", "count.ism", "profile.deeplift_shap"}
    dls = project(maps["count.deeplift_shap"], x).sum(axis=1)  # (N, L) observed letters
    inside, outside = np.abs(dls[mask]).sum(), np.abs(dls[~mask]).sum()
    # outside the motif only where a shuffled reference happens to spell MOTIF itself
    assert inside > 0 and outside < 0.05 * inside
    assert interpretability_auroc(maps["count.deeplift_shap"], x, mask) > 0.99
    # ISM: breaking any motif letter removes the whole count (10 · 0.5 / 40)
    ism = track_ism(model, x, "count", center=False)
    broken = ism.min(axis=1)  # (N, L): the worst mutation at each position
    np.testing.assert_allclose(broken[mask], -0.125, rtol=1e-5)
    np.testing.assert_allclose(broken[~mask], 0.0, atol=1e-7)
    assert maps["count.ism"].shape == x.shape


def test_track_model_round_trip_through_load_any_model(tmp_path):
    model = small_model(9)
    path = tmp_path / "model.pt"
    torch.save(checkpoint(model), path)
    loaded = load_any_model(path)
    assert isinstance(loaded, ProfileModel) and not loaded.training
    x = torch.from_numpy(random_onehot(2, 48)).float()
    with torch.no_grad():
        for a, b in zip(model(x), loaded(x), strict=True):
            assert torch.equal(a, b)


@pytest.mark.parametrize("head", HEADS)
def test_hybrid_deeplift_adds_up_to_the_output_differences(head):
    """Attention goes to tangermeme with its bilinear and softmax rules (and layer norm's,
    GELU's): each sequence's contributions add up to its output minus the reference mean."""
    import warnings

    from tangermeme.deep_lift_shap import deep_lift_shap

    from seqcnn.interpret.attribution import shuffled_references

    hybrid = {"arch": "hybrid", "filters": 8, "layers": 1, "first_kernel": 7,
              "transformer_layers": 2, "heads": 2, "max_distance": 8, "dropout": 0.0}
    torch.manual_seed(0)
    model = ProfileModel(4, 1, 48, output_len=20, trunk=hybrid, profile_kernel=5).eval()
    assert not supports_fast(model, head)
    x = random_onehot(4, 48, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no convergence warning
        attr = track_deep_lift_shap(model, x, head, n_shuffles=3)
    assert attr.shape == x.shape and np.isfinite(attr).all() and np.abs(attr).sum() > 0
    # the raw contributions, against the output differences they explain
    view = head_view(model, head)
    xt = torch.from_numpy(x).float()
    refs = shuffled_references(xt, 3, 0)
    view.paired = head == "profile"
    contrib = deep_lift_shap(view, xt, target=0, references=refs, hypothetical=False,
                             warning_threshold=1e9, verbose=False).detach()
    view.paired = False
    with torch.no_grad():
        y = view(xt)[:, 0]
        # the profile objective of each reference with its sequence's weights
        w = torch.softmax(model(xt)[0], dim=-1) if head == "profile" else None
        y_ref = torch.stack([
            (profile_objective(model(refs[:, k])[0], w) if w is not None
             else view(refs[:, k]))[:, 0] for k in range(3)], 1).mean(1)
    np.testing.assert_allclose(contrib.sum(dim=(1, 2)).numpy(), (y - y_ref).numpy(),
                               rtol=1e-4, atol=1e-5)

