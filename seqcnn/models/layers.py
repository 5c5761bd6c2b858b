"""Building blocks: activations, a PWM-constrained convolution, masked convolution and pooling.

Shapes used throughout:

- ``x``: ``(N, C, L)`` float feature map, channels first (one-hot input is ``(N, alphabet, L)``).
- ``mask``: ``(N, L)`` bool, ``True`` at real sequence positions, ``False`` at padding past a
  sequence's end; ``None`` means every position is valid.

Masked layers take and return ``(x, mask)``. Each zeroes the masked positions of its input
before it reads them and of its output after it writes them, so values in the padding (whatever
they are, even ``nan``) never reach a valid output position: a padded sequence gives the same
result as the same sequence without padding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqcnn.models.receptive_field import LayerSpec

Padding = Literal["valid", "same"]

ACTIVATIONS = ("relu", "exp")
PADDINGS = ("valid", "same")


# --------------------------------------------------------------------------- activations


class ExpActivation(nn.Module):
    """Exponential activation ``exp(x)`` (Koo & Ploenzke 2021, Nat. Mach. Intell.).

    Used on the first layer it makes filters more interpretable as motifs: a filter's response
    grows multiplicatively with its match. No clipping: keep first-layer pre-activations small.
    """

    def forward(self, x: Tensor) -> Tensor:
        return torch.exp(x)


def activation(name: str) -> nn.Module:
    """Activation module by name: ``"relu"`` or ``"exp"``."""
    if name == "relu":
        return nn.ReLU()
    if name == "exp":
        return ExpActivation()
    raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")


_make_activation = activation  # for classes whose ``activation`` argument shadows the factory


# --------------------------------------------------------------------------- masks


def full_mask(x: Tensor) -> Tensor:
    """All-valid mask ``(N, L)`` for a feature map ``(N, C, L)``."""
    return torch.ones(x.shape[0], x.shape[-1], dtype=torch.bool, device=x.device)


def check_mask(x: Tensor, mask: Tensor | None) -> Tensor:
    """``mask`` for ``x`` ``(N, C, L)`` (all valid for ``None``), checked for shape and dtype."""
    if mask is None:
        return full_mask(x)
    if mask.dtype != torch.bool:
        raise ValueError(f"mask must be a bool tensor, got {mask.dtype}")
    expected = (x.shape[0], x.shape[-1])
    if mask.shape != expected:
        raise ValueError(f"mask has shape {tuple(mask.shape)}, expected {expected}")
    return mask


def apply_mask(x: Tensor, mask: Tensor) -> Tensor:
    """Zero ``x`` ``(N, C, L)`` where ``mask`` ``(N, L)`` is False (also clears ``nan``/``inf``)."""
    return x.masked_fill(~mask[:, None, :], 0.0)


def same_padding(kernel_size: int, dilation: int = 1) -> tuple[int, int]:
    """Zero padding ``(left, right)`` in positions that keeps length ``L`` at stride 1.

    The kernel spans ``(kernel_size - 1) * dilation + 1`` positions; odd spans pad evenly,
    even spans put the extra position on the right.
    """
    total = (kernel_size - 1) * dilation
    return total // 2, total - total // 2


def conv_output_length(
    length: int, kernel_size: int, stride: int = 1, dilation: int = 1, padding: Padding = "valid"
) -> int:
    """Output length of a convolution over ``length`` positions."""
    if padding == "same":
        return math.ceil(length / stride)
    return (length - (kernel_size - 1) * dilation - 1) // stride + 1


def conv_output_mask(
    mask: Tensor, kernel_size: int, stride: int = 1, dilation: int = 1, padding: Padding = "valid"
) -> Tensor:
    """Mask ``(N, L_out)`` of a convolution's output given its input mask ``(N, L)``.

    ``valid``: an output is valid when every input position its kernel reads is valid (so
    a padded sequence keeps exactly the outputs it would have unpadded).
    ``same``: output ``j`` is valid when its centre input ``j * stride`` is valid.
    """
    if padding == "same":
        return mask[:, ::stride]
    invalid = (~mask)[:, None, :].float()
    return F.max_pool1d(invalid, kernel_size, stride, dilation=dilation)[:, 0] == 0


# --------------------------------------------------------------------------- pooling


def masked_global_max(x: Tensor, mask: Tensor | None = None) -> Tensor:
    """Max over valid positions: ``(N, C, L)`` → ``(N, C)``; a fully masked row gives 0.

    Masked positions never win, whatever their value.
    """
    mask = check_mask(x, mask)
    out = x.masked_fill(~mask[:, None, :], float("-inf")).amax(dim=-1)
    return out.masked_fill(~mask.any(dim=-1)[:, None], 0.0)


def masked_global_avg(x: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean over valid positions: ``(N, C, L)`` → ``(N, C)``; a fully masked row gives 0."""
    mask = check_mask(x, mask)
    total = apply_mask(x, mask).sum(dim=-1)
    count = mask.sum(dim=-1, keepdim=True).clamp(min=1).to(x.dtype)
    return total / count


