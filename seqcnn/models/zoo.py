"""Model zoo: a BPNet-style dilated CNN (default), DeepBind, Basset, Koo & Eddy, DanQ and a
hybrid (dilated convolutions, then transformer layers).

Every model maps one-hot sequences ``x`` ``(N, alphabet_size, L)`` and an optional mask
``(N, L)`` (bool, ``True`` at real positions) to ``n_tasks`` logits ``(N, n_tasks)``; padding
never influences the output (see :mod:`seqcnn.models.layers`). Every model has

- ``config``: plain dict (str/int/float/bool/list) that :func:`build_model` rebuilds it from;
- ``layer_specs()``: ``(kernel, dilation, stride)`` of each conv/pool layer before the head;
- ``receptive_field``: input positions one trunk output sees, from the specs;
- ``first_layer()``: the first convolution (``nn.Conv1d`` or :class:`PWMConv1d`);
- ``stem``: first conv + its activation as a masked block, ``stem(x, mask) -> (h, mask)``;
- ``features(x, mask) -> (h, mask)``: the trunk output ``(N, C, L')`` before the head.

Common options: ``stride`` (of the first conv), ``pool`` (head: ``global_max``,
``global_avg``, ``local_max``, ``flatten``, ``attention``, and the counting pools ``max_avg``,
``local_avg``, ``local_max_avg``; ``local_bins`` coarse positions for the ``local_*`` pools),
``activation`` of the first layer (``relu`` or ``exp``), ``pwm_constrained``
(first layer is a :class:`PWMConv1d`). ``flatten``, ``local_*`` and ``attention`` fix the
input length to ``seq_len`` and keep where a motif sits (see
:class:`seqcnn.models.heads.PoolingHead`); global heads accept any length.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from seqcnn.errors import CheckpointError
from seqcnn.models.heads import POOLS, PoolingHead, mlp
from seqcnn.models.layers import (
    ACTIVATIONS,
    ConvBlock,
    MaskedBiLSTM,
    MaskedMaxPool1d,
    MaskedTransformerLayer,
    Padding,
    Pointwise,
    apply_mask,
    check_mask,
)
from seqcnn.models.receptive_field import LayerSpec, receptive_field

# --------------------------------------------------------------------------- validation


def _int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _float(name: str, value: Any, low: float, high: float, high_open: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not (low <= value and (value < high if high_open else value <= high)):
        bound = f"[{low}, {high})" if high_open else f"[{low}, {high}]"
        raise ValueError(f"{name} must be a number in {bound}, got {value!r}")
    return float(value)


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value


def _choice(name: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(choices)}")
    return value


def _int_list(name: str, value: Any, minimum: int = 1) -> list[int]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ValueError(f"{name} must be a list of integers, got {value!r}")
    return [_int(f"{name}[{i}]", v, minimum) for i, v in enumerate(value)]


def _scale(n: int, multiplier: float) -> int:
    return max(1, round(n * multiplier))


def _common(
    alphabet_size: int,
    n_tasks: int,
    seq_len: int,
    pool: str,
    activation: str,
    stride: int,
    pwm_constrained: bool,
    local_bins: int,
) -> dict[str, Any]:
    return {
        "alphabet_size": _int("alphabet_size", alphabet_size),
        "n_tasks": _int("n_tasks", n_tasks),
        "seq_len": _int("seq_len", seq_len),
        "pool": _choice("pool", pool, POOLS),
        "activation": _choice("activation", activation, ACTIVATIONS),
        "stride": _int("stride", stride),
        "pwm_constrained": _bool("pwm_constrained", pwm_constrained),
        "local_bins": _int("local_bins", local_bins),
    }


# --------------------------------------------------------------------------- base class


class SequenceModel(nn.Module):
    """Shared plumbing: ``stem`` → ``trunk`` (masked layers) → ``head`` → ``dense`` logits.

    Subclasses set ``stem``, ``trunk`` and call :meth:`_build_head`.
    """

    arch: ClassVar[str] = ""
    stem: ConvBlock
    trunk: nn.ModuleList
    head: PoolingHead
    dense: nn.Module

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.config = {"arch": self.arch, **config}
        self.alphabet_size: int = config["alphabet_size"]
        self.n_tasks: int = config["n_tasks"]
        self.seq_len: int = config["seq_len"]

    def _stem(
        self, filters: int, kernel: int, padding: Padding, batch_norm: bool = False
    ) -> ConvBlock:
        c = self.config
        return ConvBlock(
            self.alphabet_size,
            filters,
            kernel,
            stride=c["stride"],
            padding=padding,
            activation=c["activation"],
            batch_norm=batch_norm,
            pwm=c["pwm_constrained"],
            fixed=c.get("fixed_filters"),
        )

    def _build_head(self, channels: int, hidden: Sequence[int], dropout: float) -> None:
        length = self.feature_length(self.seq_len)
        if length < 1:
            raise ValueError(
                f"seq_len={self.seq_len} is too short for {self.arch}: its trunk leaves "
                f"{length} positions"
            )
        self.head = PoolingHead(self.config["pool"], channels, length, self.config["local_bins"],
                                self.config.get("pool_heads", 4))
        self.dense = mlp(self.head.out_features, hidden, self.n_tasks, dropout)

    def _layers(self) -> list[nn.Module]:
        return [self.stem, *self.trunk]

    def layer_specs(self) -> list[LayerSpec]:
        """``(kernel, dilation, stride)`` of every conv and pool before the head, in order."""
        return [m.spec for m in self._layers() if m.spec is not None]

    @property
    def receptive_field(self) -> int:
        """Input positions that one trunk output position sees (formula over layer specs)."""
        return receptive_field(self.layer_specs())

    def first_layer(self) -> nn.Module:
        """The first convolution (unpadded module; ``stem`` applies the padding)."""
        return self.stem.conv

    def feature_length(self, length: int) -> int:
        """Length ``L'`` of :meth:`features` for inputs of ``length`` positions."""
        for layer in self._layers():
            if length < 1:
                return length
            length = layer.output_length(length)
        return length

    def _check_input(self, x: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
        if x.dim() != 3 or x.shape[1] != self.alphabet_size:
            raise ValueError(f"expected input (N, {self.alphabet_size}, L), got {tuple(x.shape)}")
        if not x.is_floating_point():
            x = x.to(self.stem.conv.weight.dtype)
        return x, check_mask(x, mask)

    def features(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Trunk output ``(N, C, L')`` and its mask ``(N, L')`` for ``x`` ``(N, A, L)``."""
        x, mask = self._check_input(x, mask)
        for layer in self._layers():
            x, mask = layer(x, mask)
        return x, mask

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Logits ``(N, n_tasks)``."""
        h, mask = self.features(x, mask)
        return self.dense(self.head(h, mask))


# --------------------------------------------------------------------------- models


class DilatedCNN(SequenceModel):
    """BPNet-style dilated residual CNN (the default architecture).

    - stem: conv ``filters × first_kernel``, stride ``stride``, **same** padding, activation;
    - optional masked max-pool of ``stage_pool`` after the stem and between residual blocks;
    - ``layers`` residual blocks ``h + relu(conv(h))``, conv ``filters × kernel`` with dilation
      ``dilation_base ** i``, **same** padding (length kept);
    - head ``pool`` → [``head_hidden`` ReLU units →] dropout → linear → ``n_tasks`` logits
      (``pool: attention`` has ``pool_heads`` heads; ``head_hidden: 0``, the default, is no
      hidden layer).

    ``per_position=True`` replaces head and dense by a 1×1 conv: logits ``(N, n_tasks, L)``
    at base-pair resolution (0 at masked positions); needs ``stride=1`` and ``stage_pool=0``,
    and ignores ``pool``. ``fixed_filters`` (nested lists ``(M, alphabet, w)``, ``w <=
    first_kernel``: known motifs as log-odds, e.g. from :func:`seqcnn.jaspar.motif_filters`)
    are the first ``M`` stem filters and are not trained. Defaults: receptive field 145,
    about 80k parameters.
    """

    arch = "dilated"

    def __init__(
        self,
        alphabet_size: int,
        n_tasks: int,
        seq_len: int,
        *,
        filters: int = 64,
        first_kernel: int = 19,
        layers: int = 6,
        kernel: int = 3,
        dilation_base: int = 2,
        stage_pool: int = 0,
        per_position: bool = False,
        dropout: float = 0.0,
        pool: str = "global_max",
        activation: str = "relu",
        stride: int = 1,
        pwm_constrained: bool = False,
        local_bins: int = 8,
        pool_heads: int = 4,
        head_hidden: int = 0,
        fixed_filters: Sequence[Any] | None = None,
    ) -> None:
        config = _common(
            alphabet_size, n_tasks, seq_len, pool, activation, stride, pwm_constrained, local_bins
        )
        if fixed_filters is not None:
            config["fixed_filters"] = torch.as_tensor(fixed_filters, dtype=torch.float32).tolist()
        config |= {
            "filters": _int("filters", filters),
            "first_kernel": _int("first_kernel", first_kernel),
            "layers": _int("layers", layers, 0),
            "kernel": _int("kernel", kernel),
            "dilation_base": _int("dilation_base", dilation_base),
            "stage_pool": _int("stage_pool", stage_pool, 0),
            "per_position": _bool("per_position", per_position),
            "dropout": _float("dropout", dropout, 0.0, 1.0, high_open=True),
        }
        # head options enter the config only when set, so older configs stay as they were
        if _int("pool_heads", pool_heads) != 4:
            config["pool_heads"] = pool_heads
        if _int("head_hidden", head_hidden, 0):
            config["head_hidden"] = head_hidden
        if per_position and (stride != 1 or stage_pool):
            raise ValueError("per_position needs stride=1 and stage_pool=0 (base-pair resolution)")
        super().__init__(config)
        self.stem = self._stem(filters, first_kernel, "same")
        trunk: list[nn.Module] = []
        if stage_pool:
            trunk.append(MaskedMaxPool1d(stage_pool))
        for i in range(layers):
            trunk.append(
                ConvBlock(
                    filters,
                    filters,
                    kernel,
                    dilation=dilation_base**i,
                    padding="same",
                    residual=True,
                )
            )
            if stage_pool and i < layers - 1:
                trunk.append(MaskedMaxPool1d(stage_pool))
        self.trunk = nn.ModuleList(trunk)
        if per_position:
            self.dense = nn.Conv1d(filters, n_tasks, 1)
        else:
            self._build_head(filters, [head_hidden] if head_hidden else [], dropout)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Logits ``(N, n_tasks)``, or ``(N, n_tasks, L)`` with ``per_position``."""
        if not self.config["per_position"]:
            return super().forward(x, mask)
        h, mask = self.features(x, mask)
        return apply_mask(self.dense(h), mask)


class DeepBind(SequenceModel):
    """DeepBind (Alipanahi et al. 2015): one conv, global max-pool, small dense layer.

    Conv ``filters × kernel`` with **valid** padding (no partial motifs at the ends), first
    activation, head ``pool``, then ``hidden`` ReLU units (0: none) with dropout, → logits.
    """

    arch = "deepbind"

    def __init__(
        self,
        alphabet_size: int,
        n_tasks: int,
        seq_len: int,
        *,
        filters: int = 16,
        kernel: int = 24,
        hidden: int = 32,
        dropout: float = 0.5,
        pool: str = "global_max",
        activation: str = "relu",
        stride: int = 1,
        pwm_constrained: bool = False,
        local_bins: int = 8,
    ) -> None:
        config = _common(
            alphabet_size, n_tasks, seq_len, pool, activation, stride, pwm_constrained, local_bins
        )
        config |= {
            "filters": _int("filters", filters),
            "kernel": _int("kernel", kernel),
            "hidden": _int("hidden", hidden, 0),
            "dropout": _float("dropout", dropout, 0.0, 1.0, high_open=True),
        }
        super().__init__(config)
        self.stem = self._stem(filters, kernel, "valid")
        self.trunk = nn.ModuleList()
        self._build_head(filters, [hidden] if hidden else [], dropout)


class Basset(SequenceModel):
    """Basset (Kelley et al. 2016): three conv → batch norm → ReLU → max-pool stages.

    Defaults 300×19/pool 3, 200×11/pool 4, 200×7/pool 4, all **valid** padding (600 bp →
    200 × 10), then ``hidden`` = 1000, 1000 ReLU units with dropout 0.3 → logits. The first
    stage uses the first-layer ``activation``. ``width_multiplier`` scales all filter and
    hidden counts (e.g. 0.1 for tests). About 4M parameters at 600 bp with defaults.
    """

    arch = "basset"

    def __init__(
        self,
        alphabet_size: int,
        n_tasks: int,
        seq_len: int,
        *,
        filters: Sequence[int] = (300, 200, 200),
        kernels: Sequence[int] = (19, 11, 7),
        pools: Sequence[int] = (3, 4, 4),
        hidden: Sequence[int] = (1000, 1000),
        dropout: float = 0.3,
        width_multiplier: float = 1.0,
        batch_norm: bool = True,
        pool: str = "flatten",
        activation: str = "relu",
        stride: int = 1,
        pwm_constrained: bool = False,
        local_bins: int = 8,
    ) -> None:
        config = _common(
            alphabet_size, n_tasks, seq_len, pool, activation, stride, pwm_constrained, local_bins
        )
        config |= {
            "filters": _int_list("filters", filters),
            "kernels": _int_list("kernels", kernels),
            "pools": _int_list("pools", pools),
            "hidden": _int_list("hidden", hidden),
            "dropout": _float("dropout", dropout, 0.0, 1.0, high_open=True),
            "width_multiplier": _float("width_multiplier", width_multiplier, 1e-6, 1e6),
            "batch_norm": _bool("batch_norm", batch_norm),
        }
        n = len(config["filters"])
        if n == 0 or len(config["kernels"]) != n or len(config["pools"]) != n:
            raise ValueError("filters, kernels and pools must be non-empty lists of one length")
        super().__init__(config)
        widths = [_scale(f, width_multiplier) for f in config["filters"]]
        self.stem = self._stem(widths[0], config["kernels"][0], "valid", batch_norm)
        trunk: list[nn.Module] = [MaskedMaxPool1d(config["pools"][0])]
        for i in range(1, n):
            trunk += [
                ConvBlock(
                    widths[i - 1],
                    widths[i],
                    config["kernels"][i],
                    padding="valid",
                    batch_norm=batch_norm,
                ),
                MaskedMaxPool1d(config["pools"][i]),
            ]
        self.trunk = nn.ModuleList(trunk)
        hidden_widths = [_scale(h, width_multiplier) for h in config["hidden"]]
        self._build_head(widths[-1], hidden_widths, dropout)


class KooEddyCNN(SequenceModel):
    """CNN-x of Koo & Eddy (2019): the first max-pool size ``x`` sets how whole the motifs
    learnt by first-layer filters are (small x: partial motifs, assembled by deeper layers;
    large x: whole motifs).

    Conv 30×19 **same** padding → batch norm → activation → max-pool ``pool_size`` → dropout;
    conv 128×5 **same** → batch norm → ReLU → max-pool ``100 // pool_size`` → dropout
    (``conv_dropout``); head ``pool`` (default flatten) → dense 512 → ReLU → dropout → logits.
    ``pool_size`` must divide 100 (the paper uses 1, 2, 4, 10, 25, 50, 100); total pooling
    is 100, so 200 bp leave 2 positions.
    """

    arch = "koo_eddy"

    def __init__(
        self,
        alphabet_size: int,
        n_tasks: int,
        seq_len: int,
        *,
        pool_size: int = 4,
        filters: Sequence[int] = (30, 128),
        kernels: Sequence[int] = (19, 5),
        hidden: int = 512,
        dropout: float = 0.5,
        conv_dropout: float = 0.1,
        batch_norm: bool = True,
        pool: str = "flatten",
        activation: str = "relu",
        stride: int = 1,
        pwm_constrained: bool = False,
        local_bins: int = 8,
    ) -> None:
        config = _common(
            alphabet_size, n_tasks, seq_len, pool, activation, stride, pwm_constrained, local_bins
        )
        config |= {
            "pool_size": _int("pool_size", pool_size),
            "filters": _int_list("filters", filters),
            "kernels": _int_list("kernels", kernels),
            "hidden": _int("hidden", hidden, 0),
            "dropout": _float("dropout", dropout, 0.0, 1.0, high_open=True),
            "conv_dropout": _float("conv_dropout", conv_dropout, 0.0, 1.0, high_open=True),
            "batch_norm": _bool("batch_norm", batch_norm),
        }
        if 100 % pool_size:
            raise ValueError(
                f"pool_size must divide 100 (1, 2, 4, 10, 25, 50, 100), got {pool_size}"
            )
        if len(config["filters"]) != 2 or len(config["kernels"]) != 2:
            raise ValueError("filters and kernels must be lists of two integers")
        super().__init__(config)
        (f1, f2), (k1, k2) = config["filters"], config["kernels"]
        self.stem = self._stem(f1, k1, "same", batch_norm)
        self.trunk = nn.ModuleList(
            [
                MaskedMaxPool1d(pool_size),
                Pointwise(nn.Dropout(conv_dropout)),
                ConvBlock(f1, f2, k2, padding="same", batch_norm=batch_norm),
                MaskedMaxPool1d(100 // pool_size),
                Pointwise(nn.Dropout(conv_dropout)),
            ]
        )
        self._build_head(f2, [hidden] if hidden else [], dropout)


class DanQ(SequenceModel):
    """DanQ (Quang & Xie 2016): conv → max-pool → bidirectional LSTM → dense.

    Conv 320×26 **valid** padding → activation → max-pool 13 → dropout 0.2 → BiLSTM 320 per
    direction → dropout 0.5 → head ``pool`` (default flatten, as published) → dense 925 →
    ReLU → logits. ``width_multiplier`` scales filters, LSTM and dense sizes. Masks must be
    prefixes (padding at the end). ``receptive_field`` counts conv and pool only: the LSTM
    reads the whole sequence. The published flatten head is large (≈46M parameters at
    1000 bp); ``pool="global_max"`` brings that to ≈2M.
    """

    arch = "danq"

    def __init__(
        self,
        alphabet_size: int,
        n_tasks: int,
        seq_len: int,
        *,
        filters: int = 320,
        kernel: int = 26,
        pool_size: int = 13,
        lstm_hidden: int = 320,
        hidden: int = 925,
        dropout: float = 0.0,
        conv_dropout: float = 0.2,
        lstm_dropout: float = 0.5,
        width_multiplier: float = 1.0,
        pool: str = "flatten",
        activation: str = "relu",
        stride: int = 1,
        pwm_constrained: bool = False,
        local_bins: int = 8,
    ) -> None:
        config = _common(
            alphabet_size, n_tasks, seq_len, pool, activation, stride, pwm_constrained, local_bins
        )
        config |= {
            "filters": _int("filters", filters),
            "kernel": _int("kernel", kernel),
            "pool_size": _int("pool_size", pool_size),
            "lstm_hidden": _int("lstm_hidden", lstm_hidden),
            "hidden": _int("hidden", hidden, 0),
            "dropout": _float("dropout", dropout, 0.0, 1.0, high_open=True),
            "conv_dropout": _float("conv_dropout", conv_dropout, 0.0, 1.0, high_open=True),
            "lstm_dropout": _float("lstm_dropout", lstm_dropout, 0.0, 1.0, high_open=True),
            "width_multiplier": _float("width_multiplier", width_multiplier, 1e-6, 1e6),
        }
        super().__init__(config)
        f, lstm = _scale(filters, width_multiplier), _scale(lstm_hidden, width_multiplier)
        self.stem = self._stem(f, kernel, "valid")
        self.trunk = nn.ModuleList(
            [
                MaskedMaxPool1d(pool_size),
                Pointwise(nn.Dropout(conv_dropout)),
                MaskedBiLSTM(f, lstm),
                Pointwise(nn.Dropout(lstm_dropout)),
            ]
        )
        self._build_head(2 * lstm, [_scale(hidden, width_multiplier)] if hidden else [], dropout)


class Hybrid(SequenceModel):
    """Convolutions for local motifs, then self-attention for long-range context.

    - stem and ``layers`` dilated residual blocks exactly as :class:`DilatedCNN` (``filters``,
      ``first_kernel``, ``kernel``, ``dilation_base``, ``stride``, ``activation``,
      ``pwm_constrained``);
    - optional masked max-pool of ``attention_pool`` positions (1: none) before attention,
      whose cost grows with the square of the length;
    - ``transformer_layers`` pre-norm encoder layers (:class:`MaskedTransformerLayer`:
      ``heads`` heads over ``filters`` channels, feed-forward ``ff_mult × filters``,
      ``dropout``) with a **learned relative position bias** per head for offsets up to
      ``max_distance`` feature positions (farther offsets share the edge value); no
      absolute positions, so any length is accepted;
    - head ``pool`` → linear → ``n_tasks`` logits, as the other zoo models.

    Masks: padding is never attended to and never changes a valid output.
    ``receptive_field`` counts convolutions and pools only: attention reads the whole
    sequence. Defaults (64 channels, 4 residual blocks, 2 layers of 4 heads): about 120k
    parameters, small enough to train on a CPU.
    """

    arch = "hybrid"

    def __init__(
        self,
        alphabet_size: int,
        n_tasks: int,
        seq_len: int,
        *,
        filters: int = 64,
        first_kernel: int = 19,
        layers: int = 4,
        kernel: int = 3,
        dilation_base: int = 2,
        attention_pool: int = 1,
        transformer_layers: int = 2,
        heads: int = 4,
        ff_mult: int = 2,
        max_distance: int = 128,
        dropout: float = 0.1,
        pool: str = "global_max",
        activation: str = "relu",
        stride: int = 1,
        pwm_constrained: bool = False,
        local_bins: int = 8,
    ) -> None:
        config = _common(
            alphabet_size, n_tasks, seq_len, pool, activation, stride, pwm_constrained, local_bins
        )
        config |= {
            "filters": _int("filters", filters),
            "first_kernel": _int("first_kernel", first_kernel),
            "layers": _int("layers", layers, 0),
            "kernel": _int("kernel", kernel),
            "dilation_base": _int("dilation_base", dilation_base),
            "attention_pool": _int("attention_pool", attention_pool),
            "transformer_layers": _int("transformer_layers", transformer_layers, 0),
            "heads": _int("heads", heads),
            "ff_mult": _int("ff_mult", ff_mult),
            "max_distance": _int("max_distance", max_distance),
            "dropout": _float("dropout", dropout, 0.0, 1.0, high_open=True),
        }
        if filters % heads:
            raise ValueError(f"filters ({filters}) must be divisible by heads ({heads})")
        super().__init__(config)
        self.stem = self._stem(filters, first_kernel, "same")
        trunk: list[nn.Module] = [
            ConvBlock(filters, filters, kernel, dilation=dilation_base**i, padding="same",
                      residual=True)
            for i in range(layers)
        ]
        if attention_pool > 1:
            trunk.append(MaskedMaxPool1d(attention_pool))
        trunk += [
            MaskedTransformerLayer(filters, heads, ff_mult=ff_mult, dropout=dropout,
                                   max_distance=max_distance)
            for _ in range(transformer_layers)
        ]
        self.trunk = nn.ModuleList(trunk)
        self._build_head(filters, [], 0.0)


class Trunk(nn.Module):
    """A zoo model without its head: ``features(x, mask) -> (h (N, channels, L'), mask)``.

    Holds the model's ``stem`` and ``trunk`` modules (the same parameters, not copies) and
    its ``config``; ``layer_specs()`` and ``receptive_field`` as for the model. For heads
    that read the feature map itself (profile, count and binned heads in
    :mod:`seqcnn.models.profile`). Build one with :func:`build_trunk`.
    """

    def __init__(self, model: SequenceModel) -> None:
        super().__init__()
        filters = model.config.get("filters")
        if not isinstance(filters, int):
            raise ValueError(f"arch {model.arch!r} has no single feature width; use dilated "
                             "or hybrid")
        self.config = dict(model.config)
        self.alphabet_size = model.alphabet_size
        self.channels: int = filters
        self.stem = model.stem
        self.trunk = model.trunk

    def _layers(self) -> list[nn.Module]:
        return [self.stem, *self.trunk]

    def layer_specs(self) -> list[LayerSpec]:
        """``(kernel, dilation, stride)`` of every conv and pool, in order."""
        return [m.spec for m in self._layers() if m.spec is not None]

    @property
    def receptive_field(self) -> int:
        """Input positions one feature position sees through convolutions and pools."""
        return receptive_field(self.layer_specs())

    def features(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Feature map ``(N, channels, L')`` and its mask ``(N, L')`` for ``x`` ``(N, A, L)``."""
        if x.dim() != 3 or x.shape[1] != self.alphabet_size:
            raise ValueError(f"expected input (N, {self.alphabet_size}, L), got {tuple(x.shape)}")
        if not x.is_floating_point():
            x = x.to(self.stem.conv.weight.dtype)
        mask = check_mask(x, mask)
        for layer in self._layers():
            x, mask = layer(x, mask)
        return x, mask

    forward = features


def build_trunk(config: Mapping[str, Any], alphabet_size: int, seq_len: int) -> Trunk:
    """The :class:`Trunk` of ``build_model(config, alphabet_size, 1, seq_len)`` (its head
    is built and dropped)."""
    return Trunk(build_model(config, alphabet_size, 1, seq_len))


# --------------------------------------------------------------------------- building

ARCHS: dict[str, type[SequenceModel]] = {
    cls.arch: cls for cls in (DilatedCNN, DeepBind, Basset, KooEddyCNN, DanQ, Hybrid)
}
_SIZES = ("alphabet_size", "n_tasks", "seq_len")


def build_model(
    config: Mapping[str, Any],
    alphabet_size: int | None = None,
    n_tasks: int | None = None,
    seq_len: int | None = None,
) -> SequenceModel:
    """Build a model from a config dict such as a saved ``model.config``.

    ``config["arch"]`` is one of ``dilated`` (default), ``deepbind``, ``basset``,
    ``koo_eddy``, ``danq``, ``hybrid``; the other keys are that class's keyword options. The
    sizes come from the arguments or from the config (a saved ``model.config`` has them);
    giving both with different values is an error. Unknown keys and bad values raise
    ``ValueError`` naming them.
    """
    if not isinstance(config, Mapping):
        raise ValueError(f"model config must be a mapping, got {type(config).__name__}")
    if config.get("arch") == "ensemble":  # k members' mean logits (seqcnn.models.ensemble)
        from seqcnn.models.ensemble import build_ensemble

        return build_ensemble(config)
    options = dict(config)
    arch = options.pop("arch", "dilated")
    cls = ARCHS.get(arch) if isinstance(arch, str) else None
    if cls is None:
        raise ValueError(f"unknown arch {arch!r}; choose one of {', '.join(ARCHS)}")
    sizes: dict[str, Any] = {}
    for key, given in zip(_SIZES, (alphabet_size, n_tasks, seq_len), strict=True):
        stored = options.pop(key, None)
        if given is not None and stored is not None and given != stored:
            raise ValueError(f"{key}={given} conflicts with {key}={stored} in the model config")
        value = given if given is not None else stored
        if value is None:
            raise ValueError(f"{key} is missing: pass it or put it in the model config")
        sizes[key] = value
    allowed = [
        name
        for name, p in inspect.signature(cls).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    for key in options:
        if key not in allowed:
            raise ValueError(
                f"unknown option {key!r} for arch {arch!r}; valid options: {', '.join(allowed)}"
            )
    return cls(**sizes, **options)


def checkpoint(model: SequenceModel) -> dict[str, Any]:
    """``{"config": ..., "state_dict": ...}``, loadable with ``torch.load(weights_only=True)``."""
    return {"config": dict(model.config), "state_dict": model.state_dict()}


def from_checkpoint(ckpt: Mapping[str, Any], strict: bool = True) -> SequenceModel:
    """Rebuild a model from :func:`checkpoint` output (config + weights); in eval mode. A
    config with ``target`` is a track model (:func:`seqcnn.models.profile.build_track_model`)."""
    if "target" in ckpt["config"]:
        from seqcnn.models.profile import build_track_model  # profile imports this module

        model = build_track_model(ckpt["config"])
    else:
        model = build_model(ckpt["config"])
    model.load_state_dict(ckpt["state_dict"], strict=strict)
    return model.eval()


#: The key of ``model.json`` holding the SHA-256 of ``model.pt`` (written by training).
SHA256_KEY = "model_sha256"


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _retrain(path: Path) -> str:
    return (f"retrain it with `snakemake --forcerun {path}` (or delete {path} and run "
            "snakemake again)")


def _first_sentence(err: BaseException, limit: int = 120) -> str:
    """``Type: first sentence`` of an error message, at most ``limit`` characters."""
    text = " ".join(str(err).split()).split(". ")[0][:limit]
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _recorded_sha256(path: Path) -> tuple[Path, str | None]:
    """``model.json`` beside ``path`` and the SHA-256 it records (None: no record)."""
    summary = path.with_suffix(".json")
    try:
        recorded = json.loads(summary.read_text()).get(SHA256_KEY)
    except (OSError, ValueError, AttributeError):
        recorded = None
    return summary, recorded


def read_checkpoint(path: str | os.PathLike, verify: bool = True) -> dict[str, Any]:
    """The ``{"config", "state_dict", "meta"}`` mapping in a ``model.pt``, read with
    ``weights_only=True`` onto the CPU.

    With ``verify``, the file's SHA-256 must equal the one ``model.json`` beside it records
    (when there is one). A missing, truncated, changed or foreign file raises
    :class:`~seqcnn.errors.CheckpointError` naming the file and how to retrain it.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: model file not found; train it with `snakemake "
                              f"{path}` (or seqcnn.train.loop.train)")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises OSError, RuntimeError, UnpicklingError, ...
        raise CheckpointError(f"{path} cannot be read as a torch model file: it is truncated "
                              f"or not a torch file ({_first_sentence(err)}); "
                              + _retrain(path)) from err
    if not isinstance(ckpt, Mapping) or not {"config", "state_dict"} <= set(ckpt):
        raise CheckpointError(f"{path} is a torch file but not a seqcnn model (no config and "
                              "state_dict); " + _retrain(path))
    if verify:
        summary, recorded = _recorded_sha256(path)
        if recorded is not None and recorded != file_sha256(path):
            raise CheckpointError(
                f"{path}: its SHA-256 differs from the one recorded in {summary} when it was "
                "written (the file was changed, copied in part or written by another run); "
                + _retrain(path))
    return dict(ckpt)


def load_model(path: str | os.PathLike, strict: bool = True) -> SequenceModel:
    """The model in a ``model.pt`` (:func:`read_checkpoint`, then :func:`from_checkpoint`),
    in eval mode on the CPU; every failure is a :class:`~seqcnn.errors.CheckpointError`
    naming the file and the fix."""
    ckpt = read_checkpoint(path)
    try:
        return from_checkpoint(ckpt, strict=strict)
    except (KeyError, ValueError, RuntimeError, TypeError) as err:
        raise CheckpointError(f"{path}: its weights do not fit its model config "
                              f"({_first_sentence(err, 300)}); " + _retrain(Path(path))) from err


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def model_device(model: nn.Module) -> torch.device:
    """The device of ``model``'s first parameter; the CPU for a model without any."""
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


__all__ = [
    "ARCHS",
    "Basset",
    "DanQ",
    "DeepBind",
    "DilatedCNN",
    "Hybrid",
    "KooEddyCNN",
    "SequenceModel",
    "Trunk",
    "build_model",
    "build_trunk",
    "checkpoint",
    "count_parameters",
    "model_device",
    "file_sha256",
    "from_checkpoint",
    "load_model",
    "read_checkpoint",
]
