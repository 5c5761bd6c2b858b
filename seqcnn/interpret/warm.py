"""Compile the numba kernels of modisco-lite, memelite's Tomtom and tangermeme's shuffle once,
into their on-disk caches, so that a fresh environment's first workflow run does not (about
2 min on 2 cores, inside its first ``discover_motifs`` and ``score_variants`` jobs).

    python -m seqcnn.interpret.warm        # make setup runs it once per environment

modisco-lite runs first: it caches its kernels only while no other thread has started in the
process (:mod:`seqcnn.interpret.modisco`), and Tomtom starts numba's threads.
"""

from __future__ import annotations

import time

import numpy as np

#: The planted site of the warm-up (any motif will do: only the compiled kernels matter).
SITE = "CCGCGAGGGGGCG"


def warm_up(seed: int = 0) -> dict[str, float]:
    """Run TF-MoDISco on 200 random 100-bp sequences carrying :data:`SITE`, Tomtom on its
    patterns against JASPAR and tangermeme's dinucleotide shuffle; return the seconds each
    took."""
    from seqcnn.interpret.modisco import run_modisco
    from seqcnn.interpret.motifs import tomtom_jaspar

    rng = np.random.default_rng(seed)
    n, length, w = 200, 100, len(SITE)
    codes = rng.integers(0, 4, (n, length))
    site = np.array(["ACGT".index(c) for c in SITE])
    hyp = rng.normal(0, 0.05, (n, 4, length)).astype(np.float32)
    for i, start in enumerate(rng.integers(5, length - w - 5, n)):
        codes[i, start:start + w] = site
        hyp[i, site, start + np.arange(w)] += 1.0
    x = np.eye(4, dtype=np.float32)[codes].transpose(0, 2, 1)
    seconds = {}
    t = time.monotonic()
    patterns = run_modisco(hyp, x, n_leiden_runs=2)
    seconds["modisco"] = time.monotonic() - t
    t = time.monotonic()
    queries = patterns.ppms or {"q": rng.dirichlet(np.ones(4), size=12).T}
    tomtom_jaspar(queries)
    seconds["tomtom"] = time.monotonic() - t
    t = time.monotonic()  # DeepLIFT/SHAP's shuffled references
    import torch
    from tangermeme.ersatz import dinucleotide_shuffle

    dinucleotide_shuffle(torch.from_numpy(x[:2]), n=2, random_state=seed)
    seconds["tangermeme"] = time.monotonic() - t
    return seconds


def main() -> None:
    seconds = warm_up()
    print("numba kernels compiled or loaded from their caches: "
          + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()))


if __name__ == "__main__":
    main()
