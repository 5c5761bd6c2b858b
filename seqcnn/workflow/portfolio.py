"""Model choice by validation: a dataset's portfolio of models, and its ensembles.

A dataset may name a portfolio::

    datasets:
      demo:
        portfolio: {models: [dilated, basset, hybrid], metric: valid_auroc}

Every portfolio model is trained and evaluated; the one with the best validation metric,
as training recorded it in its ``model.json`` (``best_valid_auroc`` or ``best_valid_auprc``),
becomes the dataset's model :data:`CHOSEN` (``results/{dataset}/chosen/``: a copy of its
``model.pt``, ``model.json`` and ``train_log.tsv``), and ``results/{dataset}/chosen_model.json``
records the choice. Interpretation, variant effects and design run on ``chosen`` like on any
model in ``datasets.<d>.models``. The test split is never read to choose: :func:`choose`
takes the training summaries only.

Standard library only (the workflow resolves configs on head nodes without numpy).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from seqcnn.errors import ConfigError, InputError
from seqcnn.workflow.config import resolve_model

#: The model name under which a dataset's chosen portfolio model is interpreted.
CHOSEN = "chosen"
#: Validation metrics a portfolio may be chosen by, and the model.json key each reads.
METRICS = {"valid_auroc": "best_valid_auroc", "valid_auprc": "best_valid_auprc"}


def apply_portfolios(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Move each dataset's ``portfolio`` out of its config into the returned
    ``{dataset: {"models": [...], "metric": ...}}`` (so that choosing never rebuilds a
    cache) and add :data:`CHOSEN` to that dataset's ``models``, in place. Raises
    :class:`ConfigError` naming the key for an unknown model or metric, a model named
    ``chosen``, or an empty portfolio."""
    if CHOSEN in config["models"]:
        raise ConfigError(f"config key models.{CHOSEN}: the name {CHOSEN!r} is reserved for a "
                          "dataset's portfolio choice; rename the model")
    out: dict[str, dict[str, Any]] = {}
    for name, ds in config["datasets"].items():
        spec = ds.pop("portfolio", None)
        if not spec:
            continue
        key = f"datasets.{name}.portfolio"
        models = list(spec.get("models") or [])
        if not models:
            raise ConfigError(f"config key {key}.models is empty; list at least one model "
                              "under models: (two or more to choose between)")
        for m in models:
            if m not in config["models"]:
                raise ConfigError(f"config key {key}.models lists {m!r}, which is not defined "
                                  f"under models: (defined: {', '.join(config['models'])})")
        metric = spec.get("metric", "valid_auroc")
        if metric not in METRICS:
            raise ConfigError(f"config key {key}.metric is {metric!r}; choose one of "
                              f"{', '.join(METRICS)}")
        out[name] = {"models": models, "metric": metric}
        for m in models:  # fixed_motifs → fixed_filters, as resolve() does for ds["models"]
            config["models"][m] = resolve_model(config["models"][m])
        if CHOSEN not in ds["models"]:
            ds["models"] = [*ds["models"], CHOSEN]
    return out


def selection_inputs(results: str, dataset: str, models: Sequence[str]) -> dict[str, list[str]]:
    """What the selection step reads, per portfolio model: the training summary (the
    validation metrics), the weights and the training log (copied for ``chosen``). No
    evaluation output and no cache file: the test split cannot reach the choice."""
    return {kind: [f"{results}/{dataset}/{m}/{file}" for m in models]
            for kind, file in (("summaries", "model.json"), ("models", "model.pt"),
                               ("train_logs", "train_log.tsv"))}


def ensemble_models(models: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The names of the models with an ``ensemble:`` block, in config order."""
    return [n for n, m in models.items() if m.get("ensemble")]


def choose(summaries: Mapping[str, Mapping[str, Any]], metric: str = "valid_auroc",
           order: Sequence[str] | None = None) -> tuple[str, list[dict[str, Any]]]:
    """The best model by a validation metric, and one row per model.

    ``summaries`` maps model names to their training summaries (``model.json``); only
    ``METRICS[metric]`` of each is read. The highest value wins; a tie goes to the first in
    ``order`` (default: the mapping's order). Rows: ``model``, ``metric``, ``value``,
    ``chosen``. Raises :class:`InputError` when a summary lacks the metric or it is NaN.
    """
    if metric not in METRICS:
        raise ConfigError(f"portfolio metric {metric!r}; choose one of {', '.join(METRICS)}")
    key = METRICS[metric]
    names = list(order) if order is not None else list(summaries)
    values = {}
    for name in names:
        value = summaries[name].get(key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            raise InputError(f"model {name!r}: its model.json has no {key} (a training "
                             f"summary without a validation {metric}); retrain it, or choose "
                             "by another metric (datasets.<d>.portfolio.metric)")
        values[name] = float(value)
    best = max(names, key=lambda n: (values[n], -names.index(n)))
    rows = [{"model": n, "metric": metric, "value": values[n], "chosen": n == best}
            for n in names]
    return best, rows


__all__ = ["CHOSEN", "METRICS", "apply_portfolios", "choose", "ensemble_models",
           "selection_inputs"]
