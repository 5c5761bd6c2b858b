"""The check the design did not optimise against: a second model and the planted matrices.

:func:`check_table` puts, for the designed sequences and their starts, the guiding model's
and the second model's probabilities per task and, for simulated data, the FIMO hits
(memelite, both strands) of each true planted matrix side by side; :func:`summary` turns
it into the fractions and means the report shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd


def fimo_hits(x: np.ndarray, motifs: Mapping[str, np.ndarray], threshold: float = 1e-4,
              ) -> dict[str, np.ndarray]:
    """Hits with p < ``threshold`` of each probability matrix ``(4, w)`` in one-hot DNA
    ``(n, 4, L)``, both strands: ``{name: int (n,)}``."""
    from memelite import fimo

    out = {name: np.zeros(len(x), int) for name in motifs}
    if not len(x) or not motifs:
        return out
    tables = fimo(dict(motifs), np.asarray(x, dtype=np.float32), threshold=threshold,
                  reverse_complement=True, dim=0)
    for name, df in zip(motifs, tables, strict=True):
        if len(df):
            counts = df.groupby("sequence_name").size()
            out[name][counts.index.to_numpy(int)] = counts.to_numpy()
    return out


def check_table(ids: Sequence[str], stages: Mapping[str, dict], tasks: Sequence[str],
                ) -> pd.DataFrame:
    """One row per sequence and stage. ``stages``: stage name (``start``, ``designed``) →
    ``{"edits": (n,), "objective": (n,), "guide": (n, T) probabilities, "check": (n, T)
    or None, "fimo": {motif: (n,) hits}}``. Columns: ``id, stage, edits, objective,
    guide_<task>..., check_<task>..., fimo_<motif>...``."""
    parts = []
    for stage, d in stages.items():
        df = pd.DataFrame({"id": list(ids), "stage": stage, "edits": d["edits"],
                           "objective": d["objective"]})
        for t, task in enumerate(tasks):
            df[f"guide_{task}"] = d["guide"][:, t]
        if d.get("check") is not None:
            for t, task in enumerate(tasks):
                df[f"check_{task}"] = d["check"][:, t]
        for motif, hits in (d.get("fimo") or {}).items():
            df[f"fimo_{motif}"] = hits
        parts.append(df)
    return pd.concat(parts, ignore_index=True)


def summary(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per stage: ``n``, mean ``edits`` and ``objective``, mean guide and check probability
    per task, and the fraction of sequences with at least one hit per FIMO motif
    (``with_<motif>``)."""
    out = {}
    for stage, df in table.groupby("stage", sort=False):
        row = {"n": int(len(df)), "edits": float(df["edits"].mean()),
               "objective": float(df["objective"].mean())}
        for c in df.columns:
            if c.startswith(("guide_", "check_")):
                row[c] = float(df[c].mean())
            elif c.startswith("fimo_"):
                row["with_" + c[5:]] = float((df[c] > 0).mean())
        out[str(stage)] = row
    return out


def rank_agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman correlation of two score vectors (nan when either is constant)."""
    from scipy.stats import spearmanr

    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


__all__ = ["check_table", "fimo_hits", "rank_agreement", "summary"]
