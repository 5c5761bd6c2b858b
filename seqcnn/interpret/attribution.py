"""Attribution maps: in-silico saturation mutagenesis, saliency, DeepLIFT/SHAP; their AUROC.

Every method returns **hypothetical** contributions ``(N, A, L)`` (in the model's dtype:
float32 for seqcnn models) for one model output ``target`` (a logit; per-position outputs
``(N, T, L)`` are summed over length): a value for every letter at every position, as
TF-MoDISco wants. Multiply by the one-hot
input (:func:`project`) for the contribution of the observed letter (for saliency that is
gradient × input).

- :func:`ism`: ``f(x with letter a at l) − f(x)``: 0 at the observed letter; every one of the
  ``L × (A − 1)`` mutants of a sequence is one row of a batch, and rows of several sequences
  share batches.
- :func:`saliency`: the gradient ``∂f/∂x``.
- :func:`deep_lift_shap`: tangermeme's DeepLIFT/SHAP with dinucleotide-shuffled references
  (averaged over ``n_shuffles``), hypothetical contributions.

**Gradient correction** (Majdandzic et al. 2023): one-hot inputs live on a simplex, so the
component of a gradient along ``(1, …, 1)`` at a position is off the data manifold and only
noise. For gradient-based maps (saliency, DeepLIFT/SHAP) the per-position mean over the
alphabet is subtracted (``correct=True``, the default): ``g[a, l] − mean_b g[b, l]``. ISM is
a finite difference between real sequences and is not corrected (``center=True`` gives the
same centring, as tangermeme does).

Shapes: one-hot ``X`` ``(N, A, L)`` numpy or torch (uint8 or float).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from seqcnn.models.layers import ExpActivation
from seqcnn.models.zoo import model_device

METHODS = ("ism", "saliency", "deeplift_shap")


def _dtype(model: nn.Module) -> torch.dtype:
    p = next(model.parameters(), None)
    return p.dtype if p is not None and p.is_floating_point() else torch.float32


def _tensor(X, device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    x = X if isinstance(X, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(X))
    return x.to(device=device, dtype=dtype)


def _select(out: torch.Tensor, target: int) -> torch.Tensor:
    """``(B,)`` scalar output per row: ``out[:, target]``, summed over any further axes."""
    y = out[:, target]
    return y.reshape(len(y), -1).sum(dim=1)


def correct_gradients(attr: np.ndarray) -> np.ndarray:
    """Subtract the per-position mean over the alphabet: ``(..., A, L)`` → same shape."""
    attr = np.asarray(attr)
    return attr - attr.mean(axis=-2, keepdims=True)


def project(attr: np.ndarray, X) -> np.ndarray:
    """Contribution of the observed letters: ``attr * X`` ``(N, A, L)``."""
    x = X.numpy() if isinstance(X, torch.Tensor) else np.asarray(X)
    return np.asarray(attr) * x.astype(np.float32)


@torch.no_grad()
def logits(model: nn.Module, X, batch_size: int = 512) -> np.ndarray:
    """Model outputs ``(N, T)`` (or ``(N, T, L)``) float32, batch by batch, eval mode."""
    model.eval()
    dev = model_device(model)
    out = [model(_tensor(X[s:s + batch_size], dev, _dtype(model))).float().cpu()
           for s in range(0, len(X), batch_size)]
    return torch.cat(out).numpy()


def top_positives(scores: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` highest-scoring positives (``labels == 1``; ambiguous 255 left
    out), best first ``(≤ n,)``."""
    scores, labels = np.asarray(scores), np.asarray(labels)
    pos = np.flatnonzero(labels == 1)
    order = np.argsort(-scores[pos], kind="stable")
    return pos[order[:n]]


# --------------------------------------------------------------------------- ISM


