"""Model choice by validation: a dataset's portfolio of models, and its ensembles.

A dataset may name a portfolio::

    datasets:
      demo:
        portfolio: {models: [dilated, basset, hybrid], metric: valid_auroc}

Every portfolio model is trained and evaluated; the one with the best validation metric,
as training recorded it in its ``model.json`` (:data:`METRICS`), becomes the dataset's
model :data:`CHOSEN` (``results/{dataset}/chosen/``: a copy of its ``model.pt``,
``model.json`` and ``train_log.tsv``), and ``results/{dataset}/chosen_model.json``
records the choice. Interpretation, variant effects and design run on ``chosen`` like on any
model in ``datasets.<d>.models``. The test split is never read to choose: :func:`choose`
takes the training summaries only.

Classification (binary, multiclass) chooses by ``valid_auroc`` (default) or ``valid_auprc``;
regression (``label_type: regression``, e.g. the ``mpra`` simulation) by ``valid_pearson``
(default) or ``valid_spearman``: for regression targets training records the mean validation
Pearson r under ``best_valid_auprc`` and Spearman rho under ``best_valid_auroc``
(:mod:`seqcnn.train.loop`). ``metric: auto`` (the schema's default) is resolved from the
dataset's ``label_type`` when the config states it, else from the models' ``model.json``
(their ``targets.kinds``) when choosing; a metric of the other kind is a
:class:`ConfigError`.

Standard library only (the workflow resolves configs on head nodes without numpy).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from seqcnn.errors import ConfigError, InputError
from seqcnn.workflow.config import is_seqset, resolve_model

#: The model name under which a dataset's chosen portfolio model is interpreted.
CHOSEN = "chosen"
#: Validation metrics a portfolio may be chosen by, and the model.json key each reads
#: (regression: training records Pearson r as ``best_valid_auprc``, Spearman as ``_auroc``).
METRICS = {"valid_auroc": "best_valid_auroc", "valid_auprc": "best_valid_auprc",
           "valid_pearson": "best_valid_auprc", "valid_spearman": "best_valid_auroc"}
#: The metrics of classification (binary, multiclass) targets; the first is the default.
CLASSIFICATION_METRICS = ("valid_auroc", "valid_auprc")
#: The metrics of regression targets; the first is the default.
REGRESSION_METRICS = ("valid_pearson", "valid_spearman")
#: ``metric: auto``: the default of the dataset's kind of targets.
AUTO = "auto"


def config_regression(ds: Mapping[str, Any]) -> bool | None:
    """Whether a dataset's config says its targets are regression: ``True`` for a sequence
    set with ``label_type: regression``, ``False`` for a genome dataset without ``tracks``
    or a sequence set with ``label_type`` binary or multiclass; ``None`` when the config
    cannot tell (``label_type: null`` is detected when the cache is built)."""
    if not is_seqset(ds):
        return None if ds.get("tracks") else False
    label_type = ds.get("label_type")
    return None if label_type is None else label_type == "regression"


def summaries_regression(summaries: Mapping[str, Mapping[str, Any]]) -> bool | None:
    """Whether the models' training summaries hold regression targets (every task of
    ``targets.kinds`` is ``regression``); ``None`` when no summary records its targets.
    Raises :class:`InputError` when some are regression and others are not."""
    kinds = {}
    for name, s in summaries.items():
        task_kinds = (s.get("targets") or {}).get("kinds")
        if task_kinds:
            kinds[name] = all(k == "regression" for k in task_kinds.values())
    if len(set(kinds.values())) > 1:
        reg = [n for n, r in kinds.items() if r]
        raise InputError(f"portfolio models {', '.join(reg)} were trained on regression "
                         f"targets and {', '.join(n for n in kinds if n not in reg)} on "
                         "classes; a portfolio compares models of one dataset: retrain them")
    return next(iter(kinds.values())) if kinds else None


def resolve_metric(metric: str, regression: bool | None, where: str) -> str:
    """``metric`` checked against the kind of targets (``regression``: ``None`` = unknown),
    ``auto`` resolved to the kind's default (``valid_auroc`` when unknown). ``where`` names
    the config key in the :class:`ConfigError` raised for an unknown metric or one of the
    other kind (``valid_auroc`` on a regression set, ``valid_pearson`` on a binary one)."""
    if metric != AUTO and metric not in METRICS:
        raise ConfigError(f"config key {where} is {metric!r}; choose one of "
                          f"{', '.join((AUTO, *METRICS))}")
    if regression is None:
        return CLASSIFICATION_METRICS[0] if metric == AUTO else metric
    allowed = REGRESSION_METRICS if regression else CLASSIFICATION_METRICS
    if metric == AUTO:
        return allowed[0]
    if metric not in allowed:
        kind = ("regression targets" if regression
                else "classification (binary/multiclass) targets")
        raise ConfigError(f"config key {where} is {metric!r}, but the dataset has {kind}, "
                          f"which training scores by {' and '.join(allowed)}; set it to one "
                          f"of {', '.join(allowed)} or remove it ({AUTO}: {allowed[0]})")
    return metric


def apply_portfolios(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Move each dataset's ``portfolio`` out of its config into the returned
    ``{dataset: {"models": [...], "metric": ...}}`` (so that choosing never rebuilds a
    cache) and add :data:`CHOSEN` to that dataset's ``models``, in place. The metric is
    resolved by :func:`resolve_metric` where the config tells the kind of targets
    (:func:`config_regression`), else left ``auto`` for :func:`choose`. Raises
    :class:`ConfigError` naming the key for an unknown model or metric, a metric of the
    other kind of targets, a model named ``chosen``, or an empty portfolio."""
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
        regression = config_regression(ds)
        metric = resolve_metric(spec.get("metric") or AUTO, regression, f"{key}.metric")
        if regression is None and spec.get("metric") in (None, AUTO):
            metric = AUTO  # the models' model.json tell the kind when choosing
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


