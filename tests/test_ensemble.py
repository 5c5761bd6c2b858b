"""Ensembles: the mean of members' logits, exactly, through a checkpoint and load_model."""

import numpy as np
import pytest
import torch

from seqcnn.models import Ensemble, build_model, checkpoint, load_ensemble, load_model
from seqcnn.models.ensemble import (
    ensemble_checkpoint,
    mean_logits,
    member_model_config,
    member_train_config,
)
from seqcnn.train.loop import predict

CONFIG = {"arch": "dilated", "filters": 8, "first_kernel": 5, "layers": 2}


def _members(k: int, seq_len: int = 40) -> list:
    out = []
    for i in range(k):
        torch.manual_seed(i)
        out.append(build_model(CONFIG, alphabet_size=4, n_tasks=2, seq_len=seq_len).eval())
    return out


def _onehot(n: int, seq_len: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.eye(4, dtype=np.uint8)[rng.integers(0, 4, (n, seq_len))].transpose(0, 2, 1).copy()


def test_two_members_average_exactly():
    a, b = _members(2)
    x = torch.from_numpy(_onehot(6, 40)).float()
    with torch.no_grad():
        got = Ensemble([a, b]).eval()(x)
        hand = (a(x) + b(x)) / 2
    assert torch.equal(got, hand)
    assert not torch.equal(a(x), b(x))  # the members differ: the mean is not one of them


def test_three_members_and_mean_logits():
    members = _members(3)
    x = torch.from_numpy(_onehot(4, 40, seed=1)).float()
    with torch.no_grad():
        outs = [m(x) for m in members]
        got = Ensemble(members).eval()(x)
    assert torch.equal(got, mean_logits(outs))
    torch.testing.assert_close(got, torch.stack(outs).mean(0), rtol=0, atol=1e-6)


def test_checkpoint_round_trip_through_load_model(tmp_path):
    a, b = _members(2)
    paths = []
    for i, m in enumerate((a, b)):
        ckpt = checkpoint(m) | {"meta": {"padding": "zeros+mask", "member": i}}
        paths.append(tmp_path / f"m{i}.pt")
        torch.save(ckpt, paths[-1])
    ens = ensemble_checkpoint([torch.load(p, weights_only=True) for p in paths])
    assert ens["meta"] == {"padding": "zeros+mask", "member": 0}
    torch.save(ens, tmp_path / "ensemble.pt")
    loaded = load_model(tmp_path / "ensemble.pt")  # the one loader downstream steps use
    assert isinstance(loaded, Ensemble) and len(loaded.members) == 2
    x = _onehot(5, 40, seed=2)
    got = predict(loaded, x, device="cpu")
    xa = torch.from_numpy(x).float()
    with torch.no_grad():
        hand = torch.sigmoid((a(xa) + b(xa)) / 2).numpy()
    np.testing.assert_allclose(got, hand, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(predict(load_ensemble(paths), x, device="cpu"), got)


def test_interpretation_hooks_are_the_first_members():
    a, b = _members(2)
    ens = Ensemble([a, b])
    assert ens.filter_member() is a
    assert ens.receptive_field == a.receptive_field
    assert ens.config["arch"] == "ensemble" and len(ens.config["members"]) == 2


def test_member_configs():
    assert member_model_config({**CONFIG, "ensemble": {"members": 3}}) == CONFIG
    assert member_train_config({"seed": 5, "lr": 0.1}, 2) == {"seed": 7, "lr": 0.1}
    with pytest.raises(ValueError, match="one of seed, fold"):
        member_train_config({"seed": 0}, 1, vary="chrom")
