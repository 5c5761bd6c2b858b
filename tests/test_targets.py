"""Targets (binary, multiclass, per-position), their losses and metrics, masking, and training
on sequence sets with lengths. Tiny models, CPU only."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import average_precision_score, roc_auc_score
from torch import nn

from seqcnn.alphabet import one_hot_codes
from seqcnn.data.seqsets import (
    encode_chunk,
    encode_position_labels,
    pad_position_labels,
)
from seqcnn.data.targets import Targets
from seqcnn.evaluate.metrics import (
    ACCURACY_COLUMNS,
    CLASS_COLUMNS,
    accuracy_metrics,
    class_metrics,
    class_precision_recall,
)
from seqcnn.models import build_model
from seqcnn.simulate.proteins import simulate_secondary_structure
from seqcnn.train.loop import predict, train

SS = Targets(("ss",), {"ss": "per_position"}, {"ss": ("H", "E", "C")})
MIXED = Targets(("bound", "family"), {"bound": "binary", "family": "multiclass"},
                {"family": ("a", "b", "c")})


# --------------------------------------------------------------------------- helpers


def secondary_structure(n: int, seed: int, min_len: int = 40, max_len: int = 80):
    """Simulated proteins: one-hot (n, 20, max_len), labels (n, max_len) H/E/C codes with 255
    past the end, lengths (n,)."""
    table = simulate_secondary_structure(n, np.random.default_rng(seed), min_len=min_len,
                                         max_len=max_len)
    seqs, ids = list(table["sequence"]), list(table["id"])
    x, lengths = encode_chunk(seqs, "protein", max_len)
    codes, _ = encode_position_labels(list(table["structure"]), seqs, "structure", "mem",
                                      ids, list(range(n)), "HEC")
    return x, pad_position_labels(codes, max_len), lengths


def padded_dna(n: int, min_len: int, max_len: int, seed: int):
    """Random DNA of lengths min_len..max_len, zero past each end: (n, 4, max_len), (n,)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(min_len, max_len + 1, size=n).astype(np.int32)
    x = one_hot_codes(rng.integers(0, 4, size=(n, max_len)), 4)
    return x * (np.arange(max_len)[None, :] < lengths[:, None])[:, None, :], lengths


# --------------------------------------------------------------------------- Targets


def test_layout_names_and_round_trip():
    assert MIXED.n_outputs == 4 and not MIXED.per_position and not MIXED.all_binary
    assert MIXED.output_names == ["bound", "family:a", "family:b", "family:c"]
    assert MIXED.slices == {"bound": slice(0, 1), "family": slice(1, 4)}
    assert MIXED.binary_tasks == [0] and MIXED.binary_columns == [0]
    assert SS.per_position and SS.n_outputs == 3 and SS.output_names == ["ss:H", "ss:E", "ss:C"]
    b = Targets.binary(["x", "y"])
    assert b.all_binary and b.n_outputs == 2 and b.output_names == ["x", "y"]
    for t in (MIXED, SS, b):
        d = json.loads(json.dumps(t.to_dict()))
        assert Targets.from_dict(d) == t and hash(Targets.from_dict(d)) == hash(t)
    assert Targets.from_meta({"tasks": ["x", "y"]}) == b
    assert Targets.from_meta({"tasks": ["ss"], "targets": SS.to_dict()}) == SS


def test_from_manifest_genome_and_seqset():
    assert Targets.from_manifest({"tasks": ["CTCF", "GATA"], "alphabet": "dna"}) == \
        Targets.binary(["CTCF", "GATA"])
    manifest = {"kind": "seqset", "tasks": ["ss"], "task_kinds": {"ss": "per_position"},
                "classes": {"ss": ["C", "E", "H"]}, "ignore_index": 255,
                "label_kind": "per_position"}
    t = Targets.from_manifest(manifest)
    assert t.per_position and t.classes["ss"] == ("C", "E", "H")
    manifest = {"kind": "seqset", "tasks": ["act", "loc"],
                "task_kinds": {"act": "binary", "loc": "multiclass"},
                "classes": {"act": ["0", "1"], "loc": ["cyto", "mito", "nuc"]}}
    assert Targets.from_manifest(manifest).output_names == ["act", "loc:cyto", "loc:mito",
                                                            "loc:nuc"]


