"""Edits between designed and starting sequences: counts, the budget, tables, windows.

An edit is a position whose letter differs from the start's (``(A, L)`` one-hot columns
compared); a column without a letter (N) in the start counts as edited once it has one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from seqcnn.alphabet import letters


def changed(x: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Positions that differ: one-hot ``(..., A, L)`` twice → bool ``(..., L)``."""
    return (np.asarray(x) != np.asarray(start)).any(axis=-2)


def count_edits(x: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Edited positions per sequence: ``(n, A, L)`` twice → int ``(n,)``."""
    return changed(x, start).sum(axis=-1)


def allowed_substitutions(x: np.ndarray, start: np.ndarray, budget: int | None) -> np.ndarray:
    """Which single substitutions of ``x`` ``(n, A, L)`` keep at most ``budget`` edits from
    ``start``: bool ``(n, A, L)``; the observed letters are never allowed (no change)."""
    x, start = np.asarray(x, bool), np.asarray(start, bool)
    ok = ~x
    if budget is None:
        return ok
    edits = changed(x, start).sum(axis=-1)  # (n,)
    # a substitution at l: edits after = edits − changed[l] + (new letter ≠ start[l])
    new_edits = (edits[:, None, None] - changed(x, start)[:, None, :]
                 + ~start)  # start has 1 at its letter: 0 if the new letter restores it
    return ok & (new_edits <= budget)


def enforce_budget(x: np.ndarray, start: np.ndarray, budget: int | None,
                   gain: np.ndarray) -> np.ndarray:
    """``x`` ``(n, A, L)`` with all but the ``budget`` edited positions of largest ``gain``
    ``(n, L)`` put back to the start's letters; unchanged when within budget."""
    if budget is None:
        return np.asarray(x)
    out = np.array(x, copy=True)
    diff = changed(out, start)
    for i in np.flatnonzero(diff.sum(axis=1) > budget):
        pos = np.flatnonzero(diff[i])
        drop = pos[np.argsort(-gain[i, pos], kind="stable")[budget:]]
        out[i][:, drop] = start[i][:, drop]
    return out


def edit_table(x: np.ndarray, start: np.ndarray, ids: Sequence[str],
               alphabet: str) -> pd.DataFrame:
    """One row per edited position: ``id``, ``position`` (0-based), ``start_letter``,
    ``letter`` (``N`` for a column without a letter)."""
    chars = np.array(list(letters(alphabet) + "N"))

    def code(a: np.ndarray) -> np.ndarray:
        return np.where(a.any(axis=-2), a.argmax(axis=-2), len(chars) - 1)

    seq, pos = np.nonzero(changed(x, start))
    return pd.DataFrame({
        "id": np.asarray(ids, dtype=object)[seq], "position": pos,
        "start_letter": chars[code(start)[seq, pos]], "letter": chars[code(x)[seq, pos]],
    })


def edit_window(changed_row: np.ndarray, flank: int = 5, gap: int = 10,
                ) -> tuple[int, int] | None:
    """The window ``[a, b)`` around the largest cluster of edited positions of one sequence
    (edits at most ``gap`` apart join a cluster), widened by ``flank`` on each side;
    None without edits."""
    pos = np.flatnonzero(changed_row)
    if not len(pos):
        return None
    breaks = np.flatnonzero(np.diff(pos) > gap)
    starts = np.r_[0, breaks + 1]
    ends = np.r_[breaks, len(pos) - 1]
    k = int(np.argmax(ends - starts))
    a, b = int(pos[starts[k]]) - flank, int(pos[ends[k]]) + flank + 1
    return max(0, a), min(len(changed_row), b)


__all__ = ["allowed_substitutions", "changed", "count_edits", "edit_table", "edit_window",
           "enforce_budget"]