def pool_output_length(length: int, kernel_size: int, stride: int | None = None) -> int:
    """Output length of :func:`masked_max_pool1d` (ceil mode: a partial last window is kept)."""
    stride = stride or kernel_size
    out = max(math.ceil((length - kernel_size) / stride), 0) + 1
    if (out - 1) * stride >= length:  # a window must start inside the input
        out -= 1
    return out


def masked_max_pool1d(
    x: Tensor, mask: Tensor | None, kernel_size: int, stride: int | None = None
) -> tuple[Tensor, Tensor]:
    """Local max-pool that ignores masked positions: ``(N, C, L)`` → ``(N, C, L_out)``.

    Windows start every ``stride`` (default ``kernel_size``) positions; a partial window at
    the end is kept (ceil mode). A window with any valid position gives the max over its
    valid positions and is valid in the returned mask ``(N, L_out)``; an entirely masked
    window gives 0 and is masked.
    """
    mask = check_mask(x, mask)
    stride = stride or kernel_size
    neg = x.masked_fill(~mask[:, None, :], float("-inf"))
    out = F.max_pool1d(neg, kernel_size, stride, ceil_mode=True)
    out_mask = F.max_pool1d(mask[:, None, :].float(), kernel_size, stride, ceil_mode=True)[:, 0] > 0
    return apply_mask(out, out_mask), out_mask


# --------------------------------------------------------------------------- convolution