def test_bad_targets_and_labels_raise_naming_the_task():
    with pytest.raises(ValueError, match="only task"):
        Targets(("ss", "b"), {"ss": "per_position", "b": "binary"}, {"ss": ("H", "E")})
    with pytest.raises(ValueError, match="'x'.*kind"):
        Targets(("x",), {"x": "regression"}, {})
    with pytest.raises(ValueError, match="binary task 'x' needs 2 classes"):
        Targets(("x",), {"x": "binary"}, {"x": ("a", "b", "c")})
    with pytest.raises(ValueError, match="'m'.*at least 2 classes"):
        Targets(("m",), {"m": "multiclass"}, {"m": ("a",)})
    with pytest.raises(ValueError, match="task 'family'.*code\\(s\\) 3"):
        MIXED.check_labels(np.array([[0, 1], [1, 3]], np.uint8))
    with pytest.raises(ValueError, match="task 'bound'.*code\\(s\\) 2"):
        MIXED.check_labels(np.array([[2, 1]], np.uint8))
    with pytest.raises(ValueError, match="expected labels \\(N, 2\\)"):
        MIXED.check_labels(np.zeros((3, 3), np.uint8))
    with pytest.raises(ValueError, match="task 'ss'.*code\\(s\\) 3.*255"):
        SS.check_labels(np.array([[0, 1, 3, 255]], np.uint8))
    SS.check_labels(np.array([[0, 1, 2, 255]], np.uint8))
    with pytest.raises(ValueError, match="logits must be \\(N, 4\\)"):
        MIXED.probabilities(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="one value per binary task"):
        MIXED.loss(np.ones(2))


# --------------------------------------------------------------------------- losses


def test_binary_loss_is_bce_with_pos_weight_exactly():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(8, 3, generator=g)
    labels = (torch.rand(8, 3, generator=g) > 0.5).float()
    pw = np.array([1.0, 2.5, 0.5], np.float32)
    ref = nn.BCEWithLogitsLoss(pos_weight=torch.from_numpy(pw))(logits, labels)
    got = Targets.binary(["a", "b", "c"]).loss(pw)(logits, labels)
    assert torch.equal(got, ref)


def test_mixed_loss_is_mean_of_per_task_losses():
    logits = torch.tensor([[0.5, 2.0, 0.0, -1.0], [-1.0, 0.0, 3.0, 0.0],
                           [2.0, 1.0, 1.0, 1.0]])
    labels = torch.tensor([[1, 0], [0, 1], [1, 2]], dtype=torch.uint8)
    pw = np.array([3.0], np.float32)
    bce = F.binary_cross_entropy_with_logits(logits[:, 0], labels[:, 0].float(),
                                             pos_weight=torch.tensor([3.0]))
    ce = F.cross_entropy(logits[:, 1:], labels[:, 1].long())
    got = MIXED.loss(pw)(logits, labels)
    torch.testing.assert_close(got, (bce + ce) / 2)
    # by hand: softmax row 2 of the family task is uniform → -log(1/3)
    one = F.cross_entropy(logits[2:, 1:], labels[2:, 1].long())
    assert one.item() == pytest.approx(math.log(3))


