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
- ``median_period``: median dominant Fourier period of the filters;
- ``receptive_field``, ``valid_auroc``: from the model summary.

:func:`compare` puts each expectation beside the measurement: agreement means inside the
range widened by ``tolerance``, or within ``tolerance`` of the number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from seqcnn.interpret.motifs import fraction_matched

METRICS = ("test_auroc", "test_auprc", "accuracy", "q3", "match_fraction", "jaspar_fraction",
           "median_period", "receptive_field", "valid_auroc")


def base_id(matrix_id: str) -> str:
    """``MA0139.2`` → ``MA0139`` (the matrix, any version)."""
    return str(matrix_id).split(".")[0]


def truth_match_fraction(tomtom: pd.DataFrame, n_filters: int, truth_ids: Sequence[str],
                         max_e: float = 0.1) -> float:
    """Fraction of ``n_filters`` filters (``filter0`` …) with a Tomtom match at ``E < max_e``
    to any version of the ``truth_ids``; filters absent from ``tomtom`` are unmatched."""
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


__all__ = ["METRICS", "base_id", "compare", "measure_model", "truth_match_fraction"]
