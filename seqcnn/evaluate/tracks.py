"""Evaluating track models: counts (Pearson, Spearman of log counts) and profiles
(Jensen–Shannon distance, multinomial NLL) against two baselines.

Shapes: ``N`` regions, ``T`` tracks, ``L`` output positions (or bins). Profiles are counts
``(N, T, L)``; a *probability profile* is one normalised over ``L``.

- :func:`js_distance`: Jensen–Shannon distance ``sqrt(JSD)`` between probability profiles,
  with base-2 logarithms (0: equal, 1: disjoint supports), as
  ``scipy.spatial.distance.jensenshannon(p, q, base=2)``.
- Baselines of the profile: :func:`average_profile` (the mean probability profile of the
  training regions, per track; the same prediction for every region) and
  :func:`shuffled_profiles` (each observed profile with its positions permuted: the right
  counts in the wrong places).
- :func:`profile_nll`: multinomial NLL (nats, with the multinomial coefficient, as
  :func:`seqcnn.train.losses.multinomial_nll`) of observed counts under a probability
  profile; baselines are mixed with ``smooth`` of the uniform profile first so that a
  position they give 0 does not make it infinite.
- :func:`track_metrics`: the long table (:data:`seqcnn.evaluate.metrics.REGRESSION_COLUMNS`:
  ``model, task, metric, value, lo, hi, n, n_missing, n_boot``) of one model and the
  baselines; count metrics over all test regions, profile metrics over the regions the
  ``profile_rows`` mask selects (a track's peaks) with at least one read (regions without
  reads have no profile: counted in ``n_missing``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from seqcnn.evaluate.metrics import REGRESSION_COLUMNS, regression_scores
from seqcnn.train.losses import multinomial_nll

#: Names of the profile baselines in metrics.tsv's ``model`` column.
AVERAGE, SHUFFLED = "average_profile", "shuffled_profile"
#: Metrics of a track model, in row order.
COUNT_METRICS = ("count_pearson", "count_spearman")
PROFILE_METRICS = ("profile_jsd", "profile_nll")


def normalise(profiles: np.ndarray) -> np.ndarray:
    """Probability profiles ``(..., L)`` of counts ``(..., L)`` (float64); rows summing to 0
    come back as NaN."""
    p = np.asarray(profiles, dtype=np.float64)
    total = p.sum(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, p / np.where(total > 0, total, 1), np.nan)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, float64."""
    z = np.asarray(logits, dtype=np.float64)
    z = np.exp(z - z.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


def js_distance(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen–Shannon distance (base 2) between probability profiles ``p``, ``q``
    ``(..., L)`` (each summing to 1 over ``L``): ``sqrt((KL(p‖m) + KL(q‖m)) / 2)``, ``m =
    (p + q) / 2``, ``(...)`` in [0, 1]."""
    p, q = np.broadcast_arrays(np.asarray(p, np.float64), np.asarray(q, np.float64))
    m = (p + q) / 2

    def kl(a: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            terms = np.where(a > 0, a * np.log2(a / np.where(m > 0, m, 1)), 0.0)
        return terms.sum(-1)

    return np.sqrt(np.clip((kl(p) + kl(q)) / 2, 0.0, 1.0))


def average_profile(train_counts: np.ndarray, rows: np.ndarray | None = None,
                    chunk: int = 4096) -> np.ndarray:
    """Mean probability profile ``(T, L)`` of training counts ``(N, T, L)`` (array or
    memmap, read in chunks) over ``rows`` (bool ``(N, T)``, default all) with reads; a
    track without any gets the uniform profile."""
    n, t, length = train_counts.shape
    total, used = np.zeros((t, length)), np.zeros(t)
    for start in range(0, n, chunk):
        p = normalise(train_counts[start:start + chunk])
        ok = ~np.isnan(p[..., 0])
        if rows is not None:
            ok &= np.asarray(rows[start:start + chunk], dtype=bool)
        total += np.where(ok[..., None], np.nan_to_num(p), 0).sum(0)
        used += ok.sum(0)
    out = np.full((t, length), 1.0 / length)
    has = used > 0
    out[has] = total[has] / used[has, None]
    return out


def shuffled_profiles(counts: np.ndarray, seed: int = 0) -> np.ndarray:
    """``counts`` ``(N, T, L)`` with the positions of each region and track permuted
    (``default_rng(seed)``): same totals, no shape."""
    counts = np.asarray(counts)
    rng = np.random.default_rng(seed)
    keys = rng.random(counts.shape)
    return np.take_along_axis(counts, np.argsort(keys, axis=-1), axis=-1)


def profile_nll(probs: np.ndarray, counts: np.ndarray, smooth: float = 0.0) -> np.ndarray:
    """Multinomial NLL (nats, exact: with the coefficient) of ``counts`` ``(..., L)`` under
    ``probs`` ``(..., L)`` mixed with ``smooth`` of the uniform profile: ``(...)``."""
    probs = np.asarray(probs, np.float64)
    length = probs.shape[-1]
    probs = (1 - smooth) * probs + smooth / length
    with np.errstate(divide="ignore"):
        logp = torch.from_numpy(np.log(probs))
    counts = torch.from_numpy(np.broadcast_to(np.asarray(counts, np.float64), probs.shape).copy())
    return multinomial_nll(logp, counts, reduction="none").numpy()


def _row(model: str, task: str, metric: str, value: float, n: int, missing: int) -> dict:
    return {"model": model, "task": task, "metric": metric, "value": float(value),
            "lo": np.nan, "hi": np.nan, "n": int(n), "n_missing": int(missing), "n_boot": 0}


def track_metrics(model: str, tasks: Sequence[str], observed: np.ndarray,
                  log_counts: np.ndarray, profile_logits: np.ndarray | None = None,
                  average: np.ndarray | None = None, profile_rows: np.ndarray | None = None,
                  *, smooth: float = 0.01, seed: int = 0) -> pd.DataFrame:
    """The long metrics table of a track model and the two profile baselines.

    ``observed``: test targets, ``(N, T)`` totals or ``(N, T, L)`` profiles (or bins);
    ``log_counts``: predicted log(1 + total) ``(N, T)``; ``profile_logits`` ``(N, T, L)``
    (None: counts only); ``average``: :func:`average_profile` of the training set;
    ``profile_rows``: bool ``(N, T)``, the regions whose profiles are scored (default all).
    Rows: per task ``count_pearson``, ``count_spearman`` of the model; with profiles
    ``profile_jsd`` and ``profile_nll`` (means over the scored regions) of the model,
    ``average_profile`` and ``shuffled_profile`` (``smooth`` applies to the baselines' NLL).
    """
    observed = np.asarray(observed, dtype=np.float64)
    totals = observed.sum(-1) if observed.ndim == 3 else observed
    r, rho = regression_scores(np.log1p(totals), np.asarray(log_counts, np.float64))
    rows = []
    for j, task in enumerate(tasks):
        rows.append(_row(model, task, "count_pearson", r[j], len(totals), 0))
        rows.append(_row(model, task, "count_spearman", rho[j], len(totals), 0))
    if profile_logits is None or observed.ndim != 3:
        return pd.DataFrame(rows, columns=REGRESSION_COLUMNS)
    pick = np.ones(totals.shape, bool) if profile_rows is None else np.asarray(profile_rows,
                                                                               bool)
    shuffled = shuffled_profiles(observed, seed)
    predicted = {model: (softmax(profile_logits), 0.0), SHUFFLED: (normalise(shuffled), smooth)}
    if average is not None:
        predicted[AVERAGE] = (np.broadcast_to(average, observed.shape), smooth)
    for j, task in enumerate(tasks):
        keep = pick[:, j] & (totals[:, j] > 0)
        missing = int((pick[:, j] & ~(totals[:, j] > 0)).sum())
        obs = observed[keep, j]
        for name, (probs, sm) in predicted.items():
            q = probs[keep, j]
            jsd = js_distance(normalise(obs), q)
            nll = profile_nll(q, obs, sm)
            rows.append(_row(name, task, "profile_jsd", np.mean(jsd) if len(obs) else np.nan,
                             len(obs), missing))
            rows.append(_row(name, task, "profile_nll", np.mean(nll) if len(obs) else np.nan,
                             len(obs), missing))
    return pd.DataFrame(rows, columns=REGRESSION_COLUMNS)


def count_predictions(ids: pd.DataFrame | Sequence[str], tasks: Sequence[str],
                      observed: np.ndarray, log_counts: np.ndarray) -> pd.DataFrame:
    """One row per region and task: ``region, task, observed`` (total count),
    ``log_observed`` (log(1 + observed)), ``predicted_log`` and ``predicted`` (exp − 1)."""
    observed = np.asarray(observed, np.float64)
    totals = observed.sum(-1) if observed.ndim == 3 else observed
    region = (ids.iloc[:, 0].astype(str).to_numpy() if isinstance(ids, pd.DataFrame)
              else np.asarray(ids, dtype=str))
    n, t = totals.shape
    pred = np.asarray(log_counts, np.float64)
    return pd.DataFrame({
        "region": np.repeat(region, t), "task": np.tile(np.asarray(tasks, dtype=str), n),
        "observed": totals.ravel(), "log_observed": np.log1p(totals).ravel(),
        "predicted_log": pred.ravel(), "predicted": np.expm1(pred).ravel(),
    })


def wide(table: pd.DataFrame) -> pd.DataFrame:
    """The long table as one row per task and model, one column per metric."""
    return table.pivot_table(index=["task", "model"], columns="metric", values="value",
                             sort=False).reset_index()


def summary(table: pd.DataFrame, model: str) -> Mapping[str, dict[str, float]]:
    """``{task: {metric or "<metric>_<baseline>": value}}`` of the long table, for logs."""
    out: dict[str, dict[str, float]] = {}
    for row in table.itertuples(index=False):
        key = row.metric if row.model == model else f"{row.metric}_{row.model}"
        out.setdefault(row.task, {})[key] = float(row.value)
    return out


__all__ = [
    "AVERAGE",
    "COUNT_METRICS",
    "PROFILE_METRICS",
    "SHUFFLED",
    "average_profile",
    "count_predictions",
    "js_distance",
    "normalise",
    "profile_nll",
    "shuffled_profiles",
    "softmax",
    "summary",
    "track_metrics",
    "wide",
]
