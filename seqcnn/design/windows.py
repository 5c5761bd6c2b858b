"""The edited windows of designed sequences: what the model sees there, and its JASPAR name.

For each designed sequence, the window around its largest cluster of edits
(:func:`~seqcnn.design.edits.edit_window`) is cut from its centred ISM map for the designed
task (:func:`seqcnn.interpret.attribution.ism`, forward strand) and named with Tomtom
against JASPAR (:func:`seqcnn.interpret.variants.name_motifs`, as variant effects are).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from torch import nn

from seqcnn.design.edits import changed, edit_window

#: Columns of the window table.
WINDOW_COLUMNS = ["id", "start", "end", "motif_id", "motif_name", "motif_q"]


def window_maps(model: nn.Module, x: np.ndarray, start: np.ndarray, task: int,
                flank: int = 5, batch_size: int = 256,
                ) -> tuple[list[tuple[int, int] | None], np.ndarray]:
    """Edit windows ``[a, b)`` per sequence (None without edits) and the centred ISM maps
    ``(n, A, L)`` float32 of the designed sequences ``x`` for output ``task``."""
    from seqcnn.interpret.attribution import ism

    diff = changed(x, start)
    windows = [edit_window(d, flank=flank) for d in diff]
    maps = np.asarray(ism(model, np.asarray(x, np.float32), target=task,
                          batch_size=batch_size, center=True), np.float32)
    return windows, maps


def name_windows(ids, windows, maps: np.ndarray, x: np.ndarray,
                 motif_db: Mapping[str, object] | None, min_width: int = 5) -> pd.DataFrame:
    """One row per sequence with edits (:data:`WINDOW_COLUMNS`): the window and the best
    JASPAR match of its projected map (empty without ``motif_db`` or a match)."""
    from seqcnn.interpret.variants import name_motifs

    queries, rows = {}, []
    for i, w in enumerate(windows):
        if w is None:
            continue
        a, b = w
        q = maps[i][:, a:b]
        queries[str(i)] = q if b - a >= min_width and np.abs(q * x[i][:, a:b]).max() > 0 \
            else None
        rows.append({"id": ids[i], "start": a, "end": b, "_key": str(i)})
    names = name_motifs(queries, **motif_db) if motif_db is not None and queries else {}
    for r in rows:
        mid, mname, q = names.get(r.pop("_key"), ("", "", np.nan))
        r.update(motif_id=mid, motif_name=mname, motif_q=q)
    return pd.DataFrame(rows, columns=WINDOW_COLUMNS)


__all__ = ["WINDOW_COLUMNS", "name_windows", "window_maps"]
