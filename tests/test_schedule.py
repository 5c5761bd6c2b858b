"""LR schedules, selection metric and optimizer of the training loop (seqcnn.train.schedule)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from seqcnn.alphabet import one_hot_codes
from seqcnn.train.loop import TrainConfig, selection_score, train
from seqcnn.train.schedule import LRSchedule, warmup_cosine_factor

TINY = {"arch": "dilated", "filters": 4, "first_kernel": 5, "layers": 1, "kernel": 3}


def planted(n: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random DNA; positives (about 40 %) carry TGACTCAG at a random position."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(n, length))
    labels = (rng.random((n, 1)) < 0.4).astype(np.uint8)
    for i in np.flatnonzero(labels[:, 0]):
        at = rng.integers(0, length - 8)
        codes[i, at:at + 8] = [3, 2, 0, 1, 3, 1, 0, 2]
    return one_hot_codes(codes, 4), labels


@pytest.fixture(scope="module")
def data():
    x, y = planted(160, 40, seed=5)
    return (x[:128], y[:128]), (x[128:], y[128:])


def lrs(schedule: LRSchedule, opt: torch.optim.Optimizer, steps: int) -> list[float]:
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        schedule.after_step()
    return out


def optimizer(lr: float = 1.0) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def test_warmup_cosine_factor_on_known_steps():
    # warm-up 2 steps, 11 in all, floor 0.1: 1/2, 1, then cosine over steps 2..10
    f = [warmup_cosine_factor(s, 2, 11, 0.1) for s in range(12)]
    assert f[0] == 0.5 and f[1] == 1.0 and f[2] == 1.0
    assert f[6] == pytest.approx(0.1 + 0.9 * 0.5)  # half way through the decay
    assert f[10] == pytest.approx(0.1) and f[11] == pytest.approx(0.1)
    assert all(a >= b for a, b in zip(f[2:], f[3:], strict=False))


def test_schedules_set_the_learning_rate_per_step_and_epoch():
    opt = optimizer(0.1)
    s = LRSchedule("warmup_cosine", opt, steps_per_epoch=4, epochs=3, warmup_epochs=0.5,
                   min_lr=0.01)
    got = lrs(s, opt, 12)
    assert got[:3] == pytest.approx([0.05, 0.1, 0.1])
    assert got[-1] == pytest.approx(0.01)
    opt = optimizer(0.1)
    s = LRSchedule("constant", opt, steps_per_epoch=4, epochs=3)
    assert lrs(s, opt, 5) == [0.1] * 5
    s.after_epoch(0.0)
    assert opt.param_groups[0]["lr"] == 0.1
    opt = optimizer(0.1)
    s = LRSchedule("plateau", opt, steps_per_epoch=4, epochs=3, lr_patience=1, lr_factor=0.5)
    for score in (0.5, 0.4, 0.3):  # no better score for 2 epochs: halved once
        s.after_epoch(score)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)
    with pytest.raises(ValueError, match="lr_schedule"):
        LRSchedule("cosine", opt, steps_per_epoch=1, epochs=1)


def test_defaults_keep_todays_training():
    cfg = TrainConfig()
    assert (cfg.lr_schedule, cfg.select_on, cfg.optimizer) == ("plateau", "auto", "adam")
    for key, bad in (("lr_schedule", "step"), ("select_on", "f1"), ("optimizer", "sgd"),
                     ("warmup_epochs", -1)):
        with pytest.raises(ValueError, match=f"train.{key}"):
            TrainConfig.from_mapping({key: bad})


def test_selection_score_names_the_metric():
    assert selection_score("auprc", 0.7, 0.8, 0.9) == 0.9
    assert selection_score("auroc", 0.7, 0.8, 0.9) == 0.8
    assert selection_score("loss", 0.7, 0.8, 0.9) == -0.7


@pytest.mark.parametrize("select_on", ["loss", "auroc", "auto"])
def test_best_epoch_follows_select_on(data, select_on, caplog):
    """auto (the default) is auROC for binary tasks, the metric the report and the
    portfolio rank by, and says so; the model records what was used."""
    cfg = {"epochs": 4, "batch_size": 16, "patience": 0, "seed": 1, "select_on": select_on}
    with caplog.at_level("INFO", logger="seqcnn.train.loop"):
        res = train(TINY, *data, cfg, progress=False)
    column = [r["valid_loss"] if select_on == "loss" else -r["valid_auroc"]
              for r in res.history]
    assert res.best_epoch == 1 + int(np.argmin(column))
    assert res.meta["train"]["select_on"] == ("loss" if select_on == "loss" else "auroc")
    assert ("on validation auROC (train.select_on: auto" in caplog.text) == (select_on == "auto")
    assert res.meta["best_valid_auprc"] == res.history[res.best_epoch - 1]["valid_auprc"]


def test_adamw_decouples_weight_decay(data):
    cfg = {"epochs": 1, "batch_size": 16, "patience": 0, "seed": 1, "weight_decay": 0.1}
    a = train(TINY, *data, cfg, progress=False).model.state_dict()
    w = train(TINY, *data, {**cfg, "optimizer": "adamw"}, progress=False).model.state_dict()
    assert any(not torch.equal(a[k], w[k]) for k in a)


class Killed(Exception):
    pass


def test_resume_mid_warmup_cosine_gives_identical_weights(data, tmp_path):
    cfg = {"epochs": 4, "batch_size": 16, "patience": 0, "seed": 2,
           "lr_schedule": "warmup_cosine", "warmup_epochs": 1.5, "min_lr": 1e-4}
    full = train(TINY, *data, cfg, out_dir=tmp_path / "full", progress=False)

    def kill(epoch, batch):
        if epoch == 3 and batch == 3:
            raise Killed

    with pytest.raises(Killed):
        train(TINY, *data, cfg, out_dir=tmp_path / "cut", progress=False, on_batch_end=kill)
    again = train(TINY, *data, cfg, out_dir=tmp_path / "cut", progress=False)
    assert again.resumed_from == 2
    a = torch.load(tmp_path / "full/checkpoints/last.pt", weights_only=True)
    b = torch.load(tmp_path / "cut/checkpoints/last.pt", weights_only=True)
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    assert a["scheduler"] == b["scheduler"]
    assert [r["lr"] for r in full.history] == [r["lr"] for r in again.history]
    # the LR of each epoch's first step: warm-up over 12 steps, then the cosine
    lr0 = [r["lr"] for r in full.history]
    assert lr0[0] == pytest.approx(1e-3 / 12) and lr0[1] == pytest.approx(1e-3 * 9 / 12)
    assert lr0[2] < 1e-3 and lr0[3] < lr0[2] and not math.isnan(lr0[3])
