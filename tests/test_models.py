"""Tests for seqcnn.models: properties measured against independent computations."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seqcnn.alphabet import ALPHABETS, one_hot, one_hot_batch
from seqcnn.models import (
    ARCHS,
    POOLS,
    DeepBind,
    DilatedCNN,
    ExpActivation,
    FixedFilterConv1d,
    KooEddyCNN,
    PoolingHead,
    PWMConv1d,
    activation,
    build_model,
    checkpoint,
    from_checkpoint,
    gradient_footprint,
    masked_global_avg,
    masked_global_max,
    masked_max_pool1d,
    model_receptive_field,
    pwm_entropy,
    receptive_field,
    total_stride,
)

#: Small versions of every architecture, so that the whole file runs in seconds on a CPU.
SMALL: dict[str, dict] = {
    "dilated": {"filters": 8, "layers": 3, "first_kernel": 9},
    "deepbind": {"filters": 6, "kernel": 12, "hidden": 8},
    "basset": {"width_multiplier": 0.05},
    "koo_eddy": {"filters": [8, 16], "hidden": 16},
    "danq": {"width_multiplier": 0.05},
    "hybrid": {"filters": 16, "layers": 2, "first_kernel": 9, "transformer_layers": 1,
               "heads": 2, "max_distance": 32},
}


def random_seqs(n: int, length: int, alphabet: str = "dna", seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    letters = np.array(list(ALPHABETS[alphabet]))
    return ["".join(rng.choice(letters, length)) for _ in range(n)]


def onehot(seqs: list[str], alphabet: str = "dna", length: int | None = None) -> torch.Tensor:
    return torch.from_numpy(one_hot_batch(seqs, alphabet, length)).float()


def small(arch: str, alphabet_size: int = 4, n_tasks: int = 3, seq_len: int = 200, **options):
    torch.manual_seed(0)
    return build_model({"arch": arch, **SMALL[arch], **options}, alphabet_size, n_tasks, seq_len)


# --------------------------------------------------------------------------- 1. receptive field


def test_receptive_field_formula_by_hand():
    assert receptive_field([]) == 1
    assert receptive_field([(19, 1, 1), (3, 1, 1), (3, 2, 1), (3, 4, 1)]) == 19 + 2 + 4 + 8
    # stride / pooling multiply the jump of every later layer
    assert receptive_field([(5, 1, 2), (3, 1, 1)]) == 5 + 2 * 2
    assert receptive_field([(3, 1, 1), (2, 1, 2), (3, 1, 1), (4, 1, 4), (3, 2, 1)]) == (
        3 + 1 + 2 * 2 + 3 * 2 + 2 * 2 * 8
    )
    assert total_stride([(5, 1, 2), (2, 1, 2), (3, 4, 1)]) == 4
    # BPNet-like default: 19 + 2 * (1 + 2 + ... + 32)
    model = DilatedCNN(4, 1, 1000)
    assert model.receptive_field == model_receptive_field(model) == 145
    with pytest.raises(ValueError, match="kernel, dilation, stride"):
        receptive_field([(3, 0, 1)])


RF_CASES = [
    ("dilated", {"layers": 2, "dilation_base": 2}),
    ("dilated", {"layers": 3, "dilation_base": 2, "first_kernel": 19}),
    ("dilated", {"layers": 4, "dilation_base": 2, "kernel": 5}),
    ("dilated", {"layers": 3, "dilation_base": 1}),
    ("dilated", {"layers": 4, "dilation_base": 1, "kernel": 4}),  # even kernel
    ("dilated", {"layers": 3, "dilation_base": 2, "stage_pool": 2, "stride": 2}),
    ("koo_eddy", {"pool_size": 4}),
    ("koo_eddy", {"pool_size": 10}),
    ("basset", {}),
    ("deepbind", {}),
]


@pytest.mark.parametrize(("arch", "options"), RF_CASES)
def test_receptive_field_equals_gradient_footprint(arch, options):
    model = small(arch, pool="global_max", **options)
    rf = model.receptive_field
    assert rf == receptive_field(model.layer_specs())
    length = 3 * rf + 40 * total_stride(model.layer_specs())
    assert gradient_footprint(model, length, "dna") == rf
    assert model.training  # mode restored


# --------------------------------------------------------------------------- 2. equivariance


@pytest.mark.parametrize(
    ("arch", "options"),
    [
        ("dilated", {}),
        ("dilated", {"pwm_constrained": True}),
        ("dilated", {"stride": 2}),
        ("dilated", {"stride": 3, "first_kernel": 8}),
        ("deepbind", {}),
        ("basset", {}),
    ],
)
def test_first_layer_is_translation_equivariant(arch, options):
    model = small(arch, **options).eval()
    stride = model.config["stride"]
    length, shift = 240, 12  # shift is a multiple of every stride above
    x = onehot(random_seqs(2, length, seed=1))
    shifted = torch.roll(x, shift, dims=-1)
    with torch.no_grad():
        h, _ = model.stem(x)
        hs, _ = model.stem(shifted)
    out_shift, margin = shift // stride, 10  # margin (output positions) covers kernel and wrap
    assert h.std() > 0
    torch.testing.assert_close(
        hs[..., margin + out_shift : -margin], h[..., margin : -margin - out_shift]
    )
    # and a shift that is not equivariant is detected
    assert not torch.allclose(hs[..., margin:-margin], h[..., margin:-margin])


# --------------------------------------------------------------------------- 3. global max


def test_global_max_pool_output_is_invariant_to_motif_position():
    motif = torch.from_numpy(one_hot("GATTACA")).float()
    length = 100

    def planted(pos: int | None) -> torch.Tensor:
        x = torch.zeros(1, 4, length)
        if pos is not None:
            x[0, :, pos : pos + motif.shape[1]] = motif
        return x

    positions = [5, 21, 50, 77, 90]
    outputs = {}
    for pool in ("global_max", "flatten"):
        torch.manual_seed(0)
        model = DeepBind(4, 2, length, filters=4, kernel=7, hidden=8, dropout=0.0, pool=pool)
        with torch.no_grad():  # filter 0 matches the motif, so the motif decides the max
            model.first_layer().weight[0] = 2 * motif
        model.eval()
        with torch.no_grad():
            outputs[pool] = [model(planted(p)) for p in positions]
            empty = model(planted(None))
        assert not torch.allclose(outputs[pool][0], empty)
    for out in outputs["global_max"][1:]:
        torch.testing.assert_close(out, outputs["global_max"][0], rtol=0, atol=1e-6)
    # control: a position-aware head does see where the motif is
    assert not torch.allclose(outputs["flatten"][1], outputs["flatten"][0])


# --------------------------------------------------------------------------- 4. CpG filter


def _cpg_sequence(length: int = 150) -> str:
    seq = list(random_seqs(1, length, seed=3)[0])
    for pos in (10, 40, 41, 77, 120, length - 2):  # 40/41 gives the overlap "CCG"/"CGG" cases
        seq[pos], seq[pos + 1] = "C", "G"
    return "".join(seq)


@pytest.mark.parametrize("arch", ["deepbind", "dilated"])
def test_hand_set_cpg_filter_fires_exactly_at_cg(arch):
    seq = _cpg_sequence()
    if arch == "deepbind":  # valid padding: output j reads seq[j : j + 2]
        model = DeepBind(4, 1, len(seq), filters=1, kernel=2, hidden=0, dropout=0.0)
    else:  # same padding (0 left, 1 right for width 2): output j also reads seq[j : j + 2]
        model = DilatedCNN(4, 1, len(seq), filters=1, first_kernel=2, layers=0)
    conv = model.first_layer()
    c, g = ALPHABETS["dna"].index("C"), ALPHABETS["dna"].index("G")
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, c, 0] = 1.0
        conv.weight[0, g, 1] = 1.0
        conv.bias.fill_(-1.0)
        h, _ = model.stem(onehot([seq]))
    expected = [float(seq[j : j + 2] == "CG") for j in range(h.shape[-1])]
    assert sum(expected) >= 6
    assert h[0, 0].tolist() == expected


# --------------------------------------------------------------------------- 5. PWM layer


@pytest.mark.parametrize("alphabet_size", [4, 20])
def test_pwm_constrained_filters_are_probability_matrices(alphabet_size):
    model = small("dilated", alphabet_size=alphabet_size, pwm_constrained=True)
    conv = model.first_layer()
    assert isinstance(conv, PWMConv1d)
    filters, width = model.config["filters"], model.config["first_kernel"]
    # train a few steps with large updates: the constraint must hold after training too
    optimizer = torch.optim.SGD(conv.parameters(), lr=20.0)
    x = torch.randn(4, alphabet_size, 200)
    for _ in range(3):
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
    pwm = conv.pwm()
    assert pwm.shape == (filters, alphabet_size, width)
    assert (pwm >= 0).all()
    torch.testing.assert_close(pwm.sum(dim=1), torch.ones(filters, width))
    assert not torch.allclose(pwm, torch.full_like(pwm, 1 / alphabet_size))  # it did train
    # scanned as log-odds against a uniform background, plus a learnt threshold
    kept = pwm > 1e-20  # lr 20 drives some probabilities to 0 (log-odds stay finite)
    torch.testing.assert_close(conv.weight[kept], torch.log(alphabet_size * pwm)[kept])
    assert torch.isfinite(conv.weight).all()
    torch.testing.assert_close(conv(x), F.conv1d(x, conv.weight, conv.bias))
    assert any(p is conv.bias for p in conv.parameters())


def test_pwm_filter_scores_a_planted_site_by_its_log_odds():
    """A PWM filter set to a motif scores the motif's consensus at sum(log(4 p)) (nats), far
    above background windows; the bias shifts every score alike."""
    conv = PWMConv1d(4, 1, 3)
    ppm = torch.tensor([[0.7, 0.1, 0.1], [0.1, 0.7, 0.1], [0.1, 0.1, 0.7], [0.1, 0.1, 0.1]])
    conv.set_logits(torch.log(ppm)[None])
    with torch.no_grad():
        conv.bias.fill_(-1.0)
    x = onehot(["TTACGTT"])  # consensus ACG at offset 2
    scores = conv(x)[0, 0]
    best = 3 * math.log(4 * 0.7) - 1.0
    assert scores.argmax().item() == 2
    torch.testing.assert_close(scores[2], torch.tensor(best))
    assert (scores[[0, 1, 3, 4]] < 0).all()  # off-site windows fall below the threshold


def test_pwm_entropy_is_log_a_for_uniform_ppms_and_falls_as_they_sharpen():
    model = small("dilated", pwm_constrained=True)
    conv = model.first_layer()
    conv.set_logits(torch.zeros_like(conv.logits))
    torch.testing.assert_close(pwm_entropy(model), torch.tensor(math.log(4)))
    logits = torch.zeros_like(conv.logits)
    logits[:, 0] = 5.0  # every column prefers A
    conv.set_logits(logits)
    p = torch.tensor([math.exp(5), 1, 1, 1]) / (math.exp(5) + 3)
    torch.testing.assert_close(pwm_entropy(model), -(p * p.log()).sum())
    assert pwm_entropy(small("dilated")) is None  # free filters: nothing to penalise


def test_fixed_filters_score_their_motif_and_are_not_trained():
    """A fixed log-odds filter (narrower than the kernel: centred) scores its site exactly
    and keeps its weights through training; the learnt filters change."""
    site = torch.tensor([[2.0, -1, -1], [-1, 2.0, -1], [-1, -1, 2.0], [-1, -1, -1]])  # ACG
    model = small("dilated", first_kernel=5, fixed_filters=[site.tolist()])
    conv = model.first_layer()
    assert isinstance(conv, FixedFilterConv1d)
    assert conv.weight.shape == (8, 4, 5)
    torch.testing.assert_close(conv.weight[0, :, 1:4], site)
    assert (conv.weight[0, :, [0, 4]] == 0).all()
    scores = conv(onehot(["TTACGTT"]))[0, 0] - conv.bias[0]
    assert scores.argmax().item() == 1 and scores[1].item() == pytest.approx(6.0)
    free = conv.free_weight.detach().clone()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        model(torch.randn(4, 4, 200)).sum().backward()
        optimizer.step()
    torch.testing.assert_close(conv.weight[0, :, 1:4], site)
    assert not torch.allclose(conv.free_weight, free)
    clone = from_checkpoint(checkpoint(model))  # the fixed filters travel in the config
    torch.testing.assert_close(clone.first_layer().weight, conv.weight)
    with pytest.raises(ValueError, match="fixed filters must be"):
        small("dilated", first_kernel=2, fixed_filters=[site.tolist()])
    with pytest.raises(ValueError, match="do not combine"):
        small("dilated", pwm_constrained=True, fixed_filters=[site.tolist()])


# --------------------------------------------------------------------------- 6. masks


def test_masked_pooling_ignores_padded_positions():
    torch.manual_seed(0)
    x = torch.randn(3, 5, 10, requires_grad=True)
    lengths = [6, 10, 0]
    mask = torch.arange(10)[None, :] < torch.tensor(lengths)[:, None]
    with torch.no_grad():
        x[~mask[:, None, :].expand_as(x)] = 1e6  # padding would win any unmasked max
    gmax = masked_global_max(x, mask)
    gavg = masked_global_avg(x, mask)
    for i, n in enumerate(lengths):
        if n:
            torch.testing.assert_close(gmax[i], x[i, :, :n].amax(-1))
            torch.testing.assert_close(gavg[i], x[i, :, :n].mean(-1))
        else:  # nothing valid: 0
            assert torch.equal(gmax[i], torch.zeros(5)) and torch.equal(gavg[i], torch.zeros(5))
    (grad,) = torch.autograd.grad(gmax.sum(), x)
    assert (grad[~mask[:, None, :].expand_as(grad)] == 0).all()  # a padded position never wins
    assert (grad.sum(-1)[:2] == 1).all()  # each valid channel picks exactly one position

    pooled, pooled_mask = masked_max_pool1d(x, mask, 4)  # windows [0:4] [4:8] [8:10]
    assert pooled.shape == (3, 5, 3)
    assert pooled_mask.tolist() == [[True, True, False], [True, True, True], [False] * 3]
    torch.testing.assert_close(pooled[0, :, 1], x[0, :, 4:6].amax(-1))  # 6, 7 are padding
    torch.testing.assert_close(pooled[1, :, 2], x[1, :, 8:10].amax(-1))
    assert torch.equal(pooled[0, :, 2], torch.zeros(5))  # entirely masked window
    assert torch.equal(pooled[2], torch.zeros(5, 3))
    (grad,) = torch.autograd.grad(pooled.sum(), x)
    assert (grad[~mask[:, None, :].expand_as(grad)] == 0).all()


@pytest.mark.parametrize("pool", POOLS)
def test_pooling_heads_ignore_padding_on_their_own(pool):
    torch.manual_seed(0)
    head = PoolingHead(pool, channels=3, length=20, bins=4)
    mask = torch.arange(20)[None, :] < torch.tensor([20, 13])[:, None]
    x = torch.randn(2, 3, 20)
    a = torch.where(mask[:, None, :], x, 100 * torch.randn(x.shape))
    b = torch.where(mask[:, None, :], x, -100 * torch.rand(x.shape))
    assert head(a, mask).shape == (2, head.out_features)
    torch.testing.assert_close(head(a, mask), head(b, mask), rtol=0, atol=0)
    assert not torch.allclose(head(a), head(b))


MASK_CASES = [(arch, pool) for arch in ARCHS for pool in POOLS] + [
    ("dilated_pooled", "global_max"),
    ("dilated_pooled", "local_max"),
]


@pytest.mark.parametrize(("arch", "pool"), MASK_CASES)
def test_padding_content_does_not_change_the_output(arch, pool):
    options = {"stage_pool": 3, "stride": 2} if arch == "dilated_pooled" else {}
    model = small(arch.removesuffix("_pooled"), pool=pool, **options).eval()
    length, lengths = 200, [200, 181, 171]
    mask = torch.arange(length)[None, :] < torch.tensor(lengths)[:, None]
    x = onehot(random_seqs(3, length, seed=4))
    garbage_a = torch.where(mask[:, None, :], x, 10 * torch.randn(x.shape))
    garbage_b = torch.where(mask[:, None, :], x, onehot(random_seqs(3, length, seed=5)))
    garbage_b[1, :, 190] = float("nan")
    with torch.no_grad():
        out_a = model(garbage_a, mask)
        out_b = model(garbage_b, mask)
        control = model(garbage_a), model(garbage_b.nan_to_num())
    assert torch.isfinite(out_a).all()
    torch.testing.assert_close(out_a, out_b, rtol=0, atol=1e-6)
    assert not torch.allclose(*control)  # without the mask the garbage does matter
    if pool.startswith("global"):  # padded + mask gives what the unpadded sequence gives
        with torch.no_grad():
            for i, n in enumerate(lengths):
                alone = model(x[i : i + 1, :, :n])
                torch.testing.assert_close(out_a[i : i + 1], alone, rtol=1e-5, atol=1e-5)


def test_per_position_output_respects_mask():
    model = small("dilated", per_position=True).eval()
    lengths = [120, 83]
    mask = torch.arange(120)[None, :] < torch.tensor(lengths)[:, None]
    x = onehot(random_seqs(2, 120, seed=6))
    padded = torch.where(mask[:, None, :], x, torch.randn(x.shape))
    with torch.no_grad():
        out = model(padded, mask)
        alone = model(x[1:, :, :83])
    assert out.shape == (2, 3, 120)
    torch.testing.assert_close(out[1:, :, :83], alone, rtol=1e-5, atol=1e-5)
    assert (out[1, :, 83:] == 0).all()


# --------------------------------------------------------------------------- 7. the zoo


@pytest.mark.parametrize("alphabet", ["dna", "protein"])
@pytest.mark.parametrize("arch", list(ARCHS))
def test_every_arch_builds_and_forwards(arch, alphabet):
    size = len(ALPHABETS[alphabet])
    model = small(arch, alphabet_size=size)
    x = onehot(random_seqs(5, 200, alphabet, seed=7), alphabet)
    out = model(x)
    assert out.shape == (5, 3)
    assert torch.isfinite(out).all()
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    conv = model.first_layer()
    assert conv.weight.shape[1] == size
    assert isinstance(model.receptive_field, int) and model.receptive_field >= conv.kernel_size[0]
    raw = torch.from_numpy(one_hot_batch(random_seqs(2, 200, alphabet), alphabet))
    assert model(raw).shape == (2, 3)  # uint8 one-hot straight from seqcnn.alphabet


def test_dilated_per_position_keeps_base_pair_resolution():
    model = small("dilated", per_position=True)
    for length in (200, 77):
        assert model(torch.randn(2, 4, length)).shape == (2, 3, length)
    with pytest.raises(ValueError, match="per_position"):
        small("dilated", per_position=True, stride=2)


@pytest.mark.parametrize("pool_size", [1, 2, 4, 10, 25, 50, 100])
def test_koo_eddy_all_pool_sizes(pool_size):
    torch.manual_seed(0)
    model = KooEddyCNN(4, 3, 200, pool_size=pool_size)
    x = onehot(random_seqs(2, 200, seed=8))
    h, _ = model.features(x)
    assert h.shape == (2, 128, 2)  # total pooling 100: 200 bp -> 2 positions
    assert model(x).shape == (2, 3)
    assert model.layer_specs()[1] == (pool_size, 1, pool_size)
    assert model.layer_specs()[3] == (100 // pool_size, 1, 100 // pool_size)


@pytest.mark.parametrize(
    ("config", "bad"),
    [
        ({"arch": "transformer"}, "'transformer'"),
        ({"arch": "dilated", "pool": "median"}, "'median'"),
        ({"arch": "basset", "activation": "tanh"}, "'tanh'"),
        ({"arch": "deepbind", "filtres": 8}, "'filtres'"),
        ({"arch": "koo_eddy", "pool_size": 3}, "pool_size"),
        ({"arch": "dilated", "layers": -1}, "layers"),
        ({"arch": "dilated", "pwm_constrained": "yes"}, "pwm_constrained"),
        ({"arch": "danq", "per_position": True}, "'per_position'"),
    ],
)
def test_bad_config_raises_value_error_naming_it(config, bad):
    with pytest.raises(ValueError, match=bad):
        build_model(config, 4, 3, 200)


def test_bad_sizes_and_inputs_raise():
    with pytest.raises(ValueError, match="tanh"):
        activation("tanh")
    with pytest.raises(ValueError, match="seq_len=50 is too short"):
        build_model({"arch": "basset"}, 4, 1, 50)
    with pytest.raises(ValueError, match="conflicts"):
        build_model({"arch": "dilated", "n_tasks": 2}, 4, 3, 100)
    model = small("dilated")
    with pytest.raises(ValueError, match=r"\(N, 4, L\)"):
        model(torch.randn(2, 20, 200))
    with pytest.raises(ValueError, match="mask"):
        model(torch.randn(2, 4, 200), torch.ones(2, 199, dtype=torch.bool))
    with pytest.raises(ValueError, match="needs feature length"):
        small("dilated", pool="flatten")(torch.randn(2, 4, 150))


# --------------------------------------------------------------------------- 8. checkpoints


@pytest.mark.parametrize(
    ("arch", "options"),
    [(arch, {}) for arch in ARCHS]
    + [
        ("dilated", {"pwm_constrained": True, "activation": "exp", "pool": "local_max"}),
        ("dilated", {"per_position": True}),
        ("basset", {"pool": "global_avg"}),
    ],
)
def test_rebuild_from_saved_state_dict_and_config(arch, options, tmp_path):
    model = small(arch, **options)
    x = onehot(random_seqs(4, 200, seed=9))
    model.train()
    model(x)  # updates batch-norm running statistics, which must be saved too
    model.eval()
    json.dumps(model.config)  # plain types only
    path = tmp_path / "model.pt"
    torch.save(checkpoint(model), path)
    loaded = torch.load(path, weights_only=True)
    rebuilt = from_checkpoint(loaded)
    assert type(rebuilt) is type(model) and rebuilt.config == model.config
    with torch.no_grad():
        assert torch.equal(rebuilt(x), model(x))
        torch.manual_seed(123)
        fresh = build_model(loaded["config"]).eval()
        assert not torch.allclose(fresh(x), model(x))  # the weights, not the seed, matter


# --------------------------------------------------------------------------- 9. exp activation


@pytest.mark.parametrize("pwm_constrained", [False, True])
def test_exp_activation_in_first_layer(pwm_constrained):
    assert isinstance(activation("exp"), ExpActivation)
    z = torch.linspace(-3, 3, 7)
    torch.testing.assert_close(activation("exp")(z), torch.exp(z))
    model = small("deepbind", activation="exp", pwm_constrained=pwm_constrained)
    assert isinstance(model.stem.act, ExpActivation)
    x = onehot(random_seqs(3, 200, seed=10))
    conv = model.first_layer()
    with torch.no_grad():
        h, _ = model.stem(x)
        torch.testing.assert_close(h, torch.exp(F.conv1d(x, conv.weight, conv.bias)))
    assert (h > 0).all()  # unlike ReLU, never exactly zero
    out = model(x)
    assert torch.isfinite(out).all()
    out.sum().backward()
    grad = conv.raw_logits.grad if pwm_constrained else conv.weight.grad
    assert grad is not None and grad.abs().sum() > 0


def test_a_new_arch_goes_in_the_zoo_and_the_schema(monkeypatch):
    """The README's "where a change goes": a model class registered in ``ARCHS`` builds by
    name, and the schema's ``arch`` values are exactly the zoo's (one without the other
    fails here, not at a user's start-up)."""
    import yaml

    from seqcnn.models.zoo import ARCHS, DeepBind

    class TinyBind(DeepBind):
        arch = "tinybind"

    monkeypatch.setitem(ARCHS, "tinybind", TinyBind)
    model = build_model({"arch": "tinybind", "filters": 4, "kernel": 5, "hidden": 0},
                        alphabet_size=4, n_tasks=2, seq_len=50)
    assert type(model) is TinyBind and model.config["arch"] == "tinybind"
    assert model(torch.zeros(3, 4, 50)).shape == (3, 2)
    monkeypatch.delitem(ARCHS, "tinybind")
    root = Path(__file__).resolve().parents[1]
    schema = yaml.safe_load(open(root / "config" / "config.schema.yaml"))
    allowed = schema["properties"]["models"]["additionalProperties"]["properties"]["arch"]["enum"]
    assert set(allowed) == set(ARCHS)


def test_readme_where_a_new_arch_goes_is_all_it_takes(monkeypatch, tmp_path):
    """The README's "Where a change goes", first row, done as it says: a builder registered in
    the zoo (``seqcnn/models/zoo.py``) and its ``arch`` value in ``config/config.schema.yaml``.
    Then a config naming it resolves, it builds, trains one step through the library and
    loads back from model.pt; either half alone is not enough."""
    import yaml

    from seqcnn.errors import ConfigError
    from seqcnn.models.zoo import ARCHS, DeepBind, load_model
    from seqcnn.train.loop import train
    from seqcnn.workflow.config import SCHEMA, resolve

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    table = readme[readme.index("Where a change goes"):]
    row = next(line for line in table.splitlines() if line.startswith("| a new model arch"))
    assert "`seqcnn/models/zoo.py`" in row and "`config/config.schema.yaml`" in row

    class TinyBind(DeepBind):
        arch = "tinybind"

    model = {"arch": "tinybind", "filters": 4, "kernel": 5, "hidden": 0}
    config = yaml.safe_load((root / "config" / "config.yaml").read_text())
    config["models"] = {"tiny": model}
    config["datasets"] = {"demo": config["datasets"]["demo"] | {"models": ["tiny"]}}
    with pytest.raises(ConfigError, match="models.tiny.arch"):  # the schema half missing
        resolve(config, root)
    (tmp_path / "config").mkdir()
    schema = yaml.safe_load((root / SCHEMA).read_text())
    arch = schema["properties"]["models"]["additionalProperties"]["properties"]["arch"]
    arch["enum"].append("tinybind")
    (tmp_path / SCHEMA).write_text(yaml.safe_dump(schema))
    resolved = resolve(config, tmp_path)
    assert resolved["models"]["tiny"] == model
    with pytest.raises(ValueError, match="unknown arch 'tinybind'"):  # the zoo half missing
        build_model(resolved["models"]["tiny"], alphabet_size=4, n_tasks=1, seq_len=30)

    monkeypatch.setitem(ARCHS, "tinybind", TinyBind)
    rng = np.random.default_rng(0)
    x = one_hot_batch(random_seqs(32, 30, seed=1))
    y = (rng.random((32, 1)) < 0.5).astype(np.uint8)
    y[:2, 0] = [0, 1]  # both classes in validation
    result = train(resolved["models"]["tiny"], (x, y), (x[:8], y[:8]),
                   {"epochs": 1, "batch_size": 32, "device": "cpu", "num_workers": 0},
                   out_dir=tmp_path / "out", progress=False)
    assert len(result.history) == 1 and np.isfinite(result.history[0]["train_loss"])
    loaded = load_model(tmp_path / "out" / "model.pt")
    assert type(loaded) is TinyBind and loaded.config["arch"] == "tinybind"
    with torch.no_grad():
        torch.testing.assert_close(loaded.eval()(torch.from_numpy(x[:4]).float()),
                                   result.model.cpu().eval()(torch.from_numpy(x[:4]).float()))


# --------------------------------------------------------------------------- 10. hybrid


@pytest.fixture
def one_thread():
    """Small models train faster on one thread, above all on a busy shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def planted_motif_problem(n: int = 64, length: int = 100, seed: int = 0):
    """Random DNA; the first half carry GATTACA at a random position (label 1)."""
    rng = np.random.default_rng(seed)
    seqs = random_seqs(n, length, seed=seed)
    labels = np.zeros((n, 1), dtype=np.float32)
    for i in range(n // 2):
        pos = int(rng.integers(0, length - 7))
        seqs[i] = seqs[i][:pos] + "GATTACA" + seqs[i][pos + 7:]
        labels[i] = 1
    return onehot(seqs), torch.from_numpy(labels)


def test_hybrid_learns_a_planted_motif(one_thread):
    """20 full-batch Adam steps on 64 sequences: the training loss falls from about log 2,
    and so does the loss on 64 new sequences (the motif was learnt, not the examples)."""
    x, y = planted_motif_problem(length=60)
    x_new, y_new = planted_motif_problem(length=60, seed=1)
    model = small("hybrid", n_tasks=1, seq_len=60, dropout=0.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    with torch.no_grad():
        new_before = F.binary_cross_entropy_with_logits(model(x_new), y_new).item()
    losses = []
    for _ in range(20):
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        new_after = F.binary_cross_entropy_with_logits(model(x_new), y_new).item()
    assert losses[0] > 0.6 and new_before > 0.6  # about log 2 at the start
    assert losses[-1] < 0.3 * losses[0]
    assert new_after < 0.5 * new_before
    table = model.trunk[-1].bias.table
    assert table.abs().sum() > 0  # the relative position bias was trained too


def test_hybrid_relative_position_bias_depends_on_offset_only():
    from seqcnn.models.layers import RelativePositionBias

    bias = RelativePositionBias(heads=2, max_distance=3)
    with torch.no_grad():
        bias.table.copy_(torch.arange(14.0).view(2, 7))
    b = bias(6)
    assert b.shape == (2, 6, 6)
    for i in range(6):
        for j in range(6):  # offset j - i clipped to [-3, 3], index offset + 3
            assert b[1, i, j].item() == 7 + min(max(j - i, -3), 3) + 3


def test_hybrid_trained_equals_itself_after_model_pt(tmp_path):
    """Trained (non-zero relative bias), pooled before attention, saved as model.pt and read
    back with the zoo's loader: the same outputs, masked or not."""
    from seqcnn.models.zoo import Hybrid, load_model

    x, y = planted_motif_problem(n=16)
    model = small("hybrid", n_tasks=1, seq_len=100, attention_pool=2, pool="global_avg")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(3):
        optimizer.zero_grad()
        F.binary_cross_entropy_with_logits(model(x), y).backward()
        optimizer.step()
    model.eval()
    torch.save(checkpoint(model), tmp_path / "model.pt")
    loaded = load_model(tmp_path / "model.pt")
    assert type(loaded) is Hybrid and loaded.config == model.config
    mask = torch.arange(100)[None, :] < torch.randint(60, 101, (16, 1))
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
        assert torch.equal(loaded(x, mask), model(x, mask))
    assert model.layer_specs()[-1] == (2, 1, 2)  # the pool before attention
