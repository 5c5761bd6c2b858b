"""Heads for quantitative tracks on a zoo trunk: base-resolution profiles, total counts, bins.

A *profile model* (BPNet, Avsec et al. 2021) maps one-hot ``x`` ``(N, A, seq_len)`` to

- ``profile_logits`` ``(N, T, output_len)``: per track, logits of a multinomial over the
  ``output_len`` central positions (the shape of the signal);
- ``log_counts`` ``(N, T)``: per track, the log of the total count in that window.

A *binned model* (Basenji, Kelley et al. 2018) maps it to Poisson rates ``(N, T,
output_len // bin_size)``: the expected count in each bin of ``bin_size`` positions.

Geometry. The trunk (``dilated`` or ``hybrid`` from :mod:`seqcnn.models.zoo`, stride 1, no
pooling) keeps one feature position per input position; feature ``q`` reads inputs ``q -
left`` to ``q + right`` (:func:`trunk_extent`, from the layers' ``same`` padding; ``left +
right + 1`` is the trunk's receptive field). The output window is centred: output ``m`` sits
on input ``s + m`` with ``s = (seq_len - output_len) / 2`` (``seq_len - output_len`` must be
even, so that the reverse complement maps the window onto itself). The profile head is a
convolution of ``profile_kernel`` positions centred on its output (BPNet's wide final
convolution, 75 there), computed only on the trunk features it needs; so output ``m`` reads
inputs ``s + m - left - pl`` to ``s + m + right + pr`` (``(pl, pr)`` the kernel's ``same``
padding), ``receptive_field + profile_kernel - 1`` positions, and every output position must
see all of them inside the input: otherwise :class:`~seqcnn.errors.ConfigError` with the
largest ``output_len`` that works. The count head averages the same trunk features over
the window the profile head reads (as bpnet-lite does), so it too sees only real sequence.
A hybrid trunk's attention reads the whole input; the cropping then guarantees the
convolutional receptive field only.

Reverse complement: :func:`reverse_complement_batch`, :func:`flip_tracks` (positions
reversed, strand-paired tracks swapped) and :class:`ReverseComplementAverage`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqcnn.errors import ConfigError
from seqcnn.models.layers import ConvBlock, masked_global_avg, same_padding
from seqcnn.models.receptive_field import receptive_field, total_stride
from seqcnn.models.zoo import Trunk, build_trunk

TARGETS = ("profile", "binned")
RATES = ("softplus", "exp")


# --------------------------------------------------------------------------- geometry


def trunk_extent(trunk: Trunk) -> tuple[int, int]:
    """Input positions ``(left, right)`` that one trunk feature position reads on each side.

    Needs a base-pair-resolution trunk: every convolution ``same``-padded with stride 1 and
    no pooling (attention layers have no spec and are skipped). ``left + right + 1`` equals
    :func:`seqcnn.models.receptive_field.receptive_field` of the trunk's specs.
    """
    specs = trunk.layer_specs()
    if total_stride(specs) != 1:
        raise ConfigError(
            f"model option trunk (arch {trunk.config['arch']!r}): a profile or binned head "
            "needs one feature per input position; set stride: 1 and stage_pool: 0 / "
            "attention_pool: 1"
        )
    left = right = 0
    for layer in [trunk.stem, *trunk.trunk]:
        if layer.spec is None:
            continue
        if not isinstance(layer, ConvBlock) or layer.padding != "same":
            raise ConfigError(f"model option trunk: layer {type(layer).__name__} is not a "
                              "'same'-padded convolution; use arch dilated or hybrid")
        kernel, dilation, _ = layer.spec
        pad_left, pad_right = same_padding(kernel, dilation)
        left, right = left + pad_left, right + pad_right
    assert left + right + 1 == receptive_field(specs)
    return left, right


def window_start(length: int, output_len: int) -> int:
    """First input position ``s`` of the centred output window; ``length - output_len``
    must be even and non-negative."""
    if output_len < 1 or output_len > length or (length - output_len) % 2:
        raise ConfigError(
            f"output_len={output_len} does not centre in an input of {length} positions: "
            "seq_len - output_len must be even and >= 0; change output_len or seq_len"
        )
    return (length - output_len) // 2


def fits(length: int, output_len: int, extent: tuple[int, int], kernel: int = 1) -> bool:
    """True when every output of a centred window of ``output_len`` sees all of its
    ``left + right + kernel`` input positions inside an input of ``length``."""
    if output_len < 1 or output_len > length or (length - output_len) % 2:
        return False
    s = (length - output_len) // 2
    pad_left, pad_right = same_padding(kernel)
    left, right = extent
    return s - pad_left - left >= 0 and s + output_len - 1 + pad_right + right <= length - 1


def max_output_len(length: int, extent: tuple[int, int], kernel: int = 1,
                   multiple: int = 1) -> int:
    """Largest centred ``output_len`` (a multiple of ``multiple``, of the parity of
    ``length``) that :func:`fits`; 0: none."""
    for output_len in range(length - length % multiple, 0, -multiple):
        if fits(length, output_len, extent, kernel):
            return output_len
    return 0


def _check_fits(length: int, output_len: int, extent: tuple[int, int], kernel: int,
                what: str, multiple: int = 1) -> int:
    start = window_start(length, output_len)
    if not fits(length, output_len, extent, kernel):
        best = max_output_len(length, extent, kernel, multiple)
        need = sum(extent) + kernel
        raise ConfigError(
            f"output_len={output_len} cannot be reached with full receptive field from "
            f"{length} input positions: each {what} output reads {need} positions "
            f"(trunk receptive field {sum(extent) + 1}"
            + (f" + profile_kernel {kernel} - 1" if kernel > 1 else "")
            + f"), so at most output_len={best} centred outputs fit; lower output_len, raise "
            "seq_len, or use fewer layers" + (" or a smaller profile_kernel" if kernel > 1 else "")
        )
    return start


# --------------------------------------------------------------------------- heads


class ProfileHead(nn.Module):
    """Per-position logits: ``(N, C, output_len + kernel - 1)`` → ``(N, T, output_len)``,
    one (unpadded) convolution of ``kernel`` positions over the trunk features."""

    def __init__(self, channels: int, n_tracks: int, kernel: int) -> None:
        super().__init__()
        self.kernel = kernel
        self.conv = nn.Conv1d(channels, n_tracks, kernel)

    def forward(self, h: Tensor) -> Tensor:
        return self.conv(h)


class CountHead(nn.Module):
    """Log total count per track: masked mean over positions ``(N, C, L)`` → linear →
    ``(N, T)``."""

    def __init__(self, channels: int, n_tracks: int) -> None:
        super().__init__()
        self.linear = nn.Linear(channels, n_tracks)

    def forward(self, h: Tensor, mask: Tensor | None = None) -> Tensor:
        return self.linear(masked_global_avg(h, mask))


class BinnedHead(nn.Module):
    """Poisson rates per bin: ``(N, C, L)`` → average pool of ``bin_size`` → 1×1 conv →
    softplus (or exp) → ``(N, T, L // bin_size)``, expected counts per bin (> 0)."""

    def __init__(self, channels: int, n_tracks: int, bin_size: int, rate: str = "softplus"
                 ) -> None:
        super().__init__()
        if rate not in RATES:
            raise ConfigError(f"unknown rate {rate!r} (model option rate); choose one of "
                              f"{', '.join(RATES)}")
        self.bin_size, self.rate = bin_size, rate
        self.conv = nn.Conv1d(channels, n_tracks, 1)

    def forward(self, h: Tensor) -> Tensor:
        z = self.conv(F.avg_pool1d(h, self.bin_size))
        return F.softplus(z) if self.rate == "softplus" else torch.exp(z)


# --------------------------------------------------------------------------- models


def _positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"model option {name} must be an integer >= 1, got {value!r}")
    return value