def test_per_position_loss_ignores_padding_in_value_and_gradient():
    g = torch.Generator().manual_seed(1)
    labels = torch.tensor([[0, 2, 1, 255, 255], [1, 1, 255, 255, 255]], dtype=torch.uint8)
    real = labels != 255
    base = torch.randn(2, 3, 5, generator=g)
    # reference: mean of -log softmax at the 5 real positions
    logp = base.log_softmax(dim=1)
    picked = [logp[i, int(labels[i, j]), j] for i, j in zip(*torch.nonzero(real).T,
                                                            strict=True)]
    ref = -torch.stack(picked).mean()
    loss_fn = SS.loss()

    def loss_and_grad(logits):
        logits = logits.clone().requires_grad_(True)
        loss = loss_fn(logits, labels)
        loss.backward()
        return loss.detach(), logits.grad

    loss_a, grad_a = loss_and_grad(base)
    torch.testing.assert_close(loss_a, ref)
    garbage = base.clone()
    garbage[:, :, ~real.any(dim=0)] = 1e4  # positions padded in every row
    garbage[1, :, 2] = -7.0  # a padded position of row 1 only
    loss_b, grad_b = loss_and_grad(garbage)
    assert torch.equal(loss_a, loss_b) and torch.equal(grad_a, grad_b)
    assert (grad_a.permute(0, 2, 1)[~real] == 0).all()
    # float labels (as the training loop passes them) give the same loss
    assert torch.equal(loss_fn(base, labels.float()), loss_a)


# --------------------------------------------------------------------------- probabilities


def test_probabilities_and_one_vs_rest():
    logits = np.array([[0.0, 1.0, 1.0, 1.0], [2.0, 0.0, math.log(2), 0.0]])
    p = MIXED.probabilities(logits)
    assert p[:, 0] == pytest.approx([0.5, 1 / (1 + math.exp(-2))])
    assert p[0, 1:] == pytest.approx([1 / 3] * 3) and p[1, 1:] == pytest.approx([.25, .5, .25])
    y, s = MIXED.one_vs_rest(np.array([[1, 2], [0, 0]], np.uint8), p)
    assert y.tolist() == [[1, 0, 0, 1], [0, 1, 0, 0]] and s is p
    assert MIXED.predicted_class(p)["family"].tolist() == [0, 1]

    pp = SS.probabilities(np.random.default_rng(0).normal(size=(2, 3, 4)))
    assert pp.shape == (2, 3, 4) and np.allclose(pp.sum(axis=1), 1)
    labels = np.array([[2, 0, 255, 255], [1, 255, 255, 255]], np.uint8)
    y, s = SS.one_vs_rest(labels, pp)
    assert y.tolist() == [[0, 0, 1], [1, 0, 0], [0, 1, 0]]
    assert np.array_equal(s, np.stack([pp[0, :, 0], pp[0, :, 1], pp[1, :, 0]]))
    assert SS.position_rows(labels).tolist() == [0, 0, 1]
    assert Targets.binary(["a"]).probabilities(np.array([[0.0]])).tolist() == [[0.5]]


# --------------------------------------------------------------------------- metrics


def test_class_metrics_match_sklearn_one_vs_rest():
    rng = np.random.default_rng(2)
    labels = np.stack([rng.integers(0, 2, 60), rng.integers(0, 3, 60)], axis=1).astype(np.uint8)
    logits = rng.normal(size=(60, 4))
    logits[:, 0] += 1.5 * labels[:, 0]
    logits[np.arange(60), 1 + labels[:, 1]] += 1.5
    probs = MIXED.probabilities(logits)
    df = class_metrics(labels, probs, MIXED, model="m", n_boot=50, seed=1)
    assert list(df.columns) == CLASS_COLUMNS and len(df) == 4
    assert df["task"].tolist() == ["bound", "family", "family", "family"]
    assert df["class"].tolist() == ["", "a", "b", "c"]
    y, p = MIXED.one_vs_rest(labels, probs)
    for j in range(4):
        assert df["auroc"][j] == pytest.approx(roc_auc_score(y[:, j], p[:, j]))
        assert df["auprc"][j] == pytest.approx(average_precision_score(y[:, j], p[:, j]))
        assert df["n_pos"][j] == y[:, j].sum() and df["n_neg"][j] == 60 - y[:, j].sum()
        assert df["auroc_lo"][j] <= df["auroc"][j] <= df["auroc_hi"][j]


