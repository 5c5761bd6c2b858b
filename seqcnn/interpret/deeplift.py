"""DeepLIFT/SHAP without hooks: tangermeme's rules, one forward pass per sequence.

tangermeme's ``deep_lift_shap`` runs every sequence–reference pair as two rows of one batch
(forward and backward through both) and applies its rules in backward hooks that clone each
nonlinear layer's input and output. For the zoo's convolutional models the same numbers come
cheaper:

- the references are drawn as tangermeme draws them (``dinucleotide_shuffle``, reference
  ``k`` of every sequence seeded ``random_state + k``), all pairs of a batch in one call;
- each sequence runs forward once, with a graph, as ``m`` copies (``m`` divides ``S``);
- then ``S / m`` passes: ``m`` references of every sequence run forward without a graph
  (``torch.inference_mode``), each rule layer turning its two activations into per-pair
  multipliers, and one backward pass through the sequences' graph multiplies the gradient
  by them at every rule layer. A pass holds ``n·m`` rows of multipliers, not ``n·S``.

Only the sequence half of each pair goes backward. That is exact because below the output
every layer of these models is linear, or a rule whose two halves get the same gradient
(the rescale rule's secant, the max-pool rule's shared ``half``), so the reference half's
gradient equals the sequence half's wherever tangermeme's max-pool rule reads it. (The one
exception: an activation within 1e-6 of its reference, where tangermeme's halves fall back
to their own local gradients; for ReLU those differ only if the two straddle 0.)

Rules (as ``tangermeme._deep_lift_utils``): ``nn.ReLU`` and :class:`ExpActivation` the
rescale rule (``Δout / Δin``, the local gradient where ``|Δin| < 1e-6``); ``nn.MaxPool1d``
the max-pool rule (the change routed to each half's argmax, over ``Δin``; the local gradient
where ``Δin == 0``). :func:`supports` says which models qualify: only these rule layers and
linear ones (convolutions, dense layers, eval-mode batch norm, dropout) inside the zoo's
CNNs; anything else (LSTMs, attention, other activations) goes to tangermeme.

Shapes: sequences ``x`` ``(n, A, L)`` float; references ``(n, S, A, L)``; maps ``(n, A, L)``.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from seqcnn.models.heads import PoolingHead
from seqcnn.models.layers import (
    ConvBlock,
    ExpActivation,
    FixedFilterConv1d,
    MaskedGlobalMaxPool1d,
    MaskedMaxPool1d,
    Pointwise,
    PWMConv1d,
)
from seqcnn.models.zoo import Basset, DeepBind, DilatedCNN, KooEddyCNN

#: modules whose forward is linear in its input in eval mode (or only routes submodules)
LINEAR = (nn.Conv1d, nn.Linear, nn.BatchNorm1d, nn.Dropout, nn.Identity, nn.Flatten,
          PWMConv1d, FixedFilterConv1d, nn.Sequential, nn.ModuleList, ConvBlock,
          MaskedMaxPool1d, MaskedGlobalMaxPool1d, PoolingHead, Pointwise,
          DilatedCNN, DeepBind, Basset, KooEddyCNN)
RULES = (nn.ReLU, ExpActivation, nn.MaxPool1d)
#: rescale-rule fallback: |Δin| below this takes the local gradient (tangermeme's threshold)
EPS = 1e-6


def supports(model: nn.Module, wrappers: tuple[type, ...] = ()) -> bool:
    """Whether every module of ``model`` is a rule layer, a linear one, or a ``wrappers``
    type (a view whose forward only sums or reshapes), by exact type."""
    allowed = LINEAR + RULES + tuple(wrappers)
    return all(type(m) in allowed for m in model.modules())


class _Entry:
    """One call of a rule layer in the sequence pass: its activations, then the multipliers
    of the references of the current pass, ``(n·m, ...)``."""

    def __init__(self, module: nn.Module, n: int, m: int) -> None:
        self.module, self.n, self.m = module, n, m
        self.x_in = self.x_out = self.idx = None
        self.scale = self.d_x = self.d_r = self.zero = self.denom = self.r_idx = None

    def prepare(self, r_in: torch.Tensor, r_out: torch.Tensor,
                r_idx: torch.Tensor | None) -> None:
        """Per-pair multipliers from the references' activations ``(n·m, ...)``, rows in the
        order of the sequence pass (each sequence's ``m`` copies together)."""
        x_in, x_out = self._unique(self.x_in), self._unique(self.x_out)
        r_in, r_out = self._split(r_in), self._split(r_out)
        d_in = x_in - r_in
        if isinstance(self.module, nn.MaxPool1d):
            top = torch.max(x_out, r_out)
            self.d_x, self.d_r = self._join(top - r_out), self._join(x_out - top)
            zero = d_in == 0
            self.zero, self.denom = self._join(zero), self._join(d_in.masked_fill_(zero, 1))
            self.r_idx = r_idx
            return
        local = (x_out > 0).to(x_out.dtype) if isinstance(self.module, nn.ReLU) else x_out
        secant = torch.sub(x_out, r_out).div_(d_in)
        self.scale = self._join(torch.where(d_in.abs_() < EPS, local, secant))

    def _unique(self, t: torch.Tensor) -> torch.Tensor:
        """The first of the ``m`` copies of each sequence: ``(n·m, ...)`` → ``(n, 1, ...)``."""
        return t.detach().reshape(self.n, self.m, *t.shape[1:])[:, :1]

    def _split(self, t: torch.Tensor) -> torch.Tensor:
        return t.reshape(self.n, self.m, *t.shape[1:])

    def _join(self, t: torch.Tensor) -> torch.Tensor:
        return t.reshape(self.n * self.m, *t.shape[2:])


def _unpool(values: torch.Tensor, idx: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """Scatter-add pooled ``values`` ``(B, C, L')`` to their argmax ``idx`` in ``shape``."""
    out = torch.zeros(shape, dtype=values.dtype, device=values.device)
    return out.scatter_add_(-1, idx, values)


class _Tape:
    """Rule-layer calls of one sequence pass, in call order; ``pos``: the reference pass's."""

    def __init__(self, n: int, m: int) -> None:
        self.n, self.m = n, m
        self.calls: list[_Entry] = []
        self.pos = 0


class _Rule(torch.autograd.Function):
    """A rule layer in the sequence pass: the layer's output forward, the group's multipliers
    backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, entry: _Entry) -> torch.Tensor:
        mod = entry.module
        if isinstance(mod, nn.MaxPool1d):
            out, entry.idx = F.max_pool1d(x, mod.kernel_size, mod.stride, mod.padding,
                                          mod.dilation, ceil_mode=mod.ceil_mode,
                                          return_indices=True)
        else:
            out = torch.relu(x) if isinstance(mod, nn.ReLU) else torch.exp(x)
        entry.x_in, entry.x_out = x, out
        ctx.entry = entry
        return out

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> tuple[torch.Tensor, None]:
        e: _Entry = ctx.entry
        if e.scale is not None:
            return g * e.scale, None
        shape = e.x_in.shape
        unpool = _unpool(g * e.d_x, e.idx, shape) + _unpool(g * e.d_r, e.r_idx, shape)
        return torch.where(e.zero, _unpool(g, e.idx, shape), unpool / e.denom), None


@contextlib.contextmanager
def _rules(model: nn.Module, tape: _Tape) -> Iterator[dict]:
    """Route every rule layer's forward through ``tape``; ``state["mode"]`` picks the pass:
    ``"x"`` records the sequence pass, ``"ref"`` turns the references' activations into
    multipliers. Restores the layers on exit."""
    state = {"mode": "x"}
    mods = [m for m in model.modules() if isinstance(m, RULES)]

    def make(mod: nn.Module):
        def forward(x: torch.Tensor) -> torch.Tensor:
            if state["mode"] == "x":
                entry = _Entry(mod, tape.n, tape.m)
                tape.calls.append(entry)
                return _Rule.apply(x, entry)
            entry = tape.calls[tape.pos]
            tape.pos += 1
            if entry.module is not mod:
                raise RuntimeError("the model called its layers in another order for the "
                                   "references than for the sequences")
            idx = None
            if isinstance(mod, nn.MaxPool1d):
                out, idx = F.max_pool1d(x, mod.kernel_size, mod.stride, mod.padding,
                                        mod.dilation, ceil_mode=mod.ceil_mode,
                                        return_indices=True)
            else:
                out = mod.__class__.forward(mod, x)
            entry.prepare(x, out, idx)
            return out
        return forward

    try:
        for mod in mods:
            mod.forward = make(mod)
        yield state
    finally:
        for mod in mods:
            mod.__dict__.pop("forward", None)


def _divisor_at_most(s: int, m: int) -> int:
    """The largest divisor of ``s`` that is at most ``m`` (at least 1)."""
    return max(d for d in range(1, max(1, min(s, m)) + 1) if s % d == 0)


def deep_lift_shap_batch(view: nn.Module, x: torch.Tensor, refs: torch.Tensor, target: int,
                         group: int, warning_threshold: float) -> torch.Tensor:
    """Hypothetical DeepLIFT/SHAP maps ``(n, A, L)`` of sequences ``x`` ``(n, A, L)`` averaged
    over their references ``refs`` ``(n, S, A, L)`` (same device and dtype), not corrected.
    ``view`` maps ``(B, A, L)`` → ``(B, T)``. The sequences run forward once, ``m`` copies
    each (``m``: the largest divisor of ``S`` up to ``group``); then ``S / m`` passes each run
    ``m`` references of every sequence forward (no graph) and backward (the sequences' graph).
    Warns (``RuntimeWarning``) where a pair's contributions miss its output difference by
    more than ``warning_threshold``."""
    n, s = refs.shape[:2]
    m = _divisor_at_most(s, group)
    tape = _Tape(n, m)
    attr = torch.zeros_like(x)
    deltas = []
    with _rules(view, tape) as state:
        xr = x.repeat_interleave(m, dim=0).requires_grad_(True)
        with torch.enable_grad():
            y = view(xr)[:, target]
        state["mode"] = "ref"
        for k in range(s // m):
            r = refs[:, k * m:(k + 1) * m].reshape(n * m, *x.shape[1:])
            tape.pos = 0
            with torch.inference_mode():
                y_ref = view(r)[:, target]
            if tape.pos != len(tape.calls):
                raise RuntimeError("the model called fewer layers for the references")
            (mult,) = torch.autograd.grad(y.sum(), xr, retain_graph=k < s // m - 1)
            hyp = mult - (r * mult).sum(dim=1, keepdim=True)
            attr += hyp.reshape(n, m, *x.shape[1:]).sum(dim=1)
            contrib = ((xr.detach() - r) * mult).sum(dim=(1, 2))
            deltas.append((y.detach() - y_ref - contrib).abs())
    delta = torch.cat(deltas)
    if bool((delta > warning_threshold).any()):
        warnings.warn(f"DeepLIFT/SHAP convergence deltas up to {delta.max().item():.2e} "
                      f"(threshold {warning_threshold:g}): contributions do not add up to "
                      "the output differences", RuntimeWarning, stacklevel=2)
    return attr / s