def length_mask(lengths, n: int, length: int, device: torch.device) -> torch.Tensor | None:
    """``(n, length)`` bool mask, ``True`` before each sequence's length; None for None."""
    if lengths is None:
        return None
    lengths = torch.as_tensor(np.asarray(lengths), device=device).reshape(-1)
    if len(lengths) != n:
        raise ValueError(f"lengths has {len(lengths)} entries for {n} sequences")
    return torch.arange(length, device=device)[None, :] < lengths[:, None]


@torch.no_grad()
def ism(
    model: nn.Module, X, target: int = 0, batch_size: int = 256, center: bool = False,
    *, lengths=None, fast: bool | None = None,
) -> np.ndarray:
    """In-silico saturation mutagenesis: ``(N, A, L)`` output changes.

    ``out[n, a, l] = f(X[n] with letter a at l) − f(X[n])`` for the ``target`` output; 0 at
    the observed letter. A column without a letter (N) is mutated to every letter.
    ``lengths`` ``(N,)`` (optional): only the first ``lengths[n]`` positions are real; the
    model gets the mask, padding is not mutated and its map is 0. ``center=True`` subtracts
    the per-position mean over letters.

    ``fast`` (default: whenever :func:`seqcnn.interpret.fastism.supports` the model) recomputes
    only the window of each layer a mutation can change (fastISM), ``batch_size × 8``
    mutants per batch; otherwise (``fast=False``, or any other model) mutants are built on
    the fly, ``batch_size`` per full forward pass, across sequences. Both give the same
    numbers up to float rounding.
    """
    from seqcnn.interpret import fastism

    if len(X) == 0:  # no sequences (a task without test positives): an empty map
        return np.zeros(tuple(X.shape), dtype=np.float32)
    model.eval()
    dev = model_device(model)
    x = _tensor(X, dev, _dtype(model))
    mask = length_mask(lengths, len(x), x.shape[-1], dev)
    if fast is None:
        fast = fastism.supports(model)
    elif fast and not fastism.supports(model):
        raise ValueError(f"fast ISM needs a seqcnn zoo model; got {type(model).__name__} "
                         "(pass fast=False or leave it None)")
    if fast:
        full = torch.ones(x.shape[0], x.shape[2], dtype=torch.bool, device=dev)
        out = fastism.fast_ism(model, x, full if mask is None else mask, target,
                                rows=8 * batch_size).cpu().numpy()
        return correct_gradients(out) if center else out
    out = _ism_plain(model, x, mask, target, batch_size).cpu().numpy()
    return correct_gradients(out) if center else out


