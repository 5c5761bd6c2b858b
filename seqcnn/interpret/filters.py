"""First-layer filters as motifs: activation-aligned PWMs, information content, influence.

Filter → PWM follows Basset (Kelley et al. 2016) and DeepBind (Alipanahi et al. 2015): for
every first-layer filter, the input windows whose activation exceeds ``threshold`` × the
filter's maximum activation over the given sequences are stacked and their letters counted;
the counts, normalised per position, are the filter's position probability matrix (PPM)
and the number of windows is its number of sites. The activation is the stem's output
(convolution → [batch norm] → activation), read with ``model.stem(x, mask)``; window ``j``
of the activation map covers input positions ``j·stride − pad_left + i·dilation`` for
``i < kernel`` (positions in the zero padding count nothing).

Shapes: one-hot ``X`` ``(N, A, L)`` (``uint8`` or float, numpy or torch; memory maps are read
batch by batch), PPMs ``(F, A, k)`` for ``F`` filters of width ``k``, information content in
bits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from torch import nn

from seqcnn.interpret.motifs import best_matches
from seqcnn.models.layers import PWMConv1d, same_padding
from seqcnn.models.zoo import model_device


def _batch(x, start: int, stop: int, device: torch.device, dtype=torch.float32) -> torch.Tensor:
    b = x[start:stop]
    b = b if isinstance(b, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(b))
    return b.to(device=device, dtype=dtype)


def stem_geometry(model: nn.Module) -> tuple[int, int, int, int, int]:
    """``(kernel, dilation, stride, pad_left, pad_right)`` of ``model.stem`` in positions."""
    kernel, dilation, stride = model.stem.spec
    left, right = same_padding(kernel, dilation) if model.stem.padding == "same" else (0, 0)
    return kernel, dilation, stride, left, right


def filter_weights(model: nn.Module) -> np.ndarray:
    """First-layer weights ``(F, A, k)`` float32 (for PWM-constrained filters their log-odds
    ``log(A · PPM)``; :func:`constrained_pwms` gives the PPMs)."""
    with torch.no_grad():
        return model.first_layer().weight.detach().float().cpu().numpy()


def constrained_pwms(model: nn.Module) -> np.ndarray | None:
    """The PPMs ``(F, A, k)`` of a PWM-constrained (softmax) first layer, ``None`` otherwise.

    Each column sums to 1 (see :class:`seqcnn.models.PWMConv1d`).
    """
    layer = model.first_layer()
    if not isinstance(layer, PWMConv1d):
        return None
    with torch.no_grad():
        return layer.pwm().detach().double().cpu().numpy()


@torch.no_grad()
def max_activations(
    model: nn.Module, X, mask=None, batch_size: int = 256
) -> np.ndarray:
    """Each filter's maximum activation over all valid positions of ``X``: ``(F,)``."""
    dev = model_device(model)
    best = None
    for s in range(0, len(X), batch_size):
        x = _batch(X, s, s + batch_size, dev)
        m = None if mask is None else _batch(mask, s, s + batch_size, dev, torch.bool)
        h, out_mask = model.stem(x, m)
        h = h.masked_fill(~out_mask[:, None, :], float("-inf")).amax(dim=(0, 2))
        best = h if best is None else torch.maximum(best, h)
    return best.double().cpu().numpy()


