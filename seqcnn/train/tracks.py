"""Training track models (profile, counts, binned) on a genome dataset's cache.

:func:`train_tracks` fits a :class:`~seqcnn.models.profile.ProfileModel` (``target:
profile``: profile + count heads; ``target: counts``: the same model, only the count head
is trained, its profile head has a 1-bp kernel and no loss) or a
:class:`~seqcnn.models.profile.BinnedModel` (``target: binned``) on the one-hot cache and
``{split}.targets.npy`` (:func:`seqcnn.data.cache.load_tracks`), with the trunk of the model
config (``dilated`` or ``hybrid``). It reuses :mod:`seqcnn.train.loop`'s plumbing: the
exact-resume checkpoint (``checkpoints/last.pt``), early stopping state, ``train_log.tsv``,
atomic ``model.pt`` + ``model.json``; :func:`seqcnn.models.load_model` rebuilds the model
(:func:`seqcnn.models.profile.build_track_model`).

Losses (:mod:`seqcnn.train.losses`): profile, :class:`ProfileCountLoss` with BPNet's count
weight (:func:`count_loss_weight` of the training targets, ``scale`` 1 as bpnet-lite);
counts, :func:`log1p_mse`; binned, :func:`poisson_nll`. The optimizer (``train.optimizer``,
``lr``, ``weight_decay``) and the LR schedule (``train.lr_schedule``: ``plateau``,
``constant`` or ``warmup_cosine`` with ``warmup_epochs`` and ``min_lr``) are built by the
loop's own builders (:func:`seqcnn.train.loop._optimizer`, :func:`~seqcnn.train.loop._schedule`)
and the schedule's state is checkpointed. The best epoch, early stopping and the plateau
schedule follow the validation loss whatever ``train.select_on`` says (logged when it names
another metric). ``train_log.tsv`` keeps its columns: ``valid_auroc`` holds the mean
validation Spearman of log(1 + counts) over tracks, ``valid_auprc`` the mean Pearson r.

Augmentation: reverse complement (``rc_augment``, resolved as in the loop: on for
unstranded data) flips the profile targets with :func:`flip_tracks`; jitter is turned off
(a shifted window would need targets read from outside the cropped window), logged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from seqcnn.data.cache import load_split, load_tracks
from seqcnn.errors import ConfigError
from seqcnn.models import count_parameters, model_device
from seqcnn.models.profile import (
    BinnedModel,
    ProfileModel,
    flip_tracks,
    reverse_complement_batch,
)
from seqcnn.train import loop
from seqcnn.train.datasets import read_rows
from seqcnn.train.losses import (
    ProfileCountLoss,
    count_loss_weight,
    log1p_mse,
    poisson_nll,
)
from seqcnn.train.schedule import LRSchedule

_log = logging.getLogger("seqcnn.train.tracks")

#: Model-config keys that belong to the track head, not to the trunk.
HEAD_KEYS = ("profile_kernel", "rate")


# --------------------------------------------------------------------------- model


def track_model(model_config: Mapping[str, Any], target: str, alphabet_size: int,
                n_tracks: int, seq_len: int, output_len: int,
                bin_size: int | None = None) -> ProfileModel | BinnedModel:
    """The track model for ``target`` on the trunk of ``model_config`` (a zoo config,
    ``arch`` ``dilated`` or ``hybrid``; ``profile_kernel`` (default 75) and ``rate`` go to
    the head). ``counts`` gets a :class:`ProfileModel` with a 1-bp profile kernel."""
    trunk = {k: v for k, v in model_config.items() if k not in HEAD_KEYS}
    if target == "binned":
        return BinnedModel(alphabet_size, n_tracks, seq_len, output_len=output_len,
                           bin_size=int(bin_size), trunk=trunk,
                           rate=model_config.get("rate", "softplus"))
    if target not in ("profile", "counts"):
        raise ConfigError(f"unknown track target {target!r} (dataset key target); choose "
                          "counts, profile or binned")
    kernel = 1 if target == "counts" else int(model_config.get("profile_kernel", 75))
    return ProfileModel(alphabet_size, n_tracks, seq_len, output_len=output_len,
                        trunk=trunk, profile_kernel=kernel)


@torch.no_grad()
def init_count_bias(model: ProfileModel, onehot: np.ndarray, targets: np.ndarray,
                    rows: int = 512) -> np.ndarray:
    """Shift the count head's bias so that the untrained model's mean predicted log count
    over the first ``rows`` training sequences equals the mean ``log(1 + total)`` of each
    track ``(T,)`` (targets ``(N, T, L)`` or ``(N, T)``, the means over all rows). → the
    target means. Without it the count head starts near 0 while log totals sit near 3–5,
    and the first epochs of the count loss (weighted by the mean total) go into that
    offset, shared through the trunk, rather than into what tells regions apart."""
    y = np.asarray(targets, dtype=np.float64)
    goal = np.log1p(y.sum(-1) if y.ndim == 3 else y).mean(0)
    was_training = model.training
    model.eval()
    x = torch.from_numpy(read_rows(onehot, np.arange(min(rows, len(onehot))))).float()
    device = model_device(model)
    now = model(x.to(device))[1].double().mean(0).cpu().numpy()
    model.count.linear.bias += torch.as_tensor(goal - now, dtype=model.count.linear.bias.dtype,
                                               device=device)
    model.train(was_training)
    return goal


def log_counts_of(output: Tensor | tuple[Tensor, Tensor]) -> Tensor:
    """Predicted log(1 + total count) ``(N, T)`` of a track model's output: the count head
    of a profile model, ``log1p`` of the summed rates of a binned one."""
    if isinstance(output, tuple):
        return output[1]
    return torch.log1p(output.sum(-1))


# --------------------------------------------------------------------------- losses


class TrackLoss(nn.Module):
    """The training loss of one target kind: ``forward(output, y)`` → scalar.

    ``profile``: :class:`ProfileCountLoss` (``y`` ``(N, T, L)`` counts); ``counts``:
    :func:`log1p_mse` of the count head (``y`` ``(N, T)`` totals); ``binned``:
    :func:`poisson_nll` of the rates (``y`` ``(N, T, B)``)."""

    def __init__(self, target: str, count_weight: float = 1.0) -> None:
        super().__init__()
        self.target = target
        self.mixture = ProfileCountLoss(count_weight) if target == "profile" else None

    def forward(self, output: Tensor | tuple[Tensor, Tensor], y: Tensor) -> Tensor:
        if self.target == "profile":
            return self.mixture(output[0], output[1], y).total
        if self.target == "counts":
            return log1p_mse(output[1], y)
        return poisson_nll(output, y)


def flip_output(output: Tensor | tuple[Tensor, Tensor]) -> Tensor | tuple[Tensor, Tensor]:
    """A track model's output as seen from the other strand (:func:`flip_tracks`)."""
    if isinstance(output, tuple):
        return tuple(flip_tracks(o) for o in output)
    return flip_tracks(output)