class PWMConv1d(nn.Module):
    """Convolution whose filters are position probability matrices, scanned as log-odds.

    Each filter is a PPM ``p = softmax(logits)`` over the alphabet at every position (columns
    non-negative, summing to 1). Like a PWM scanner it scores a window by the log-odds of the
    letters it sees against a uniform background, ``sum_l log(A · p[x_l, l])`` (nats; 0 for a
    uniform column, at most ``k · log A``), plus a learnt ``bias``: a threshold, so that after
    a ReLU only windows scoring above ``-bias`` pass. (Scoring the summed probabilities
    instead, as an earlier version did, gives about ``k / A`` everywhere: with a ReLU nothing
    was learnt, and with batch norm the PPMs stayed uniform.) No padding (pad the input, as
    :class:`ConvBlock` does).

    The trained parameter is ``raw_logits = logits / logit_scale``. Adam moves every
    parameter by about ``lr`` per step, and a sharp column needs logit gaps of a few units, so
    at the ``lr`` that suits the other weights (3e-4, say) the PPMs barely leave uniform while
    deeper layers amplify their small contrasts instead (Koo & Eddy data, CNN-25: PPMs at most
    0.04 bits per position after 150 epochs with ``logit_scale`` 1, sharp motifs with 10).
    ``logit_scale`` thus makes the logits learn that many times faster; ``init_scale`` is the
    standard deviation of the initial logits. :meth:`set_logits` sets them.

    Input ``(N, in_channels, L)`` → output ``(N, out_channels, (L - (k-1)·d - 1)//s + 1)``.
    Exposes ``weight`` (the log-odds), ``bias``, ``kernel_size``, ``stride``, ``dilation``,
    ``padding`` like ``nn.Conv1d`` so interpretation code can treat both alike; :meth:`pwm`
    gives the PPMs.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        dilation: int = 1,
        init_scale: float = 0.1,
        logit_scale: float = 10.0,
    ) -> None:
        super().__init__()
        if logit_scale <= 0:
            raise ValueError(f"logit_scale must be positive, got {logit_scale}")
        self.logit_scale = float(logit_scale)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = (kernel_size,)
        self.stride = (stride,)
        self.dilation = (dilation,)
        self.padding = (0,)
        self.raw_logits = nn.Parameter(
            init_scale / self.logit_scale * torch.randn(out_channels, in_channels, kernel_size)
        )
        self.bias = nn.Parameter(torch.zeros(out_channels))

    @property
    def logits(self) -> Tensor:
        """The PPMs' logits ``(out_channels, in_channels, kernel_size)``."""
        return self.logit_scale * self.raw_logits

    @torch.no_grad()
    def set_logits(self, logits: Tensor) -> None:
        """Set the logits ``(out_channels, in_channels, kernel_size)`` (e.g. ``log`` of PPMs)."""
        self.raw_logits.copy_(torch.as_tensor(logits) / self.logit_scale)

    def pwm(self) -> Tensor:
        """Probability matrices ``(out_channels, in_channels, kernel_size)``; columns sum to 1."""
        return torch.softmax(self.logits, dim=1)

    @property
    def weight(self) -> Tensor:
        """Log-odds ``log(A · pwm)`` against a uniform background: the convolution weight."""
        return torch.log_softmax(self.logits, dim=1) + math.log(self.in_channels)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv1d(x, self.weight, self.bias, self.stride, 0, self.dilation)


