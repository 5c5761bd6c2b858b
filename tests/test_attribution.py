"""Attribution maps: ISM (fast and plain), saliency, DeepLIFT/SHAP, streaming over a split,
and their evaluation against planted motifs."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from seqcnn.interpret import (
    DeepLiftView,
    activation_pwms,
    attributions,
    deep_lift_shap,
    deeplift_view,
    fastism,
    interpretability_auroc,
    ism,
    motif_mask,
    saliency,
    save_attributions,
    top_positives,
)
from seqcnn.interpret.streaming import chunked_attributions, top_complete_positives
from seqcnn.models import build_model
from seqcnn.models.zoo import ARCHS


def onehot(codes: np.ndarray, size: int = 4) -> np.ndarray:
    return (codes[:, None, :] == np.arange(size)[None, :, None]).astype(np.uint8)


# --------------------------------------------------------------------------- fast ISM

#: (name, model config, seq_len, lengths or None): every zoo architecture, with dilation,
#: pools, strides, every head, exp/PWM first layers and masked padding.
FAST_CASES = [
    ("dilated", {"arch": "dilated", "filters": 6, "layers": 3, "first_kernel": 7}, 50, None),
    ("dilated_masked", {"arch": "dilated", "filters": 6, "layers": 3, "first_kernel": 7},
     50, [50, 43, 21]),
    ("dilated_stride_avg", {"arch": "dilated", "filters": 6, "layers": 2, "first_kernel": 8,
                            "stride": 3, "pool": "global_avg"}, 50, [50, 37, 20]),
    ("dilated_stagepool_localmax", {"arch": "dilated", "filters": 6, "layers": 3,
                                    "first_kernel": 5, "stage_pool": 3, "pool": "local_max",
                                    "local_bins": 3}, 60, [60, 52, 31]),
    ("dilated_per_position", {"arch": "dilated", "filters": 6, "layers": 2,
                              "first_kernel": 5, "per_position": True}, 40, [40, 33, 9]),
    ("dilated_exp_pwm", {"arch": "dilated", "filters": 6, "layers": 2, "first_kernel": 7,
                         "activation": "exp", "pwm_constrained": True}, 40, None),
    ("deepbind_flatten", {"arch": "deepbind", "filters": 5, "kernel": 9, "hidden": 6,
                          "dropout": 0.0, "pool": "flatten"}, 40, [40, 31, 25]),
    ("deepbind_stride", {"arch": "deepbind", "filters": 5, "kernel": 9, "hidden": 6,
                         "stride": 2}, 40, None),
    ("basset", {"arch": "basset", "filters": [6, 8, 8], "kernels": [7, 5, 3],
                "pools": [2, 3, 2], "hidden": [10]}, 60, None),
    ("basset_masked_gmax", {"arch": "basset", "filters": [6, 8, 8], "kernels": [7, 5, 3],
                            "pools": [2, 3, 2], "hidden": [10], "pool": "global_max"},
     60, [60, 49, 30]),
    ("koo_eddy", {"arch": "koo_eddy", "pool_size": 4, "filters": [5, 6], "kernels": [9, 5],
                  "hidden": 8}, 100, [100, 90, 61]),
    ("danq", {"arch": "danq", "filters": 6, "kernel": 9, "pool_size": 4, "lstm_hidden": 4,
              "hidden": 8}, 40, [40, 35, 22]),
    ("hybrid", {"arch": "hybrid", "filters": 6, "layers": 2, "first_kernel": 7,
                "transformer_layers": 1, "heads": 2, "max_distance": 8}, 40, [40, 33, 21]),
]


@torch.no_grad()
def plain_loop(model: nn.Module, x: np.ndarray, lengths, target: int) -> np.ndarray:
    """The reference: every single-letter mutant through the whole model (mask included)."""
    xt = torch.tensor(x, dtype=torch.float32)
    n_seq, _, length = x.shape
    lengths = [length] * n_seq if lengths is None else lengths
    out = np.zeros(x.shape, dtype=np.float32)
    for n in range(n_seq):
        mask = (torch.arange(length) < lengths[n])[None]
        y0 = model(xt[n:n + 1], mask)[0, target].sum()
        sites = [(a, pos) for pos in range(lengths[n]) for a in range(x.shape[1])
                 if not x[n, a, pos]]
        mutants = xt[n].repeat(len(sites), 1, 1)  # one full forward pass per mutant
        for i, (a, pos) in enumerate(sites):
            mutants[i, :, pos] = 0
            mutants[i, a, pos] = 1
        y = model(mutants, mask.expand(len(sites), -1))[:, target]
        y = y.reshape(len(sites), -1).sum(dim=1)
        for i, (a, pos) in enumerate(sites):
            out[n, a, pos] = float(y[i] - y0)
    return out


def test_fast_cases_cover_the_zoo():
    assert {cfg["arch"] for _, cfg, _, _ in FAST_CASES} == set(ARCHS)


@pytest.mark.parametrize("name,cfg,length,lengths", FAST_CASES,
                         ids=[c[0] for c in FAST_CASES])
def test_fast_ism_equals_the_plain_loop(name, cfg, length, lengths):
    torch.manual_seed(0)
    model = build_model(cfg, 4, 2, length)
    for m in model.modules():  # batch norm with statistics that are not the identity
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    model.eval()
    assert fastism.supports(model)
    x = onehot(np.random.default_rng(1).integers(0, 4, (3, length)))
    x[1, :, 5] = 0  # an N: mutated to every letter
    if lengths is not None:
        for n, m in enumerate(lengths):
            x[n, :, m:] = 0  # padding
    loop = plain_loop(model, x, lengths, target=1)
    fast = ism(model, x, target=1, batch_size=16, lengths=lengths, fast=True)
    assert np.abs(loop).max() > 1e-4  # the mutations change the output
    np.testing.assert_allclose(fast, loop, atol=1e-5, rtol=0)
    np.testing.assert_allclose(ism(model, x, target=1, lengths=lengths, fast=False), loop,
                               atol=1e-5, rtol=0)
    if lengths is not None:
        for n, m in enumerate(lengths):
            assert (fast[n, :, m:] == 0).all()  # padding is never mutated


def test_masked_ism_is_the_ism_of_the_shorter_sequence():
    torch.manual_seed(0)
    model = build_model({"arch": "dilated", "filters": 6, "layers": 2, "first_kernel": 5},
                        4, 1, 40).eval()
    x = onehot(np.random.default_rng(2).integers(0, 4, (1, 40)))
    padded = ism(model, x, lengths=[25])
    np.testing.assert_allclose(padded[..., :25], ism(model, x[..., :25]), atol=1e-6)
    assert (padded[..., 25:] == 0).all()


def test_fast_ism_falls_back_and_refuses_other_models(linear):
    model, w, x = linear
    assert not fastism.supports(model)
    with pytest.raises(ValueError, match="fast=False"):
        ism(model, x, fast=True)
    np.testing.assert_allclose(ism(model, x), ism(model, x, fast=False))


def test_max_pools_are_parameter_free_modules():
    """DeepLIFT's max-pool rule needs nn.MaxPool1d modules; they add no state_dict keys."""
    torch.manual_seed(0)
    model = build_model({"arch": "basset", "width_multiplier": 0.05, "pool": "local_max"},
                        4, 1, 600)
    pools = [m for m in model.modules() if isinstance(m, nn.MaxPool1d)]
    assert len(pools) == 4  # three in the trunk, one in the head
    assert not any("pool" in key for key in model.state_dict())
    assert deeplift_view(model) is model