def test_accuracy_q3_and_precision_recall_on_known_inputs():
    # 2 sequences; real positions: row 0 → H E C C (4), row 1 → H H (2); rest padding
    labels = np.array([[0, 1, 2, 2, 255], [0, 0, 255, 255, 255]], np.uint8)
    pred = np.array([[0, 1, 2, 0, 1], [0, 2, 2, 2, 2]])  # 4 of 6 real positions right
    probs = np.moveaxis(np.eye(3)[pred], 2, 1) * 0.8 + 0.1  # (2, 3, 5), argmax = pred
    acc = accuracy_metrics(labels, probs, SS, model="m")
    assert list(acc.columns) == ACCURACY_COLUMNS
    row = acc.iloc[0]
    assert row["accuracy"] == pytest.approx(4 / 6) and row["q3"] == pytest.approx(4 / 6)
    assert row["n"] == 6 and row["majority"] == pytest.approx(3 / 6)
    # garbage in the padding changes nothing
    noisy = probs.copy()
    noisy[:, :, 4] = [[0, 0, 9], [9, 0, 0]]
    noisy[1, :, 2:] = 5.0
    assert accuracy_metrics(labels, noisy, SS).iloc[0]["accuracy"] == pytest.approx(4 / 6)
    pr = class_precision_recall(labels, probs, SS).set_index("class")
    # H: 3 true, predicted at (0,0) (0,3) (1,0) → 2 hits; E: 1 true, 1 predicted, hit;
    # C: 2 true, predicted at (0,2) (1,1) → 1 hit
    assert pr.loc["H", ["precision", "recall"]].tolist() == pytest.approx([2 / 3, 2 / 3])
    assert pr.loc["E", ["precision", "recall"]].tolist() == pytest.approx([1, 1])
    assert pr.loc["C", ["precision", "recall"]].tolist() == pytest.approx([1 / 2, 1 / 2])
    assert pr["support"].tolist() == [3, 1, 2]
    # Q3 only for exactly H/E/C; per-sequence multiclass accuracy counts sequences
    other = Targets(("ss",), {"ss": "per_position"}, {"ss": ("H", "E", "T")})
    assert math.isnan(accuracy_metrics(labels, probs, other).iloc[0]["q3"])
    m = accuracy_metrics(np.array([[1, 0], [0, 2], [1, 2]], np.uint8),
                         MIXED.probabilities(np.array([[0, 5, 0, 0], [0, 0, 5, 0],
                                                       [0, 0, 0, 5.0]])), MIXED)
    assert m["task"].tolist() == ["family"] and m["accuracy"][0] == pytest.approx(2 / 3)
    assert m["n"][0] == 3


def test_per_position_class_metrics_skip_padding():
    rng = np.random.default_rng(3)
    x, labels, lengths = secondary_structure(20, seed=3)
    probs = SS.probabilities(rng.normal(size=(20, 3, labels.shape[1])))
    df = class_metrics(labels, probs, SS, n_boot=20)
    assert (df["n_pos"] + df["n_neg"] == lengths.sum()).all()
    assert df["class"].tolist() == ["H", "E", "C"] and (df["task"] == "ss").all()
    pad = np.broadcast_to((labels == 255)[:, None, :], probs.shape)
    noisy = np.where(pad, 0.5, probs)
    again = class_metrics(labels, noisy, SS, n_boot=20)
    assert np.allclose(df[["auroc", "auprc", "auroc_lo", "auprc_hi"]],
                       again[["auroc", "auprc", "auroc_lo", "auprc_hi"]])


# --------------------------------------------------------------------------- masking


@pytest.mark.parametrize("config", [
    {"arch": "dilated", "filters": 6, "first_kernel": 5, "layers": 2, "pool": "global_max"},
    {"arch": "dilated", "filters": 6, "first_kernel": 5, "layers": 2, "pool": "global_avg"},
    {"arch": "dilated", "filters": 6, "first_kernel": 5, "layers": 2, "per_position": True},
])
def test_padded_length_grouped_batches_equal_each_sequence_alone(config):
    torch.manual_seed(0)
    x, lengths = padded_dna(23, 5, 40, seed=4)
    model = build_model(config, 4, 3, 40).eval()
    with torch.no_grad():  # non-zero biases so that padding would show if it leaked
        for p in model.parameters():
            p.add_(0.1)
    batched = predict(model, x, lengths=lengths, batch_size=4, device="cpu")
    for i in range(len(x)):
        alone = predict(model, x[i:i + 1, :, :lengths[i]], device="cpu")
        if config.get("per_position"):
            assert batched.shape == (23, 3, 40)
            np.testing.assert_allclose(batched[i, :, :lengths[i]], alone[0], rtol=1e-5,
                                       atol=1e-6)
            assert (batched[i, :, lengths[i]:] == 0).all()
        else:
            np.testing.assert_allclose(batched[i], alone[0], rtol=1e-5, atol=1e-6)