class FixedFilterConv1d(nn.Module):
    """Convolution whose first ``M`` filters are given and never trained (known motifs as
    log-odds, say); the other ``out_channels - M`` are learnt. Every bias is learnt (a
    threshold per filter).

    ``fixed`` is ``(M, in_channels, w)`` with ``w <= kernel_size``: narrower filters are
    centred in the kernel, the extra columns 0 (no preference). Input ``(N, in_channels, L)``
    → ``(N, out_channels, (L - (k-1)·d - 1)//s + 1)``. Exposes ``weight`` (fixed then learnt
    filters), ``bias``, ``kernel_size``, ``stride``, ``dilation``, ``padding`` like
    ``nn.Conv1d``; the fixed filters are a buffer, so they stay out of the optimizer.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        fixed: Tensor | Sequence[Any],
        stride: int = 1,
        dilation: int = 1,
    ) -> None:
        super().__init__()
        fixed = torch.as_tensor(fixed, dtype=torch.float32)
        if fixed.ndim != 3 or fixed.shape[1] != in_channels or fixed.shape[2] > kernel_size:
            raise ValueError(
                f"fixed filters must be (M, {in_channels}, w <= {kernel_size}), got "
                f"{tuple(fixed.shape)}"
            )
        if not 0 < fixed.shape[0] <= out_channels:
            raise ValueError(f"{fixed.shape[0]} fixed filters for {out_channels} channels")
        left = (kernel_size - fixed.shape[2]) // 2
        fixed = F.pad(fixed, (left, kernel_size - fixed.shape[2] - left))
        conv = nn.Conv1d(in_channels, out_channels, kernel_size)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = (kernel_size,), (stride,)
        self.dilation, self.padding = (dilation,), (0,)
        self.register_buffer("fixed_weight", fixed)
        self.free_weight = nn.Parameter(conv.weight.detach()[fixed.shape[0]:].clone())
        self.bias = nn.Parameter(conv.bias.detach().clone())

    @property
    def weight(self) -> Tensor:
        """All filters ``(out_channels, in_channels, kernel_size)``, the fixed ones first."""
        return torch.cat([self.fixed_weight, self.free_weight])

    def forward(self, x: Tensor) -> Tensor:
        return F.conv1d(x, self.weight, self.bias, self.stride, 0, self.dilation)


def pwm_entropy(model: nn.Module) -> Tensor | None:
    """Mean column entropy (nats, 0 to ``log A``) of all :class:`PWMConv1d` PPMs in ``model``;
    ``None`` when it has none. Added to a loss it pushes the PPMs away from uniform: the
    log-odds of a near-uniform PPM are about linear in its logits, so without it deeper
    layers can amplify low-contrast filters instead (train setting ``pwm_entropy``).
    """
    terms = []
    for m in model.modules():
        if isinstance(m, PWMConv1d):
            p = m.pwm()
            terms.append(-(p * torch.log_softmax(m.logits, dim=1)).sum(1).mean())
    return torch.stack(terms).mean() if terms else None


class ConvBlock(nn.Module):
    """Mask-aware ``conv → [batch norm] → activation [→ + input]`` over ``(N, C, L)``.

    ``padding="valid"``: no padding, output length ``(L - (k-1)·d - 1)//s + 1``.
    ``padding="same"``: zero padding :func:`same_padding` (applied here, the conv module itself
    is unpadded), output length ``ceil(L / s)``.
    ``residual=True`` adds the input to the output (needs equal channels, stride 1, ``same``).
    ``pwm=True`` uses :class:`PWMConv1d` instead of ``nn.Conv1d``; ``fixed`` (filters
    ``(M, in_channels, w)``) uses :class:`FixedFilterConv1d`.

    Batch norm in training mode takes its statistics over all positions, padding included
    (zeroed, so padding content still has no effect, but its amount does).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        stride: int = 1,
        dilation: int = 1,
        padding: Padding = "valid",
        activation: str = "relu",
        batch_norm: bool = False,
        pwm: bool = False,
        residual: bool = False,
        fixed: Tensor | Sequence[Any] | None = None,
    ) -> None:
        super().__init__()
        if padding not in PADDINGS:
            raise ValueError(f"unknown padding {padding!r}; choose one of {', '.join(PADDINGS)}")
        if residual and (in_channels != out_channels or stride != 1 or padding != "same"):
            raise ValueError("a residual block needs equal channels, stride 1 and 'same' padding")
        self.padding = padding
        self.residual = residual
        self._pad = same_padding(kernel_size, dilation) if padding == "same" else (0, 0)
        if pwm and fixed is not None:
            raise ValueError("fixed filters and PWM-constrained filters do not combine")
        if pwm:
            self.conv: nn.Module = PWMConv1d(
                in_channels, out_channels, kernel_size, stride=stride, dilation=dilation
            )
        elif fixed is not None:
            self.conv = FixedFilterConv1d(
                in_channels, out_channels, kernel_size, fixed, stride=stride, dilation=dilation
            )
        else:
            self.conv = nn.Conv1d(
                in_channels, out_channels, kernel_size, stride=stride, dilation=dilation
            )
        self.norm = nn.BatchNorm1d(out_channels) if batch_norm else nn.Identity()
        self.act = _make_activation(activation)

    @property
    def spec(self) -> LayerSpec:
        """``(kernel, dilation, stride)`` for receptive-field arithmetic."""
        return (self.conv.kernel_size[0], self.conv.dilation[0], self.conv.stride[0])

    def output_length(self, length: int) -> int:
        kernel, dilation, stride = self.spec
        return conv_output_length(length, kernel, stride, dilation, self.padding)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        mask = check_mask(x, mask)
        x = apply_mask(x, mask)
        h = self.act(self.norm(self.conv(F.pad(x, self._pad))))
        kernel, dilation, stride = self.spec
        out_mask = conv_output_mask(mask, kernel, stride, dilation, self.padding)
        if self.residual:
            h = h + x
        return apply_mask(h, out_mask), out_mask


