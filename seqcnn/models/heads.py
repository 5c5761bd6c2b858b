"""Heads: masked pooling of a feature map into a vector, and the dense layers after it."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqcnn.models.layers import (
    MaskedGlobalMaxPool1d,
    MaskedMaxPool1d,
    apply_mask,
    check_mask,
    masked_global_avg,
)

POOLS = ("global_max", "global_avg", "local_max", "flatten", "attention", "local_avg",
         "max_avg", "local_max_avg")
#: pools that cut the map into ``bins`` windows of ``ceil(length / bins)`` positions
BINNED = ("local_max", "local_avg", "local_max_avg")


def masked_local_avg(x: Tensor, mask: Tensor, window: int) -> tuple[Tensor, Tensor]:
    """Mean over the valid positions of each window of ``window`` positions (stride
    ``window``, a partial last window kept): ``(N, C, L)`` + mask ``(N, L)`` →
    ``(N, C, ceil(L / window))`` and the bins' mask (valid when any position is); a bin
    with no valid position gives 0. Linear in ``x``.
    """
    n_bins = math.ceil(x.shape[-1] / window)
    extra = n_bins * window - x.shape[-1]
    total = F.pad(apply_mask(x, mask), (0, extra)).unflatten(-1, (n_bins, window)).sum(-1)
    count = F.pad(mask, (0, extra)).unflatten(-1, (n_bins, window)).sum(-1)
    return total / count.clamp(min=1)[:, None, :].to(x.dtype), count > 0


class AttentionPool(nn.Module):
    """Attention pooling that knows where it looks: ``(N, C, L)`` + mask → ``(N, heads * C)``.

    Per head, a score per position is a 1×1 convolution of the features plus a learned bias
    per position (``(heads, L)``, zero at start); a softmax over the valid positions (masked
    ones get weight 0) weights the features, summed over positions. The position bias lets
    a head prefer a fixed offset (a TSS-anchored window); the content term lets it follow a
    motif. Needs ``L == length``.
    """

    def __init__(self, channels: int, length: int, heads: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.score = nn.Conv1d(channels, heads, 1)
        self.position = nn.Parameter(torch.zeros(heads, length))

    def weights(self, x: Tensor, mask: Tensor) -> Tensor:
        """Attention weights ``(N, heads, L)``: each head sums to 1 over valid positions."""
        logits = self.score(x).float() + self.position
        logits = logits.masked_fill(~mask[:, None, :], float("-inf"))
        return torch.softmax(logits, dim=-1).nan_to_num(0.0)  # an all-masked row: zeros

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        w = self.weights(x, mask).to(x.dtype)
        return torch.einsum("nhl,ncl->nhc", w, apply_mask(x, mask)).flatten(1)


class PoolingHead(nn.Module):
    """Masked pooling ``(N, C, L)`` + mask ``(N, L)`` → ``(N, out_features)``.

    - ``global_max`` / ``global_avg``: max / mean over valid positions, ``C`` features; any
      ``L`` is accepted.
    - ``local_max``: max-pool windows of ``ceil(length / bins)`` positions (masked positions
      never win), keeping at most ``bins`` coarse positions, then flatten. Max of maxes over
      nested windows equals one max over the union, so this equals a hierarchy of smaller
      pools. Needs ``L == length``.
    - ``flatten``: zero masked positions and flatten, ``C * length`` features. Needs
      ``L == length``.
    - ``attention``: :class:`AttentionPool` with ``heads`` heads, ``heads * C`` features
      (softmax over valid positions of content score + learned position bias). Needs
      ``L == length``.

    - ``local_avg``: as ``local_max`` with the mean over each window's valid positions
      (how much of a feature, where), ``C * bins`` features.
    - ``max_avg``: ``global_max`` and ``global_avg`` concatenated, ``2 * C`` features (the
      best match and the overall amount: detection and composition); any ``L``.
    - ``local_max_avg``: ``local_max`` and ``local_avg`` per bin, ``2 * C * bins`` features
      (the max of every bin first, then the means).

    ``local_*`` and ``attention`` keep where a feature sits (for anchored windows, such as
    a TSS at a fixed offset); the global pools cannot.
    """

    def __init__(self, kind: str, channels: int, length: int, bins: int = 8,
                 heads: int = 4) -> None:
        super().__init__()
        if kind not in POOLS:
            raise ValueError(f"unknown pool {kind!r}; choose one of {', '.join(POOLS)}")
        if length < 1:
            raise ValueError(f"the feature map before the head has length {length} < 1")
        self.kind = kind
        self.length = length
        self.window = math.ceil(length / bins) if kind in BINNED else 1
        if kind in ("global_max", "global_avg"):
            self.out_features = channels
        elif kind == "max_avg":
            self.out_features = 2 * channels
        elif kind in BINNED:
            per_bin = 2 if kind == "local_max_avg" else 1
            self.out_features = per_bin * channels * math.ceil(length / self.window)
        elif kind == "attention":
            self.out_features = channels * heads
        else:
            self.out_features = channels * length
        # max-pools as (parameter-free) modules, so that DeepLIFT's max-pool rule sees them
        if kind in ("global_max", "max_avg"):
            self.pool = MaskedGlobalMaxPool1d()
        elif kind in ("local_max", "local_max_avg"):
            self.pool = MaskedMaxPool1d(self.window)
        elif kind == "attention":
            self.pool = AttentionPool(channels, length, heads)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        mask = check_mask(x, mask)
        if self.kind == "global_max":
            return self.pool(x, mask)
        if self.kind == "global_avg":
            return masked_global_avg(x, mask)
        if self.kind == "max_avg":
            return torch.cat([self.pool(x, mask), masked_global_avg(x, mask)], dim=1)
        if x.shape[-1] != self.length:
            raise ValueError(
                f"pool {self.kind!r} needs feature length {self.length} (set by seq_len), "
                f"got {x.shape[-1]}; pad inputs to seq_len and pass a mask"
            )
        if self.kind == "attention":
            return self.pool(x, mask)
        if self.kind == "local_avg":
            return masked_local_avg(x, mask, self.window)[0].flatten(1)
        if self.kind == "local_max_avg":
            top, _ = self.pool(x, mask)
            mean, _ = masked_local_avg(x, mask, self.window)
            return torch.cat([top.flatten(1), mean.flatten(1)], dim=1)
        if self.kind == "local_max":
            x, mask = self.pool(x, mask)
        return apply_mask(x, mask).flatten(1)


def mlp(
    in_features: int, hidden: Sequence[int], out_features: int, dropout: float = 0.0
) -> nn.Sequential:
    """``[Linear → ReLU → Dropout] * len(hidden) → [Dropout if no hidden] → Linear``."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_features, width), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        in_features = width
    if dropout and not hidden:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(in_features, out_features))
    return nn.Sequential(*layers)
