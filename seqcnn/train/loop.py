"""Training: a plain PyTorch loop with exact resume, early stopping and bf16 on GPUs.

:func:`train` fits a model from the zoo (:func:`seqcnn.models.build_model`) on one-hot cache
splits (arrays, memmaps or ``.npy`` paths) and writes, under ``out_dir`` (or the paths in
:class:`TrainPaths`):

- ``model.pt``: the best epoch's weights, ``{"config", "state_dict", "meta"}``, loadable with
  ``torch.load(weights_only=True)`` and :func:`seqcnn.models.from_checkpoint`; ``meta``
  holds plain types: tasks, alphabet, receptive field, parameter count, best epoch and its
  validation metrics, the training config;
- ``model.json``: the same summary for people and reports;
- ``train_log.tsv``: one row per epoch (``LOG_COLUMNS``), rewritten after every epoch;
- ``checkpoints/last.pt``: everything needed to continue after the last finished epoch
  (model, best weights so far, optimizer, LR scheduler, early-stopping state, torch/numpy/
  python RNG states, history), written atomically every epoch. Calling :func:`train` again
  with the same model config, training config and data resumes from it, and ends with the
  same weights as an uninterrupted run. A checkpoint from another config or other data is
  ignored (with a warning) and training starts over.

What the loop does, per epoch: shuffled batches (order seeded by ``(seed, epoch)``,
augmentation by ``(seed, epoch, row)``, see :mod:`seqcnn.train.datasets`) → Adam step on
``BCEWithLogitsLoss`` with per-task ``pos_weight`` (``n_neg / n_pos`` of the training labels
when ``pos_weight: balanced``; a label of 255, ambiguous, is masked out of the loss, the
weights and the validation metrics) → validation loss, auROC and auPR (scikit-learn; mean over
tasks with both classes) → the LR schedule (:mod:`seqcnn.train.schedule`; default
``ReduceLROnPlateau`` on the selection metric) → early stopping when the selection metric
(``select_on``: by default validation auROC, what the report and the portfolio rank by, or
Pearson r for regression; or auPR, or loss) has not improved for
``patience`` epochs; the best epoch's weights are kept.
A non-finite loss stops training with :class:`NonFiniteLossError` naming epoch and batch.

Beyond binary tasks, ``targets`` (:class:`seqcnn.data.targets.Targets`) sets what is predicted:
multiclass tasks (softmax over K columns, cross-entropy) and per-position labels (a
``per_position`` dilated model, cross-entropy over the real positions). Sequence sets come
with ``lengths``: batches then group similar lengths, the padding mode
(:func:`seqcnn.train.batches.pad_batch`: ``zeros``, ``zeros+mask``, ``uniform``) is applied on
the device, the model gets the mask, and a batch is cropped to its longest sequence when
the mask is used and the model accepts any length. Validation auROC/auPR are then the means
over the one-vs-rest output columns (every class of every task) that have both classes.
Regression targets (float labels, NaN = none; MSE or Poisson loss) select on the mean
validation Pearson r over tasks: ``train_log.tsv``'s ``valid_auprc`` column (and
``best_valid_auprc``) then holds Pearson r and ``valid_auroc`` Spearman rho.

``device: auto`` picks CUDA, then MPS, then the CPU; ``precision: auto`` is bf16 autocast on
CUDA and fp32 elsewhere. On CUDA batches come from pinned memory and DataLoader workers; on
the CPU from the main process, so a seed fixes every random choice and two runs give
identical weights.

Why not Lightning's Trainer: exact resume needs per-epoch seeded sampling and augmentation
plus saving and restoring the torch/numpy/python RNG states, which Lightning does not do;
with those in place, what is left (checkpoint, early stopping, plateau LR, autocast, a
progress bar, a TSV log) is about as long as the Lightning callbacks that would configure
it, and one dependency lighter. ``benchmarks/train.py`` shows the input pipeline is not the
bottleneck of this loop.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import json
import logging
import math
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from seqcnn.data.cache import IGNORE, Split, cache_orientation, load_split
from seqcnn.data.folds import load_fold
from seqcnn.data.targets import Targets
from seqcnn.models import (
    SequenceModel,
    build_model,
    checkpoint,
    count_parameters,
    pwm_entropy,
)
from seqcnn.models.strands import strand_choice
from seqcnn.models.zoo import SHA256_KEY, file_sha256
from seqcnn.train import distributed
from seqcnn.train.batches import PADDING_MODES, pad_batch
from seqcnn.train.datasets import (
    PADDING_MOVES,
    CacheDataset,
    augmentation_for,
    make_loader,
    read_rows,
)
from seqcnn.train.schedule import SCHEDULES, LRSchedule

#: Columns of ``train_log.tsv``, in order.
LOG_COLUMNS = ("epoch", "train_loss", "valid_loss", "valid_auroc", "valid_auprc", "lr", "seconds")

#: Version of the ``checkpoints/last.pt`` layout.
CHECKPOINT_VERSION = 1

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16")
POS_WEIGHTS = ("balanced", "none")
OPTIMIZERS = ("adam", "adamw")
SELECT_ON = ("auto", "auprc", "auroc", "loss")

_log = logging.getLogger("seqcnn.train.loop")


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class TrainConfig:
    """Training settings (the ``train:`` section of the workflow config).

    - ``epochs``: maximum number of epochs;
    - ``batch_size``: sequences per step;
    - ``lr``, ``weight_decay``: the optimizer's learning rate and weight decay;
    - ``optimizer``: ``adam`` (default; ``weight_decay`` is an L2 term in the gradient) or
      ``adamw`` (decoupled weight decay, Loshchilov & Hutter);
    - ``pwm_entropy``: weight of the mean column entropy (nats) of PWM-constrained filters
      added to the training loss (:func:`seqcnn.models.layers.pwm_entropy`): without it
      the softmax PPMs can stay near-uniform while deeper layers amplify them;
    - ``select_on``: the validation metric that picks the best epoch, drives early stopping
      and the plateau schedule: ``auto`` (default: ``auroc``, the report's and the
      portfolio's metric; ``auprc`` for regression), ``auprc``, ``auroc`` or ``loss``
      (regression: ``auprc`` is Pearson r, ``auroc`` Spearman rho);
    - ``patience``: stop after this many epochs without a better ``select_on`` (0: never);
    - ``lr_schedule``: ``plateau`` (default), ``constant`` or ``warmup_cosine``
      (:mod:`seqcnn.train.schedule`);
    - ``lr_patience``, ``lr_factor``, ``min_lr``: ``plateau`` multiplies the learning rate by
      ``lr_factor`` after ``lr_patience`` epochs without a better ``select_on``, down to
      ``min_lr``; ``min_lr`` is also where ``warmup_cosine`` ends;
    - ``warmup_epochs``: ``warmup_cosine``'s linear warm-up, in epochs (fractions allowed);
    - ``seed``: model initialisation, batch order, augmentation, dropout;
    - ``device``: ``auto`` (CUDA, then MPS, then CPU), ``cpu``, ``cuda``, ``cuda:N``, ``mps``;
    - ``precision``: ``auto`` (bf16 on CUDA, fp32 elsewhere), ``fp32`` or ``bf16`` (autocast);
    - ``rc_augment``: random reverse complement of training sequences (DNA/RNA only):
      ``auto`` (default) follows the data, on for unstranded and off for oriented data
      (:func:`seqcnn.models.strands.strand_choice`), ``True``/``False`` force it;
    - ``jitter``: random shifts of up to this many positions (zero-filled, see
      :mod:`seqcnn.train.datasets`);
    - ``num_workers``: DataLoader worker processes; ``auto`` is 0 on CPU/MPS and up to 4 on
      CUDA;
    - ``pos_weight``: ``balanced`` (per-task ``n_neg / n_pos``) or ``none``;
    - ``gpus``: processes for data-parallel training (0 or 1: one process). With ``N > 1``
      the script must be started by ``torchrun --nproc_per_node N`` (see
      :mod:`seqcnn.train.distributed`); ``batch_size`` is the global batch and must be divisible
      by ``N``.
    """

    epochs: int = 50
    batch_size: int = 128
    lr: float = 0.001
    weight_decay: float = 0.0
    optimizer: str = "adam"
    pwm_entropy: float = 0.0
    select_on: str = "auto"
    patience: int = 5
    lr_schedule: str = "plateau"
    lr_patience: int = 2
    lr_factor: float = 0.5
    min_lr: float = 1e-6
    warmup_epochs: float = 1.0
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    rc_augment: bool | str = "auto"
    jitter: int = 0
    num_workers: int | str = "auto"
    pos_weight: str = "balanced"
    gpus: int = 0

    def __post_init__(self) -> None:
        def integer(name: str, minimum: int) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
                raise ValueError(f"train.{name} must be an integer >= {minimum}, got {v!r}")

        def number(name: str, low: float, high: float = math.inf, open_low: bool = False
                   ) -> None:
            v = getattr(self, name)
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            if not ok or not ((v > low if open_low else v >= low) and v <= high):
                raise ValueError(f"train.{name} must be a number in range, got {v!r}")

        integer("epochs", 1)
        integer("batch_size", 1)
        integer("patience", 0)
        integer("lr_patience", 0)
        integer("jitter", 0)
        integer("gpus", 0)
        if self.gpus > 1 and self.batch_size % self.gpus:
            raise ValueError(f"train.batch_size ({self.batch_size}) must be divisible by "
                             f"train.gpus ({self.gpus})")
        number("lr", 0.0, open_low=True)
        number("weight_decay", 0.0)
        number("pwm_entropy", 0.0)
        number("lr_factor", 0.0, 1.0, open_low=True)
        number("min_lr", 0.0)
        number("warmup_epochs", 0.0)
        for name, choices in (("optimizer", OPTIMIZERS), ("select_on", SELECT_ON),
                              ("lr_schedule", SCHEDULES)):
            if getattr(self, name) not in choices:
                raise ValueError(f"train.{name} must be one of {', '.join(choices)}, got "
                                 f"{getattr(self, name)!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"train.seed must be an integer, got {self.seed!r}")
        if not isinstance(self.rc_augment, bool) and self.rc_augment != "auto":
            raise ValueError(f"train.rc_augment must be auto, true or false, got "
                             f"{self.rc_augment!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"train.precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}"
            )
        if self.pos_weight not in POS_WEIGHTS:
            raise ValueError(
                f"train.pos_weight must be one of {', '.join(POS_WEIGHTS)}, "
                f"got {self.pos_weight!r}"
            )
        nw = self.num_workers
        if nw != "auto" and (isinstance(nw, bool) or not isinstance(nw, int) or nw < 0):
            raise ValueError(f"train.num_workers must be 'auto' or an integer >= 0, got {nw!r}")
        if not isinstance(self.device, str) or self.device.split(":")[0] not in DEVICES:
            raise ValueError(
                f"train.device must be one of {', '.join(DEVICES)} (or cuda:N), "
                f"got {self.device!r}"
            )

    @classmethod
    def from_mapping(cls, cfg: TrainConfig | Mapping[str, Any] | None = None,
                     **overrides: Any) -> TrainConfig:
        """From a config mapping (missing keys take the defaults; unknown keys raise)."""
        if isinstance(cfg, TrainConfig):
            values = cfg.to_dict()
        else:
            values = dict(cfg or {})
        values.update(overrides)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"unknown train option(s) {', '.join(map(repr, unknown))}; "
                f"valid options: {', '.join(sorted(known))}"
            )
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TrainPaths:
    """Where :func:`train` writes. Any path may be ``None`` (not written)."""

    model: Path | None = None
    summary: Path | None = None
    log: Path | None = None
    checkpoint: Path | None = None

    @classmethod
    def in_dir(cls, out_dir: str | os.PathLike) -> TrainPaths:
        """The standard layout: ``model.pt``, ``model.json``, ``train_log.tsv``,
        ``checkpoints/last.pt`` under ``out_dir``."""
        d = Path(out_dir)
        return cls(d / "model.pt", d / "model.json", d / "train_log.tsv",
                   d / "checkpoints" / "last.pt")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if v is not None and not isinstance(v, Path):
                object.__setattr__(self, f.name, Path(v))


@dataclass
class TrainResult:
    """What :func:`train` returns. ``model`` holds the best weights, on the CPU, in eval mode.

    ``valid_auroc_per_task`` / ``valid_auprc_per_task`` hold one value per output column
    (``meta["output_names"]``: the tasks themselves when all are binary).
    """

    model: SequenceModel
    history: list[dict[str, float]]
    best_epoch: int
    best_valid_auprc: float
    best_valid_auroc: float
    valid_auroc_per_task: list[float]
    valid_auprc_per_task: list[float]
    stopped_early: bool
    resumed_from: int | None
    receptive_field: int
    parameters: int
    device: str
    precision: str
    meta: dict[str, Any] = field(default_factory=dict)


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; ``epoch`` and ``batch`` (1-based) say where."""

    def __init__(self, message: str, epoch: int, batch: int | None) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.batch = batch


# --------------------------------------------------------------------------- devices


class _RankLogger(logging.LoggerAdapter):
    """Warnings and errors only, prefixed with the rank (processes other than rank 0)."""

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 (logging's name)
        return level >= logging.WARNING and self.logger.isEnabledFor(level)

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"[rank {self.extra['rank']}] {msg}", kwargs


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` → CUDA if available, else MPS if available, else CPU; others are checked."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"train.device is {device!r} but CUDA is not available here; "
                           "use device: auto or cpu")
    if dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise RuntimeError(f"train.device is {device!r} but MPS is not available here; "
                               "use device: auto or cpu")
    return dev


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """``auto`` → ``bf16`` on CUDA, ``fp32`` elsewhere; ``fp32``/``bf16`` are kept."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "auto":
        return "bf16" if torch.device(device).type == "cuda" else "fp32"
    return precision


def resolve_num_workers(num_workers: int | str, device: torch.device | str,
                        threads: int | None = None) -> int:
    """``auto`` → 0 on CPU/MPS (the main process reads the memmap; deterministic), and on
    CUDA ``min(4, threads - 1)`` (at least 1), ``threads`` defaulting to the usable CPUs."""
    if num_workers != "auto":
        return int(num_workers)
    if torch.device(device).type != "cuda":
        return 0
    if threads is None:
        try:
            threads = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            threads = os.cpu_count() or 1
    return max(1, min(4, threads - 1))


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast context for ``precision == "bf16"``, else a no-op."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def seed_everything(seed: int) -> None:
    """Seed python's ``random``, numpy's global generator and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# --------------------------------------------------------------------------- data helpers


def class_weights(labels: np.ndarray, chunk: int = 1 << 20) -> np.ndarray:
    """Per-task ``pos_weight = n_neg / n_pos`` of binary labels ``(N, T)`` → ``float32 (T,)``.

    Read in chunks of rows (fine on memmaps). Ambiguous labels (255: no label for that task)
    count as neither. A task without positives or without negatives gets weight 1.
    """
    labels = np.asarray(labels)  # a view: a memmap stays on disk
    if labels.ndim != 2:
        raise ValueError(f"labels must be (N, tasks), got shape {labels.shape}")
    pos = np.zeros(labels.shape[1], dtype=np.int64)
    neg = np.zeros(labels.shape[1], dtype=np.int64)
    for start in range(0, labels.shape[0], chunk):
        block = np.asarray(labels[start:start + chunk])
        labelled = block != IGNORE
        pos += (labelled & (block > 0)).sum(axis=0)
        neg += (labelled & (block <= 0)).sum(axis=0)
    out = np.ones(labels.shape[1], dtype=np.float64)
    ok = (pos > 0) & (neg > 0)
    out[ok] = neg[ok] / pos[ok]
    return out.astype(np.float32)


def task_metrics(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-task auROC and auPR (average precision) with scikit-learn: ``(T,)``, ``(T,)``.

    Rows with an ambiguous label (255: no label for that task) are left out of that task. A
    task whose labelled rows hold one class only gets ``nan``.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    labels = np.asarray(labels)
    scores = np.asarray(scores, dtype=np.float64)
    auroc = np.full(labels.shape[1], np.nan)
    auprc = np.full(labels.shape[1], np.nan)
    for t in range(labels.shape[1]):
        keep = labels[:, t] != IGNORE
        y = labels[keep, t] > 0
        if y.all() or not y.any():
            continue
        auroc[t] = roc_auc_score(y, scores[keep, t])
        auprc[t] = average_precision_score(y, scores[keep, t])
    return auroc, auprc


def _nanmean(values: np.ndarray) -> float:
    values = np.asarray(values, dtype=np.float64)
    return float(np.mean(values[~np.isnan(values)])) if (~np.isnan(values)).any() else math.nan


def _load(a: Any) -> np.ndarray:
    if isinstance(a, (str, os.PathLike)):
        return np.load(a, mmap_mode="r")
    return a if isinstance(a, np.ndarray) else np.asarray(a)


def _as_split(data: Any, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(onehot, labels, lengths or None)`` from a cache split (a
    :class:`~seqcnn.data.cache.Split`, or ``{"cache": dir, "split": name}`` read with
    :func:`~seqcnn.data.cache.load_split`, or with ``"fold": {"k", "held_out"}`` a fold
    ensemble member's rows, :func:`~seqcnn.data.folds.load_fold`), ``(onehot, labels[,
    lengths])`` arrays or ``.npy`` paths (memory-mapped), or a
    :class:`~seqcnn.train.datasets.CacheDataset`."""
    if isinstance(data, Mapping) and set(data) == {"cache", "split"}:
        data = load_split(data["cache"], data["split"])
    if isinstance(data, Mapping) and set(data) == {"cache", "split", "fold"}:
        data = load_fold(data["cache"], int(data["fold"]["k"]), int(data["fold"]["held_out"]),
                         data["split"])
    if isinstance(data, Split):
        return _as_split((data.onehot, data.labels, data.lengths), name)
    if isinstance(data, CacheDataset):
        return data.onehot, data.labels, data.lengths
    if not isinstance(data, Sequence) or len(data) not in (2, 3):
        raise ValueError(f"{name} must be a cache split ({{'cache': dir, 'split': name}} or "
                         "load_split's Split), (onehot, labels) or (onehot, labels, lengths): "
                         "arrays or .npy paths")
    x, y = _load(data[0]), _load(data[1])
    lengths = _load(data[2]) if len(data) == 3 and data[2] is not None else None
    if x.ndim != 3 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(
            f"{name}: expected onehot (N, alphabet, seq_len) and labels (N, tasks) or "
            f"(N, seq_len) with the same N, got {x.shape} and {y.shape}"
        )
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    if lengths is not None:
        lens = np.asarray(lengths)
        if lens.shape != (x.shape[0],) or not np.issubdtype(lens.dtype, np.integer):
            raise ValueError(f"{name}: lengths must be integers (N,) with N = {x.shape[0]}, "
                             f"got {lens.dtype} {lens.shape}")
        if int(lens.min()) < 1 or int(lens.max()) > x.shape[2]:
            raise ValueError(f"{name}: lengths must lie in 1..{x.shape[2]} (seq_len), got "
                             f"{int(lens.min())}..{int(lens.max())}")
    return x, y, lengths


def _data_fingerprint(x: np.ndarray, y: np.ndarray, rows: int = 256) -> str:
    """Cheap identity of a split: shapes, all labels, and up to ``rows`` evenly spaced rows."""
    h = hashlib.sha256()
    h.update(repr((x.shape, str(x.dtype), y.shape, str(y.dtype))).encode())
    for start in range(0, y.shape[0], 1 << 20):
        h.update(np.ascontiguousarray(y[start:start + (1 << 20)]).tobytes())
    pick = np.unique(np.linspace(0, x.shape[0] - 1, min(rows, x.shape[0])).astype(np.int64))
    h.update(np.ascontiguousarray(read_rows(x, pick)).tobytes())
    return h.hexdigest()


def _lengths_fingerprint(lengths: np.ndarray | None) -> str | None:
    if lengths is None:
        return None
    return hashlib.sha256(np.ascontiguousarray(lengths, dtype=np.int64).tobytes()).hexdigest()


def accepts_any_length(model: nn.Module) -> bool:
    """True when ``model``'s output does not need inputs of ``seq_len`` positions (global
    pooling, or per-position output): a masked batch may then be cropped to its longest
    sequence."""
    config = getattr(model, "config", {})
    return bool(config.get("per_position")) or config.get("pool") in ("global_max",
                                                                      "global_avg")


def forward_batch(model: nn.Module, batch: Sequence[torch.Tensor], device: torch.device,
                  precision: str = "fp32", padding: str = "zeros+mask", trim: bool = False
                  ) -> torch.Tensor:
    """Logits of one batch ``(x, [y, [lengths]])`` on ``device``.

    Without lengths ``model(x)`` (``x`` ``uint8``); with lengths the padding mode is applied
    (:func:`seqcnn.train.batches.pad_batch`, cropped to the batch's longest sequence when
    ``trim``) and ``model(x, mask)`` is called. Logits ``(n, outputs)`` or, per position,
    ``(n, outputs, L')``.
    """
    x = batch[0].to(device, non_blocking=True)
    lengths = batch[2] if len(batch) > 2 else None
    if lengths is None:
        with autocast(device, precision):
            return model(x)
    x, mask = pad_batch(x, lengths.to(device, non_blocking=True), padding, trim=trim)
    with autocast(device, precision):
        return model(x, mask)


# --------------------------------------------------------------------------- steps


def train_epoch(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    optimizer: torch.optim.Optimizer,
    criterion: nn.Module,
    device: torch.device,
    precision: str = "fp32",
    *,
    epoch: int = 1,
    total: int | None = None,
    max_batches: int | None = None,
    progress: bool = False,
    check_every: int | None = None,
    on_batch_end: Callable[[int, int], None] | None = None,
    padding: str = "zeros+mask",
    trim: bool = False,
    penalty: Callable[[], torch.Tensor | None] | None = None,
    after_step: Callable[[], None] | None = None,
) -> tuple[float, int]:
    """One pass of optimizer steps over ``batches`` of ``(x, y)``; → (mean loss, sequences).

    ``x`` may be ``uint8`` one-hot (converted by the model), ``y`` any numeric dtype.
    Batches ``(x, y, lengths)`` are padded with ``padding`` and cropped when ``trim`` (see
    :func:`forward_batch`); per-position labels ``(n, L)`` are cropped like the logits. The
    loss is checked for NaN/Inf every ``check_every`` batches (default: every batch on the
    CPU, every 32 on accelerators, to avoid a device sync per step); a non-finite loss
    raises :class:`NonFiniteLossError` naming ``epoch`` and the first bad batch.
    ``on_batch_end(epoch, batch)`` is called after each step (batch numbers from 1).
    ``penalty()`` (a regulariser such as :func:`seqcnn.models.pwm_entropy` times its weight)
    is added to each step's loss before the backward pass; the mean loss returned leaves it
    out, so that it compares with the validation loss. ``after_step()`` is called after each
    optimizer step (a per-step LR schedule, :meth:`seqcnn.train.schedule.LRSchedule.after_step`).
    """
    if check_every is None:
        check_every = 1 if device.type == "cpu" else 32
    model.train()
    n_total = max_batches if max_batches is not None else total
    bar = tqdm(total=n_total, desc=f"epoch {epoch}", unit="batch", file=sys.stderr,
               disable=not progress, leave=False, mininterval=1.0, dynamic_ncols=True)
    pending: list[torch.Tensor] = []
    pending_first = 1
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    seen = 0
    lr = optimizer.param_groups[0]["lr"]

    def check(first: int) -> None:
        values = torch.stack(pending).float().cpu()
        bad = (~torch.isfinite(values)).nonzero()
        if len(bad):
            i = int(bad[0, 0])
            raise NonFiniteLossError(
                f"training diverged: the loss is {values[i].item()} at epoch {epoch}, batch "
                f"{first + i} (lr {lr:g}). Lower train.lr, check the inputs for NaN/Inf, or "
                "use precision: fp32.",
                epoch,
                first + i,
            )

    b = 0
    for b, batch in enumerate(batches, start=1):
        if max_batches is not None and b > max_batches:
            b -= 1
            break
        logits = forward_batch(model, batch, device, precision, padding, trim)
        y = batch[1].to(device, non_blocking=True).float()
        if logits.dim() == 3 and y.shape[-1] > logits.shape[-1]:
            y = y[..., :logits.shape[-1]]  # per-position labels of a cropped batch
        loss = criterion(logits.float(), y)
        pending.append(loss.detach())
        if len(pending) >= check_every:
            check(pending_first)
            pending, pending_first = [], b + 1
        optimizer.zero_grad(set_to_none=True)
        extra = penalty() if penalty is not None else None
        (loss if extra is None else loss + extra).backward()
        optimizer.step()
        if after_step is not None:
            after_step()
        loss_sum += loss.detach().double() * len(y)
        seen += len(y)
        if progress:
            bar.update(1)
            if b % 20 == 0:
                bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
        if on_batch_end is not None:
            on_batch_end(epoch, b)
    if pending:
        check(pending_first)
    bar.close()
    if seen == 0:
        raise ValueError(f"epoch {epoch}: no training batches")
    return float(loss_sum.item()) / seen, seen


@torch.inference_mode()
def predict_batches(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, ...]],
    device: torch.device,
    precision: str = "fp32",
    *,
    padding: str = "zeros+mask",
    trim: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Logits ``(N, T)`` (float32, numpy) over ``batches`` of ``(x, [y, [lengths]])``, and the
    stacked labels if the batches carry them. The model is put in eval mode. Per-position
    logits ``(N, T, L)`` of cropped batches are zero-padded back to the input length ``L``."""
    model.eval()
    logits, labels = [], []
    for batch in batches:
        out = forward_batch(model, batch, device, precision, padding, trim)
        if out.dim() == 3 and out.shape[-1] < batch[0].shape[-1]:
            out = torch.nn.functional.pad(out, (0, batch[0].shape[-1] - out.shape[-1]))
        logits.append(out.float().cpu())
        if len(batch) > 1:
            labels.append(batch[1])
    y = torch.cat(labels).numpy() if labels else None
    return torch.cat(logits).numpy(), y


def predict(
    model: nn.Module,
    onehot: np.ndarray | str | os.PathLike,
    *,
    lengths: np.ndarray | str | os.PathLike | None = None,
    padding: str = "zeros+mask",
    targets: Targets | None = None,
    batch_size: int = 512,
    device: str | torch.device = "auto",
    precision: str = "auto",
    rc_average: bool = False,
) -> np.ndarray:
    """Probabilities for one-hot ``(N, A, L)`` (array, memmap or ``.npy`` path, read batch by
    batch): ``targets.probabilities(logits)``, by default ``sigmoid(logits)`` ``(N, T)``.

    With ``lengths`` ``(N,)`` (array or ``.npy`` path) the sequences are padded with
    ``padding`` (use the mode the model was trained with, ``meta["padding"]``), read in
    batches of similar length and, with ``zeros+mask`` and a model that accepts any length,
    cropped to each batch's longest sequence; rows come back in input order. Per-position
    models give ``(N, K, L)``, zero past each length. ``rc_average`` averages the logits of
    each sequence and its reverse complement (DNA/RNA, not with ``lengths``).
    """
    if padding not in PADDING_MODES:
        raise ValueError(f"padding must be one of {', '.join(PADDING_MODES)}, got {padding!r}")
    if lengths is not None and rc_average:
        raise ValueError("rc_average is not supported with lengths: the reverse complement "
                         "would put the padding in front")
    onehot = _load(onehot)
    lengths = None if lengths is None else _load(lengths)
    dev = resolve_device(device) if isinstance(device, str) else device
    prec = resolve_precision(precision, dev)
    model = model.to(dev)
    ds = CacheDataset(onehot, np.zeros((len(onehot), 0), dtype=np.uint8), lengths=lengths)
    loader = make_loader(ds, batch_size, pin_memory=dev.type == "cuda",
                         sort_by_length=lengths is not None)
    trim = padding == "zeros+mask" and accepts_any_length(model)
    logits, _ = predict_batches(model, loader, dev, prec, padding=padding, trim=trim)
    if lengths is not None:
        order = loader.sampler.order()
        restored = np.empty_like(logits)
        restored[order] = logits
        logits = restored
    if rc_average:
        flipped = ((x.flip(dims=(-2, -1)),) for x, _ in loader)
        rc_logits, _ = predict_batches(model, flipped, dev, prec)
        logits = (logits + rc_logits) / 2
    if targets is None:
        probs = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    else:
        probs = targets.probabilities(logits)
    if probs.ndim == 3 and lengths is not None:
        probs *= (np.arange(probs.shape[-1])[None, :] < np.asarray(lengths)[:, None])[:, None]
    return probs


# --------------------------------------------------------------------------- state


def _rng_state() -> dict[str, Any]:
    """torch (CPU, CUDA), numpy and python RNG states as tensors and plain types."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    cuda = []
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        cuda = torch.cuda.get_rng_state_all()
    return {
        "torch": torch.get_rng_state(),
        "cuda": cuda,
        "numpy": {
            "kind": str(np_state[0]),
            "keys": torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "python": {
            "version": int(py_state[0]),
            "state": torch.tensor(py_state[1], dtype=torch.int64),
            "gauss_next": py_state[2],
        },
    }


def _set_rng_state(state: Mapping[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["cached_gaussian"]))
    p = state["python"]
    random.setstate((p["version"], tuple(int(v) for v in p["state"].tolist()), p["gauss_next"]))


def _cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _atomic_save(obj: Any, path: Path) -> str:
    """``torch.save`` to a temporary file beside ``path``, flushed to disk, then renamed
    over ``path``: a kill leaves the old file or the new one, never half of one. Returns the
    new file's SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        digest = file_sha256(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return digest


def _read_last_checkpoint(path: Path, log: logging.Logger,
                          is_main: bool) -> Mapping[str, Any] | None:
    """``checkpoints/last.pt``, or None when it cannot be read (a kill while the disk was
    full, a copy cut short): the main process moves it aside to ``last.pt.corrupt`` with a
    warning, and training starts afresh."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(ckpt, Mapping):
            return ckpt
        reason = f"a {type(ckpt).__name__}, not a checkpoint"
    except Exception as err:  # truncated or foreign: OSError, RuntimeError, UnpicklingError
        reason = " ".join(str(err).split())[:200] or type(err).__name__
    aside = path.with_name(path.name + ".corrupt")
    if is_main:
        with contextlib.suppress(FileNotFoundError):
            os.replace(path, aside)
        log.warning("%s cannot be read (%s): moved it to %s and training from scratch",
                    path, reason, aside)
    return None


def _atomic_write_text(text: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _fmt(v: float) -> str:
    return "nan" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.6g}"


def write_log(history: Sequence[Mapping[str, float]], path: str | os.PathLike) -> None:
    """Write ``train_log.tsv`` (``LOG_COLUMNS``, one row per epoch), atomically."""
    lines = ["\t".join(LOG_COLUMNS)]
    for row in history:
        lines.append("\t".join([
            str(int(row["epoch"])),
            _fmt(row["train_loss"]),
            _fmt(row["valid_loss"]),
            _fmt(row["valid_auroc"]),
            _fmt(row["valid_auprc"]),
            f"{row['lr']:.6g}",
            f"{row['seconds']:.2f}",
        ]))
    _atomic_write_text("\n".join(lines) + "\n", Path(path))


# --------------------------------------------------------------------------- training


def _resolve_targets(targets: Targets | Mapping[str, Any] | None,
                     tasks: Sequence[str] | None, train_y: np.ndarray, valid_y: np.ndarray,
                     seq_len: int) -> Targets:
    """``targets`` (default: every label column a binary task), checked against the labels."""
    if targets is None:
        n = int(train_y.shape[1])
        names = list(tasks) if tasks is not None else [f"task{i}" for i in range(n)]
        if len(names) != n:
            raise ValueError(f"{len(names)} task names given for {n} label columns")
        targets = Targets.binary(names)
    else:
        targets = Targets.from_dict(targets)
        if tasks is not None and list(tasks) != list(targets.tasks):
            raise ValueError(f"tasks {list(tasks)} differ from the targets' tasks "
                             f"{list(targets.tasks)}; give one of them")
    for name, y in (("train labels", train_y), ("valid labels", valid_y)):
        targets.check_labels(y, seq_len if targets.per_position else None, name)
    return targets


def _model_config_for(model_config: Mapping[str, Any], targets: Targets) -> dict[str, Any]:
    """``model_config`` with ``per_position: true`` for per-position targets (dilated only)."""
    config = dict(model_config)
    arch = config.get("arch", "dilated")
    if targets.per_position:
        if arch != "dilated":
            raise ValueError(f"per-position targets ({targets.tasks[0]!r}) need arch "
                             f"'dilated', the only one with per-position output; got {arch!r}")
        config["per_position"] = True
    elif config.get("per_position"):
        raise ValueError("model per_position: true needs per-position labels (targets of "
                         f"kind per_position); got {', '.join(set(targets.kinds.values()))}")
    return config


def _pos_weight(train_y: np.ndarray, targets: Targets, mode: str) -> np.ndarray:
    """``pos_weight`` ``float32`` per binary task: ``n_neg / n_pos`` (``balanced``) or 1."""
    idx = targets.binary_tasks
    if mode != "balanced":
        return np.ones(len(idx), dtype=np.float32)
    if len(idx) == len(targets.tasks):
        return class_weights(train_y)
    if not idx:
        return np.ones(0, dtype=np.float32)
    return class_weights(np.asarray(train_y)[:, idx])


@dataclass(frozen=True)
class _Step:
    """What the validation step needs besides model and data."""

    targets: Targets
    padding: str = "zeros+mask"
    trim: bool = False


def _validate(model: nn.Module, loader: Iterable, criterion: nn.Module, device: torch.device,
              precision: str, step: _Step) -> tuple[float, np.ndarray, np.ndarray]:
    """Validation loss and per-output-column auROC, auPR of ``model`` over ``loader``."""
    logits, labels = predict_batches(model, loader, device, precision, padding=step.padding,
                                     trim=step.trim)
    valid_loss = float(criterion(torch.from_numpy(logits).to(device),
                                 torch.from_numpy(labels).to(device).float()).item())
    if step.targets.all_binary:
        auroc, auprc = task_metrics(labels, logits)
    elif step.targets.regression:  # (Spearman, Pearson): selection on Pearson r
        from seqcnn.evaluate.metrics import regression_scores

        r, rho = regression_scores(labels, step.targets.probabilities(logits))
        return valid_loss, rho, r
    else:
        auroc, auprc = task_metrics(*step.targets.one_vs_rest(
            labels, step.targets.probabilities(logits)))
    return valid_loss, auroc, auprc


def _sync_epoch(model: nn.Module, loader: Iterable, criterion: nn.Module,
                device: torch.device, precision: str, info: distributed.DistInfo,
                train_loss: float, seen: int, step: _Step
                ) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Data-parallel end of epoch: the train loss averaged over all processes' sequences;
    validation on rank 0 (the bare model, not DDP: no collectives), broadcast to all."""
    dist = torch.distributed
    totals = torch.tensor([train_loss * seen, float(seen)], dtype=torch.float64,
                          device=device)
    dist.all_reduce(totals)
    train_loss = float(totals[0].item() / totals[1].item())
    box: list[Any] = [None]
    if info.is_main:
        valid_loss, auroc, auprc = _validate(model, loader, criterion, device, precision, step)
        box = [(valid_loss, auroc.tolist(), auprc.tolist())]
    dist.broadcast_object_list(box, src=0)
    valid_loss, auroc, auprc = box[0]
    return train_loss, float(valid_loss), np.asarray(auroc), np.asarray(auprc)


def train(
    model_config: Mapping[str, Any],
    train_data: Any,
    valid_data: Any,
    config: TrainConfig | Mapping[str, Any] | None = None,
    *,
    out_dir: str | os.PathLike | None = None,
    paths: TrainPaths | None = None,
    tasks: Sequence[str] | None = None,
    alphabet: str = "dna",
    threads: int | None = None,
    resume: bool = True,
    progress: bool = True,
    logger: logging.Logger | None = None,
    on_batch_end: Callable[[int, int], None] | None = None,
    on_epoch_end: Callable[[int, Mapping[str, float]], None] | None = None,
    targets: Targets | Mapping[str, Any] | None = None,
    padding: str = "zeros+mask",
    oriented: bool | None = None,
) -> TrainResult:
    """Train ``build_model(model_config)`` on ``train_data``, select on ``valid_data``.

    ``train_data`` and ``valid_data`` are cache splits (``{"cache": dir, "split": name}``,
    read with :func:`seqcnn.data.cache.load_split`, or the :class:`~seqcnn.data.cache.Split`
    it returns), ``(onehot, labels)`` pairs of arrays, memmaps or ``.npy`` paths (a
    :class:`~seqcnn.train.datasets.CacheDataset` is accepted too), or
    ``(onehot, labels, lengths)`` triples for sequence sets. The alphabet size, number of
    tasks and ``seq_len`` come from the arrays. ``targets`` (a
    :class:`~seqcnn.data.targets.Targets` or its ``to_dict()``) says what the labels are; by
    default every label column is a binary task named by ``tasks``. A per-position target
    builds the model with ``per_position: true`` (``dilated`` only). ``padding`` is the
    padding mode of sequences with lengths (:data:`seqcnn.train.batches.PADDING_MODES`); reverse
    complement and jitter are turned off for them (with a warning). ``config`` is a
    :class:`TrainConfig` or mapping (defaults for missing keys). Outputs go to ``paths`` or
    ``TrainPaths.in_dir(out_dir)``; with neither, nothing is written and nothing resumed.
    ``threads`` sizes ``num_workers: auto`` (it does not set torch's thread count).
    ``oriented`` says whether the data is read in a fixed orientation (stranded regions,
    oriented sequence sets), which ``rc_augment: auto`` follows (off when oriented); None
    reads it from the cache's manifest when ``train_data`` is ``{"cache": dir, ...}``
    (:func:`seqcnn.data.cache.cache_orientation`), else counts the data as unstranded.

    ``on_batch_end(epoch, batch)`` and ``on_epoch_end(epoch, log_row)`` are called after each
    step and after each epoch's checkpoint is written (an exception raised there stops
    training like a killed job would; calling :func:`train` again resumes).

    Started by ``torchrun`` (``WORLD_SIZE > 1``; ``train.gpus``), it trains data-parallel
    (see :mod:`seqcnn.train.distributed`): every process returns the same :class:`TrainResult`,
    only rank 0 writes files, logs at INFO level and shows progress.
    """
    cfg = TrainConfig.from_mapping(config)
    info = distributed.from_env()
    log: Any = logger or _log
    if not info.is_main:
        log = _RankLogger(log, {"rank": info.rank})
    if cfg.gpus > 1 and not info.enabled:
        log.warning("train.gpus is %d but this process was not started by torchrun: training "
                    "in one process (same global batch); see seqcnn.train.distributed", cfg.gpus)
    elif info.enabled and cfg.gpus > 1 and cfg.gpus != info.world_size:
        log.warning("train.gpus is %d but torchrun started %d processes: using %d",
                    cfg.gpus, info.world_size, info.world_size)
    device = resolve_device(cfg.device)
    if info.enabled and device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(device)
    owns_group = distributed.init(info, device)
    try:
        return _train(model_config, train_data, valid_data, cfg, info, device, log,
                      out_dir=out_dir, paths=paths, tasks=tasks, alphabet=alphabet,
                      threads=threads, resume=resume, progress=progress and info.is_main,
                      on_batch_end=on_batch_end, on_epoch_end=on_epoch_end,
                      targets=targets, padding=padding, oriented=oriented)
    finally:
        if owns_group:
            torch.distributed.destroy_process_group()


def _train(
    model_config: Mapping[str, Any],
    train_data: Any,
    valid_data: Any,
    cfg: TrainConfig,
    info: distributed.DistInfo,
    device: torch.device,
    log: Any,
    *,
    out_dir: str | os.PathLike | None,
    paths: TrainPaths | None,
    tasks: Sequence[str] | None,
    alphabet: str,
    threads: int | None,
    resume: bool,
    progress: bool,
    on_batch_end: Callable[[int, int], None] | None,
    on_epoch_end: Callable[[int, Mapping[str, float]], None] | None,
    targets: Targets | Mapping[str, Any] | None,
    padding: str,
    oriented: bool | None = None,
) -> TrainResult:
    """:func:`train` in this process: check the splits, build, restore the checkpoint, run
    the epochs, write the best weights."""
    if padding not in PADDING_MODES:
        raise ValueError(f"padding must be one of {', '.join(PADDING_MODES)}, got {padding!r}")
    t_start = time.perf_counter()
    run = _Run(cfg, info, device, resolve_precision(cfg.precision, device),
               _paths_for(paths, out_dir, info), log, padding, progress, on_batch_end,
               on_epoch_end)
    if threads is not None and info.world_size > 1:
        threads = max(1, threads // info.world_size)
    workers = resolve_num_workers(cfg.num_workers, device, threads)
    splits = _check_splits(train_data, valid_data, targets, tasks, run)
    cfg = _selection(cfg, splits.targets.regression, log)
    cfg = _strand_augmentation(cfg, _orientation(train_data, oriented), alphabet, log)
    run = dataclasses.replace(run, cfg=_augmentation(cfg, splits.lengths, log))
    parts = _build(model_config, splits, run)
    loaders = _loaders(splits, run, workers, alphabet)  # seeded generators: no global RNG
    parts.scheduler = _schedule(parts.optimizer, run.cfg, len(loaders[0]))
    ckpt = _Checkpoint(run.paths.checkpoint, _fingerprint(parts.model, splits, run),
                       info.is_main)
    state = (ckpt.restore(parts, log) if resume else None) or _Progress()
    _log_start(parts, splits, run, workers)
    _epoch_loop(state, parts, splits, loaders, ckpt, run)
    return _finish(state, parts, splits, run, alphabet, t_start)


# --------------------------------------------------------------------------- steps of train


@dataclass(frozen=True)
class _Run:
    """The fixed settings of one :func:`train` call in this process."""

    cfg: TrainConfig
    info: distributed.DistInfo
    device: torch.device
    precision: str  # resolved: fp32 or bf16
    paths: TrainPaths
    log: Any
    padding: str
    progress: bool
    on_batch_end: Callable[[int, int], None] | None
    on_epoch_end: Callable[[int, Mapping[str, float]], None] | None

    @property
    def world(self) -> int:
        return self.info.world_size


def _paths_for(paths: TrainPaths | None, out_dir: str | os.PathLike | None,
               info: distributed.DistInfo) -> TrainPaths:
    """``paths``, else the standard layout in ``out_dir``, else nothing; processes other
    than rank 0 keep only the checkpoint (they read it to resume; rank 0 alone writes)."""
    if paths is None and out_dir is not None:
        paths = TrainPaths.in_dir(out_dir)
    paths = paths or TrainPaths()
    return paths if info.is_main else TrainPaths(checkpoint=paths.checkpoint)


@dataclass(frozen=True)
class _Splits:
    """Checked training and validation arrays, and the targets their labels hold."""

    train_x: np.ndarray  # (N, A, L) uint8
    train_y: np.ndarray  # (N, T) or per position (N, L)
    train_len: np.ndarray | None  # (N,) lengths of sequence sets
    valid_x: np.ndarray
    valid_y: np.ndarray
    valid_len: np.ndarray | None
    targets: Targets
    scored: tuple[str, ...]  # outputs with both classes in validation (early stopping)

    @property
    def alphabet_size(self) -> int:
        return int(self.train_x.shape[1])

    @property
    def seq_len(self) -> int:
        return int(self.train_x.shape[2])

    @property
    def lengths(self) -> bool:
        return self.train_len is not None

    @property
    def scored_idx(self) -> list[int]:
        return [i for i, t in enumerate(self.targets.output_names) if t in self.scored]


def _check_splits(train_data: Any, valid_data: Any,
                  targets: Targets | Mapping[str, Any] | None, tasks: Sequence[str] | None,
                  run: _Run) -> _Splits:
    """Read both splits and check them against each other, the targets and the processes.

    Raises ``ValueError`` for shapes that differ, lengths for one split only, labels the
    targets do not allow, no output with both classes in validation, a global batch not
    divisible by (or larger than the training set for) several processes."""
    train_x, train_y, train_len = _as_split(train_data, "train_data")
    valid_x, valid_y, valid_len = _as_split(valid_data, "valid_data")
    if train_x.shape[1:] != valid_x.shape[1:] or train_y.shape[1] != valid_y.shape[1]:
        raise ValueError(
            f"train and valid splits do not match: {train_x.shape}/{train_y.shape} vs "
            f"{valid_x.shape}/{valid_y.shape}"
        )
    if (train_len is None) != (valid_len is None):
        raise ValueError("give lengths for both train_data and valid_data, or for neither")
    targets = _resolve_targets(targets, tasks, train_y, valid_y, int(train_x.shape[2]))
    scored = _scored_outputs(targets, valid_y, run.log)
    _check_world(run.cfg, run.world, len(train_x))
    return _Splits(train_x, train_y, train_len, valid_x, valid_y, valid_len, targets, scored)


def _scored_outputs(targets: Targets, valid_y: np.ndarray, log: Any) -> tuple[str, ...]:
    """Outputs with positives and negatives among the labelled validation rows; the others
    are left out of the validation mean (warned). None at all raises ``ValueError``.
    Regression: tasks with at least 3 labelled validation rows."""
    if targets.regression:
        n = targets.labelled_counts(valid_y)
        scored = tuple(t for t, k in zip(targets.tasks, n, strict=True) if k >= 3)
        if not scored:
            raise ValueError("no regression task has 3 labelled rows in the validation split: "
                             "early stopping on validation Pearson r is impossible; change "
                             "the split")
        for t, k in zip(targets.tasks, n, strict=True):
            if t not in scored:
                log.warning("task %s has %d labelled rows in validation: left out of the "
                            "validation mean", t, int(k))
        return scored
    valid_pos, valid_rows = targets.column_counts(valid_y)  # rows: labelled, per column
    counts = list(zip(targets.output_names, valid_pos, valid_rows, strict=True))
    scored = tuple(o for o, p, n in counts if 0 < p < n)
    if not scored:
        raise ValueError("no output has both positives and negatives in the validation split: "
                         "early stopping on validation auPR is impossible; change the split")
    for t, p, n in counts:
        if t not in scored:
            log.warning("output %s has %d positives of %d labelled in validation: left out "
                        "of the validation mean", t, int(p), int(n))
    return scored


def _check_world(cfg: TrainConfig, world: int, n_train: int) -> None:
    """Data-parallel: the global batch splits evenly and fits in the training set."""
    if world > 1 and cfg.batch_size % world:
        raise ValueError(f"train.batch_size ({cfg.batch_size}) must be divisible by the "
                         f"number of processes ({world})")
    if world > 1 and n_train < cfg.batch_size:
        raise ValueError(f"{n_train} training sequences are fewer than one batch of "
                         f"{cfg.batch_size}: lower train.batch_size")


def _orientation(train_data: Any, oriented: bool | None) -> tuple[bool | None, str]:
    """``(oriented, why)``: as given, else from the manifest of a ``{"cache": dir}`` split,
    else unknown (None)."""
    if oriented is not None:
        return bool(oriented), "given to train()"
    if isinstance(train_data, Mapping) and "cache" in train_data:
        found = cache_orientation(train_data["cache"])
        if found is not None:
            return found
    return None, "no cache manifest"


def _selection(cfg: TrainConfig, regression: bool, log: Any) -> TrainConfig:
    """``cfg`` with ``select_on: auto`` resolved to what the report and the portfolio's
    ``metric: auto`` rank by: auROC for binary and multiclass targets, Pearson r (the
    ``auprc`` slot of the validation metrics) for regression; logged."""
    if cfg.select_on != "auto":
        return cfg
    chosen = "auprc" if regression else "auroc"
    log.info("best epoch, early stopping and plateau on validation %s (train.select_on: "
             "auto, the metric the report and the portfolio rank by)",
             "Pearson r" if regression else "auROC")
    return dataclasses.replace(cfg, select_on=chosen)


def _strand_augmentation(cfg: TrainConfig, orientation: tuple[bool | None, str],
                         alphabet: str, log: Any) -> TrainConfig:
    """``cfg`` with ``rc_augment`` resolved to a bool (``auto``: off for oriented data and
    for proteins), and one log line saying which and why."""
    oriented, why = orientation
    if cfg.rc_augment == "auto" and alphabet not in ("dna", "rna"):
        log.info("reverse-complement augmentation off (train.rc_augment: auto): %s has no "
                 "reverse complement", alphabet)
        return dataclasses.replace(cfg, rc_augment=False)
    on, reason = strand_choice(cfg.rc_augment, oriented, "reverse-complement augmentation",
                               "train.rc_augment")
    log.info("%s (%s)", reason, why)
    return dataclasses.replace(cfg, rc_augment=on)


def _augmentation(cfg: TrainConfig, lengths: bool, log: Any) -> TrainConfig:
    """``cfg`` with the augmentation the splits can take
    (:func:`seqcnn.train.datasets.augmentation_for`:
    none for sequences with lengths), warning when that turns some off."""
    rc_augment, jitter = augmentation_for(cfg.rc_augment, cfg.jitter, lengths)
    if (rc_augment, jitter) == (cfg.rc_augment, cfg.jitter):
        return cfg
    log.warning("rc_augment and jitter are turned off for sequences with lengths (%s)",
                PADDING_MOVES)
    return dataclasses.replace(cfg, rc_augment=rc_augment, jitter=jitter)


@dataclass
class _Parts:
    """What the epochs drive: the model (bare, and as the steps call it), loss, optimizer,
    LR schedule, optional filter-entropy penalty."""

    model: SequenceModel
    net: nn.Module  # the model, or DistributedDataParallel around it
    model_config: dict[str, Any]
    criterion: nn.Module
    pos_weight: np.ndarray  # (binary tasks,) float32
    optimizer: torch.optim.Optimizer
    scheduler: LRSchedule | None  # set once the training batches are known (_schedule)
    penalty: Callable[[], torch.Tensor] | None
    step: _Step
    receptive_field: int
    parameters: int


def _build(model_config: Mapping[str, Any], splits: _Splits, run: _Run) -> _Parts:
    """Seed, then build model, loss, optimizer and schedule: the initial weights depend on
    the seed only."""
    cfg, targets = run.cfg, splits.targets
    model_config = _model_config_for(model_config, targets)
    seed_everything(cfg.seed)
    model = build_model(model_config, splits.alphabet_size, targets.n_outputs, splits.seq_len)
    rf, n_params = int(model.receptive_field), int(count_parameters(model))
    model.to(run.device)
    net = _parallel(model, run)
    pos_weight = _pos_weight(splits.train_y, targets, cfg.pos_weight)
    criterion = targets.loss(pos_weight).to(run.device)
    trim = splits.lengths and run.padding == "zeros+mask" and accepts_any_length(model)
    optimizer = _optimizer(model, cfg)
    penalty = _entropy_penalty(model, cfg.pwm_entropy, run.log)
    return _Parts(model, net, model_config, criterion, pos_weight, optimizer, None,
                  penalty, _Step(targets, run.padding, trim), rf, n_params)


def _optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """``train.optimizer`` (Adam or AdamW) over ``model``'s parameters, at ``lr`` with
    ``weight_decay``."""
    adam = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    return adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)


def _schedule(optimizer: torch.optim.Optimizer, cfg: TrainConfig, steps_per_epoch: int
              ) -> LRSchedule:
    """``train.lr_schedule`` over ``cfg.epochs`` epochs of ``steps_per_epoch`` steps."""
    return LRSchedule(cfg.lr_schedule, optimizer, steps_per_epoch=steps_per_epoch,
                      epochs=cfg.epochs, warmup_epochs=cfg.warmup_epochs,
                      lr_factor=cfg.lr_factor, lr_patience=cfg.lr_patience, min_lr=cfg.min_lr)


def selection_score(select_on: str, valid_loss: float, mean_auroc: float,
                    mean_auprc: float) -> float:
    """The greater-is-better score ``train.select_on`` names: auPR, auROC or ``-loss``."""
    return {"auprc": mean_auprc, "auroc": mean_auroc, "loss": -valid_loss}[select_on]


def _parallel(model: nn.Module, run: _Run) -> nn.Module:
    """What the training steps call: ``model`` itself in one process, else DDP around it
    (with synchronised BatchNorm on CUDA)."""
    if run.world <= 1:
        return model
    net = model
    if run.device.type == "cuda":
        net = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    elif any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        run.log.warning("BatchNorm on the CPU with %d processes: statistics per process, "
                        "not synchronised", run.world)
    return nn.parallel.DistributedDataParallel(
        net, device_ids=[run.device.index] if run.device.type == "cuda" else None)


def _entropy_penalty(model: nn.Module, weight: float, log: Any
                     ) -> Callable[[], torch.Tensor] | None:
    """``weight`` times the PWM filters' mean column entropy, or None (weight 0, no PWM
    filters: said in the log)."""
    if weight > 0 and pwm_entropy(model) is None:
        log.info("train.pwm_entropy has no effect: this model has no PWM-constrained filters")
        return None
    if weight <= 0:
        return None

    def penalty() -> torch.Tensor:
        return weight * pwm_entropy(model)
    return penalty


def _fingerprint(model: SequenceModel, splits: _Splits, run: _Run) -> str:
    """SHA-256 of what decides the weights: model config, training config (not where or
    how fast it runs), targets, padding, data, checkpoint layout."""
    what = {k: v for k, v in run.cfg.to_dict().items()
            if k not in ("device", "precision", "num_workers", "gpus")}
    return hashlib.sha256(json.dumps({
        "model": dict(model.config), "train": what, "tasks": list(splits.targets.tasks),
        "targets": splits.targets.to_dict(), "padding": run.padding,
        "train_data": _data_fingerprint(splits.train_x, splits.train_y),
        "valid_data": _data_fingerprint(splits.valid_x, splits.valid_y),
        "train_lengths": _lengths_fingerprint(splits.train_len),
        "valid_lengths": _lengths_fingerprint(splits.valid_len),
        "version": CHECKPOINT_VERSION,
    }, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class _EarlyStopping:
    """Best selection score so far (``train.select_on`` as resolved: auROC unless told), its
    epoch and metrics, and the epochs since (stored in the checkpoint as a plain dict:
    :func:`dataclasses.asdict`)."""

    best_score: float = -math.inf
    best_epoch: int = 0
    bad_epochs: int = 0
    stopped: bool = False
    best_auroc: float = math.nan
    best_auroc_per_task: list[float] = field(default_factory=list)
    best_auprc_per_task: list[float] = field(default_factory=list)
    best_auprc: float = math.nan

    def record(self, epoch: int, mean_auroc: float, mean_auprc: float, auroc: np.ndarray,
               auprc: np.ndarray, patience: int, score: float | None = None) -> bool:
        """Take epoch ``epoch``'s scores (per output ``(O,)`` and their means) and its
        selection ``score`` (greater is better; default ``mean_auprc``); True when it is the
        best so far. ``stopped`` after ``patience`` epochs without (0: never)."""
        score = mean_auprc if score is None else score
        if score > self.best_score:
            self.best_score, self.best_epoch, self.bad_epochs = score, epoch, 0
            self.best_auroc, self.best_auprc = mean_auroc, mean_auprc
            self.best_auroc_per_task, self.best_auprc_per_task = auroc.tolist(), auprc.tolist()
            return True
        self.bad_epochs += 1
        if patience and self.bad_epochs >= patience:
            self.stopped = True
        return False


@dataclass
class _Progress:
    """Where training stands after ``epoch`` finished epochs."""

    es: _EarlyStopping = field(default_factory=_EarlyStopping)
    best_state: dict[str, torch.Tensor] | None = None  # best epoch's weights, on the CPU
    history: list[dict[str, float]] = field(default_factory=list)  # log rows
    epoch: int = 0
    resumed_from: int | None = None


@dataclass(frozen=True)
class _Checkpoint:
    """``checkpoints/last.pt``: all that continues training after the last finished epoch,
    valid for the model config, training config and data of ``fingerprint`` only."""

    path: Path | None
    fingerprint: str
    writes: bool  # rank 0 writes, the other processes only read

    def save(self, parts: _Parts, state: _Progress) -> None:
        """Write the state after ``state.epoch`` atomically (rank 0; no path: nothing)."""
        if self.path is None or not self.writes:
            return
        _atomic_save({
            "version": CHECKPOINT_VERSION,
            "fingerprint": self.fingerprint,
            "epoch": state.epoch,
            "model": _cpu_state(parts.model),
            "best_state": state.best_state,
            "optimizer": parts.optimizer.state_dict(),
            "scheduler": parts.scheduler.state_dict(),
            "early_stopping": dataclasses.asdict(state.es),
            "history": state.history,
            "rng": _rng_state(),
        }, self.path)

    def restore(self, parts: _Parts, log: Any) -> _Progress | None:
        """Load model, optimizer, schedule and RNG states from the checkpoint and return the
        progress it holds; None (train from scratch) when there is none, it cannot be read
        (moved aside) or it was written for another config or data (warned)."""
        if self.path is None or not self.path.exists():
            return None
        ckpt = _read_last_checkpoint(self.path, log, self.writes)
        if ckpt is None:
            return None
        if ckpt.get("fingerprint") != self.fingerprint:
            log.warning("%s was written for another model config, training config or data: "
                        "ignoring it and training from scratch", self.path)
            return None
        parts.model.load_state_dict(ckpt["model"])
        parts.optimizer.load_state_dict(ckpt["optimizer"])
        parts.scheduler.load_state_dict(ckpt["scheduler"])
        done = int(ckpt["epoch"])
        state = _Progress(_EarlyStopping(**ckpt["early_stopping"]), ckpt["best_state"],
                          [dict(r) for r in ckpt["history"]], done, done)
        _set_rng_state(ckpt["rng"])
        log.info("resuming from %s after epoch %d (best epoch %d, selection score %.4f)",
                 self.path, done, state.es.best_epoch, state.es.best_score)
        return state


def _log_start(parts: _Parts, splits: _Splits, run: _Run, workers: int) -> None:
    """One log line on what is trained where, then pos_weight and padding."""
    targets = splits.targets
    run.log.info(
        "training %s (%d parameters, receptive field %d) on %d sequences x %d bp, %d task(s), "
        "%d output(s); valid %d; device %s, precision %s, %d worker(s)",
        parts.model.config["arch"], parts.parameters, parts.receptive_field,
        len(splits.train_x), splits.seq_len, len(targets.tasks), targets.n_outputs,
        len(splits.valid_x), run.device, run.precision, workers,
    )
    binary = _binary_tasks(targets)
    if binary:
        run.log.info("pos_weight: %s", ", ".join(
            f"{t} {w:.3g}" for t, w in zip(binary, parts.pos_weight, strict=True)))
    if splits.lengths:
        run.log.info("padding %s%s", run.padding, ", batches cropped to their longest sequence"
                     if parts.step.trim else "")


def _binary_tasks(targets: Targets) -> list[str]:
    return [targets.tasks[j] for j in targets.binary_tasks]


def _loaders(splits: _Splits, run: _Run, workers: int, alphabet: str
             ) -> tuple[torch.utils.data.DataLoader, torch.utils.data.DataLoader]:
    """Training batches (shuffled per epoch, augmented, this rank's share) and validation
    batches (in length order)."""
    cfg, pin = run.cfg, run.device.type == "cuda"
    train_ds = CacheDataset(splits.train_x, splits.train_y, lengths=splits.train_len,
                            rc_augment=cfg.rc_augment, jitter=cfg.jitter, seed=cfg.seed,
                            alphabet=alphabet)
    valid_ds = CacheDataset(splits.valid_x, splits.valid_y, lengths=splits.valid_len,
                            alphabet=alphabet)
    train_loader = make_loader(train_ds, cfg.batch_size, shuffle=True, drop_last=True,
                               seed=cfg.seed, num_workers=workers, pin_memory=pin,
                               rank=run.info.rank, world_size=run.world)
    valid_loader = make_loader(valid_ds, max(cfg.batch_size, 256), seed=cfg.seed,
                               num_workers=min(workers, 2), pin_memory=pin,
                               sort_by_length=True)
    return train_loader, valid_loader


def _epoch_loop(state: _Progress, parts: _Parts, splits: _Splits,
                loaders: tuple[Iterable, Iterable], ckpt: _Checkpoint, run: _Run) -> None:
    """Epochs after ``state.epoch`` until ``epochs`` or early stopping; after each the log
    and the checkpoint are written, then ``on_epoch_end`` is called."""
    cfg = run.cfg
    while not state.es.stopped and state.epoch < cfg.epochs:
        epoch = state.epoch + 1
        row = _run_epoch(epoch, state, parts, splits, loaders, run)
        state.history.append(row)
        state.epoch = epoch
        if run.paths.log is not None:
            write_log(state.history, run.paths.log)
        ckpt.save(parts, state)
        names = ("Spearman", "Pearson r") if splits.targets.regression else ("auROC", "auPR")
        run.log.info(
            "epoch %d/%d  train loss %.4f  valid loss %.4f  %s %.4f  %s %.4f  lr %.2g  "
            "%.1fs%s", epoch, cfg.epochs, row["train_loss"], row["valid_loss"], names[0],
            row["valid_auroc"], names[1], row["valid_auprc"], row["lr"], row["seconds"],
            "  *" if state.es.best_epoch == epoch else "",
        )
        if state.es.stopped:
            metric = {"auprc": names[1], "auroc": names[0], "loss": "loss"}[cfg.select_on]
            run.log.info("early stopping: no better validation %s for %d epochs",
                         metric, cfg.patience)
        if run.on_epoch_end is not None:
            run.on_epoch_end(epoch, row)


def _run_epoch(epoch: int, state: _Progress, parts: _Parts, splits: _Splits,
               loaders: tuple[Iterable, Iterable], run: _Run) -> dict[str, float]:
    """Train epoch ``epoch``, validate, step the LR schedule and early stopping (keeping the
    best weights in ``state``); the epoch's log row."""
    cfg, info = run.cfg, run.info
    train_loader, valid_loader = loaders
    t0 = time.perf_counter()
    lr = float(parts.optimizer.param_groups[0]["lr"])
    train_loader.sampler.set_epoch(epoch)
    if run.world > 1:  # dropout masks per process, a function of (seed, epoch, rank)
        torch.manual_seed((cfg.seed * 1_000_003 + epoch * 1009 + info.rank) % 2**63)
    train_loss, seen = train_epoch(
        parts.net, train_loader, parts.optimizer, parts.criterion, run.device, run.precision,
        epoch=epoch, total=len(train_loader), progress=run.progress,
        on_batch_end=run.on_batch_end, padding=run.padding, trim=parts.step.trim,
        penalty=parts.penalty, after_step=parts.scheduler.after_step,
    )
    if run.world > 1:
        train_loss, valid_loss, auroc, auprc = _sync_epoch(
            parts.model, valid_loader, parts.criterion, run.device, run.precision, info,
            train_loss, seen, parts.step)
    else:
        valid_loss, auroc, auprc = _validate(parts.model, valid_loader, parts.criterion,
                                             run.device, run.precision, parts.step)
    if not math.isfinite(valid_loss):
        raise NonFiniteLossError(
            f"training diverged: the validation loss is {valid_loss} after epoch {epoch}; "
            "lower train.lr or check the inputs", epoch, None)
    mean_auroc = _nanmean(auroc[splits.scored_idx])
    mean_auprc = _nanmean(auprc[splits.scored_idx])
    score = selection_score(cfg.select_on, valid_loss, mean_auroc, mean_auprc)
    parts.scheduler.after_epoch(score)
    if state.es.record(epoch, mean_auroc, mean_auprc, auroc, auprc, cfg.patience, score):
        state.best_state = _cpu_state(parts.model)
    return {"epoch": epoch, "train_loss": train_loss, "valid_loss": valid_loss,
            "valid_auroc": mean_auroc, "valid_auprc": mean_auprc, "lr": lr,
            "seconds": time.perf_counter() - t0}


def _finish(state: _Progress, parts: _Parts, splits: _Splits, run: _Run, alphabet: str,
            t_start: float) -> TrainResult:
    """The best weights into a plain CPU model in eval mode; ``train_log.tsv`` (again: a
    resumed, already finished run has not rewritten it, and the workflow deletes the outputs
    of a failed job), ``model.pt`` and ``model.json`` written; the result."""
    if run.paths.log is not None:
        write_log(state.history, run.paths.log)
    assert state.best_state is not None
    model = parts.model
    if run.world > 1:  # a plain model again (no SyncBatchNorm), with the best weights
        model = build_model(parts.model_config, splits.alphabet_size,
                            splits.targets.n_outputs, splits.seq_len)
    model.load_state_dict(state.best_state)
    model = model.cpu().eval()
    meta = _meta(state, parts, splits, run, alphabet)
    _write_model(model, meta, run.paths)
    es = state.es
    names = ("Pearson r", "Spearman") if splits.targets.regression else ("auPR", "auROC")
    run.log.info("best epoch %d: valid %s %.4f, %s %.4f (%s); %.1fs", meta["best_epoch"],
                 names[0], meta["best_valid_auprc"], names[1], meta["best_valid_auroc"],
                 ", ".join(f"{t} {v:.3f}" for t, v in meta["valid_auroc_per_task"].items()),
                 time.perf_counter() - t_start)
    return TrainResult(
        model=model,
        history=copy.deepcopy(state.history),
        best_epoch=meta["best_epoch"],
        best_valid_auprc=meta["best_valid_auprc"],
        best_valid_auroc=meta["best_valid_auroc"],
        valid_auroc_per_task=list(es.best_auroc_per_task),
        valid_auprc_per_task=list(es.best_auprc_per_task),
        stopped_early=meta["stopped_early"],
        resumed_from=state.resumed_from,
        receptive_field=parts.receptive_field,
        parameters=parts.parameters,
        device=str(run.device),
        precision=run.precision,
        meta=meta,
    )


def _meta(state: _Progress, parts: _Parts, splits: _Splits, run: _Run,
          alphabet: str) -> dict[str, Any]:
    """``model.pt``'s ``meta``: plain types only (see the module docstring)."""
    es, targets = state.es, splits.targets
    outputs = targets.output_names
    return {
        "tasks": list(targets.tasks),
        "alphabet": alphabet,
        "alphabet_size": splits.alphabet_size,
        "seq_len": splits.seq_len,
        "arch": parts.model.config["arch"],
        "parameters": parts.parameters,
        "receptive_field": parts.receptive_field,
        "best_epoch": int(es.best_epoch),
        "epochs_run": int(state.epoch),
        "stopped_early": bool(es.stopped),
        "best_valid_auprc": float(es.best_auprc),
        "best_valid_auroc": float(es.best_auroc),
        "valid_auroc_per_task": {t: float(v) for t, v in zip(outputs, es.best_auroc_per_task,
                                                             strict=True)},
        "valid_auprc_per_task": {t: float(v) for t, v in zip(outputs, es.best_auprc_per_task,
                                                             strict=True)},
        "pos_weight": {t: float(w) for t, w in zip(_binary_tasks(targets), parts.pos_weight,
                                                   strict=True)},
        "targets": targets.to_dict(),
        "output_names": list(outputs),
        "padding": run.padding,
        "lengths": splits.lengths,
        "n_train": int(len(splits.train_x)),
        "n_valid": int(len(splits.valid_x)),
        "train": run.cfg.to_dict(),
        "device": str(run.device),
        "precision": run.precision,
        "processes": run.world,
    }


def _write_model(model: SequenceModel, meta: Mapping[str, Any], paths: TrainPaths) -> None:
    """``model.pt`` (atomically) and ``model.json`` with model.pt's SHA-256 (what
    :func:`seqcnn.models.read_checkpoint` checks it against)."""
    model_sha256 = None
    if paths.model is not None:
        model_sha256 = _atomic_save({**checkpoint(model), "meta": dict(meta)}, paths.model)
    if paths.summary is not None:
        summary = {"model_config": dict(model.config), **meta}
        if model_sha256 is not None:
            summary[SHA256_KEY] = model_sha256
        _atomic_write_text(json.dumps(summary, indent=2, default=float) + "\n", paths.summary)


__all__ = [
    "DEVICES",
    "LOG_COLUMNS",
    "POS_WEIGHTS",
    "PRECISIONS",
    "OPTIMIZERS",
    "SELECT_ON",
    "NonFiniteLossError",
    "TrainConfig",
    "TrainPaths",
    "TrainResult",
    "autocast",
    "class_weights",
    "predict",
    "predict_batches",
    "resolve_device",
    "resolve_num_workers",
    "resolve_precision",
    "seed_everything",
    "selection_score",
    "task_metrics",
    "train",
    "train_epoch",
    "write_log",
]