class MaskedMaxPool1d(nn.Module):
    """Module form of :func:`masked_max_pool1d` (stride = kernel size, ceil mode).

    The max runs in an ``nn.MaxPool1d`` submodule (``pool``, no parameters), so that hook-based
    attribution (DeepLIFT's max-pool rule) sees it; the output is the same as the function's.
    """

    def __init__(self, kernel_size: int) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.pool = nn.MaxPool1d(kernel_size, ceil_mode=True)

    @property
    def spec(self) -> LayerSpec:
        return (self.kernel_size, 1, self.kernel_size)

    def output_length(self, length: int) -> int:
        return pool_output_length(length, self.kernel_size)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        mask = check_mask(x, mask)
        out = self.pool(x.masked_fill(~mask[:, None, :], float("-inf")))
        k = self.kernel_size
        out_mask = F.max_pool1d(mask[:, None, :].float(), k, k, ceil_mode=True)[:, 0] > 0
        return apply_mask(out, out_mask), out_mask


class MaskedGlobalMaxPool1d(nn.Module):
    """Module form of :func:`masked_global_max`: ``(N, C, L)`` + mask → ``(N, C)``.

    The max runs in an ``nn.MaxPool1d`` submodule (``pool``, no parameters) whose window is
    set to the input's length at each call, so that hook-based attribution (DeepLIFT's
    max-pool rule) sees it; the output is the same as the function's.
    """

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.MaxPool1d(1)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        mask = check_mask(x, mask)
        if self.pool.kernel_size != x.shape[-1]:
            self.pool.kernel_size = self.pool.stride = x.shape[-1]
        out = self.pool(x.masked_fill(~mask[:, None, :], float("-inf")))[..., 0]
        return out.masked_fill(~mask.any(dim=-1)[:, None], 0.0)


