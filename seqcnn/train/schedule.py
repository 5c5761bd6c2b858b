"""Learning-rate schedules of the training loop (``train.lr_schedule``).

- ``plateau`` (default): multiply the LR by ``lr_factor`` after ``lr_patience`` epochs
  without a better validation score, down to ``min_lr`` (``ReduceLROnPlateau``);
- ``constant``: the LR stays ``lr``;
- ``warmup_cosine``: per optimizer step, linear warm-up from ``lr / warmup_steps`` to ``lr``
  over ``warmup_epochs`` epochs, then cosine decay to ``min_lr`` at the last step of
  ``epochs`` epochs.

:class:`LRSchedule` wraps them behind two calls, ``after_step()`` (each optimizer step) and
``after_epoch(score)`` (validation score, greater is better), and a ``state_dict`` that the
checkpoint stores, so that a resumed run continues exactly where the killed one stopped.
"""

from __future__ import annotations

import math
from typing import Any

import torch

SCHEDULES = ("plateau", "constant", "warmup_cosine")


def warmup_cosine_factor(step: int, warmup_steps: int, total_steps: int,
                         min_ratio: float = 0.0) -> float:
    """LR multiplier before optimizer step ``step`` (0-based): ``(step + 1) / warmup_steps``
    during warm-up, then cosine from 1 down to ``min_ratio`` at step ``total_steps - 1``
    (and ``min_ratio`` after it)."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    decay = max(total_steps - warmup_steps - 1, 1)
    t = min((step - warmup_steps) / decay, 1.0)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * t))


class LRSchedule:
    """The LR schedule ``kind`` (one of :data:`SCHEDULES`) of ``optimizer``.

    ``steps_per_epoch`` and ``epochs`` size ``warmup_cosine``; ``lr_factor``,
    ``lr_patience`` and ``min_lr`` configure ``plateau`` (``min_lr`` is also the floor of the
    cosine). Scores passed to :meth:`after_epoch` are greater-is-better (pass ``-loss``).
    """

    def __init__(self, kind: str, optimizer: torch.optim.Optimizer, *, steps_per_epoch: int,
                 epochs: int, warmup_epochs: float = 0.0, lr_factor: float = 0.5,
                 lr_patience: int = 2, min_lr: float = 1e-6) -> None:
        if kind not in SCHEDULES:
            raise ValueError(f"train.lr_schedule must be one of {', '.join(SCHEDULES)}, "
                             f"got {kind!r}")
        self.kind = kind
        self.inner: Any = None
        if kind == "plateau":
            self.inner = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, mode="max", factor=lr_factor, patience=lr_patience, min_lr=min_lr)
        elif kind == "warmup_cosine":
            lr = float(optimizer.param_groups[0]["lr"])
            total = max(1, steps_per_epoch * epochs)
            warmup = min(round(warmup_epochs * steps_per_epoch), total - 1)
            ratio = min(min_lr / lr, 1.0)
            self.inner = torch.optim.lr_scheduler.LambdaLR(
                optimizer, lambda step: warmup_cosine_factor(step, warmup, total, ratio))

    def after_step(self) -> None:
        """Call after each optimizer step (``warmup_cosine`` moves on one step)."""
        if self.kind == "warmup_cosine":
            self.inner.step()

    def after_epoch(self, score: float) -> None:
        """Call after validation with the epoch's score (``plateau`` reads it)."""
        if self.kind == "plateau":
            self.inner.step(score)

    def state_dict(self) -> dict[str, Any]:
        """What resumes the schedule (with the optimizer's own state)."""
        return {"kind": self.kind,
                "inner": self.inner.state_dict() if self.inner is not None else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`; a state of another kind raises ``ValueError``."""
        if state.get("kind") != self.kind:
            raise ValueError(f"LR schedule state is for {state.get('kind')!r}, not {self.kind!r}")
        if self.inner is not None:
            self.inner.load_state_dict(state["inner"])


__all__ = ["SCHEDULES", "LRSchedule", "warmup_cosine_factor"]