@torch.no_grad()
def activation_pwms(
    model: nn.Module,
    X,
    threshold: float = 0.5,
    mask=None,
    batch_size: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """PPMs of the first-layer filters by activation alignment: ``(F, A, k)``, nsites ``(F,)``.

    A window counts for filter ``f`` when its activation is ``> threshold * max_f`` (``max_f``
    from :func:`max_activations` over ``X``; a filter whose maximum is ``<= 0`` has no sites).
    ``mask`` ``(N, L)`` bool marks valid positions of variable-length input. A position with
    no counts (no sites, or always in the padding) is uniform. Works for any alphabet size.
    The model is put in eval mode.
    """
    if not 0 <= threshold < 1:
        raise ValueError(f"threshold is a fraction of the maximum in [0, 1), got {threshold}")
    model.eval()
    dev = model_device(model)
    cut = torch.as_tensor(threshold * max_activations(model, X, mask, batch_size), device=dev)
    kernel, dilation, stride, left, right = stem_geometry(model)
    span = (kernel - 1) * dilation + 1
    counts = None
    nsites = torch.zeros(len(cut), dtype=torch.float64, device=dev)
    for s in range(0, len(X), batch_size):
        x = _batch(X, s, s + batch_size, dev)
        m = None if mask is None else _batch(mask, s, s + batch_size, dev, torch.bool)
        h, out_mask = model.stem(x, m)
        hits = (h > cut[None, :, None].to(h.dtype)) & (cut[None, :, None] > 0)
        hits &= out_mask[:, None, :]
        if m is not None:
            x = x * m[:, None, :]
        xp = torch.nn.functional.pad(x, (left, right))
        # windows (B, A, L', span) → taps (B, A, L', k), aligned with h's positions
        win = xp.unfold(2, span, stride)[..., ::dilation][:, :, : h.shape[-1]]
        b, a, lp, k = win.shape
        flat = win.permute(0, 2, 1, 3).reshape(b * lp, a * k)
        c = hits.permute(1, 0, 2).reshape(h.shape[1], b * lp).to(flat.dtype) @ flat
        counts = c.double() if counts is None else counts + c.double()
        nsites += hits.sum(dim=(0, 2)).double()
    counts = counts.reshape(len(cut), a, k).cpu().numpy()
    total = counts.sum(axis=1, keepdims=True)
    ppm = np.where(total > 0, counts / np.where(total > 0, total, 1), 1.0 / a)
    return ppm, nsites.cpu().numpy().astype(np.int64)


def information_content(ppm: np.ndarray, background: np.ndarray | None = None) -> np.ndarray:
    """Information content in bits per position: ``(..., A, w)`` → ``(..., w)``.

    ``sum_a p_a log2(p_a / b_a)`` with uniform background ``b`` by default (at most
    ``log2 A``: 2 bits for DNA, 4.32 for protein).
    """
    p = np.asarray(ppm, dtype=np.float64)
    a = p.shape[-2]
    bg = np.full(a, 1.0 / a) if background is None else np.asarray(background, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log2(p / bg[:, None]), 0.0)
    return terms.sum(axis=-2)


def trim_bounds(ppm: np.ndarray, min_ic: float = 0.2) -> tuple[int, int]:
    """``(start, end)`` of the span from the first to the last position with information
    content ``>= min_ic`` bits; ``(0, 0)`` when no position reaches it."""
    keep = np.flatnonzero(information_content(ppm) >= min_ic)
    if keep.size == 0:
        return 0, 0
    return int(keep[0]), int(keep[-1]) + 1


class FilterMotifs(NamedTuple):
    """Trimmed filter PPMs ready for MEME/Tomtom.

    ``motifs``: name → PPM ``(A, w)``; ``nsites``: name → number of sites;
    ``starts``: name → first kept position of the untrimmed filter (the trim offset).
    Filters without sites or with no position of at least ``min_ic`` bits are left out.
    """

    motifs: dict[str, np.ndarray]
    nsites: dict[str, int]
    starts: dict[str, int]


def trimmed_motifs(
    ppms: np.ndarray,
    nsites: np.ndarray | None = None,
    min_ic: float = 0.2,
    min_sites: int = 1,
    prefix: str = "filter",
) -> FilterMotifs:
    """Name (``filter0``, ``filter1``, …, by filter index), trim and filter PPMs ``(F, A, k)``.

    ``nsites`` ``(F,)`` (``None``: PWM-constrained weights, every filter kept, nsites 20).
    Filters with fewer than ``min_sites`` sites are dropped.
    """
    out = FilterMotifs({}, {}, {})
    for f, ppm in enumerate(np.asarray(ppms, dtype=np.float64)):
        n = 20 if nsites is None else int(nsites[f])
        if nsites is not None and n < min_sites:
            continue
        s, e = trim_bounds(ppm, min_ic)
        if e <= s:
            continue
        name = f"{prefix}{f}"
        out.motifs[name] = ppm[:, s:e]
        out.nsites[name] = n
        out.starts[name] = s
    return out


def filter_motifs(
    model: nn.Module,
    X,
    threshold: float = 0.5,
    min_ic: float = 0.2,
    min_sites: int = 10,
    mask=None,
    batch_size: int = 256,
    use_weights: bool = False,
) -> FilterMotifs:
    """Activation PPMs of ``model``'s first-layer filters on ``X``, trimmed and named.

    ``use_weights=True`` with a PWM-constrained first layer takes the filters' PPMs directly
    (:func:`constrained_pwms`) instead of aligning activations.
    """
    if use_weights:
        ppms = constrained_pwms(model)
        if ppms is None:
            raise ValueError("use_weights needs a PWM-constrained first layer (pwm_constrained)")
        return trimmed_motifs(ppms, None, min_ic)
    ppms, nsites = activation_pwms(model, X, threshold, mask, batch_size)
    return trimmed_motifs(ppms, nsites, min_ic, min_sites)


# --------------------------------------------------------------------------- influence


def _mean_auprc(labels: np.ndarray, scores: np.ndarray) -> float:
    from seqcnn.train.loop import task_metrics

    _, auprc = task_metrics(labels, scores)
    ok = ~np.isnan(auprc)
    return float(auprc[ok].mean()) if ok.any() else float("nan")


@torch.no_grad()
def filter_influence(
    model: nn.Module,
    X,
    y: np.ndarray,
    batch_size: int = 128,
    filters_per_pass: int = 2,
) -> np.ndarray:
    """Drop in validation auPR when each first-layer filter is zeroed: ``(F,)``.

    auPR is scikit-learn's average precision, averaged over tasks that have both classes
    (``y`` ``(N, T)``). Filter ``f`` is zeroed by setting its output channel of the stem
    (after the activation, so an ``exp`` activation gives 0 too) to 0; the rest of the model
    runs unchanged. Positive values: the model needs the filter. The stem runs once per
    batch and ``filters_per_pass`` ablations go through the rest of the model together.
    """
    model.eval()
    dev = model_device(model)
    y = np.asarray(y)
    if y.ndim == 1:
        y = y[:, None]
    state: dict[str, torch.Tensor | None] = {"keep": None}

    def hook(_module, _inputs, output):
        keep = state["keep"]
        if keep is None:
            return output
        h, m = output
        g = keep.shape[0]
        h = (h[None] * keep[:, None, :, None].to(h.dtype)).reshape(-1, *h.shape[1:])
        return h, m.repeat(g, 1)

    n_filters = model.first_layer().out_channels
    base, ablated = [], []
    handle = model.stem.register_forward_hook(hook)
    try:
        for s in range(0, len(X), batch_size):
            x = _batch(X, s, s + batch_size, dev)
            state["keep"] = None
            base.append(model(x).float().cpu())
            rows = []
            for f0 in range(0, n_filters, filters_per_pass):
                fs = torch.arange(f0, min(f0 + filters_per_pass, n_filters), device=dev)
                keep = torch.ones(len(fs), n_filters, device=dev)
                keep[torch.arange(len(fs)), fs] = 0
                state["keep"] = keep
                rows.append(model(x).float().cpu().reshape(len(fs), len(x), -1))
            ablated.append(torch.cat(rows))
    finally:
        handle.remove()
        state["keep"] = None
    base_scores = torch.cat(base).numpy()
    abl = torch.cat(ablated, dim=1).numpy()
    ref = _mean_auprc(y, base_scores)
    return np.array([ref - _mean_auprc(y, abl[f]) for f in range(n_filters)])


def influence_by_name(influence: np.ndarray, prefix: str = "filter") -> Mapping[str, float]:
    """``{"filter0": drop, ...}`` from :func:`filter_influence`'s array (for the motif table)."""
    return {f"{prefix}{i}": float(v) for i, v in enumerate(influence)}


# --------------------------------------------------------------------------- the table

#: Columns of ``filters.tsv``: :func:`filter_table`.
FILTER_TABLE_COLUMNS = ("filter", "n_sites", "width", "jaspar_id", "jaspar_name", "E", "q",
                        "influence", "period")


def filter_table(fm: FilterMotifs, n_filters: int, tomtom_table: pd.DataFrame,
                 influence: np.ndarray, periods: np.ndarray) -> pd.DataFrame:
    """One row per first-layer filter ``filter{i}`` (:data:`FILTER_TABLE_COLUMNS`).

    ``n_sites`` and ``width`` of its motif in ``fm`` (0 without one or without site
    counts), its best Tomtom match in ``tomtom_table`` (lowest p: :func:`best_matches`;
    empty id and name, NaN E and q without one), ``influence`` ``(F,)`` and dominant
    ``periods`` ``(F,)``. Sorted by influence, then sites, largest first.
    """
    best = best_matches(tomtom_table).set_index("query") if len(tomtom_table) \
        else pd.DataFrame()
    rows = []
    for i in range(n_filters):
        name = f"filter{i}"
        b = best.loc[name] if name in best.index else None
        rows.append({
            "filter": name, "n_sites": int(fm.nsites.get(name, 0)) if fm.nsites else 0,
            "width": fm.motifs[name].shape[1] if name in fm.motifs else 0,
            "jaspar_id": b["target_id"] if b is not None else "",
            "jaspar_name": b["target_name"] if b is not None else "",
            "E": float(b["E"]) if b is not None else np.nan,
            "q": float(b["q"]) if b is not None else np.nan,
            "influence": float(influence[i]), "period": float(periods[i]),
        })
    return pd.DataFrame(rows).sort_values(["influence", "n_sites"], ascending=False)


def logo_order(table: pd.DataFrame, motifs: Mapping[str, np.ndarray], n: int) -> list[str]:
    """The filters to draw logos of, at most ``n`` of those with a motif: best JASPAR
    matches first (lowest q), then the most influential unmatched ones (NaN influence as 0),
    then the most sites. ``table`` is :func:`filter_table`'s."""
    order = table.assign(q_sort=table["q"].fillna(np.inf), i_sort=table["influence"]
                         .fillna(0), n_sort=table["n_sites"]).sort_values(
        ["q_sort", "i_sort", "n_sort"], ascending=[True, False, False])
    return [f for f in order["filter"] if f in motifs][:n]