class Pointwise(nn.Module):
    """Wrap a position-wise module (dropout, ...) to pass ``(x, mask)`` through; no spec."""

    spec = None

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def output_length(self, length: int) -> int:
        return length

    def forward(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        mask = check_mask(x, mask)
        return apply_mask(self.module(x), mask), mask


class MaskedBiLSTM(nn.Module):
    """Bidirectional LSTM along positions: ``(N, C, L)`` → ``(N, 2·hidden, L)``.

    Each direction reads only the valid positions (the mask must be a prefix: valid positions
    first, padding at the end), so the backward direction starts at the sequence's true end.
    Its receptive field is the whole sequence, so it has no ``spec``.
    """

    spec = None

    def __init__(self, in_channels: int, hidden: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(in_channels, hidden, batch_first=True, bidirectional=True)

    def output_length(self, length: int) -> int:
        return length

    def forward(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        mask = check_mask(x, mask)
        seq = apply_mask(x, mask).transpose(1, 2)  # (N, L, C)
        if bool(mask.all()):
            out, _ = self.lstm(seq)
        else:
            lengths = mask.sum(dim=1)
            prefix = torch.arange(mask.shape[1], device=mask.device)[None, :] < lengths[:, None]
            if not torch.equal(prefix, mask):
                raise ValueError("MaskedBiLSTM needs prefix masks (padding only at the end)")
            packed = pack_padded_sequence(
                seq, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
            )
            out, _ = self.lstm(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=mask.shape[1])
        return apply_mask(out.transpose(1, 2), mask), mask


# --------------------------------------------------------------------------- attention


class RelativePositionBias(nn.Module):
    """Learned relative position bias: one scalar per head and clipped offset.

    ``forward(length)`` gives ``(heads, length, length)`` with entry ``[h, i, j] =
    table[h, clip(j - i, -max_distance, max_distance)]``: it depends only on ``j - i`` (so a
    sequence and the same sequence padded get the same bias on their valid positions), and
    offsets beyond ``max_distance`` positions share one value per side. Initialised to 0.
    """

    def __init__(self, heads: int, max_distance: int) -> None:
        super().__init__()
        self.max_distance = max_distance
        self.table = nn.Parameter(torch.zeros(heads, 2 * max_distance + 1))

    def forward(self, length: int) -> Tensor:
        pos = torch.arange(length, device=self.table.device)
        offset = (pos[None, :] - pos[:, None]).clamp(-self.max_distance, self.max_distance)
        return self.table[:, offset + self.max_distance]


class MaskedTransformerLayer(nn.Module):
    """Pre-norm transformer encoder layer over ``(N, C, L)`` with a key mask and a learned
    relative position bias (:class:`RelativePositionBias`; no absolute positions).

    ``h + attn(norm(h))`` then ``h + ff(norm(h))``, where ``attn`` is multi-head
    self-attention with scores ``q·k / sqrt(C / heads) + bias[j - i]`` and ``ff`` is
    ``Linear(C, ff_mult·C) → GELU → Linear(ff_mult·C, C)``. Masked positions are never
    attended to (their score is the dtype's minimum, so their weight is exactly 0 and a
    padded sequence gives its unpadded result) and are zeroed in the output. Length is
    kept; its receptive field is the whole (valid) sequence, so it has no ``spec``.

    The two contractions (``q·kᵀ``, ``weights·v``) and the softmax are modules
    (tangermeme's ``BilinearOp``, ``nn.Softmax``) so that DeepLIFT/SHAP applies its bilinear
    and softmax rules to them, as it does to ``LayerNorm`` and ``GELU``: the contributions
    then add up to the output differences. They hold no parameters.
    """

    spec = None

    def __init__(
        self,
        channels: int,
        heads: int,
        *,
        ff_mult: int = 2,
        dropout: float = 0.0,
        max_distance: int = 128,
    ) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"channels ({channels}) must be divisible by heads ({heads})")
        self.heads = heads
        self.norm1 = nn.LayerNorm(channels)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.out = nn.Linear(channels, channels)
        self.bias = RelativePositionBias(heads, max_distance)
        from tangermeme.deep_lift_shap import BilinearOp  # imported only when a model has one

        self.scores = BilinearOp()  # q @ kᵀ
        self.softmax = nn.Softmax(dim=-1)
        self.mix = BilinearOp()  # weights @ v
        self.norm2 = nn.LayerNorm(channels)
        self.ff = nn.Sequential(
            nn.Linear(channels, ff_mult * channels),
            nn.GELU(),
            nn.Linear(ff_mult * channels, channels),
        )
        self.dropout = nn.Dropout(dropout)

    def output_length(self, length: int) -> int:
        return length

    def attention(self, t: Tensor, mask: Tensor) -> Tensor:
        """Self-attention of ``t`` ``(N, L, C)`` over the keys ``mask`` ``(N, L)`` allows."""
        n, length, channels = t.shape
        q, k, v = self.qkv(t).view(n, length, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        scores = self.scores(q, k.transpose(-1, -2)) / math.sqrt(channels // self.heads)
        scores = scores + self.bias(length).to(scores.dtype)
        if not bool(mask.all()):
            scores = scores.masked_fill(~mask[:, None, None, :], torch.finfo(scores.dtype).min)
        weights = self.dropout(self.softmax(scores))
        return self.out(self.mix(weights, v).transpose(1, 2).reshape(n, length, channels))

    def forward(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        mask = check_mask(x, mask)
        t = apply_mask(x, mask).transpose(1, 2)  # (N, L, C)
        t = t + self.dropout(self.attention(self.norm1(t), mask))
        t = t + self.dropout(self.ff(self.norm2(t)))
        return apply_mask(t.transpose(1, 2), mask), mask
