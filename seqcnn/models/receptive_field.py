"""Receptive field of a convolution/pooling stack: by formula, and measured by gradients.

A layer is ``(kernel, dilation, stride)`` (a max-pool of size p is ``(p, 1, p)``). Walking the
stack from the input, with ``jump`` the input distance between neighbouring positions of the
current feature map (starting at 1)::

    rf   += (kernel - 1) * dilation * jump
    jump *= stride

starting from ``rf = 1``. The result is in input positions (bp for DNA, residues for protein).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn

from seqcnn.alphabet import letters

LayerSpec = tuple[int, int, int]


def _check_spec(spec: Sequence[int]) -> tuple[int, int, int]:
    if len(spec) != 3 or any(isinstance(v, bool) or int(v) != v or v < 1 for v in spec):
        raise ValueError(f"a layer spec is (kernel, dilation, stride) of integers >= 1, got {spec}")
    kernel, dilation, stride = (int(v) for v in spec)
    return kernel, dilation, stride


def receptive_field(layers: Iterable[Sequence[int]]) -> int:
    """Receptive field in input positions of a stack of ``(kernel, dilation, stride)`` layers."""
    rf, jump = 1, 1
    for spec in layers:
        kernel, dilation, stride = _check_spec(spec)
        rf += (kernel - 1) * dilation * jump
        jump *= stride
    return rf


def total_stride(layers: Iterable[Sequence[int]]) -> int:
    """Input positions between neighbouring outputs of the stack (product of strides)."""
    jump = 1
    for spec in layers:
        jump *= _check_spec(spec)[2]
    return jump


def model_receptive_field(model: nn.Module) -> int:
    """Receptive field of a model from its ``layer_specs()``, else its ``receptive_field``."""
    if hasattr(model, "layer_specs"):
        return receptive_field(model.layer_specs())
    rf = getattr(model, "receptive_field", None)
    if isinstance(rf, int) and not isinstance(rf, bool):
        return rf
    raise TypeError(f"{type(model).__name__} has neither layer_specs() nor receptive_field")


def gradient_footprint(
    model: nn.Module, length: int, alphabet: int | str, *, n_samples: int = 16, seed: int = 0
) -> int:
    """Width of the input region that one central output position of the trunk depends on.

    Takes ``n_samples`` random inputs ``(n_samples, alphabet, length)`` (``alphabet`` is a size
    or a name from :data:`seqcnn.alphabet.ALPHABETS`), runs the trunk (``model.features`` when
    the model has it, else ``model`` itself, either giving ``(N, C, L')`` or a tuple starting
    with it), and differentiates the sum over channels of position ``L' // 2``. Returns the
    span (first to last input position, inclusive) where the gradient is non-zero in any
    sample. Max-pools route gradient to one position per window and ReLUs can be off, so
    several samples are combined. Runs in eval mode (batch norm must not mix positions);
    the model's mode and parameter gradients are left as they were. Choose ``length`` well
    over twice the receptive field so the footprint is not clipped at the edges.
    """
    size = alphabet if isinstance(alphabet, int) else len(letters(alphabet))
    generator = torch.Generator().manual_seed(seed)
    param = next(model.parameters(), None)
    dtype = param.dtype if param is not None else torch.get_default_dtype()
    x = torch.randn(n_samples, size, length, generator=generator, dtype=dtype)
    if param is not None:
        x = x.to(param.device)
    x.requires_grad_(True)
    was_training = model.training
    model.eval()
    try:
        out = model.features(x) if hasattr(model, "features") else model(x)
        if isinstance(out, tuple):
            out = out[0]
        centre = out.shape[-1] // 2
        (grad,) = torch.autograd.grad(out[..., centre].sum(), x)
    finally:
        model.train(was_training)
    support = (grad != 0).any(dim=0).any(dim=0).nonzero()
    if support.numel() == 0:
        return 0
    return int(support.max() - support.min()) + 1
