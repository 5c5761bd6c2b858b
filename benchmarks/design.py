"""Candidate sequences scored per second: one evolution round against a plain loop.

Model: a checkpoint (``--model``, e.g. ``results/demo/dilated/model.pt``) or, by default,
the default dilated CNN with random weights (64 filters, 6 blocks, 200 bp, 2 tasks). Both
sides score single-substitution mutants of the same ``--n`` random DNA sequences for an
objective reading two tasks (maximise task 0, keep task 1 low), both strands averaged, in
the same process:

- evolution: :func:`seqcnn.design.evolution.mutant_logits`, all ``L × 3`` mutants of every
  sequence (fast ISM, one call per task and strand), then the objective of each;
- plain loop: one mutant per forward pass (the mutant and its reverse complement: a batch
  of 2, every task at once), for the first ``--plain`` mutants; rate per mutant.

    python benchmarks/design.py                       # random weights
    python benchmarks/design.py --model results/demo/dilated/model.pt --n 20
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def main() -> None:
    from seqcnn.design.evolution import mutant_logits
    from seqcnn.design.objective import Objective, forward_logits, model_logits
    from seqcnn.design.starts import random_starts
    from seqcnn.models.zoo import build_model, load_model

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--plain", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=1024, help="ISM batch size")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.model:
        model = load_model(args.model).float().eval()
        L = model.config["seq_len"]
    else:
        torch.manual_seed(0)
        L = 200
        model = build_model({"arch": "dilated"}, 4, 2, L).eval()
    obj = Objective(task=0, keep_low=(1,))
    x = random_starts(np.full(4, 0.25), args.n, L, seed=0)
    n_mut = args.n * L * 3

    t = time.perf_counter()
    base = model_logits(model, x, "dna")
    delta = mutant_logits(model, x, obj.tasks, "dna", args.batch_size)
    cand = obj.score({k: base[:, k, None, None] + delta[k] for k in obj.tasks})
    t_evo = time.perf_counter() - t

    seq, a, pos = np.nonzero(x == 0)
    t = time.perf_counter()
    plain = []
    with torch.no_grad():
        for i, b, p in zip(seq[:args.plain], a[:args.plain], pos[:args.plain], strict=True):
            y = torch.as_tensor(x[i:i + 1], dtype=torch.float32).clone()
            y[0, :, p] = 0
            y[0, b, p] = 1
            plain.append(float(obj.score_logits(forward_logits(model, y, "dna"))[0]))
    t_plain = time.perf_counter() - t
    k = len(plain)
    err = np.abs(np.array(plain) - cand[seq[:k], a[:k], pos[:k]]).max()
    print(f"model: {args.model or 'dilated, random weights'}; {args.n} sequences × {L} bp; "
          f"{torch.get_num_threads()} threads")
    print(f"evolution round: {n_mut} candidates in {t_evo:.2f} s = {n_mut / t_evo:,.0f} /s")
    print(f"plain loop:      {k} candidates in {t_plain:.2f} s = {k / t_plain:,.0f} /s")
    print(f"speed-up {n_mut / t_evo / (k / t_plain):.1f}×; largest objective difference "
          f"{err:.2e}")


if __name__ == "__main__":
    main()
