"""A cross-fitted test: datasets whose test splits are disjoint parts of one task (folds, as in
``benchmarks/athaliana_crossfit.yaml``), each scored by models that never trained on it, read
as one test set.

For every fold it reads what the workflow wrote: the test labels (``cache/test.labels.npy``),
the chosen model's test scores (``chosen/eval/test_scores.npy``) and which portfolio model it
is (``chosen_model.json``), each portfolio model's test scores, and the k-mer baselines'
(``baselines/test_scores.npz``). It prints, per scorer, each fold's test auROC and the mean of
the folds' auROCs weighted by their labelled rows, with a 95 % interval from a bootstrap
stratified by fold and paired across scorers (:func:`seqcnn.evaluate.metrics.fold_mean_auroc`),
then the chosen model minus each baseline with its interval and the share of resamples where
the model is not above. The issue-21 verdict: the chosen model's mean is above the best
baseline's by more than that baseline's CI half-width. Figures only; nothing is asserted.

Run: ``python benchmarks/crossfit.py results athaliana_fold_a athaliana_fold_b``
(``--n-boot``, ``--seed``; ``--task`` for a multi-task dataset).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from seqcnn.evaluate.baselines import KMER_BASELINES
from seqcnn.evaluate.metrics import fold_mean_auroc

CHOSEN = "chosen"


def fold_scores(results: Path, dataset: str, task: int
                ) -> tuple[np.ndarray, dict[str, np.ndarray], str]:
    """One fold: labels ``(N,)``, scores by name (the chosen model, each portfolio model,
    each baseline; ``(N,)``), and the name of the portfolio model that was chosen."""
    root = results / dataset
    labels = np.load(root / "cache" / "test.labels.npy")[:, task]
    choice = json.loads((root / "chosen_model.json").read_text())
    scores = {CHOSEN: np.load(root / CHOSEN / "eval" / "test_scores.npy")[:, task]}
    for row in choice["models"]:
        path = root / row["model"] / "eval" / "test_scores.npy"
        if path.exists():
            scores[row["model"]] = np.load(path)[:, task]
    with np.load(root / "baselines" / "test_scores.npz") as baselines:
        scores.update({b: baselines[b][:, task] for b in baselines.files})
    return labels, scores, choice["chosen"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", type=Path)
    ap.add_argument("datasets", nargs="+", help="the folds: datasets with disjoint test splits")
    ap.add_argument("--task", type=int, default=0, help="label column (default 0)")
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    folds = [fold_scores(args.results, d, args.task) for d in args.datasets]
    common = set.intersection(*(set(s) for _, s, _ in folds))
    labels = [y for y, _, _ in folds]
    scores = [{n: s[n] for n in sorted(common)} for _, s, _ in folds]
    names, per_fold, mean, boot = fold_mean_auroc(labels, scores, args.n_boot, args.seed)
    lo, hi = np.nanpercentile(boot, [2.5, 97.5], axis=0)
    for d, (y, _, chosen) in zip(args.datasets, folds, strict=True):
        keep = y != 255
        print(f"{d}: {int(keep.sum())} test windows ({int(y[keep].sum())} positive); "
              f"chosen by validation: {chosen}")
    print(f"\n{'scorer':<22}" + "".join(f"{d:>18}" for d in args.datasets)
          + f"{'weighted mean [95% CI]':>30}")
    for j in np.argsort(-mean):
        print(f"{names[j]:<22}" + "".join(f"{v:>18.4f}" for v in per_fold[:, j])
              + f"{mean[j]:>12.4f} [{lo[j]:.4f}, {hi[j]:.4f}]")
    baselines = [n for n in names if n in KMER_BASELINES]
    c = names.index(CHOSEN)
    print(f"\n{CHOSEN} minus each baseline (paired, stratified by fold, "
          f"{args.n_boot} resamples):")
    for b in baselines:
        j = names.index(b)
        d = boot[:, c] - boot[:, j]
        d_lo, d_hi = np.nanpercentile(d, [2.5, 97.5])
        print(f"  - {b:<20} {mean[c] - mean[j]:+.4f} [{d_lo:+.4f}, {d_hi:+.4f}]  "
              f"not above in {np.mean(d <= 1e-12):.1%} of resamples")
    if baselines:
        best = max(baselines, key=lambda b: mean[names.index(b)])
        j = names.index(best)
        half = (hi[j] - lo[j]) / 2
        margin = mean[c] - mean[j]
        print(f"\nbest baseline {best}: {mean[j]:.4f}, CI half-width {half:.4f}; "
              f"{CHOSEN} is {margin:+.4f} above it: goal "
              f"{'met' if margin > half else 'not met'} (needs more than {half:.4f})")


if __name__ == "__main__":
    main()
