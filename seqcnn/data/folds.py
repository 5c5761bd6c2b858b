"""Genomic folds of the non-test data, for ensembles whose members validate on different
parts of the genome (``ensemble: {members: k, vary: fold}``), as ChromBPNet and gReLU users
train one model per chromosome fold.

The rows of a genome cache's ``train`` and ``valid`` splits are pooled (train first, then
valid, in cache order) and cut into ``k`` folds. Member ``i`` trains on the other ``k - 1``
folds and chooses its epoch on fold ``i``; the ``test`` split is in no fold, so it stays
untouched until the final evaluation. Folds are

- **whole chromosomes** when the pooled rows lie on at least ``k`` chromosomes and a
  greedy assignment (largest chromosome to the smallest fold) gives every fold at least half
  of ``N / k`` rows;
- otherwise **contiguous blocks** of about ``N / k`` rows in genome order (chromosome, start),
  each cut moved forward past regions that overlap the one before it, so that no window is
  split between a member's training and validation rows.

Row ids are the cache's ``chrom:start-end(strand)`` (:func:`seqcnn.data.cache.region_ids`);
sequence sets have no coordinates and raise :class:`~seqcnn.errors.ConfigError`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from seqcnn.data.cache import Split, load_split
from seqcnn.errors import ConfigError

_REGION_ID = re.compile(r"^(?P<chrom>.+):(?P<start>\d+)-(?P<end>\d+)\((?P<strand>[+\-.])\)$")
#: The two roles a fold plays for a member.
ROLES = ("train", "valid")


@dataclass(frozen=True)
class Folds:
    """``fold`` ``int`` ``(N,)``: the fold (0 … k-1) of each pooled row (train rows, then
    valid rows); ``how``: ``"chromosomes"`` or ``"blocks"``; ``n_train``: how many of the
    pooled rows come from the train split."""

    fold: np.ndarray
    how: str
    n_train: int

    @property
    def k(self) -> int:
        return int(self.fold.max()) + 1

    def rows(self, held_out: int, role: str) -> np.ndarray:
        """Pooled row indices ``(n,)`` that member ``held_out`` trains on (``role="train"``:
        every other fold) or validates on (``"valid"``: fold ``held_out``), ascending."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        if not 0 <= held_out < self.k:
            raise ValueError(f"fold {held_out} does not exist: there are {self.k}")
        hit = self.fold == held_out
        return np.flatnonzero(hit if role == "valid" else ~hit)


def parse_region_ids(ids: Sequence[str] | np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                               np.ndarray]:
    """``(chrom, start, end)`` ``(N,)`` from ``chrom:start-end(strand)`` ids; raises
    :class:`~seqcnn.errors.ConfigError` at the first id that is not a region."""
    chrom, start, end = [], [], []
    for i, name in enumerate(ids):
        m = _REGION_ID.match(str(name))
        if m is None:
            raise ConfigError(
                f"ensemble.vary: fold needs genomic regions, but row {i} is {name!r}, not "
                "chrom:start-end(strand) (a sequence set has no chromosomes): use vary: seed")
        chrom.append(m["chrom"])
        start.append(int(m["start"]))
        end.append(int(m["end"]))
    return (np.asarray(chrom, dtype=object), np.asarray(start, dtype=np.int64),
            np.asarray(end, dtype=np.int64))


def assign_folds(chrom: np.ndarray, start: np.ndarray, end: np.ndarray, k: int
                 ) -> tuple[np.ndarray, str]:
    """``(fold (N,) int, how)``: ``k`` folds of the regions ``(chrom, start, end)``, whole
    chromosomes when they balance, else contiguous blocks (module docstring). Raises
    ``ValueError`` when ``k < 2`` or there are fewer than ``k`` distinct places to cut."""
    n = len(chrom)
    if k < 2:
        raise ValueError(f"folds need k >= 2, got {k}")
    if n < k:
        raise ValueError(f"{n} rows cannot make {k} folds")
    names, inverse, counts = np.unique(chrom, return_inverse=True, return_counts=True)
    if len(names) >= k:
        load = np.zeros(k, dtype=np.int64)
        of_chrom = np.empty(len(names), dtype=np.int64)
        for c in sorted(range(len(names)), key=lambda c: (-counts[c], str(names[c]))):
            f = int(np.argmin(load))
            of_chrom[c] = f
            load[f] += counts[c]
        if load.min() >= 0.5 * n / k:
            return of_chrom[inverse], "chromosomes"
    order = np.lexsort((end, start, inverse))
    chrom_o, start_o, end_o = inverse[order], start[order], end[order]
    reach = end_o.copy()  # the furthest end so far on each row's chromosome, genome order
    for j in range(1, n):
        if chrom_o[j] == chrom_o[j - 1]:
            reach[j] = max(reach[j], reach[j - 1])
    fold = np.empty(n, dtype=np.int64)
    cuts = [0]
    for j in range(1, k):
        cut = max(int(round(j * n / k)), cuts[-1] + 1)
        # move the cut past windows that overlap one before it on the same chromosome
        while cut < n and chrom_o[cut] == chrom_o[cut - 1] and start_o[cut] < reach[cut - 1]:
            cut += 1
        if cut >= n:
            raise ValueError(f"cannot cut {n} rows into {k} folds without splitting "
                             "overlapping windows; use fewer members")
        cuts.append(cut)
    cuts.append(n)
    for f in range(k):
        fold[order[cuts[f]:cuts[f + 1]]] = f
    return fold, "blocks"


def cache_folds(cache_dir: str | os.PathLike, k: int) -> Folds:
    """The :class:`Folds` of a genome cache's pooled train and valid rows."""
    train, valid = load_split(cache_dir, "train"), load_split(cache_dir, "valid")
    ids = np.concatenate([np.asarray(train.ids, dtype=object),
                          np.asarray(valid.ids, dtype=object)])
    fold, how = assign_folds(*parse_region_ids(ids), k)
    return Folds(fold, how, len(train.ids))


def load_fold(cache_dir: str | os.PathLike, k: int, held_out: int, role: str,
              folds: Folds | None = None) -> Split:
    """What member ``held_out`` of a ``k``-fold ensemble trains on (``role="train"``) or
    validates on (``"valid"``): a :class:`~seqcnn.data.cache.Split` of the pooled train and
    valid rows in pooled order, copied into memory (``uint8``, ``(n, A, L)``). ``folds``:
    the cache's :func:`cache_folds`, when already computed."""
    folds = folds if folds is not None else cache_folds(cache_dir, k)
    rows = folds.rows(held_out, role)
    parts = [load_split(cache_dir, s) for s in ("train", "valid")]

    def pick(get):
        a, b = get(parts[0]), get(parts[1])
        if a is None:
            return None
        return np.concatenate([np.asarray(a[rows[rows < folds.n_train]]),
                               np.asarray(b[rows[rows >= folds.n_train] - folds.n_train])])

    return Split(pick(lambda s: s.onehot), pick(lambda s: s.labels),
                 pick(lambda s: s.lengths), pick(lambda s: np.asarray(s.ids, dtype=object)))


__all__ = ["ROLES", "Folds", "assign_folds", "cache_folds", "load_fold", "parse_region_ids"]
