"""Attributions of quantitative-track models: one scalar per task for each head.

A :class:`~seqcnn.models.profile.ProfileModel` maps one-hot ``x`` ``(N, A, L)`` to
``(profile_logits (N, T, P), log_counts (N, T))``. Attribution methods explain one scalar
per row, so each head gets a view ``(N, A, L)`` → ``(N, T)``:

- **count head** (:class:`CountOutput`): ``log_counts[:, t]``, the predicted log total.
- **profile head** (:class:`ProfileOutput`): BPNet's weighted profile objective (Avsec et
  al. 2021; bpnet-lite's ``ProfileWrapper``), per task::

      z_c = z - mean_p(z)               # centred logits of task t, (P,)
      w   = softmax(z).detach()         # the predicted profile, held constant
      out = sum_p w_p * z_c,p

  The centring (bpnet-lite subtracts the mean logit too) leaves ``out`` blind to a shift of
  all logits, which the profile (a softmax) ignores. Its gradient is ``sum_p (w_p - 1/P)
  ∂z_p/∂x``: positions weigh by how much of the predicted profile they hold. bpnet-lite
  flattens all tracks into one softmax; here each task has its own, as the loss has.

DeepLIFT/SHAP (:func:`track_deep_lift_shap`) runs the fast hook-free path of
:mod:`seqcnn.interpret.deeplift` whenever the model is a dilated trunk (ReLU or exp
activations, ``same`` convolutions, the heads' averages and convolutions: all linear or
rule layers); in the profile view the weights ``w`` are those of the *sequence* for its
references too, so DeepLIFT explains the linear functional ``w(x)·z_c(·)`` of the trunk and
its contributions add up to ``w(x)·(z_c(x) − z_c(ref))``. Other trunks (hybrid: attention,
layer norm, GELU) go to tangermeme, with its rules for each (the hybrid's contractions and
softmax are ``BilinearOp`` and ``nn.Softmax`` modules) and the same ``w`` for a sequence and
its references (:class:`ProfileOutput` ``paired``), so there too contributions add up. ISM
(:func:`track_ism`) is the finite difference of the view's value (each mutant its own
``w``). Maps are hypothetical contributions ``(N, A, L)`` float32, as for binary models.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from seqcnn.errors import ConfigError
from seqcnn.models.profile import (
    BinnedModel,
    CountHead,
    ProfileHead,
    ProfileModel,
    ReverseComplementAverage,
    build_track_model,
)
from seqcnn.models.zoo import Trunk, read_checkpoint

HEADS = ("count", "profile")


# --------------------------------------------------------------------------- views


def _outputs(model: nn.Module, x: Tensor) -> tuple[Tensor, Tensor]:
    out = model(x)
    if not isinstance(out, tuple) or len(out) != 2:
        raise ValueError(f"{type(model).__name__} does not return (profile_logits, "
                         "log_counts): only profile models have count and profile heads")
    return out


class CountOutput(nn.Module):
    """Count head of a profile model: ``x`` ``(N, A, L)`` → ``log_counts`` ``(N, T)``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> Tensor:
        return _outputs(self.model, x)[1]


def profile_objective(logits: Tensor, weights: Tensor | None = None) -> Tensor:
    """BPNet's weighted profile objective ``(N, T, P)`` → ``(N, T)``: ``sum_p w_p (z_p −
    mean_p z)`` with ``w = softmax_p(z)`` detached (or ``weights`` ``(N, T, P)``, given)."""
    centred = logits - logits.mean(dim=-1, keepdim=True)
    if weights is None:
        weights = torch.softmax(logits.detach(), dim=-1)
    return (weights * centred).sum(dim=-1)