# --------------------------------------------------------------------------- batches


def batches(onehot: np.ndarray, targets: np.ndarray, batch_size: int, *,
            order: np.ndarray | None = None, rc: np.ndarray | None = None):
    """``(x uint8 (n, A, L), y float32)`` tensors of rows ``order`` (default: in order), in
    batches; rows where ``rc`` is True are reverse-complemented, their targets flipped."""
    order = np.arange(len(onehot)) if order is None else order
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        sort = np.argsort(idx, kind="stable")  # memmaps read fastest in row order
        rows = np.empty_like(idx)
        rows[sort] = np.arange(len(idx))
        x = torch.from_numpy(read_rows(onehot, idx[sort])[rows])
        y = torch.from_numpy(np.asarray(targets[idx[sort]], dtype=np.float32)[rows])
        if rc is not None and rc[start:start + batch_size].any():
            flip = torch.from_numpy(rc[start:start + batch_size])
            x[flip] = reverse_complement_batch(x[flip])
            y[flip] = flip_tracks(y[flip])
        yield x, y


# --------------------------------------------------------------------------- metrics


def count_correlations(observed: np.ndarray, predicted_log: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Per track Pearson r and Spearman rho of ``log(1 + observed)`` ``(N, T)`` totals vs
    predicted log counts ``(N, T)``: ``(T,)``, ``(T,)``."""
    from seqcnn.evaluate.metrics import regression_scores

    return regression_scores(np.log1p(np.asarray(observed, dtype=np.float64)),
                             np.asarray(predicted_log, dtype=np.float64))


@torch.inference_mode()
def predict_tracks(model: nn.Module, onehot: np.ndarray, batch_size: int = 256,
                   device: torch.device | str = "cpu", rc_average: bool = False
                   ) -> tuple[np.ndarray, np.ndarray]:
    """``(shape, log_counts)`` of a track model over one-hot ``(N, A, L)`` (array or
    memmap), float32: profile logits ``(N, T, L_out)`` (binned: rates ``(N, T, B)``) and
    predicted log(1 + counts) ``(N, T)``. With ``rc_average`` both strands are averaged
    (:class:`~seqcnn.models.profile.ReverseComplementAverage`)."""
    from seqcnn.models.profile import ReverseComplementAverage

    device = torch.device(device)
    model = model.to(device).eval()
    net = ReverseComplementAverage(model) if rc_average else model
    shapes, counts = [], []
    dummy = np.zeros((len(onehot), 0), dtype=np.float32)
    for x, _ in batches(onehot, dummy, batch_size):
        out = net(x.to(device).float())
        counts.append(log_counts_of(out).float().cpu())
        shapes.append((out[0] if isinstance(out, tuple) else out).float().cpu())
    return torch.cat(shapes).numpy(), torch.cat(counts).numpy()


# --------------------------------------------------------------------------- training


@dataclass
class _TrackParts:
    """What :class:`seqcnn.train.loop._Checkpoint` saves: model, optimizer, LR schedule."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: LRSchedule


def _validate(model: nn.Module, x: np.ndarray, y: np.ndarray, criterion: nn.Module,
              batch_size: int, device: torch.device, precision: str
              ) -> tuple[float, np.ndarray, np.ndarray]:
    """Validation loss (mean over rows) and per-track count Pearson r, Spearman rho."""
    model.eval()
    total, seen, preds = 0.0, 0, []
    with torch.inference_mode():
        for xb, yb in batches(x, y, max(batch_size, 256)):
            with loop.autocast(device, precision):
                out = model(xb.to(device))
            out = tuple(o.float() for o in out) if isinstance(out, tuple) else out.float()
            yb = yb.to(device)
            total += float(criterion(out, yb).item()) * len(yb)
            seen += len(yb)
            preds.append(log_counts_of(out).cpu().numpy())
    observed = np.asarray(y, dtype=np.float64)
    observed = observed.sum(-1) if observed.ndim == 3 else observed
    r, rho = count_correlations(observed, np.concatenate(preds))
    return total / seen, r, rho


def _fingerprint(model: nn.Module, cfg: loop.TrainConfig, data: list[np.ndarray]) -> str:
    what = {k: v for k, v in cfg.to_dict().items()
            if k not in ("device", "precision", "num_workers", "gpus")}
    h = hashlib.sha256(json.dumps({"model": model.config, "train": what, "tracks": 2,
                                   "version": loop.CHECKPOINT_VERSION},
                                  sort_keys=True, default=str).encode())
    for x, y in zip(data[::2], data[1::2], strict=True):
        h.update(loop._data_fingerprint(x, y.reshape(len(y), -1)).encode())
    return h.hexdigest()


def train_tracks(model_config: Mapping[str, Any], cache_dir: str | os.PathLike,
                 config: loop.TrainConfig | Mapping[str, Any] | None = None, *,
                 paths: loop.TrainPaths | None = None, tasks: list[str] | None = None,
                 logger: logging.Logger | None = None, resume: bool = True
                 ) -> tuple[nn.Module, dict[str, Any]]:
    """Train a track model on ``cache_dir``'s train split, select on valid; write
    ``paths`` (model.pt, model.json, train_log.tsv, checkpoint). → (best model on the CPU in
    eval mode, ``meta``). The target kind, ``output_len`` and ``bin_size`` come from the
    manifest's ``tracks`` block."""
    cfg = loop.TrainConfig.from_mapping(config)
    named = cfg.select_on  # track models select on the validation loss: recorded as such
    cfg = dataclasses.replace(cfg, select_on="loss")
    log: Any = logger or _log
    paths = paths or loop.TrainPaths()
    t_start = time.perf_counter()
    manifest = json.loads((Path(cache_dir) / "manifest.json").read_text())
    block = manifest.get("tracks")
    if not block:
        raise ConfigError(f"{cache_dir}/manifest.json has no tracks block: the dataset needs "
                          "tracks: (bigWig files) in its config to train a track model")
    target, output_len = block["target"], int(block["output_len"])
    names = list(block["tracks"]) if tasks is None else list(tasks)
    train_x = load_split(cache_dir, "train").onehot
    valid_x = load_split(cache_dir, "valid").onehot
    train_y = load_tracks(cache_dir, "train").targets
    valid_y = load_tracks(cache_dir, "valid").targets
    if cfg.jitter:
        log.warning("train.jitter (%d) is turned off for track targets: a shifted input "
                    "would need targets from outside the cropped window", cfg.jitter)
        cfg = dataclasses.replace(cfg, jitter=0)
    cfg = loop._strand_augmentation(cfg, loop._orientation({"cache": cache_dir}, None),
                                    manifest.get("alphabet", "dna"), log)
    device = loop.resolve_device(cfg.device)
    precision = loop.resolve_precision(cfg.precision, device)

    loop.seed_everything(cfg.seed)
    model = track_model(model_config, target, int(train_x.shape[1]), int(train_y.shape[1]),
                        int(train_x.shape[2]), output_len, block.get("bin_size"))
    weight = count_loss_weight(np.array(train_y)) if target == "profile" else 1.0
    if isinstance(model, ProfileModel):  # a resumed run's checkpoint replaces it
        start = init_count_bias(model, train_x, train_y)
        log.info("count head starts at the mean log(1 + total) of each track: %s",
                 ", ".join(f"{t} {v:.3f}" for t, v in zip(names, start, strict=True)))
    criterion = TrackLoss(target, weight)
    model.to(device)
    optimizer = loop._optimizer(model, cfg)
    scheduler = loop._schedule(optimizer, cfg, steps_per_epoch(len(train_x), cfg.batch_size))
    parts = _TrackParts(model, optimizer, scheduler)
    ckpt = loop._Checkpoint(paths.checkpoint,
                            _fingerprint(model, cfg, [train_x, train_y, valid_x, valid_y]),
                            True)
    state = (ckpt.restore(parts, log) if resume else None) or loop._Progress()
    rf, n_params = int(model.receptive_field), int(count_parameters(model))
    log.info("training a %s track model on a %s trunk (%d parameters, receptive field %d) "
             "on %d sequences x %d bp, %d track(s), output %s; valid %d; count-loss weight "
             "%.4g; device %s, precision %s", target, model.config["trunk"]["arch"],
             n_params, rf, len(train_x), train_x.shape[2], train_y.shape[1],
             tuple(train_y.shape[2:]) or "totals", len(valid_x), weight, device, precision)
    log.info("optimizer %s (lr %g, weight decay %g), LR schedule %s; the best epoch, early "
             "stopping and the schedule follow the validation loss%s", cfg.optimizer, cfg.lr,
             cfg.weight_decay, cfg.lr_schedule, "" if named in ("loss", "auto") else
             f" (train.select_on: {named} is a binary-task metric, not used for "
             "track models)")
    while not state.es.stopped and state.epoch < cfg.epochs:
        epoch = state.epoch + 1
        row = _epoch(epoch, state, parts, criterion, (train_x, train_y, valid_x, valid_y),
                     cfg, device, precision)
        state.history.append(row)
        state.epoch = epoch
        if paths.log is not None:
            loop.write_log(state.history, paths.log)
        ckpt.save(parts, state)
        log.info("epoch %d/%d  train loss %.4f  valid loss %.4f  count Pearson r %.4f  "
                 "Spearman %.4f  lr %.2g  %.1fs%s", epoch, cfg.epochs, row["train_loss"],
                 row["valid_loss"], row["valid_auprc"], row["valid_auroc"], row["lr"],
                 row["seconds"], "  *" if state.es.best_epoch == epoch else "")
        if state.es.stopped:
            log.info("early stopping: no lower validation loss for %d epochs", cfg.patience)
    if paths.log is not None:
        loop.write_log(state.history, paths.log)
    model.load_state_dict(state.best_state)
    model = model.cpu().eval()
    es = state.es
    meta = {
        "tasks": names, "alphabet": manifest.get("alphabet", "dna"),
        "alphabet_size": int(train_x.shape[1]), "seq_len": int(train_x.shape[2]),
        "arch": model.config["trunk"]["arch"], "target": target, "output_len": output_len,
        "bin_size": block.get("bin_size"), "parameters": n_params, "receptive_field": rf,
        "count_loss_weight": weight, "best_epoch": int(es.best_epoch),
        "epochs_run": int(state.epoch), "stopped_early": bool(es.stopped),
        "best_valid_loss": float(-es.best_score),
        "best_valid_auprc": float(np.mean(es.best_auprc_per_task)),
        "best_valid_auroc": float(es.best_auroc),
        "valid_auprc_per_task": dict(zip(names, map(float, es.best_auprc_per_task),
                                         strict=True)),
        "valid_auroc_per_task": dict(zip(names, map(float, es.best_auroc_per_task),
                                         strict=True)),
        "selection": "validation loss; valid_auprc: count Pearson r, valid_auroc: Spearman",
        "rc_augment": bool(cfg.rc_augment), "n_train": int(len(train_x)),
        "n_valid": int(len(valid_x)), "train": cfg.to_dict(), "device": str(device),
        "precision": precision, "processes": 1,
    }
    loop._write_model(model, meta, paths)
    log.info("best epoch %d: valid loss %.4f, count Pearson r %s; %.1fs", es.best_epoch,
             meta["best_valid_loss"], ", ".join(f"{t} {v:.3f}" for t, v in
                                                 meta["valid_auprc_per_task"].items()),
             time.perf_counter() - t_start)
    return model, meta


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    """Optimizer steps per epoch over ``n_train`` sequences: whole batches only (as the
    loop's ``drop_last``), one smaller batch when there are no more than ``batch_size``."""
    return max(1, n_train // batch_size)


def epoch_batches(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, epoch: int,
                  rc_augment: bool) -> Iterator[tuple[Tensor, Tensor]]:
    """One training epoch's batches: whole batches of rows in an order, and (with
    ``rc_augment``) strands, drawn from ``(seed, epoch)``; see :func:`batches`."""
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(x))
    order = order[:steps_per_epoch(len(order), batch_size) * batch_size]
    rc = rng.random(len(order)) < 0.5 if rc_augment else None
    return batches(x, y, batch_size, order=order, rc=rc)


def _epoch(epoch: int, state: loop._Progress, parts: _TrackParts, criterion: nn.Module,
           data: tuple[np.ndarray, ...], cfg: loop.TrainConfig, device: torch.device,
           precision: str) -> dict[str, float]:
    """One epoch: shuffled batches (order and strands seeded by ``(seed, epoch)``),
    optimizer steps (each followed by the schedule's per-step update), validation, the
    schedule's per-epoch update and early stopping on the validation loss."""
    train_x, train_y, valid_x, valid_y = data
    model, optimizer = parts.model, parts.optimizer
    t0 = time.perf_counter()
    lr = float(optimizer.param_groups[0]["lr"])
    model.train()
    total, seen = 0.0, 0
    for b, (x, y) in enumerate(epoch_batches(train_x, train_y, cfg.batch_size, cfg.seed,
                                             epoch, cfg.rc_augment), start=1):
        x, y = x.to(device), y.to(device)
        with loop.autocast(device, precision):
            out = model(x)
        out = tuple(o.float() for o in out) if isinstance(out, tuple) else out.float()
        loss = criterion(out, y)
        if not torch.isfinite(loss):
            raise loop.NonFiniteLossError(
                f"training diverged: the loss is {loss.item()} at epoch {epoch}, batch {b}; "
                "lower train.lr or check the bigWig for huge values", epoch, b)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        parts.scheduler.after_step()
        total += float(loss.item()) * len(y)
        seen += len(y)
    valid_loss, r, rho = _validate(model, valid_x, valid_y, criterion, cfg.batch_size,
                                   device, precision)
    if not math.isfinite(valid_loss):
        raise loop.NonFiniteLossError(f"training diverged: the validation loss is "
                                      f"{valid_loss} after epoch {epoch}; lower train.lr",
                                      epoch, None)
    parts.scheduler.after_epoch(-valid_loss)
    if state.es.record(epoch, loop._nanmean(rho), -valid_loss, rho, r, cfg.patience):
        state.best_state = loop._cpu_state(model)
    return {"epoch": epoch, "train_loss": total / seen, "valid_loss": valid_loss,
            "valid_auroc": loop._nanmean(rho), "valid_auprc": loop._nanmean(r), "lr": lr,
            "seconds": time.perf_counter() - t0}


__all__ = [
    "HEAD_KEYS",
    "TrackLoss",
    "batches",
    "count_correlations",
    "flip_output",
    "init_count_bias",
    "log_counts_of",
    "predict_tracks",
    "steps_per_epoch",
    "track_model",
    "train_tracks",
]