def ensemble_models(models: Mapping[str, Mapping[str, Any]],
                    datasets: Mapping[str, Mapping[str, Any]] | None = None,
                    portfolios: Mapping[str, Mapping[str, Any]] | None = None) -> list[str]:
    """The names of the models with an ``ensemble:`` block, in config order. Raises
    :class:`ConfigError` naming the key for a ``vary: fold`` ensemble of fewer than 2 members,
    or one that a sequence set in ``datasets`` trains (its ``models`` or its portfolio's in
    ``portfolios``): folds are cut on the genome."""
    names = [n for n, m in models.items() if m.get("ensemble")]
    folds = [n for n in names if models[n]["ensemble"].get("vary", "seed") == "fold"]
    for n in folds:
        if int(models[n]["ensemble"]["members"]) < 2:
            raise ConfigError(f"config key models.{n}.ensemble: vary: fold needs members >= 2 "
                              "(member i chooses its epoch on fold i of that many)")
    for d, ds in (datasets or {}).items():
        used = [*ds.get("models", []), *((portfolios or {}).get(d, {}).get("models", []))]
        for n in (m for m in folds if m in used):
            if is_seqset(ds):
                raise ConfigError(f"config key models.{n}.ensemble.vary is fold, but dataset "
                                  f"{d!r} is a sequence set: its rows have no chromosomes to "
                                  "cut folds on; use vary: seed for it")
    return names


def choose(summaries: Mapping[str, Mapping[str, Any]], metric: str = AUTO,
           order: Sequence[str] | None = None) -> tuple[str, list[dict[str, Any]]]:
    """The best model by a validation metric, and one row per model.

    ``summaries`` maps model names to their training summaries (``model.json``); their
    ``targets.kinds`` decide whether the targets are regression (:func:`resolve_metric`:
    ``auto`` → ``valid_auroc`` or ``valid_pearson``; a metric of the other kind is a
    :class:`ConfigError`), then only ``METRICS[metric]`` of each is read. The highest value
    wins; a tie goes to the first in ``order`` (default: the mapping's order). Rows:
    ``model``, ``metric`` (resolved), ``value``, ``chosen``. Raises :class:`InputError` when
    a summary lacks the metric or it is NaN.
    """
    metric = resolve_metric(metric, summaries_regression(summaries),
                            "datasets.<d>.portfolio.metric")
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


__all__ = ["AUTO", "CHOSEN", "CLASSIFICATION_METRICS", "METRICS", "REGRESSION_METRICS",
           "apply_portfolios", "choose", "config_regression", "ensemble_models",
           "resolve_metric", "selection_inputs", "summaries_regression"]