class ProfileOutput(nn.Module):
    """Profile head of a profile model: ``x`` ``(N, A, L)`` → :func:`profile_objective`
    ``(N, T)``. With ``weights`` set (``(N, T, P)``, row ``i`` for input row ``i``) those
    weights are used instead of each row's own softmax (the fast DeepLIFT path sets the
    sequence's weights for its references). With ``paired`` set, the batch is tangermeme's
    ``[sequences; references]`` (row ``i + N/2`` a reference of row ``i``) and both halves
    use the sequences' softmax."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.weights: Tensor | None = None
        self.paired = False

    def forward(self, x: Tensor) -> Tensor:
        logits = _outputs(self.model, x)[0]
        weights = self.weights
        if self.paired:
            half = len(x) // 2
            weights = torch.softmax(logits[:half].detach(), dim=-1).repeat(2, 1, 1)
        return profile_objective(logits, weights)


def head_view(model: nn.Module, head: str) -> CountOutput | ProfileOutput:
    """The ``(N, A, L)`` → ``(N, T)`` view of ``head`` (``count`` or ``profile``), eval mode."""
    if isinstance(model, BinnedModel):
        raise ConfigError("attributions of a binned model (target: binned) are not "
                          "supported yet; use target: profile for count/profile heads")
    if head not in HEADS:
        raise ConfigError(f"unknown head {head!r}; choose one of {', '.join(HEADS)}")
    view = CountOutput(model) if head == "count" else ProfileOutput(model)
    return view.eval()


def is_track_model(model: nn.Module) -> bool:
    """Whether ``model`` is a track model (profile or binned heads), maybe rc-averaged."""
    inner = model.model if isinstance(model, ReverseComplementAverage) else model
    return isinstance(inner, ProfileModel | BinnedModel)


def load_any_model(path: str | os.PathLike) -> nn.Module:
    """A ``model.pt`` as a zoo model, or as a track model when its config has ``target``
    (:func:`seqcnn.models.profile.build_track_model`); eval mode, CPU."""
    ckpt = read_checkpoint(path)
    config = ckpt["config"]
    if "target" not in config:
        from seqcnn.models.zoo import load_model

        return load_model(path)
    model = build_track_model(config)
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()


# --------------------------------------------------------------------------- predictions


@torch.no_grad()
def head_values(model: nn.Module, X, head: str = "count", batch_size: int = 128) -> np.ndarray:
    """The scalar of ``head`` per sequence and task ``(N, T)`` float32."""
    from seqcnn.interpret.attribution import _dtype, _tensor
    from seqcnn.models.zoo import model_device

    view = head_view(model, head)
    dev = model_device(model)
    out = [view(_tensor(X[s:s + batch_size], dev, _dtype(model))).float().cpu()
           for s in range(0, len(X), batch_size)]
    n_tasks = model.config["n_tracks"] if hasattr(model, "config") else 0
    return torch.cat(out).numpy() if out else np.zeros((0, n_tasks), np.float32)


# --------------------------------------------------------------------------- attributions

#: module types DeepLIFT's fast path may walk through in a track model (linear or routing)
TRACK_MODULES = (CountOutput, ProfileOutput, ProfileModel, Trunk, ProfileHead, CountHead,
                 ReverseComplementAverage)


def supports_fast(model: nn.Module, head: str = "count") -> bool:
    """Whether :func:`track_deep_lift_shap` takes the fast path for ``model``."""
    from seqcnn.interpret import deeplift

    return deeplift.supports(head_view(model, head), TRACK_MODULES)


def track_deep_lift_shap(
    model: nn.Module, X, head: str = "count", target: int = 0, n_shuffles: int = 20,
    random_state: int | None = 0, correct: bool = True, warning_threshold: float = 1e-3,
    *, batch_size: int | None = None, fast: bool | None = None,
) -> np.ndarray:
    """DeepLIFT/SHAP hypothetical contributions ``(N, A, L)`` float32 of task ``target`` of
    ``head`` (see the module docstring), ``n_shuffles`` dinucleotide-shuffled references per
    sequence seeded as :func:`seqcnn.interpret.attribution.deep_lift_shap` seeds them,
    gradient-corrected when ``correct``. ``fast`` (default: when :func:`supports_fast`) uses
    the hook-free path; otherwise tangermeme."""
    from tangermeme.deep_lift_shap import _nonlinear
    from tangermeme.deep_lift_shap import deep_lift_shap as _dls

    from seqcnn.interpret.attribution import (
        _dtype,
        _pair_budget,
        _tensor,
        correct_gradients,
        shuffled_references,
    )
    from seqcnn.interpret.deeplift import _divisor_at_most, deep_lift_shap_batch
    from seqcnn.models.layers import ExpActivation
    from seqcnn.models.zoo import model_device

    model.eval()
    view = head_view(model, head)
    dev = model_device(model)
    x = _tensor(X, torch.device("cpu"), _dtype(model))
    if len(x) == 0:
        return np.zeros(tuple(x.shape), np.float32)
    bad = np.flatnonzero((x.sum(dim=1) == 0).any(dim=1).numpy())
    if bad.size:
        raise ValueError(f"DeepLIFT/SHAP needs sequences without N; rows {bad[:10].tolist()} "
                         f"({bad.size} in all) have some")
    if fast is None:
        fast = supports_fast(model, head)
    if not fast:
        view.paired = isinstance(view, ProfileOutput)  # the sequence's weights, as below
        try:
            attr = _dls(view, x, target=target, batch_size=batch_size or 128,
                        n_shuffles=n_shuffles, hypothetical=True, random_state=random_state,
                        additional_nonlinear_ops={ExpActivation: _nonlinear},
                        warning_threshold=warning_threshold, device=dev, verbose=False)
        finally:
            view.paired = False
        attr = attr.detach().float().cpu().numpy()
        return correct_gradients(attr) if correct else attr
    pairs = batch_size or _pair_budget(x.shape[-1])
    n = min(len(x), pairs)
    group = max(1, pairs // n)
    m = _divisor_at_most(n_shuffles, group)
    out = np.zeros(tuple(x.shape), dtype=np.float32)
    for s in range(0, len(x), n):
        xb = x[s:s + n]
        refs = shuffled_references(xb, n_shuffles, random_state).to(dev, x.dtype)
        xb = xb.to(dev)
        if isinstance(view, ProfileOutput):  # the sequence's weights, for its references too
            with torch.no_grad():
                w = torch.softmax(_outputs(model, xb)[0], dim=-1)
            view.weights = w.repeat_interleave(m, dim=0)
        try:
            attr = deep_lift_shap_batch(view, xb, refs, target, group, warning_threshold)
        finally:
            if isinstance(view, ProfileOutput):
                view.weights = None
        out[s:s + len(xb)] = attr.float().cpu().numpy()
    return correct_gradients(out) if correct else out


def track_ism(model: nn.Module, X, head: str = "count", target: int = 0,
              batch_size: int = 256, center: bool = True) -> np.ndarray:
    """ISM ``(N, A, L)`` float32 of task ``target`` of ``head``: ``value(mutant) −
    value(x)``, centred per position when ``center``."""
    from seqcnn.interpret.attribution import ism

    return ism(head_view(model, head), X, target, batch_size, center=center, fast=False)


def track_attributions(
    model: nn.Module, X, heads: Sequence[str] = HEADS, target: int = 0,
    n_shuffles: int = 20, random_state: int = 0, n_ism: int = 0, chunk: int = 32,
    ism_heads: Sequence[str] = ("count",), progress: Callable[[str], None] | None = None,
) -> dict[str, np.ndarray]:
    """``{"<head>.deeplift_shap": (N, A, L)}`` float32 for each of ``heads`` and
    ``{"<head>.ism": (n_ism, A, L)}`` for those also in ``ism_heads`` (ISM costs three
    forward passes per position: a hybrid's attention makes that ~10 s a 400 bp sequence on
    2 cores), ``chunk`` sequences of ``X`` (maybe a memory-map) at a time; ISM (centred) on
    the first ``n_ism`` sequences only. ``progress`` (e.g. a logger's ``info``) hears after
    every chunk."""
    from seqcnn.interpret.streaming import map_chunks

    out = {}
    for head in heads:
        out[f"{head}.deeplift_shap"] = map_chunks(
            lambda x, h=head: track_deep_lift_shap(model, x, h, target, n_shuffles,
                                                   random_state),
            X, len(X), chunk, progress, f"{head} head DeepLIFT/SHAP")
        if n_ism and head in ism_heads:
            out[f"{head}.ism"] = map_chunks(
                lambda x, h=head: track_ism(model, x, h, target), X, min(n_ism, len(X)),
                chunk, progress, f"{head} head ISM")
    return out


__all__ = [
    "HEADS",
    "CountOutput",
    "ProfileOutput",
    "head_values",
    "head_view",
    "is_track_model",
    "load_any_model",
    "profile_objective",
    "supports_fast",
    "track_attributions",
    "track_deep_lift_shap",
    "track_ism",
]