def test_unmasked_zeros_padding_is_seen_and_the_mask_hides_it():
    torch.manual_seed(1)
    config = {"arch": "dilated", "filters": 6, "first_kernel": 5, "layers": 1,
              "pool": "global_avg"}
    x, lengths = padded_dna(6, 10, 20, seed=5)
    wide = np.zeros((6, 4, 60), np.uint8)
    wide[:, :, :20] = x
    model = build_model(config, 4, 2, 20).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.2)
    out = {}
    for mode in ("zeros", "zeros+mask", "uniform"):
        out[mode] = [predict(model, a, lengths=lengths, padding=mode, device="cpu")
                     for a in (x, wide)]
    np.testing.assert_allclose(*out["zeros+mask"], rtol=1e-6)
    assert np.abs(out["zeros"][0] - out["zeros"][1]).max() > 1e-3  # depends on pad length
    assert np.abs(out["uniform"][0] - out["uniform"][1]).max() > 1e-3
    with pytest.raises(ValueError, match="rc_average"):
        predict(model, x, lengths=lengths, rc_average=True)


# --------------------------------------------------------------------------- training


def test_per_position_model_learns_secondary_structure(tmp_path):
    x, y, lengths = secondary_structure(300, seed=0)
    model = {"arch": "dilated", "filters": 16, "first_kernel": 9, "layers": 3}
    cfg = {"epochs": 6, "batch_size": 16, "lr": 0.01, "patience": 0, "seed": 0}
    res = train(model, (x[:200], y[:200], lengths[:200]), (x[200:250], y[200:250],
                lengths[200:250]), cfg, targets=SS, out_dir=tmp_path, progress=False)
    assert res.model.config["per_position"] is True and res.model.n_tasks == 3
    ckpt = torch.load(tmp_path / "model.pt", weights_only=True)
    meta = ckpt["meta"]
    assert Targets.from_dict(meta["targets"]) == SS and meta["padding"] == "zeros+mask"
    assert meta["output_names"] == ["ss:H", "ss:E", "ss:C"]
    assert set(meta["valid_auprc_per_task"]) == set(meta["output_names"])
    probs = predict(res.model, x[250:], lengths=lengths[250:], targets=SS)
    assert probs.shape == (50, 3, 80)
    acc = accuracy_metrics(y[250:], probs, SS).iloc[0]
    # a model that ignores the sequence (or mis-aligns labels) stays near the majority class
    assert acc["n"] == lengths[250:].sum()
    assert acc["q3"] > acc["majority"] + 0.25 and acc["q3"] > 0.75, acc.to_dict()


