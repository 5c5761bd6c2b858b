"""Ensembles: k independently trained models of one config whose logits are averaged.

A model config may carry ``ensemble: {members: k, vary: seed | fold}``: the workflow trains k
members (seeds ``train.seed + i``, ``i = 0 … k-1``) as separate jobs; with ``vary: fold``
member ``i`` also trains on the pooled train and valid rows outside genomic fold ``i`` and
chooses its epoch on fold ``i`` (:mod:`seqcnn.data.folds`; the test split is in no fold).
The members are combined into one ``model.pt`` whose module is an :class:`Ensemble`. Its
output is the exact arithmetic mean of the members' **logits** ``(N, T)`` (or
``(N, T, L)``), so the ensemble is a drop-in model: ``predict`` turns the mean logit into a
probability exactly as for one model, and attributions, variant effects and design read one
output. (The mean of logits is the geometric mean of the members' odds; it equals the mean
of probabilities only to first order.)

Filter-level interpretation needs one first layer: :meth:`Ensemble.filter_member` (the first
member) stands for the ensemble there, its filters' influence measured on that member
(filters of independently trained networks do not average).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from torch import Tensor, nn

from seqcnn.data.folds import Folds, cache_folds, load_fold

#: ``arch`` of an ensemble checkpoint's config.
ENSEMBLE_ARCH = "ensemble"
#: What may vary between members (``ensemble.vary``): the seed alone, or the seed and the
#: genomic fold each member validates on.
VARY = ("seed", "fold")


class Ensemble(nn.Module):
    """The mean of ``members``' logits. ``members`` are built models (one arch, one output
    shape); ``forward(x (N, A, L), mask (N, L) | None)`` returns ``(N, T)`` logits."""

    def __init__(self, members: Sequence[nn.Module]):
        super().__init__()
        if len(members) < 1:
            raise ValueError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)
        first = dict(getattr(members[0], "config", {}))
        self.config: dict[str, Any] = {
            **first, "arch": ENSEMBLE_ARCH,
            "members": [dict(getattr(m, "config", {})) for m in members],
        }

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Mean logits: ``(m_0(x) + … + m_{k-1}(x)) / k``, summed in member order."""
        out = self.members[0](x, mask)
        for member in self.members[1:]:
            out = out + member(x, mask)
        return out / len(self.members)

    @property
    def receptive_field(self) -> int:
        """The widest member's receptive field (positions)."""
        return max(int(m.receptive_field) for m in self.members)

    def filter_member(self) -> nn.Module:
        """The member whose first-layer filters stand for the ensemble's (the first)."""
        return self.members[0]


def build_ensemble(config: Mapping[str, Any]) -> Ensemble:
    """An untrained :class:`Ensemble` from ``{"arch": "ensemble", "members": [configs]}``
    (each config as :func:`seqcnn.models.zoo.build_model` takes it, sizes included)."""
    from seqcnn.models.zoo import build_model

    members = config.get("members")
    if not isinstance(members, Sequence) or not members:
        raise ValueError("an ensemble config needs 'members': a non-empty list of model configs")
    return Ensemble([build_model(c) for c in members])


def ensemble_checkpoint(members: Sequence[Mapping[str, Any]],
                        meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One checkpoint ``{"config", "state_dict", "meta"}`` from the members' checkpoints
    (as :func:`seqcnn.models.zoo.read_checkpoint` returns them), loadable with
    ``torch.load(weights_only=True)`` and :func:`seqcnn.models.zoo.load_model`. ``meta``
    defaults to the first member's."""
    state: dict[str, Tensor] = {}
    for i, ckpt in enumerate(members):
        state |= {f"members.{i}.{k}": v for k, v in ckpt["state_dict"].items()}
    out = {"config": {"arch": ENSEMBLE_ARCH, "members": [dict(c["config"]) for c in members]},
           "state_dict": state}
    chosen = meta if meta is not None else members[0].get("meta")
    if chosen is not None:
        out["meta"] = dict(chosen)
    return out


def load_ensemble(paths: Sequence[str | os.PathLike]) -> Ensemble:
    """The :class:`Ensemble` of the models in ``paths`` (``model.pt`` files), in eval mode on
    the CPU; a bad file raises :class:`~seqcnn.errors.CheckpointError` naming it."""
    from seqcnn.models.zoo import load_model

    return Ensemble([load_model(p) for p in paths]).eval()


def member_model_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A member's model options: the ensemble's without its ``ensemble`` key."""
    return {k: v for k, v in config.items() if k != "ensemble"}


def member_train_config(train: Mapping[str, Any], member: int,
                        vary: str = "seed") -> dict[str, Any]:
    """Member ``member``'s training options: ``seed`` is ``train.seed + member`` (both
    kinds of ``vary``; the fold is :func:`member_fold`)."""
    check_vary(vary)
    return {**train, "seed": int(train["seed"]) + int(member)}


def member_fold(ensemble: Mapping[str, Any], member: int) -> dict[str, int] | None:
    """``{"k": members, "held_out": member}`` for a ``vary: fold`` ensemble (what
    :func:`seqcnn.data.folds.load_fold` takes), None for ``vary: seed``."""
    if check_vary(ensemble.get("vary", "seed")) != "fold":
        return None
    return {"k": int(ensemble["members"]), "held_out": int(member)}


def check_vary(vary: str) -> str:
    """``vary`` if it is one of :data:`VARY`, else ``ValueError``."""
    if vary not in VARY:
        raise ValueError(f"ensemble.vary {vary!r}: one of {', '.join(VARY)}")
    return vary


def out_of_fold(members: Sequence[nn.Module], cache_dir: str | os.PathLike,
                **predict_kw: Any) -> tuple[np.ndarray, np.ndarray, Folds]:
    """A ``vary: fold`` ensemble's out-of-fold predictions: ``(probs (N, T), labels (N, T),
    folds)`` over the pooled train and valid rows of ``cache_dir`` (train rows first), each
    row scored by the one member that held it out (member ``i`` scores fold ``i``).
    ``predict_kw`` go to :func:`seqcnn.train.loop.predict`."""
    from seqcnn.train.loop import predict

    folds = cache_folds(cache_dir, len(members))
    probs: np.ndarray | None = None
    labels: np.ndarray | None = None
    for i, member in enumerate(members):
        rows = folds.rows(i, "valid")
        part = load_fold(cache_dir, folds.k, i, "valid", folds)
        p = predict(member, part.onehot, lengths=part.lengths, **predict_kw)
        if probs is None:
            probs = np.full((len(folds.fold), *p.shape[1:]), np.nan, dtype=p.dtype)
            labels = np.zeros((len(folds.fold), *part.labels.shape[1:]), part.labels.dtype)
        probs[rows], labels[rows] = p, part.labels
    return probs, labels, folds


def mean_logits(outputs: Sequence[Tensor]) -> Tensor:
    """The mean of equally shaped logits, summed in order then divided (what
    :meth:`Ensemble.forward` computes)."""
    out = outputs[0]
    for o in outputs[1:]:
        out = out + o
    return out / len(outputs)


__all__ = ["ENSEMBLE_ARCH", "VARY", "Ensemble", "build_ensemble", "ensemble_checkpoint",
           "check_vary", "load_ensemble", "mean_logits", "member_fold", "member_model_config",
           "member_train_config", "out_of_fold"]