def _ism_plain(model: nn.Module, x: torch.Tensor, mask: torch.Tensor | None, target: int,
               batch_size: int) -> torch.Tensor:
    """Batched full-forward ISM ``(N, A, L)`` (see :func:`ism`)."""

    def run(xb: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        return _select(model(xb) if mask is None else model(xb, mask[rows]), target)

    y0 = torch.cat([run(x[s:s + batch_size], torch.arange(s, min(s + batch_size, len(x))))
                    for s in range(0, len(x), batch_size)])
    absent = x == 0
    if mask is not None:
        absent &= mask[:, None, :]
    idx = absent.nonzero()  # (M, 3): sequence, letter, position of every mutant
    out = torch.zeros(x.shape, dtype=x.dtype, device=x.device)
    for s in range(0, len(idx), batch_size):
        n, a, pos = idx[s:s + batch_size].unbind(dim=1)
        rows = torch.arange(len(n), device=x.device)
        xb = x[n]
        xb[rows, :, pos] = 0
        xb[rows, a, pos] = 1
        out[n, a, pos] = run(xb, n) - y0[n]
    return out


# --------------------------------------------------------------------------- gradients


def saliency(
    model: nn.Module, X, target: int = 0, batch_size: int = 256, correct: bool = True
) -> np.ndarray:
    """Gradient of the ``target`` output w.r.t. the one-hot input: ``(N, A, L)``,
    gradient-corrected by default. Parameter gradients are left untouched."""
    model.eval()
    dev = model_device(model)
    out = []
    for s in range(0, len(X), batch_size):
        x = _tensor(X[s:s + batch_size], dev, _dtype(model)).requires_grad_(True)
        (g,) = torch.autograd.grad(_select(model(x), target).sum(), x)
        out.append(g.detach().cpu())
    grad = torch.cat(out).numpy()
    return correct_gradients(grad) if correct else grad


class DeepLiftView(nn.Module):
    """A per-position model's outputs ``(N, T, L)`` summed over length: ``(N, T)``, the shape
    DeepLIFT/SHAP explains. A thin wrapper: the model's own modules run (its max-pools are
    ``nn.MaxPool1d`` modules, so DeepLIFT's max-pool rule applies to them)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        return out.reshape(out.shape[0], out.shape[1], -1).sum(dim=-1)


def deeplift_view(model: nn.Module) -> nn.Module:
    """The model itself, or :class:`DeepLiftView` for per-position models (nothing copied)."""
    if getattr(model, "config", {}).get("per_position"):
        return DeepLiftView(model).eval()
    return model


def deep_lift_shap(
    model: nn.Module,
    X,
    target: int = 0,
    n_shuffles: int = 20,
    batch_size: int | None = None,
    random_state: int | None = 0,
    correct: bool = True,
    warning_threshold: float = 1e-3,
    *,
    fast: bool | None = None,
    group: int | None = None,
) -> np.ndarray:
    """DeepLIFT/SHAP hypothetical contributions ``(N, A, L)`` float32 (tangermeme), with
    ``n_shuffles`` dinucleotide-shuffled references per sequence (seeded by
    ``random_state``), gradient-corrected by default. Sequences with N raise ``ValueError``.

    The model itself is explained (per-position outputs summed over length, see
    :func:`deeplift_view`): its max-pools are ``nn.MaxPool1d`` modules, so DeepLIFT's
    max-pool rule applies; ``exp`` activations use the rescale rule. tangermeme's
    references and rules, computed by :mod:`seqcnn.interpret.deeplift` (``fast``, the default
    whenever :func:`seqcnn.interpret.deeplift.supports` the model: each sequence runs forward
    once, its references once without a graph, one backward pass per ``group`` references;
    ``batch_size`` sequence–reference pairs per batch, default by length) or by
    ``tangermeme.deep_lift_shap`` itself (``fast=False``, or any other model; ``batch_size``
    pairs, default 128). Both give the same numbers up to float rounding. Warns when the
    convergence deltas (sum of contributions vs. output difference) exceed
    ``warning_threshold``.
    """
    from tangermeme.deep_lift_shap import _nonlinear
    from tangermeme.deep_lift_shap import deep_lift_shap as _dls

    from seqcnn.interpret import deeplift

    model.eval()
    dev = model_device(model)
    x = _tensor(X, torch.device("cpu"), _dtype(model))
    bad = np.flatnonzero((x.sum(dim=1) == 0).any(dim=1).numpy())
    if bad.size:
        raise ValueError(
            f"DeepLIFT/SHAP needs sequences without N (all-zero columns) for its shuffled "
            f"references; rows {bad[:10].tolist()} ({bad.size} in all) have some: select "
            f"rows with (X.sum(axis=1) > 0).all(axis=1)"
        )
    view = deeplift_view(model)
    if fast is None:
        fast = deeplift.supports(view, (DeepLiftView,))
    elif fast and not deeplift.supports(view, (DeepLiftView,)):
        raise ValueError(f"fast DeepLIFT/SHAP needs a zoo CNN of ReLU/exp/max-pool and linear "
                         f"layers; got {type(model).__name__} (pass fast=False or leave it None)")
    if fast:
        attr = _deep_lift_shap_fast(view, x, target, n_shuffles, batch_size, random_state,
                                    warning_threshold, dev, group)
        return correct_gradients(attr) if correct else attr
    attr = _dls(
        view, x, target=target, batch_size=batch_size or 128,
        n_shuffles=n_shuffles, hypothetical=True, random_state=random_state,
        additional_nonlinear_ops={ExpActivation: _nonlinear},
        warning_threshold=warning_threshold, device=dev, verbose=False,
    )
    attr = attr.detach().float().cpu().numpy()
    return correct_gradients(attr) if correct else attr


def shuffled_references(x: torch.Tensor, n_shuffles: int,
                        random_state: int | None) -> torch.Tensor:
    """Dinucleotide-shuffled references ``(N, n_shuffles, A, L)`` of one-hot ``x`` ``(N, A,
    L)``, drawn as tangermeme's ``deep_lift_shap`` draws them (shuffle ``k`` of every sequence
    seeded ``random_state + k``), so that its maps and ours share their references."""
    from tangermeme.ersatz import dinucleotide_shuffle

    seeds = None if random_state is None else [random_state + k for k in range(n_shuffles)]
    rows = x.repeat_interleave(n_shuffles, dim=0)
    refs = dinucleotide_shuffle(rows, n=1, random_state=None if seeds is None
                                else seeds * len(x))[:, 0]
    return refs.reshape(len(x), n_shuffles, *x.shape[1:])


def _pair_budget(length: int) -> int:
    """Default sequence–reference pairs per pass of the fast path: 40,000 positions (on 2
    CPU cores, 10 pairs of 1,000 bp ran 1.2–1.5× slower; 80 no faster)."""
    return max(1, 40_000 // max(length, 1))


def _deep_lift_shap_fast(view: nn.Module, x: torch.Tensor, target: int, n_shuffles: int,
                         batch_size: int | None, random_state: int | None,
                         warning_threshold: float, dev: torch.device,
                         group: int | None) -> np.ndarray:
    """:func:`deep_lift_shap` by :func:`seqcnn.interpret.deeplift.deep_lift_shap_batch`:
    ``(N, A, L)`` float32, not corrected. References as tangermeme draws them."""
    from seqcnn.interpret.deeplift import deep_lift_shap_batch

    pairs = batch_size or _pair_budget(x.shape[-1])
    n = min(len(x), pairs)
    group = group or max(1, pairs // n)
    out = np.zeros(tuple(x.shape), dtype=np.float32)
    for s in range(0, len(x), n):
        xb = x[s:s + n]
        refs = shuffled_references(xb, n_shuffles, random_state).to(dev, x.dtype)
        attr = deep_lift_shap_batch(view, xb.to(dev), refs, target, group, warning_threshold)
        out[s:s + len(xb)] = attr.float().cpu().numpy()
    return out


# --------------------------------------------------------------------------- all at once


def attributions(
    model: nn.Module,
    X,
    methods: Sequence[str] = METHODS,
    target: int = 0,
    batch_size: int = 256,
    n_shuffles: int = 20,
    random_state: int = 0,
    correct: bool = True,
) -> dict[str, np.ndarray]:
    """``{method: (N, A, L) float32}`` for ``methods`` among ``ism``, ``saliency``,
    ``deeplift_shap`` (hypothetical; gradient-based ones corrected when ``correct``).
    No sequences (a task without test positives) give empty ``(0, A, L)`` maps."""
    out = {}
    if len(X) == 0:
        unknown = [m for m in methods if m not in METHODS]
        if unknown:
            raise ValueError(f"unknown method {unknown[0]!r}; choose from {', '.join(METHODS)}")
        return {m: np.zeros(tuple(X.shape), dtype=np.float32) for m in methods}
    for method in methods:
        if method == "ism":
            out[method] = ism(model, X, target, batch_size)
        elif method == "saliency":
            out[method] = saliency(model, X, target, batch_size, correct)
        elif method == "deeplift_shap":
            out[method] = deep_lift_shap(model, X, target, n_shuffles, batch_size,
                                         random_state, correct)
        else:
            raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    return out


def save_attributions(
    path: str | os.PathLike,
    X,
    attrs: Mapping[str, np.ndarray],
    index: np.ndarray | None = None,
    target: int = 0,
) -> None:
    """Write ``.npz``: ``onehot`` (uint8 ``(N, A, L)``), ``index`` (rows of the split they came
    from), ``target``, and one ``(N, A, L)`` float32 array per method name."""
    x = X.numpy() if isinstance(X, torch.Tensor) else np.asarray(X)
    index = np.arange(len(x)) if index is None else np.asarray(index)
    arrays = {k: np.asarray(v, dtype=np.float32) for k, v in attrs.items()}
    np.savez_compressed(path, onehot=x.astype(np.uint8), index=index,
                        target=np.int64(target), **arrays)


# --------------------------------------------------------------------------- evaluation


def interpretability_auroc(
    attr: np.ndarray, X, mask: np.ndarray, score: str = "observed"
) -> float:
    """AUROC of positions inside planted motifs (``mask`` ``(N, L)`` True) against the rest.

    Each position is scored by ``score``: ``observed`` — the attribution of the observed
    letter, ``sum_a attr·x``; ``abs`` — its absolute value; ``l2`` — the L2 norm of the
    hypothetical attributions over the alphabet. Positions without a letter are skipped.
    """
    attr = np.asarray(attr, dtype=np.float64)
    x = (X.numpy() if isinstance(X, torch.Tensor) else np.asarray(X)).astype(np.float64)
    mask = np.asarray(mask, dtype=bool)
    if attr.shape != x.shape or mask.shape != (x.shape[0], x.shape[2]):
        raise ValueError(f"shapes attr {attr.shape}, X {x.shape}, mask {mask.shape} disagree")
    if score == "observed":
        s = (attr * x).sum(axis=1)
    elif score == "abs":
        s = np.abs((attr * x).sum(axis=1))
    elif score == "l2":
        s = np.sqrt((attr**2).sum(axis=1))
    else:
        raise ValueError(f"unknown score {score!r}; choose observed, abs or l2")
    valid = x.sum(axis=1) > 0
    y = mask[valid]
    if y.all() or not y.any():
        raise ValueError("the mask needs positions both inside and outside motifs")
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s[valid]))


def motif_mask(
    truth: pd.DataFrame, regions: pd.DataFrame, seq_len: int | None = None
) -> np.ndarray:
    """Planted-motif positions ``(N, L)`` bool of the sequences of ``regions``.

    ``truth`` has ``chrom``, ``start``, ``end`` (0-based, half-open, as from
    :func:`seqcnn.simulate.genome.simulate_dataset`); ``regions`` has ``chrom``, ``start``, ``end``
    and optionally ``strand`` (``-``: the sequence is the reverse complement, so positions
    are mirrored). ``L`` is ``seq_len`` or the longest region; motifs are clipped to regions.
    """
    starts_r = regions["start"].to_numpy(np.int64)
    ends_r = regions["end"].to_numpy(np.int64)
    length = int(seq_len if seq_len is not None else (ends_r - starts_r).max(initial=0))
    strands = (regions["strand"].astype(str).to_numpy() if "strand" in regions
               else np.full(len(regions), "+"))
    out = np.zeros((len(regions), length), dtype=bool)
    by_chrom = {c: g.sort_values("start") for c, g in truth.groupby("chrom", sort=False)}
    max_w = int((truth["end"] - truth["start"]).max()) if len(truth) else 0
    for i, chrom in enumerate(regions["chrom"].astype(str).to_numpy()):
        g = by_chrom.get(chrom)
        if g is None:
            continue
        ts, te = g["start"].to_numpy(np.int64), g["end"].to_numpy(np.int64)
        lo = np.searchsorted(ts, starts_r[i] - max_w)
        hi = np.searchsorted(ts, ends_r[i])
        for s, e in zip(ts[lo:hi], te[lo:hi], strict=True):
            s, e = max(s, starts_r[i]) - starts_r[i], min(e, ends_r[i]) - starts_r[i]
            if e <= s:
                continue
            if strands[i] == "-":
                span = ends_r[i] - starts_r[i]
                s, e = span - e, span - s
            out[i, max(s, 0):min(e, length)] = True
    return out