def test_multiclass_and_binary_per_sequence_tasks_learn():
    """Family (a/b/c) = which of three motifs is planted; bound = a fourth motif present."""
    rng = np.random.default_rng(6)
    n, length = 900, 48
    lengths = rng.integers(24, length + 1, size=n).astype(np.int32)
    codes = rng.integers(0, 4, size=(n, length))
    motifs = [np.array(m) for m in ([3, 2, 0, 1, 3, 1], [1, 1, 2, 1, 2, 2],
                                    [0, 3, 0, 3, 2, 2], [2, 0, 2, 0, 1, 3])]
    family = rng.integers(0, 3, size=n)
    bound = (rng.random(n) < 0.4).astype(np.uint8)
    for i in range(n):
        starts = rng.choice(np.arange(0, lengths[i] - 6, 6), size=2, replace=False)
        codes[i, starts[0]:starts[0] + 6] = motifs[family[i]]
        if bound[i]:
            codes[i, starts[1]:starts[1] + 6] = motifs[3]
    x = one_hot_codes(codes, 4) * (np.arange(length)[None, :] < lengths[:, None])[:, None, :]
    y = np.stack([bound, family], axis=1).astype(np.uint8)
    model = {"arch": "dilated", "filters": 16, "first_kernel": 7, "layers": 1}
    cfg = {"epochs": 6, "batch_size": 32, "lr": 0.01, "patience": 0, "seed": 0}
    res = train(model, (x[:600], y[:600], lengths[:600]), (x[600:750], y[600:750],
                lengths[600:750]), cfg, targets=MIXED, progress=False)
    assert res.model.n_tasks == 4 and res.best_valid_auroc > 0.85
    probs = predict(res.model, x[750:], lengths=lengths[750:], targets=MIXED)
    assert probs.shape == (150, 4) and np.allclose(probs[:, 1:].sum(axis=1), 1)
    acc = accuracy_metrics(y[750:], probs, MIXED).iloc[0]
    assert acc["accuracy"] > 0.8, acc.to_dict()  # chance: about 1/3
    auc = class_metrics(y[750:], probs, MIXED, n_boot=0)
    assert (auc["auroc"] > 0.85).all(), auc


def test_per_position_needs_the_dilated_arch():
    x, y, lengths = secondary_structure(40, seed=1)
    split = (x, y, lengths)
    with pytest.raises(ValueError, match="need arch 'dilated'.*'deepbind'"):
        train({"arch": "deepbind"}, split, split, {"epochs": 1}, targets=SS, progress=False)
    with pytest.raises(ValueError, match="task 'task0'.*from_manifest"):  # default: binary
        train({"arch": "dilated"}, split, split, {"epochs": 1}, progress=False)


# --------------------------------------------------------------------------- ambiguous (255)

BIN3 = Targets.binary(["a", "b", "c"])


def _loss_and_grad(loss_fn, logits: torch.Tensor, labels: torch.Tensor):
    logits = logits.clone().requires_grad_(True)
    loss = loss_fn(logits, labels)
    loss.backward()
    return loss.detach(), logits.grad


def test_binary_and_multiclass_labels_accept_the_ignore_code():
    BIN3.check_labels(np.array([[0, 1, 255], [255, 255, 255]], np.uint8))
    MIXED.check_labels(np.array([[255, 2], [1, 255]], np.uint8))
    with pytest.raises(ValueError, match="task 'b'.*code\\(s\\) 254"):
        BIN3.check_labels(np.array([[0, 254, 1]], np.uint8))


def test_binary_loss_with_ignored_labels_is_bce_over_the_labelled_entries():
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(10, 3, generator=g)
    labels = (torch.rand(10, 3, generator=g) > 0.5).to(torch.uint8)
    labels[torch.rand(10, 3, generator=g) < 0.3] = 255
    labelled = labels != 255
    assert 0 < labelled.sum() < labels.numel()
    pw = torch.tensor([1.0, 2.5, 0.5])
    ref = F.binary_cross_entropy_with_logits(logits[labelled], labels[labelled].float(),
                                             pos_weight=pw.expand(10, 3)[labelled])
    loss_fn = BIN3.loss(pw.numpy())
    loss, grad = _loss_and_grad(loss_fn, logits, labels)
    torch.testing.assert_close(loss, ref)
    torch.testing.assert_close(loss_fn(logits, labels.float()), ref)  # as training passes them
    assert (grad[~labelled] == 0).all() and (grad[labelled] != 0).all()
    garbage = torch.where(labelled, logits, torch.full_like(logits, 1e4))
    loss_g, grad_g = _loss_and_grad(loss_fn, garbage, labels)
    assert torch.equal(loss_g, loss) and torch.equal(grad_g, grad)
    # no ignored labels: still exactly BCEWithLogitsLoss
    full = labels.clone()
    full[~labelled] = 1
    torch.testing.assert_close(loss_fn(logits, full),
                               nn.BCEWithLogitsLoss(pos_weight=pw)(logits, full.float()))