# --------------------------------------------------------------------------- streaming


def test_streaming_selects_and_attributes_as_the_whole_split(tmp_path):
    torch.manual_seed(0)
    model = build_model({"arch": "dilated", "filters": 6, "layers": 2, "first_kernel": 5},
                        4, 2, 30).eval()
    rng = np.random.default_rng(3)
    x = onehot(rng.integers(0, 4, (23, 30)))
    x[[2, 9], :, 4] = 0  # N: left out
    y = (rng.random((23, 2)) < 0.5).astype(np.uint8)
    y[5, 0] = 255
    np.save(tmp_path / "x.npy", x)
    xm = np.load(tmp_path / "x.npy", mmap_mode="r")
    top = top_complete_positives(model, xm, y, n=6, chunk=4)
    scores = model(torch.tensor(x, dtype=torch.float32)).detach().numpy()
    complete = (x.sum(axis=1) == 1).all(axis=1)
    for t in range(2):
        want = top_positives(np.where(complete, scores[:, t], -np.inf), y[:, t], 6)
        np.testing.assert_array_equal(top.rows[t], want[complete[want]])
        assert top.positives[t] == (y[:, t] == 1).sum()
        assert top.complete[t] == ((y[:, t] == 1) & complete).sum()
    rows = top.rows[0]
    maps = chunked_attributions(model, xm[rows], ["saliency", "deeplift_shap"], target=0,
                                chunk=4, n_ism=5, n_shuffles=3, random_state=0)
    whole = attributions(model, x[rows], ["saliency", "deeplift_shap"], n_shuffles=3,
                         random_state=0)
    for m in ("saliency", "deeplift_shap"):
        np.testing.assert_allclose(maps[m], whole[m], atol=1e-6)
    np.testing.assert_allclose(maps["ism"], ism(model, x[rows[:5]], center=True), atol=1e-6)


