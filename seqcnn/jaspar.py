"""JASPAR matrices from the pyjaspar package (SQLite files shipped inside it: offline)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Motif:
    """A JASPAR matrix: ``counts`` is ``float`` ``(4, width)`` in ACGT order."""

    matrix_id: str
    name: str
    counts: np.ndarray

    def probabilities(self, pseudocount: float = 0.8) -> np.ndarray:
        """Position probability matrix ``(4, width)``; each column sums to 1.

        ``pseudocount`` (total per column, spread evenly over the four bases) keeps
        probabilities away from 0.
        """
        c = self.counts + pseudocount / 4
        return c / c.sum(axis=0, keepdims=True)


def _db(release: str):
    from pyjaspar import jaspardb

    db = jaspardb(release=release)
    return db


def _to_motif(m) -> Motif:
    counts = np.array([m.counts[b] for b in "ACGT"], dtype=np.float64)
    return Motif(matrix_id=m.matrix_id, name=m.name, counts=counts)


def fetch(ids: list[str], release: str = "JASPAR2024") -> list[Motif]:
    """Matrices by id (``MA0139.2``), in the order given; unknown ids raise ``KeyError``."""
    db = _db(release)
    out = []
    for mid in ids:
        m = db.fetch_motif_by_id(mid)
        if m is None:
            raise KeyError(f"{mid} is not in {release} (pyjaspar); check the id and release")
        out.append(_to_motif(m))
    return out


def fetch_collection(release: str = "JASPAR2024", collection: str = "CORE",
                     tax_group: str | None = "vertebrates") -> list[Motif]:
    """Every matrix of a collection (and taxon), the latest version of each."""
    db = _db(release)
    kw = {"collection": collection, "all_versions": False}
    if tax_group:
        kw["tax_group"] = [tax_group]
    return [_to_motif(m) for m in db.fetch_motifs(**kw)]


def log_odds(probabilities: np.ndarray, background: Sequence[float] | None = None
             ) -> np.ndarray:
    """Log-odds matrix ``log2(p / background)``: ``(4, w)`` probabilities → ``(4, w)`` bits.

    ``background`` is the ACGT base distribution (default uniform). Probabilities must be
    positive (use :meth:`Motif.probabilities`, which adds a pseudocount).
    """
    p = np.asarray(probabilities, dtype=np.float64)
    bg = np.full(4, 0.25) if background is None else np.asarray(background, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] != 4:
        raise ValueError(f"probabilities must be (4, width), got {p.shape}")
    if (p <= 0).any() or (bg <= 0).any():
        raise ValueError("probabilities and background must be positive (add a pseudocount)")
    return np.log2(p / bg[:, None])


def motif_filters(ids: list[str], release: str = "JASPAR2024") -> np.ndarray:
    """Log2-odds filters of JASPAR matrices against a uniform background, each followed by
    its reverse complement: ``float32`` ``(2·len(ids), 4, w)``, ``w`` the widest matrix;
    narrower ones are centred, their extra columns 0. For a model's fixed first-layer
    filters (``fixed_filters`` of the dilated model)."""
    if not ids:
        raise ValueError("motif_filters needs at least one JASPAR id")
    mats = [log_odds(m.probabilities()) for m in fetch(list(ids), release)]
    width = max(m.shape[1] for m in mats)
    out = np.zeros((2 * len(mats), 4, width), dtype=np.float32)
    for i, m in enumerate(mats):
        left = (width - m.shape[1]) // 2
        out[2 * i, :, left:left + m.shape[1]] = m
        out[2 * i + 1] = out[2 * i, ::-1, ::-1]  # ACGT reversed = complement, columns reversed
    return out