def test_batch_with_every_label_ignored_contributes_zero_without_nan():
    logits = torch.randn(4, 3)
    labels = torch.full((4, 3), 255, dtype=torch.uint8)
    loss, grad = _loss_and_grad(BIN3.loss(np.ones(3)), logits, labels)
    assert loss.item() == 0.0 and (grad == 0).all()
    mixed = torch.full((4, 2), 255, dtype=torch.uint8)
    loss, grad = _loss_and_grad(MIXED.loss(), torch.randn(4, 4), mixed)
    assert loss.item() == 0.0 and torch.isfinite(grad).all() and (grad == 0).all()


def test_mixed_loss_masks_ignored_binary_and_multiclass_labels():
    logits = torch.tensor([[0.5, 2.0, 0.0, -1.0], [-1.0, 0.0, 3.0, 0.0],
                           [2.0, 1.0, 1.0, 1.0], [9.0, -9.0, 9.0, 9.0]])
    labels = torch.tensor([[1, 0], [255, 1], [1, 255], [255, 255]], dtype=torch.uint8)
    keep_b, keep_m = torch.tensor([0, 2]), torch.tensor([0, 1])
    bce = F.binary_cross_entropy_with_logits(logits[keep_b, 0], labels[keep_b, 0].float(),
                                             pos_weight=torch.tensor([3.0]))
    ce = F.cross_entropy(logits[keep_m, 1:], labels[keep_m, 1].long())
    loss, grad = _loss_and_grad(MIXED.loss(np.array([3.0], np.float32)), logits, labels)
    torch.testing.assert_close(loss, (bce + ce) / 2)
    assert (grad[3] == 0).all() and (grad[1, 0] == 0) and (grad[2, 1:] == 0).all()


def test_indicator_one_vs_rest_and_counts_leave_ignored_labels_out():
    labels = np.array([[1, 2], [255, 0], [0, 255], [1, 1]], np.uint8)
    y = MIXED.indicator(labels)
    assert y.tolist() == [[1, 0, 0, 1], [255, 1, 0, 0], [0, 255, 255, 255], [1, 0, 1, 0]]
    probs = MIXED.probabilities(np.zeros((4, 4)))
    y2, p = MIXED.one_vs_rest(labels, probs)
    assert np.array_equal(y2, y) and p is probs
    pos, labelled = MIXED.column_counts(labels)
    assert pos.tolist() == [2, 1, 1, 1] and labelled.tolist() == [3, 3, 3, 3]
    pos, labelled = SS.column_counts(np.array([[2, 0, 255], [1, 255, 255]], np.uint8))
    assert pos.tolist() == [1, 1, 1] and labelled.tolist() == [3, 3, 3]


def test_class_metrics_leave_out_ignored_sequences():
    rng = np.random.default_rng(7)
    labels = np.stack([rng.integers(0, 2, 80), rng.integers(0, 3, 80)], axis=1).astype(np.uint8)
    probs = MIXED.probabilities(rng.normal(size=(80, 4)) + np.eye(4)[1 + labels[:, 1]])
    amb = labels.copy()
    amb[:10, 0] = 255
    amb[70:, 1] = 255
    df = class_metrics(amb, probs, MIXED, n_boot=0)
    assert df["n_ambiguous"].tolist() == [10, 10, 10, 10]
    kept = class_metrics(labels[10:], probs[10:], MIXED, n_boot=0)
    assert df["auroc"][0] == kept["auroc"][0] and df["n_pos"][0] == kept["n_pos"][0]
    kept = class_metrics(labels[:70], probs[:70], MIXED, n_boot=0)
    for j in (1, 2, 3):
        assert df["auroc"][j] == kept["auroc"][j] and df["n_neg"][j] == kept["n_neg"][j]
    acc = accuracy_metrics(amb, probs, MIXED)
    assert acc["n"].tolist() == [70]
    assert acc["accuracy"][0] == accuracy_metrics(labels[:70], probs[:70], MIXED)["accuracy"][0]
