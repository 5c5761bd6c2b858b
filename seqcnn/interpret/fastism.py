"""Fast in-silico saturation mutagenesis for the zoo's convolutional models (the idea of
fastISM, Nair et al. 2022, Bioinformatics).

A single-letter change at input position ``p`` changes each layer's output only inside
``p``'s receptive field at that layer. So the reference activations of every layer are
computed once per sequence; then, for a batch of mutants (rows ``(n, a, p)``: sequence,
letter, position), each local layer recomputes only the window of its output that the
mutation can reach, reading the unchanged context from the reference activations. Windows
grow layer by layer, up to a global pool (max: the reference's prefix/suffix maxima outside
the window; mean: the reference sum corrected by the window) or the head.

Local layers are recognised by module type: :class:`~seqcnn.models.layers.ConvBlock`
(any stride, dilation, padding, residual), :class:`~seqcnn.models.layers.MaskedMaxPool1d`,
:class:`~seqcnn.models.layers.Pointwise`. At the first other layer (a recurrent layer, say)
the full feature map of each mutant is rebuilt from the reference and the window, and the
rest of the model runs on it in full; so do heads over all positions (``flatten``,
``local_max``). Masks (sequences with ``lengths``) are honoured: padding is never mutated
and never read. :func:`supports` says whether a model can use this path at all.

Shapes: one-hot ``x`` ``(N, A, L)`` float, ``mask`` ``(N, L)`` bool; results ``(N, A, L)``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from seqcnn.models.heads import PoolingHead
from seqcnn.models.layers import ConvBlock, MaskedMaxPool1d, Pointwise, apply_mask
from seqcnn.models.zoo import DilatedCNN, SequenceModel

_LOCAL = (ConvBlock, MaskedMaxPool1d, Pointwise)
_FORWARDS = (SequenceModel.forward, DilatedCNN.forward)


def _geometry(layer: nn.Module) -> tuple[int, int, int, int]:
    """``(kernel, dilation, stride, left padding)`` of a local layer."""
    if isinstance(layer, ConvBlock):
        kernel, dilation, stride = layer.spec
        return kernel, dilation, stride, layer._pad[0]
    if isinstance(layer, MaskedMaxPool1d):
        return layer.kernel_size, 1, layer.kernel_size, 0
    return 1, 1, 1, 0


def _per_position(model: nn.Module) -> bool:
    return bool(getattr(model, "config", {}).get("per_position", False))


def supports(model: nn.Module) -> bool:
    """Whether ``model`` is a seqcnn model with the forward pass this module mirrors
    (``stem`` → ``trunk`` → ``head`` → ``dense``, or per-position ``dense``) and a local stem."""
    if not isinstance(model, SequenceModel) or type(model).forward not in _FORWARDS:
        return False
    if not isinstance(model.stem, ConvBlock):
        return False
    if _per_position(model):
        return isinstance(model.dense, nn.Conv1d) and model.dense.kernel_size == (1,)
    return isinstance(getattr(model, "head", None), PoolingHead)


def _select(out: Tensor, target: int | None) -> Tensor:
    """``(B,)`` the ``target`` output summed over any positions; ``(B, T)`` every output
    column when ``target`` is None."""
    if target is None:
        return out.reshape(len(out), out.shape[1], -1).sum(dim=-1)
    y = out[:, target]
    return y.reshape(len(y), -1).sum(dim=1)


def _finish(model: SequenceModel, h: Tensor, mask: Tensor, target: int | None) -> Tensor:
    """The model's own head on full feature maps ``(B, C, L')``: ``(B,)`` target outputs
    (``(B, T)`` with ``target`` None)."""
    if _per_position(model):
        return _select(apply_mask(model.dense(h), mask), target)
    return _select(model.dense(model.head(h, mask)), target)


def _extent(extent: int, layer: nn.Module) -> tuple[int, int]:
    """How far (positions) beyond its input a layer may read, and beyond its output a window
    may reach, when windows beyond the input reach ``extent``."""
    kernel, dilation, stride, left = _geometry(layer)
    span = (kernel - 1) * dilation
    read = extent + span + stride
    return read, -(-(extent + 2 * span + 2 * stride + left + 1) // stride) + 1


def _pad(t: Tensor, extent: int, fill: float = 0.0) -> Tensor:
    return torch.nn.functional.pad(t, (extent, extent), value=fill)


class _Reference:
    """Reference activations of ``x`` ``(N, A, L)`` for fast ISM of ``target`` (None: every
    output column at once, so that ``y0`` is ``(N, T)`` and :meth:`changes` ``(B, T)``).

    Windows live in each layer's own coordinates and may reach beyond its ends (by at most
    the layer's extent): the reference activations are padded by that much, with 0 (or
    -inf before a max-pool) at padding and at masked positions, and every window is set to
    that value wherever it is outside the layer's output or masked. So a window's position
    relative to the input it reads is the same for every mutant of a stride-1 layer.
    """

    def __init__(self, model: SequenceModel, x: Tensor, mask: Tensor,
                 target: int | None) -> None:
        self.model, self.target = model, target
        self.padded = not bool(mask.all())
        layers = [model.stem, *model.trunk]
        self.local = []
        for layer in layers:
            if not isinstance(layer, _LOCAL):
                break
            self.local.append(layer)
        self.rest = layers[len(self.local):]
        # per local layer k: padded input, its validity, the padding; then the same for the
        # input of the first non-local layer (or the trunk's output)
        self.ref, self.valid, self.ext, self.lengths = [], [], [], []
        h, m, extent = apply_mask(x, mask), mask, 0
        for i, layer in enumerate(layers):
            if i < len(self.local):
                read, out_extent = _extent(extent, layer)
                pool = isinstance(layer, MaskedMaxPool1d)
                fill = float("-inf") if pool else 0.0
                src = h.masked_fill(~m[:, None, :], fill) if pool and self.padded else h
                self._keep(src, m, read, fill)
                extent = out_extent
            elif i == len(self.local):
                self._keep(h, m, extent)
            h, m = layer(h, m)
        if not self.rest:
            self._keep(h, m, extent)
        self.feat, self.feat_mask = h, m  # the trunk's output (N, C, L')
        self.y0 = _finish(model, h, m, target)
        self.kind = None
        if not self.rest and _per_position(model):
            self.kind = "per_position"
            y_pos = apply_mask(model.dense(h), m)
            y_pos = y_pos if target is None else y_pos[:, target]
            self.y_pos = _pad(y_pos, extent)  # (N, L'+2e), or (N, T, L'+2e) for every column
        elif not self.rest and model.head.kind in ("global_max", "global_avg"):
            self.kind = model.head.kind
            if self.kind == "global_max":
                self.neg = h.masked_fill(~m[:, None, :], float("-inf"))  # (N, C, L')
                self.prefix = self.suffix = None  # made by _outer when first needed
            else:
                self.total = h.sum(dim=-1)  # (N, C); h is masked
                self.count = m.sum(dim=-1, keepdim=True).clamp(min=1).to(h.dtype)

    def _keep(self, h: Tensor, m: Tensor, extent: int, fill: float = 0.0) -> None:
        self.ref.append(_pad(h, extent, fill))
        self.valid.append(_pad(m, extent, False))
        self.ext.append(extent)
        self.lengths.append(h.shape[-1])

    # ------------------------------------------------------------------ windows

    def _outer(self, n: Tensor, lo: Tensor, hi: Tensor, few: int = 4) -> Tensor:
        """``(B, C)`` max of the reference feature map ``neg[n]`` outside ``[lo, hi)`` (``lo``,
        ``hi`` ``(B,)`` clamped to ``[0, L']``; -inf where nothing is left). With at most
        ``few`` distinct ``lo`` (the mutants of one position, as in variant scoring), one
        max over the prefix and suffix of every sequence per ``lo``; otherwise prefix and
        suffix maxima ``(N, C, L'+1)`` of ``[0, j)`` and ``[j, L')``, made once. Exact
        either way."""
        neg = self.neg
        starts = torch.unique(lo)
        if self.prefix is None and len(starts) <= few:
            out = torch.empty(len(n), neg.shape[1], dtype=neg.dtype, device=neg.device)
            ninf = torch.full(neg.shape[:2], float("-inf"), dtype=neg.dtype, device=neg.device)
            for s in starts.tolist():
                rows = (lo == s).nonzero()[:, 0]
                for e in torch.unique(hi[rows]).tolist():
                    sel = rows[hi[rows] == e]
                    left = neg[:, :, :s].amax(dim=-1) if s > 0 else ninf
                    right = neg[:, :, e:].amax(dim=-1) if e < neg.shape[-1] else ninf
                    out[sel] = torch.maximum(left, right)[n[sel]]
            return out
        if self.prefix is None:
            ninf = torch.full_like(neg[..., :1], float("-inf"))
            self.prefix = torch.cat([ninf, neg.cummax(dim=-1).values], dim=-1)
            self.suffix = torch.cat([neg.flip(-1).cummax(dim=-1).values.flip(-1), ninf],
                                    dim=-1)  # (N, C, L'+1): max of [0, j) and [j, L')
        return torch.maximum(self.prefix[n, :, lo], self.suffix[n, :, hi])

    def _window(self, k: int, n: Tensor, start: Tensor, width: int) -> Tensor:
        """``ref[k][n, :, start : start + width]`` per row ``(B, C, width)`` (``start`` in
        the layer's coordinates, ``(B,)``)."""
        return self.ref[k].unfold(2, width, 1)[n, :, start + self.ext[k]]

    def _valid(self, k: int, n: Tensor, start: Tensor, width: int) -> Tensor | None:
        """Validity ``(B, width)`` of positions ``[start, start + width)``, or None when all
        rows are inside a sequence without padding."""
        if not self.padded and int(start.min()) >= 0 \
                and int(start.max()) + width <= self.lengths[k]:
            return None
        return self.valid[k].unfold(1, width, 1)[n, start + self.ext[k]]

    def _layer(self, k: int, n: Tensor, win: Tensor, a: Tensor) -> tuple[Tensor, Tensor]:
        """Layer ``k``'s changed output window ``(B, C', W)`` and its start ``(B,)``, from
        its changed input window ``win`` ``(B, C, w)`` at ``a`` ``(B,)``."""
        layer = self.local[k]
        kernel, dilation, stride, left = _geometry(layer)
        span, w = (kernel - 1) * dilation, win.shape[-1]
        c = torch.div(a + left - span + stride - 1, stride, rounding_mode="floor")
        hi = torch.div(a + w - 1 + left, stride, rounding_mode="floor") + 1
        width = int((hi - c).max())
        u = c * stride - left
        in_width = (width - 1) * stride + span + 1
        sl = self._window(k, n, u, in_width)
        rel = a - u
        lo_rel, hi_rel = int(rel.min()), int(rel.max())
        if lo_rel == hi_rel:
            sl[:, :, lo_rel:lo_rel + w] = win
        else:
            for r in torch.unique(rel).tolist():
                rows = (rel == r).nonzero()[:, 0]
                sl[rows, :, r:r + w] = win[rows]
        if isinstance(layer, MaskedMaxPool1d):
            v = self._valid(k, n, u, in_width)
            if v is not None:
                sl.masked_fill_(~v[:, None, :], float("-inf"))
            out = torch.nn.functional.max_pool1d(sl, kernel, stride)
        elif isinstance(layer, ConvBlock):
            out = layer.act(layer.norm(layer.conv(sl)))
            if layer.residual:
                out = out.add_(sl[:, :, left:left + width])
        else:
            out = layer.module(sl)
        v = self._valid(k + 1, n, c, width)
        return (out if v is None else out.masked_fill_(~v[:, None, :], 0.0)), c

    def _full(self, k: int, n: Tensor, win: Tensor, start: Tensor) -> Tensor:
        """``ref[k][n]`` ``(B, C, L)`` with ``win`` ``(B, C, w)`` laid over it at ``start``."""
        e = self.ext[k]
        full = self.ref[k][n]
        pos = start[:, None] + e + torch.arange(win.shape[-1], device=start.device)
        b = torch.arange(len(n), device=n.device)[:, None].expand_as(pos)
        full.transpose(1, 2)[b, pos] = win.transpose(1, 2)
        return full[:, :, e:e + self.lengths[k]]

    def changes(self, n: Tensor, a: Tensor, p: Tensor) -> Tensor:
        """``(B,)`` change of the target output of ``x[n]`` with letter ``a`` at ``p``
        (``(B, T)``, every output column, when the target is None)."""
        win = torch.zeros(len(n), self.ref[0].shape[1], 1, dtype=self.feat.dtype,
                          device=n.device)
        win[torch.arange(len(n), device=n.device), a, 0] = 1
        start = p
        for k in range(len(self.local)):
            win, start = self._layer(k, n, win, start)
        k, width = len(self.local), win.shape[-1]
        if self.rest:  # a layer that reads every position: the rest in full
            h = self._full(k, n, win, start)
            m = self.valid[k][n][:, self.ext[k]:self.ext[k] + self.lengths[k]]
            for layer in self.rest:
                h, m = layer(h, m)
            return _finish(self.model, h, m, self.target) - self.y0[n]
        if self.kind == "per_position":  # the change, summed over the window only
            new = self.model.dense(win)
            new = new if self.target is None else new[:, self.target]  # (B, [T,] W)
            v = self._valid(k, n, start, width)
            if v is not None:
                new = new.masked_fill(~(v if self.target is not None else v[:, None]), 0.0)
            old = self.y_pos.unfold(-1, width, 1)
            old = old[n, start + self.ext[k]] if self.target is not None \
                else old[n, :, start + self.ext[k]]
            return (new - old).sum(dim=-1)
        if self.kind == "global_max":
            v = self._valid(k, n, start, width)
            inner = (win if v is None else win.masked_fill(~v[:, None, :], float("-inf"))
                     ).amax(dim=-1)
            length = self.lengths[k]
            outer = self._outer(n, start.clamp(0, length), (start + width).clamp(0, length))
            pooled = torch.maximum(inner, outer)
            if self.padded:
                pooled = pooled.masked_fill(~self.feat_mask[n].any(dim=-1)[:, None], 0.0)
            return _select(self.model.dense(pooled), self.target) - self.y0[n]
        if self.kind == "global_avg":
            old = self._window(k, n, start, width).sum(dim=-1)  # (B, C)
            pooled = (self.total[n] - old + win.sum(dim=-1)) / self.count[n]
            return _select(self.model.dense(pooled), self.target) - self.y0[n]
        h = self._full(k, n, win, start)
        return _finish(self.model, h, self.feat_mask[n], self.target) - self.y0[n]


@torch.inference_mode()
def fast_ism(model: SequenceModel, x: Tensor, mask: Tensor, target: int = 0,
             rows: int = 2048) -> Tensor:
    """ISM ``(N, A, L)``: ``f(x with letter a at l) − f(x)`` for every letter absent at a
    valid position (0 elsewhere), ``rows`` mutants per batch (sorted by position, so that
    the windows of a batch overlap). ``x`` float one-hot on the model's device, ``mask``
    ``(N, L)`` bool. Needs :func:`supports`."""
    n_seq = len(x)
    out = torch.zeros_like(x)
    per_seq = max(1, int((x[:1] == 0).sum()))
    group = max(1, rows // per_seq)
    for s in range(0, n_seq, group):
        xs, ms = x[s:s + group], mask[s:s + group]
        ref = _Reference(model, xs, ms, target)
        idx = ((xs == 0) & ms[:, None, :]).nonzero()
        idx = idx[torch.argsort(idx[:, 2], stable=True)]
        for b in range(0, len(idx), rows):
            n, a, p = idx[b:b + rows].unbind(dim=1)
            out[s + n, a, p] = ref.changes(n, a, p)
    return out