class _TrackModel(nn.Module):
    """Shared: a trunk from the zoo (by config), its extent, and ``config``."""

    target = ""

    def __init__(self, alphabet_size: int, n_tracks: int, seq_len: int,
                 trunk: Mapping[str, Any] | None, output_len: int) -> None:
        super().__init__()
        trunk_config = dict(trunk or {"arch": "dilated"})
        if "arch" not in trunk_config:
            trunk_config["arch"] = "dilated"
        self.config: dict[str, Any] = {
            "target": self.target,
            "alphabet_size": _positive("alphabet_size", alphabet_size),
            "n_tracks": _positive("n_tracks", n_tracks),
            "seq_len": _positive("seq_len", seq_len),
            "output_len": _positive("output_len", output_len),
            "trunk": trunk_config,
        }
        self.trunk = build_trunk(trunk_config, alphabet_size, seq_len)
        self.extent = trunk_extent(self.trunk)
        self.n_tracks, self.seq_len, self.output_len = n_tracks, seq_len, output_len

    @property
    def receptive_field(self) -> int:
        """Input positions one output position reads through convolutions."""
        return sum(self.extent) + 1


class ProfileModel(_TrackModel):
    """Trunk + profile head + count head: ``(x (N, A, L), mask)`` → ``(profile_logits (N,
    T, output_len), log_counts (N, T))`` (see the module docstring for the geometry).

    ``trunk`` is a zoo config (``{"arch": "dilated", "layers": 6, ...}`` or ``{"arch":
    "hybrid", ...}``; default the dilated CNN's defaults); ``profile_kernel`` the width of
    the profile convolution (BPNet: 75). ``receptive_field`` is what one profile output
    reads. Any input length ``L`` for which the centred window fits is accepted. A mask
    reaches the trunk (padding never changes valid features) and the count head (mean over
    valid positions); profile logits at padded output positions mean nothing: leave them
    out of the loss.
    """

    target = "profile"

    def __init__(self, alphabet_size: int, n_tracks: int, seq_len: int, *, output_len: int,
                 trunk: Mapping[str, Any] | None = None, profile_kernel: int = 75) -> None:
        super().__init__(alphabet_size, n_tracks, seq_len, trunk, output_len)
        self.config["profile_kernel"] = _positive("profile_kernel", profile_kernel)
        _check_fits(seq_len, output_len, self.extent, profile_kernel, "profile")
        self.profile = ProfileHead(self.trunk.channels, n_tracks, profile_kernel)
        self.count = CountHead(self.trunk.channels, n_tracks)

    @property
    def receptive_field(self) -> int:
        return sum(self.extent) + self.config["profile_kernel"]

    def forward(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        h, mask = self.trunk.features(x, mask)
        kernel = self.config["profile_kernel"]
        start = _check_fits(h.shape[-1], self.output_len, self.extent, kernel, "profile")
        lo = start - same_padding(kernel)[0]
        hi = lo + self.output_len + kernel - 1
        window, window_mask = h[..., lo:hi], mask[:, lo:hi]
        return self.profile(window), self.count(window, window_mask)


class BinnedModel(_TrackModel):
    """Trunk + binned head: ``(x (N, A, L), mask)`` → Poisson rates ``(N, T, output_len //
    bin_size)`` over the centred window; ``output_len`` must be a multiple of ``bin_size``
    and every position of the window must see the trunk's whole receptive field."""

    target = "binned"

    def __init__(self, alphabet_size: int, n_tracks: int, seq_len: int, *, output_len: int,
                 bin_size: int, trunk: Mapping[str, Any] | None = None,
                 rate: str = "softplus") -> None:
        super().__init__(alphabet_size, n_tracks, seq_len, trunk, output_len)
        self.config |= {"bin_size": _positive("bin_size", bin_size), "rate": rate}
        if output_len % bin_size:
            raise ConfigError(f"output_len={output_len} is not a multiple of bin_size="
                              f"{bin_size}; choose output_len = k × bin_size")
        _check_fits(seq_len, output_len, self.extent, 1, "binned", bin_size)
        self.binned = BinnedHead(self.trunk.channels, n_tracks, bin_size, rate)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        h, _ = self.trunk.features(x, mask)
        start = _check_fits(h.shape[-1], self.output_len, self.extent, 1, "binned")
        return self.binned(h[..., start:start + self.output_len])


def build_track_model(config: Mapping[str, Any]) -> ProfileModel | BinnedModel:
    """Rebuild a :class:`ProfileModel` or :class:`BinnedModel` from its ``config`` (as
    saved by :func:`seqcnn.models.zoo.checkpoint`); ``config["target"]`` picks the class."""
    options = dict(config)
    target = options.pop("target", None)
    classes = {"profile": ProfileModel, "binned": BinnedModel}
    if target not in classes:
        raise ConfigError(f"unknown target {target!r} in a track model config; choose one of "
                          f"{', '.join(TARGETS)}")
    sizes = [options.pop(key) for key in ("alphabet_size", "n_tracks", "seq_len")]
    return classes[target](*sizes, **options)


# --------------------------------------------------------------------------- strands


def reverse_complement_batch(x: Tensor) -> Tensor:
    """Reverse complement of one-hot DNA/RNA ``(N, 4, L)`` (ACGT order: flip both axes)."""
    if x.dim() != 3 or x.shape[1] != 4:
        raise ValueError(f"reverse complement needs one-hot nucleic acids (N, 4, L), got "
                         f"{tuple(x.shape)}")
    return x.flip(dims=(1, 2))


def track_permutation(n_tracks: int, pairs: Sequence[Sequence[int]] = ()) -> list[int]:
    """Track order on the other strand: each ``(i, j)`` of ``pairs`` (e.g. the + and −
    strand tracks of one experiment) swapped, unpaired tracks kept."""
    order = list(range(n_tracks))
    seen: set[int] = set()
    for pair in pairs:
        i, j = (int(v) for v in pair)
        if not (0 <= i < n_tracks and 0 <= j < n_tracks) or i == j or {i, j} & seen:
            raise ValueError(f"bad strand pair {tuple(pair)} for {n_tracks} tracks: pairs are "
                             "two different track indices, each in at most one pair")
        seen |= {i, j}
        order[i], order[j] = j, i
    return order


def flip_tracks(y: Tensor, pairs: Sequence[Sequence[int]] = ()) -> Tensor:
    """Targets or outputs as seen from the other strand: ``(N, T, L)`` profiles (or bins)
    reversed along positions, ``(N, T)`` counts kept; strand-paired tracks swapped."""
    y = y[:, track_permutation(y.shape[1], pairs)]
    return y.flip(dims=(-1,)) if y.dim() == 3 else y


class ReverseComplementAverage(nn.Module):
    """Average a track model over both strands: ``(f(x) + flip(f(rc(x)))) / 2`` for each
    output (a tensor or a tuple: profiles ``(N, T, L)``, counts ``(N, T)``, bins), with
    ``pairs`` the strand-paired tracks. Then ``model(rc(x)) == flip(model(x))``."""

    def __init__(self, model: nn.Module, pairs: Sequence[Sequence[int]] = ()) -> None:
        super().__init__()
        self.model = model
        self.pairs = [tuple(int(v) for v in p) for p in pairs]

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor | tuple[Tensor, ...]:
        rc_mask = None if mask is None else mask.flip(dims=(-1,))
        fwd = self.model(x, mask)
        rev = self.model(reverse_complement_batch(x), rc_mask)
        if isinstance(fwd, Tensor):
            return (fwd + flip_tracks(rev, self.pairs)) / 2
        return tuple((a + flip_tracks(b, self.pairs)) / 2 for a, b in zip(fwd, rev, strict=True))


__all__ = [
    "BinnedHead",
    "BinnedModel",
    "CountHead",
    "ProfileHead",
    "ProfileModel",
    "ReverseComplementAverage",
    "build_track_model",
    "fits",
    "flip_tracks",
    "max_output_len",
    "reverse_complement_batch",
    "track_permutation",
    "trunk_extent",
    "window_start",
]
