"""One logit per sequence and task, optionally averaged over both strands; whether the
strands are used at all follows the data (:func:`strand_choice`)."""

from __future__ import annotations

import torch
from torch import nn


def sequence_logits(model: nn.Module, x: torch.Tensor, both_strands: bool = True) -> torch.Tensor:
    """Logits ``(n, T)`` of one-hot ``x`` ``(n, A, L)`` (float, differentiable).

    Per-position outputs ``(n, T, L')`` are summed over length. With ``both_strands`` the
    model also sees the reverse complement (channels and length flipped, in the same batch)
    and the two logits are averaged: DNA only.
    """
    if both_strands:
        y = model(torch.cat([x, x.flip(dims=(-2, -1))]))
        y = y.reshape(len(y), y.shape[1], -1).sum(dim=-1)
        return (y[:len(x)] + y[len(x):]) / 2
    y = model(x)
    return y.reshape(len(y), y.shape[1], -1).sum(dim=-1)


#: Values of ``train.rc_augment`` and ``evaluate.rc_average``: follow the data, or forced.
STRAND_SETTINGS = ("auto", True, False)


def strand_choice(setting: bool | str, oriented: bool | None, what: str,
                  key: str) -> tuple[bool, str]:
    """Whether reverse-complement ``what`` (augmentation, averaging) is used, and why.

    ``setting`` is the config value (``key``): ``true``/``false`` force it; ``auto`` turns
    it off for ``oriented`` data (stranded regions, oriented sequence sets: the reverse
    complement is a different example, and averaging would erase the orientation the data
    carries) and on otherwise (``oriented`` None: unknown, treated as unstranded).
    Returns ``(on, reason)``, the reason one sentence for the log.
    """
    if setting not in STRAND_SETTINGS or not isinstance(setting, (bool, str)):
        raise ValueError(f"{key} must be auto, true or false, got {setting!r}")
    state = "on" if setting is True or (setting == "auto" and not oriented) else "off"
    if setting != "auto":
        return setting is True, f"{what} {state}: {key} is {str(setting).lower()}"
    if oriented:
        return False, (f"{what} off ({key}: auto): the dataset is oriented, so a sequence "
                       "and its reverse complement are different examples")
    known = "unstranded" if oriented is False else "of unknown orientation (unstranded)"
    return True, f"{what} on ({key}: auto): the dataset is {known}"
