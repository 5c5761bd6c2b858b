"""Train/valid/test splits by whole chromosome (no region crosses between splits)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

SPLITS = ("train", "valid", "test")


def _closest_subset(counts: Mapping[str, int], target: float, exclude: set[str]) -> list[str]:
    """Greedy: add the chromosome that brings the total closest to ``target`` until no
    addition helps; always at least one chromosome. Deterministic (ties by name)."""
    chosen: list[str] = []
    total = 0
    pool = sorted(c for c in counts if c not in exclude and counts[c] > 0)
    while pool:
        best = min(pool, key=lambda c: (abs(total + counts[c] - target), c))
        if chosen and abs(total + counts[best] - target) >= abs(total - target):
            break
        chosen.append(best)
        total += counts[best]
        pool.remove(best)
    return sorted(chosen)


def auto_split(counts: Mapping[str, int], fraction: float = 0.1) -> dict[str, list[str]]:
    """Choose whole chromosomes for ``test`` then ``valid``, each close to ``fraction`` of
    the regions (``counts``: chromosome → regions); the rest is ``train``.

    Needs at least three chromosomes with regions.
    """
    nonempty = [c for c, n in counts.items() if n > 0]
    if len(nonempty) < 3:
        raise ValueError(
            f"split: auto needs regions on at least 3 chromosomes, found {len(nonempty)} "
            f"({', '.join(nonempty)}); give split: {{valid: [...], test: [...]}} explicitly"
        )
    target = fraction * sum(counts.values())
    test = _closest_subset(counts, target, exclude=set())
    # keep at least one chromosome for training
    rest = [c for c in nonempty if c not in test]
    valid = _closest_subset(counts, target, exclude=set(test) | {max(rest, key=counts.get)})
    return {"valid": valid, "test": test}


def assign(regions: pd.DataFrame, split: Mapping[str, Sequence[str]],
           genome_chroms: Sequence[str]) -> np.ndarray:
    """Split name for each region: ``valid``/``test`` by the chromosome lists, else
    ``train``. Chromosomes named in ``split`` must exist in the genome and not repeat."""
    valid, test = list(split.get("valid", [])), list(split.get("test", []))
    unknown = [c for c in valid + test if c not in set(genome_chroms)]
    if unknown:
        raise ValueError(f"split names chromosomes not in the genome: {', '.join(unknown)}")
    both = set(valid) & set(test)
    if both:
        raise ValueError(f"split lists {', '.join(sorted(both))} in both valid and test")
    out = np.full(len(regions), "train", dtype=object)
    chrom = regions["chrom"].to_numpy()
    out[np.isin(chrom, valid)] = "valid"
    out[np.isin(chrom, test)] = "test"
    return out
