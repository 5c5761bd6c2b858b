"""The design objective and how a model scores sequences for it.

A model's outputs are logits ``(n, T)``. For DNA both strands are scored and their logits
averaged (the scoring of variants and evaluation), unless ``forward_only`` (a model of an
oriented dataset: stranded regions, oriented sequence sets, where a sequence and its reverse
complement are different examples; evaluation then scores one strand too); RNA and protein
are read forward only.
The objective of one sequence, from its logits ``z``:

- ``maximize``: ``z[task]``; ``minimize``: ``−z[task]``;
- ``target`` value ``v`` (a probability): ``−|z[task] − logit(v)|``;
- minus ``low_weight × Σ softplus(z[t])`` over the tasks kept low (``softplus(z) =
  −log(1 − p)``: the loss of calling the sequence negative for ``t``, near 0 once ``p`` is
  small). Other tasks are ignored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from seqcnn.models.strands import sequence_logits
from seqcnn.models.zoo import model_device

GOALS = ("maximize", "minimize", "target")


@dataclass(frozen=True)
class Objective:
    """Task indices into the model's outputs and how each counts (module docstring)."""

    task: int
    goal: str = "maximize"
    target: float | None = None
    keep_low: tuple[int, ...] = ()
    low_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.goal not in GOALS:
            raise ValueError(f"goal must be one of {', '.join(GOALS)}, got {self.goal!r}")
        if self.goal == "target" and (self.target is None or not 0 < self.target < 1):
            raise ValueError(f"goal target needs a value strictly between 0 and 1, got "
                             f"{self.target!r}")
        if self.task in self.keep_low:
            raise ValueError("the designed task cannot also be kept low")

    @property
    def tasks(self) -> tuple[int, ...]:
        """The output indices the objective reads."""
        return (self.task, *self.keep_low)

    def score(self, logits: Mapping[int, np.ndarray | torch.Tensor]):
        """The objective from logits per task index (arrays of any one shape, numpy or
        torch) → that shape."""
        z = logits[self.task]
        lib = torch if isinstance(z, torch.Tensor) else np
        if self.goal == "maximize":
            out = z * 1.0
        elif self.goal == "minimize":
            out = -z
        else:
            out = -lib.abs(z - math.log(self.target / (1 - self.target)))
        for t in self.keep_low:
            zt = logits[t]
            soft = (torch.nn.functional.softplus(zt) if lib is torch
                    else np.logaddexp(0.0, zt))
            out = out - self.low_weight * soft
        return out

    def score_logits(self, logits: np.ndarray | torch.Tensor):
        """The objective of logits ``(n, T)`` → ``(n,)``."""
        return self.score({t: logits[:, t] for t in self.tasks})


def both_strands(alphabet: str, forward_only: bool = False) -> bool:
    """Whether sequences of ``alphabet`` are scored on both strands: DNA, not
    ``forward_only``."""
    return alphabet == "dna" and not forward_only


def forward_logits(model: nn.Module, x: torch.Tensor, alphabet: str, *,
                   forward_only: bool = False) -> torch.Tensor:
    """Differentiable logits ``(n, T)`` of one-hot ``x`` ``(n, A, L)`` (float), both strands
    averaged where :func:`both_strands` (:func:`seqcnn.models.strands.sequence_logits`)."""
    return sequence_logits(model, x, both_strands(alphabet, forward_only))


@torch.no_grad()
def model_logits(model: nn.Module, x: np.ndarray, alphabet: str,
                 batch_size: int = 256, *, forward_only: bool = False) -> np.ndarray:
    """Logits ``(n, T)`` float64 of one-hot ``x`` ``(n, A, L)`` (:func:`forward_logits`)."""
    model.eval()
    dev = model_device(model)
    out = [forward_logits(model, torch.as_tensor(np.ascontiguousarray(x[s:s + batch_size]),
                                                 dtype=torch.float32, device=dev), alphabet,
                          forward_only=forward_only)
           .double().cpu() for s in range(0, len(x), batch_size)]
    if not out:
        return np.zeros((0, 0))
    return torch.cat(out).numpy()


def probabilities(logits: np.ndarray) -> np.ndarray:
    """``sigmoid(logits)``, same shape."""
    return 1 / (1 + np.exp(-np.asarray(logits, dtype=np.float64)))


@dataclass
class Design:
    """What a design method returns.

    ``x``: designed one-hot ``(n, A, L)`` uint8; ``start``: the starting sequences, same
    shape; ``trajectory``: one row per round and sequence (``round``, ``sequence`` index,
    ``objective``, ``edits``, ``logit_<t>`` per task index the model has); ``inserted``:
    for the motif method, one row per inserted motif (``sequence``, ``round``, ``motif``,
    ``strand``, ``start``).
    """

    x: np.ndarray
    start: np.ndarray
    trajectory: pd.DataFrame
    inserted: pd.DataFrame = field(default_factory=pd.DataFrame)


def trajectory_rows(round_: int, logits: np.ndarray, objective: np.ndarray,
                    edits: np.ndarray, index: Sequence[int] | None = None) -> pd.DataFrame:
    """One trajectory row per sequence of one round (:class:`Design`)."""
    idx = np.arange(len(logits)) if index is None else np.asarray(index)
    df = pd.DataFrame({"round": round_, "sequence": idx, "objective": objective,
                       "edits": edits})
    for t in range(logits.shape[1]):
        df[f"logit_{t}"] = logits[:, t]
    return df


__all__ = ["GOALS", "Design", "Objective", "both_strands", "forward_logits", "model_logits",
           "probabilities", "trajectory_rows"]