# --------------------------------------------------------------------------- known models


class LinearModel(nn.Module):
    """Output = sum(W * x) + b: ISM and gradients are known exactly."""

    def __init__(self, weight: np.ndarray) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.tensor(weight, dtype=torch.float64))
        self.bias = nn.Parameter(torch.tensor(0.3, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((self.weight * x).sum(dim=(1, 2)) + self.bias)[:, None]


@pytest.fixture
def linear():
    rng = np.random.default_rng(5)
    w = rng.normal(size=(4, 30))
    codes = rng.integers(0, 4, (6, 30))
    return LinearModel(w), w, onehot(codes)


def test_ism_of_linear_model_is_weight_difference(linear):
    model, w, x = linear
    out = ism(model, x, batch_size=37)  # batches cut across sequences
    ref = (w[None] * x).sum(axis=1, keepdims=True)  # W[ref, l]
    np.testing.assert_allclose(out, w[None] - ref, atol=1e-12)
    assert (out[x.astype(bool)] == 0).all()
    x_n = x.copy()
    x_n[0, :, 4] = 0  # an N: every letter is a mutation from nothing
    np.testing.assert_allclose(ism(model, x_n)[0, :, 4], w[:, 4], atol=1e-12)


def test_saliency_of_linear_model_is_corrected_weight(linear):
    model, w, x = linear
    np.testing.assert_allclose(saliency(model, x), np.broadcast_to(w - w.mean(0), x.shape),
                               atol=1e-12)
    np.testing.assert_allclose(saliency(model, x, correct=False), np.broadcast_to(w, x.shape),
                               atol=1e-12)
    assert model.weight.grad is None


def test_deep_lift_shap_of_linear_model_is_corrected_weight(linear):
    model, w, x = linear
    attr = deep_lift_shap(model, x, n_shuffles=3, random_state=0)
    np.testing.assert_allclose(attr, np.broadcast_to(w - w.mean(0), x.shape), atol=1e-6)


def test_ism_matches_tangermeme():
    from tangermeme.saturation_mutagenesis import saturation_mutagenesis

    torch.manual_seed(1)
    model = build_model({"arch": "deepbind", "filters": 4, "kernel": 7, "hidden": 8}, 4, 2,
                        40).eval()
    x = onehot(np.random.default_rng(2).integers(0, 4, (3, 40)))
    y0, y_hat = saturation_mutagenesis(model, torch.tensor(x), raw_outputs=True, device="cpu",
                                       fast=False)
    theirs = (y_hat[..., 1] - y0[:, None, None, 1]).numpy()
    np.testing.assert_allclose(ism(model, x, target=1), theirs, atol=1e-5)


@pytest.mark.parametrize("cfg", [
    {"arch": "dilated", "filters": 8, "layers": 2},
    {"arch": "koo_eddy", "pool_size": 4, "filters": [6, 8], "hidden": 8, "activation": "exp"},
    {"arch": "dilated", "filters": 4, "layers": 1, "per_position": True},
])
def test_deeplift_view_is_the_same_function(cfg):
    torch.manual_seed(0)
    model = build_model(cfg, 4, 2, 100).eval()
    x = torch.tensor(onehot(np.random.default_rng(0).integers(0, 4, (5, 100))),
                     dtype=torch.float32)
    with torch.no_grad():
        out = model(x)
        out = out.sum(-1) if out.dim() == 3 else out
        torch.testing.assert_close(deeplift_view(model)(x), out)


def test_deep_lift_shap_converges_on_dilated_cnn():
    """With max-pools as modules DeepLIFT's contributions add up: no convergence warnings,
    and the corrected maps are centred per position."""
    torch.manual_seed(0)
    model = build_model({"arch": "dilated", "filters": 8, "layers": 2}, 4, 2, 60).eval()
    x = onehot(np.random.default_rng(0).integers(0, 4, (3, 60)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        attr = deep_lift_shap(model, x, target=1, n_shuffles=4, random_state=0)
    assert attr.shape == x.shape
    np.testing.assert_allclose(attr.sum(axis=1), 0.0, atol=1e-5)
    x[1, :, 5] = 0
    with pytest.raises(ValueError, match=r"rows \[1\]"):
        deep_lift_shap(model, x, n_shuffles=2)


DLS_CASES = [(name, cfg, length) for name, cfg, length, _ in FAST_CASES
             if cfg["arch"] not in ("danq", "hybrid")]


def tangermeme_dls(model: nn.Module, x: np.ndarray, target: int, n_shuffles: int,
                   seed: int) -> np.ndarray:
    """tangermeme's own DeepLIFT/SHAP (hooks, both halves backward): hypothetical, raw."""
    from tangermeme.deep_lift_shap import _nonlinear
    from tangermeme.deep_lift_shap import deep_lift_shap as tm_dls

    from seqcnn.models.layers import ExpActivation

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tm_dls(deeplift_view(model), torch.tensor(x, dtype=torch.float32),
                      target=target, n_shuffles=n_shuffles, hypothetical=True,
                      random_state=seed, device="cpu",
                      additional_nonlinear_ops={ExpActivation: _nonlinear}).numpy()


@pytest.mark.parametrize(("name", "cfg", "length"), DLS_CASES, ids=[c[0] for c in DLS_CASES])
def test_fast_deep_lift_shap_equals_tangermeme(name, cfg, length):
    """Hook-free DeepLIFT/SHAP gives tangermeme's maps on the same references, for every zoo
    CNN (dilated, pools, strides, every head, exp/PWM first layers, per-position outputs),
    whether pairs share one pass or each batch holds 2 sequences and each pass 1 reference."""
    torch.manual_seed(0)
    model = build_model(cfg, 4, 2, length).eval()
    from seqcnn.interpret import deeplift
    assert deeplift.supports(deeplift_view(model), (DeepLiftView,))
    x = onehot(np.random.default_rng(1).integers(0, 4, (3, length)))
    want = tangermeme_dls(model, x, target=1, n_shuffles=4, seed=7)
    scale = np.abs(want).max()
    assert scale > 0
    for options in ({}, {"batch_size": 2, "group": 1}, {"batch_size": 6, "group": 3}):
        got = deep_lift_shap(model, x, target=1, n_shuffles=4, random_state=7, correct=False,
                             fast=True, **options)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6 * scale,
                                   err_msg=str(options))
    assert not any("forward" in vars(m) for m in model.modules())  # layers restored


def test_fast_deep_lift_shap_adds_up_to_the_output_difference():
    """Summed over the observed letters, the uncorrected map is f(x) minus the mean output of
    the references (the same dinucleotide shuffles, reference k seeded 5 + k)."""
    from tangermeme.ersatz import dinucleotide_shuffle

    torch.manual_seed(2)
    model = build_model({"arch": "basset", "filters": [6, 8, 8], "kernels": [7, 5, 3],
                         "pools": [2, 3, 2], "hidden": [10]}, 4, 1, 60).eval()
    x = onehot(np.random.default_rng(3).integers(0, 4, (2, 60)))
    xt = torch.tensor(x, dtype=torch.float32)
    attr = deep_lift_shap(model, x, n_shuffles=5, random_state=5, correct=False)
    refs = dinucleotide_shuffle(xt.repeat_interleave(5, dim=0), n=1,
                                random_state=[5 + k for k in range(5)] * 2)[:, 0]
    with torch.no_grad():
        f_x = model(xt)[:, 0].numpy()
        f_ref = model(refs.float())[:, 0].reshape(2, 5).mean(dim=1).numpy()
    np.testing.assert_allclose((attr * x).sum(axis=(1, 2)), f_x - f_ref, atol=1e-5)


def test_fast_deep_lift_shap_refuses_recurrent_models_and_warns():
    torch.manual_seed(0)
    model = build_model({"arch": "danq", "filters": 6, "kernel": 9, "pool_size": 4,
                         "lstm_hidden": 4, "hidden": 8}, 4, 1, 40).eval()
    x = onehot(np.random.default_rng(0).integers(0, 4, (2, 40)))
    with pytest.raises(ValueError, match="fast=False"):
        deep_lift_shap(model, x, n_shuffles=2, fast=True)
    cnn = build_model({"arch": "dilated", "filters": 4, "layers": 1}, 4, 1, 40).eval()
    with pytest.warns(RuntimeWarning, match="convergence deltas"):
        deep_lift_shap(cnn, x, n_shuffles=2, warning_threshold=-1.0)


def test_attributions_protein_and_npz(tmp_path):
    torch.manual_seed(0)
    model = build_model({"arch": "deepbind", "filters": 4, "kernel": 9, "hidden": 0}, 20, 1,
                        30).eval()
    x = onehot(np.random.default_rng(0).integers(0, 20, (4, 30)), 20)
    maps = attributions(model, x, methods=("ism", "saliency"))
    assert {k: v.shape for k, v in maps.items()} == {"ism": x.shape, "saliency": x.shape}
    ppm, nsites = activation_pwms(model, x)
    assert ppm.shape == (4, 20, 9) and nsites.sum() > 0
    path = tmp_path / "attr.npz"
    save_attributions(path, x, maps, index=np.array([7, 3, 9, 1]))
    back = np.load(path)
    np.testing.assert_array_equal(back["onehot"], x)
    np.testing.assert_array_equal(back["index"], [7, 3, 9, 1])
    np.testing.assert_allclose(back["ism"], maps["ism"], rtol=1e-6)


def test_interpretability_auroc():
    rng = np.random.default_rng(0)
    x = onehot(rng.integers(0, 4, (50, 80)))
    mask = np.zeros((50, 80), dtype=bool)
    for i in range(50):
        s = rng.integers(0, 70)
        mask[i, s:s + 10] = True
    perfect = x * mask[:, None, :]
    assert interpretability_auroc(perfect, x, mask) == 1.0
    assert interpretability_auroc(rng.normal(size=x.shape), x, mask) == pytest.approx(0.5, abs=0.05)
    assert interpretability_auroc(-perfect, x, mask, score="abs") == 1.0


def test_motif_mask_from_truth_table():
    truth = pd.DataFrame({"chrom": ["chr1", "chr1", "chr2", "chr1"],
                          "start": [105, 190, 10, 5000], "end": [110, 205, 20, 5010]})
    regions = pd.DataFrame({"chrom": ["chr1", "chr1", "chr2"], "start": [100, 100, 0],
                            "end": [200, 200, 100], "strand": ["+", "-", "+"]})
    mask = motif_mask(truth, regions)
    assert mask.shape == (3, 100)
    assert np.flatnonzero(mask[0]).tolist() == list(range(5, 10)) + list(range(90, 100))
    assert np.flatnonzero(mask[1]).tolist() == list(range(0, 10)) + list(range(90, 95))
    assert np.flatnonzero(mask[2]).tolist() == list(range(10, 20))




def test_top_positives_leaves_out_ambiguous_labels():
    """An ambiguous region (label 255) is not a positive to attribute, however high it scores."""
    scores = np.array([0.9, 0.8, 0.7, 0.1])
    labels = np.array([255, 1, 0, 1], dtype=np.uint8)
    assert top_positives(scores, labels, 3).tolist() == [1, 3]
