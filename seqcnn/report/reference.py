"""Published (or textbook) figures beside what seqcnn measured: the table of a preset.

A preset's dataset carries a ``reference:`` block: the ``source``, optionally the
``truth_motifs`` (JASPAR matrix ids; any version of the same base id counts), a
``tolerance`` and ``expected``: model → metric → a number or a ``[low, high]`` range. The
measured metrics of each model (:func:`measure_model`) are

- ``test_auroc``, ``test_auprc``: mean over the model's own rows of its test metrics table;
- ``accuracy``, ``q3``: mean over its accuracy table (sequence sets with classes);
- ``match_fraction``: fraction of the first-layer filters with a Tomtom match at
  ``E < 0.1`` to one of the ``truth_motifs`` (Koo & Eddy 2019's interpretability measure);
- ``jaspar_fraction``: the same against any JASPAR matrix;
- ``median_period``: median dominant Fourier period of the filters; ``helix_fraction``,
  ``strand_fraction``: the fraction of filters whose period lies in the α-helix (3.3–3.9)
  or β-strand (1.9–2.1) band (:data:`seqcnn.interpret.periodicity.PERIOD_BANDS`);
- ``receptive_field``, ``valid_auroc``: from the model summary; ``auroc_drop``:
  ``valid_auroc - test_auroc`` (a shortcut that holds in validation but not in test);
- ``measured_receptive_field``: width of the gradient footprint of one trunk output
  (:func:`seqcnn.models.receptive_field.gradient_footprint`), to set beside the formula;
- ``detection_fraction``: of the test positives whose planted ``motif`` a fixed log-odds
  filter of that motif detects at stride 1, the fraction it still detects when scanned with
  the model's first-layer stride (:func:`seqcnn.simulate.sets.stride_hits`; about
  ``1 / stride`` for instances at uniform offsets);
- ``length_auroc_valid``, ``length_auroc_test``: auROC of the sequence length alone as the
  score (mean over binary tasks), the same for every model of a dataset.

:func:`compare` puts each expectation beside the measurement: agreement means inside the
range widened by ``tolerance``, or within ``tolerance`` of the number. ``trends``
(:func:`trend_rows`) state how a metric moves along a model option (``stride``,
``pool``…); :func:`seqcnn.report.render.verdict` sums the table up in one line beside the preset's
``claim``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

#: Metrics measured from files every model has (:func:`measure_model`).
BASIC_METRICS = ("test_auroc", "test_auprc", "accuracy", "q3", "match_fraction",
                 "jaspar_fraction", "median_period", "helix_fraction", "strand_fraction",
                 "receptive_field", "valid_auroc", "auroc_drop")
#: Metrics that need the checkpoint or the cache; measured only when a preset names them.
EXTRA_METRICS = ("measured_receptive_field", "detection_fraction", "length_auroc_valid",
                 "length_auroc_test")
METRICS = BASIC_METRICS + EXTRA_METRICS
DIRECTIONS = ("increasing", "decreasing")


def base_id(matrix_id: str) -> str:
    """``MA0139.2`` → ``MA0139`` (the matrix, any version)."""
    return str(matrix_id).split(".")[0]


def truth_match_fraction(tomtom: pd.DataFrame, n_filters: int, truth_ids: Sequence[str],
                         max_e: float = 0.1) -> float:
    """Fraction of ``n_filters`` filters (``filter0`` …) with a Tomtom match at ``E < max_e``
    to any version of the ``truth_ids``; filters absent from ``tomtom`` are unmatched."""
    from seqcnn.interpret.motifs import fraction_matched  # keeps this module light (reports)

    truth = {base_id(t) for t in truth_ids}
    hits = tomtom[tomtom["target_id"].map(base_id).isin(truth)] if len(tomtom) else tomtom
    return fraction_matched(hits, [f"filter{i}" for i in range(n_filters)], max_e)


def measure_model(
    model: str,
    summary: Mapping[str, Any],
    metrics: pd.DataFrame,
    filters: Mapping[str, Any],
    tomtom: pd.DataFrame,
    accuracy: pd.DataFrame | None = None,
    truth_ids: Sequence[str] = (),
) -> dict[str, float]:
    """The metrics of one trained model (see the module docstring), NaN where not defined."""
    own = metrics[metrics["model"] == model]
    nan = float("nan")
    out = {
        "test_auroc": float(own["auroc"].mean()) if len(own) else nan,
        "test_auprc": float(own["auprc"].mean()) if len(own) else nan,
        "accuracy": nan, "q3": nan,
        "match_fraction": (truth_match_fraction(tomtom, filters["n_filters"], truth_ids)
                           if truth_ids else nan),
        "jaspar_fraction": float(filters.get("fraction_matched_E0.1", nan)),
        "median_period": float(filters.get("median_period", nan)),
        "receptive_field": float(summary.get("receptive_field", nan)),
        "valid_auroc": float(summary.get("best_valid_auroc", nan)),
    }
    out["auroc_drop"] = out["valid_auroc"] - out["test_auroc"]
    from seqcnn.interpret.periodicity import PERIOD_BANDS, band_fraction

    periods = np.array(list(filters.get("periods", {}).values()), dtype=np.float64)
    for name, band in PERIOD_BANDS.items():
        out[f"{name}_fraction"] = band_fraction(periods, band)
    if accuracy is not None and len(accuracy):
        out["accuracy"] = float(accuracy["accuracy"].mean())
        out["q3"] = float(accuracy["q3"].mean())
    return out


def _bounds(expected: float | Sequence[float]) -> tuple[float, float]:
    if isinstance(expected, (int, float)):
        return float(expected), float(expected)
    lo, hi = expected
    return float(lo), float(hi)


def compare(
    expected: Mapping[str, Mapping[str, float | Sequence[float]]],
    measured: Mapping[str, Mapping[str, float]],
    tolerance: float = 0.1,
) -> pd.DataFrame:
    """One row per (model, metric) in ``expected``: ``expected`` (text), ``low``, ``high``,
    ``measured``, ``difference`` (to the nearest bound; 0 inside) and ``agrees``.

    Raises ``ValueError`` naming a model or metric that was not measured.
    """
    rows = []
    for model, metrics in expected.items():
        if model not in measured:
            raise ValueError(f"reference.expected names model {model!r}, which this dataset "
                             f"does not train (trained: {', '.join(measured)})")
        for metric, value in metrics.items():
            if metric not in METRICS:
                raise ValueError(f"reference.expected.{model}: unknown metric {metric!r}; "
                                 f"choose from {', '.join(METRICS)}")
            lo, hi = _bounds(value)
            got = float(measured[model][metric])
            diff = 0.0 if lo <= got <= hi else (got - hi if got > hi else got - lo)
            rows.append({
                "model": model, "metric": metric,
                "expected": f"{lo:g}" if lo == hi else f"{lo:g}–{hi:g}",
                "low": lo, "high": hi, "measured": got, "difference": diff,
                "agrees": bool(np.isfinite(got) and abs(diff) <= tolerance),
            })
    return pd.DataFrame(rows, columns=["model", "metric", "expected", "low", "high",
                                       "measured", "difference", "agrees"])


def length_auroc(lengths: np.ndarray, labels: np.ndarray) -> float:
    """auROC of the sequence length ``(N,)`` as the only score for labels ``(N,)`` or
    ``(N, T)`` (0/1; other values, e.g. the ignore index 255, are left out), mean over the
    tasks with both classes; NaN when none has. 0.5: length says nothing about the label."""
    lengths = np.asarray(lengths, dtype=np.float64)
    labels = np.asarray(labels).reshape(len(lengths), -1)
    scores = []
    for t in range(labels.shape[1]):
        keep = np.isin(labels[:, t], (0, 1))
        y = labels[keep, t]
        if 0 < y.sum() < len(y):
            scores.append(roc_auc_score(y, lengths[keep]))
    return float(np.mean(scores)) if scores else float("nan")


def requested_metrics(reference: Mapping[str, Any]) -> set[str]:
    """Metrics a ``reference`` block names in ``expected``, ``trends`` and ``plot``."""
    names = {m for metrics in reference.get("expected", {}).values() for m in metrics}
    names |= {t["metric"] for t in reference.get("trends", [])}
    names |= set(reference.get("plot", {}).get("metrics", []))
    unknown = sorted(names - set(METRICS))
    if unknown:
        raise ValueError(f"reference names unknown metric(s) {', '.join(unknown)}; choose "
                         f"from {', '.join(METRICS)}")
    return names


def option_values(options: Mapping[str, Mapping[str, Any]], over: str) -> dict[str, Any]:
    """``model → value`` of model option ``over`` for the models that have it, in value
    order; ``ValueError`` when fewer than two models have it."""
    values = {m: cfg[over] for m, cfg in options.items() if over in cfg}
    if len(values) < 2:
        raise ValueError(f"reference: fewer than two trained models have the option {over!r} "
                         f"(models: {', '.join(options)})")
    return dict(sorted(values.items(), key=lambda kv: (kv[1], kv[0])))


def trend_rows(
    trends: Sequence[Mapping[str, str]],
    measured: Mapping[str, Mapping[str, float]],
    options: Mapping[str, Mapping[str, Any]],
    tolerance: float = 0.1,
) -> pd.DataFrame:
    """Rows like :func:`compare`'s for ``trends``: each ``{metric, over, direction}`` says
    that ``metric`` is ``increasing`` or ``decreasing`` along model option ``over``
    (``options``: model → its model config). ``measured`` is the change from the smallest
    to the largest option value; ``difference`` the largest step against the direction
    (0 when none). It agrees when the overall change has the stated sign and no step goes
    against it by more than ``tolerance``. A trend's optional ``where`` (option → value)
    keeps only the models with those option values (e.g. ``{activation: relu}``)."""
    rows = []
    for trend in trends:
        metric, over, direction = trend["metric"], trend["over"], trend["direction"]
        if direction not in DIRECTIONS:
            raise ValueError(f"reference.trends: direction must be one of "
                             f"{', '.join(DIRECTIONS)}, got {direction!r}")
        where = trend.get("where") or {}
        kept = {m: cfg for m, cfg in options.items()
                if all(cfg.get(k) == v for k, v in where.items())}
        values = option_values(kept, over)
        series = np.array([measured[m][metric] for m in values], dtype=np.float64)
        sign = 1.0 if direction == "increasing" else -1.0
        change = float(series[-1] - series[0])
        against = float(max(0.0, np.max(-sign * np.diff(series))))
        first, last = next(iter(values.values())), list(values.values())[-1]
        scope = "".join(f" ({k} {v})" for k, v in where.items())
        rows.append({
            "model": f"{over} {first}→{last}{scope}", "metric": metric,
            "expected": direction, "low": np.nan, "high": np.nan, "measured": change,
            "difference": against,
            "agrees": bool(np.isfinite(series).all() and sign * change > 0
                           and against <= tolerance),
        })
    return pd.DataFrame(rows, columns=["model", "metric", "expected", "low", "high",
                                       "measured", "difference", "agrees"])


__all__ = ["BASIC_METRICS", "DIRECTIONS", "EXTRA_METRICS", "METRICS", "base_id", "compare",
           "length_auroc", "measure_model", "option_values", "requested_metrics", "trend_rows",
           "truth_match_fraction"]
