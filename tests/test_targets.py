"""seqcnn.data.targets: Targets (binary, multiclass, per-position), their layout, labels,
probabilities and losses, with ambiguous (255) labels. (Their metrics: test_metrics; training
and prediction with them: test_training.)"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import MIXED, SS
from seqcnn.data.targets import Targets

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


def test_from_manifest_reads_the_one_schema_targets_key():
    """A schema-2 manifest's ``targets`` decides, without the schema-1 keys (a manifest
    without ``task_kinds`` used to be read as all binary) and over stale ones."""
    want = Targets(("act", "loc"), {"act": "binary", "loc": "multiclass"},
                   {"loc": ("cyto", "mito", "nuc")}, ignore_index=200)
    manifest = {"schema": 2, "kind": "seqset", "tasks": ["act", "loc"],
                "targets": json.loads(json.dumps(want.to_dict()))}
    got = Targets.from_manifest(manifest)
    assert got == want and got.ignore_index == 200
    assert got.output_names == ["act", "loc:cyto", "loc:mito", "loc:nuc"]
    stale = {**manifest, "task_kinds": {"act": "binary", "loc": "binary"}}
    assert Targets.from_manifest(stale).n_outputs == 4
    genome = {"schema": 2, "kind": "genome", "tasks": ["CTCF"],
              "targets": Targets.binary(["CTCF"]).to_dict()}
    assert Targets.from_manifest(genome) == Targets.binary(["CTCF"])
    assert Targets.from_manifest({"targets": SS.to_dict()}) == SS  # tasks optional
    with pytest.raises(ValueError, match=r"targets name tasks \['act', 'loc'\] but its "
                                         r"tasks are \['act'\]"):
        Targets.from_manifest({**manifest, "tasks": ["act"]})
    with pytest.raises(ValueError, match="neither 'targets' nor 'tasks'"):
        Targets.from_manifest({"kind": "genome"})


def test_bad_targets_and_labels_raise_naming_the_task():
    with pytest.raises(ValueError, match="only task"):
        Targets(("ss", "b"), {"ss": "per_position", "b": "binary"}, {"ss": ("H", "E")})
    with pytest.raises(ValueError, match="'x'.*kind"):
        Targets(("x",), {"x": "ordinal"}, {})
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
