"""Attribution throughput: the project's ISM and DeepLIFT/SHAP against tangermeme and a plain loop.

Models: the default dilated CNN (``{"arch": "dilated"}``: 64 filters, 6 residual blocks,
global max) and Basset at its published size (``{"arch": "basset"}``: 300/200/200 filters,
flatten, 1000-1000 dense), each at 200 bp and 1,000 bp; 4 letters, 1 task, random weights
(throughput does not depend on training), eval mode, one process, all in the same run so
that ratios are taken under the same machine load.

- ISM: :func:`seqcnn.interpret.ism` (fast ISM: only the window a mutation changes is
  recomputed, layer by layer) against ``tangermeme.saturation_mutagenesis`` with its
  defaults (batch 32; its own fastISM when the job would take over 30 s) and against a
  plain loop, one forward pass per single-letter mutation (on the first ``--loop-positions``
  positions of one sequence; its rate is scaled to whole sequences). Prints the largest
  absolute difference between ours and the loop.
- DeepLIFT/SHAP, 20 dinucleotide-shuffled references: :func:`seqcnn.interpret.deep_lift_shap`
  (:mod:`seqcnn.interpret.deeplift`: each sequence forward once, its references forward
  without a graph, one backward pass per group of references; pairs per pass by length)
  against ``tangermeme.deep_lift_shap`` on the same model with its defaults (batch 32).
  Prints the largest absolute difference between the two on the same references
  (uncorrected, projected on the sequence, as tangermeme returns them).

Rounds alternate between the candidates and the median is printed. Figures only: nothing
is asserted.

    python benchmarks/interpret.py                       # all four settings, CPU
    python benchmarks/interpret.py --archs dilated --lengths 200 --device cuda
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch

from seqcnn.interpret import deep_lift_shap, ism
from seqcnn.models import build_model


def random_onehot(n: int, length: int, seed: int = 0) -> np.ndarray:
    codes = np.random.default_rng(seed).integers(0, 4, (n, length))
    return (codes[:, None, :] == np.arange(4)[None, :, None]).astype(np.uint8)


@torch.no_grad()
def ism_loop(model: torch.nn.Module, x: np.ndarray, positions: int,
             target: int = 0) -> np.ndarray:
    """The plain reference: one forward pass per single-letter mutation, at the first
    ``positions`` positions: ``(N, A, positions)``."""
    dev = next(model.parameters()).device
    xt = torch.tensor(x, dtype=torch.float32, device=dev)
    out = np.zeros((*x.shape[:2], positions), dtype=np.float32)
    for n in range(len(xt)):
        y0 = model(xt[n:n + 1])[0, target]
        for pos in range(positions):
            for a in range(xt.shape[1]):
                if xt[n, a, pos] == 1:
                    continue
                mut = xt[n:n + 1].clone()
                mut[0, :, pos] = 0
                mut[0, a, pos] = 1
                out[n, a, pos] = (model(mut)[0, target] - y0).item()
    return out


def timed(fn, device: torch.device) -> tuple[object, float]:
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    result = fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return result, time.perf_counter() - t


def rounds(candidates: dict, n_rounds: int, device: torch.device) -> dict[str, float]:
    """Median sequences/s of each ``name: (fn, n_seqs)``, run in alternating rounds so that
    machine noise hits all alike."""
    rates: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(n_rounds):
        for name, (fn, n) in candidates.items():
            _, t = timed(fn, device)
            rates[name].append(n / t)
    return {name: float(np.median(r)) for name, r in rates.items()}


def bench(arch: str, length: int, args: argparse.Namespace, device: torch.device) -> None:
    from tangermeme.deep_lift_shap import deep_lift_shap as tm_dls
    from tangermeme.saturation_mutagenesis import saturation_mutagenesis

    torch.manual_seed(0)
    model = build_model({"arch": arch}, 4, 1, length).to(device).eval()
    n_ism = args.ism_seqs or (4 if length <= 200 else 1)
    n_dls = args.dls_seqs or (8 if length <= 200 else 4)
    x = random_onehot(max(n_ism, n_dls), length)
    xi, xd = x[:n_ism], x[:n_dls]
    loop_pos = min(args.loop_positions, length)
    print(f"\n== {arch}, {length} bp ({sum(p.numel() for p in model.parameters()):,} "
          f"parameters)", flush=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tangermeme's convergence / fastISM notes
        ours_first = ism(model, xi[:1])
        loop = ism_loop(model, xi[:1], loop_pos)
        diff = float(np.abs(ours_first[..., :loop_pos] - loop).max())
        r = rounds({
            "ours": (lambda: ism(model, xi), n_ism),
            "tangermeme": (lambda: saturation_mutagenesis(model, torch.tensor(xi),
                                                          device=device), n_ism),
            "loop": (lambda: ism_loop(model, xi[:1], loop_pos), loop_pos / length),
        }, args.rounds, device)
        print(f"ISM ({length * 3} mutants per sequence)")
        print(f"  seqcnn.interpret.ism (fast ISM)          {r['ours']:9.3f} seq/s  ({n_ism} seqs)")
        print(f"  tangermeme saturation_mutagenesis        {r['tangermeme']:9.3f} seq/s  "
              f"({n_ism} seqs)")
        print(f"  plain loop, 1 mutant per forward         {r['loop']:9.3f} seq/s  "
              f"({loop_pos} positions of 1 seq)")
        print(f"  ours / tangermeme {r['ours'] / r['tangermeme']:.2f}x, ours / loop "
              f"{r['ours'] / r['loop']:.1f}x; max |ours - loop| = {diff:.2e} "
              f"(largest |change| {np.abs(loop).max():.2e})", flush=True)

        xdt = torch.tensor(xd, dtype=torch.float32)
        deep_lift_shap(model, xd[:1], n_shuffles=2)  # warm-up
        # same references (reference k of every sequence seeded 0 + k), both projected on x
        theirs = tm_dls(model, xdt, n_shuffles=args.shuffles, random_state=0,
                        device=device).numpy()
        ours_dls = deep_lift_shap(model, xd, n_shuffles=args.shuffles, random_state=0,
                                  correct=False) * xd
        dls_diff = float(np.abs(ours_dls - theirs).max())
        r = rounds({
            "ours": (lambda: deep_lift_shap(model, xd, n_shuffles=args.shuffles), n_dls),
            "tangermeme": (lambda: tm_dls(model, xdt, n_shuffles=args.shuffles,
                                          random_state=0, device=device), n_dls),
        }, args.rounds, device)
    print(f"DeepLIFT/SHAP ({args.shuffles} dinucleotide shuffles)")
    print(f"  seqcnn.interpret.deep_lift_shap          {r['ours']:9.3f} seq/s  ({n_dls} seqs)")
    print(f"  tangermeme deep_lift_shap (defaults)     {r['tangermeme']:9.3f} seq/s  "
          f"({n_dls} seqs)")
    print(f"  ours / tangermeme {r['ours'] / r['tangermeme']:.2f}x; max |ours - tangermeme| = "
          f"{dls_diff:.2e} (largest |contribution| {np.abs(theirs).max():.2e})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--archs", nargs="+", default=["dilated", "basset"])
    parser.add_argument("--lengths", nargs="+", type=int, default=[200, 1000])
    parser.add_argument("--ism-seqs", type=int, default=0,
                        help="sequences per ISM call (0: 4 at <= 200 bp, else 1)")
    parser.add_argument("--dls-seqs", type=int, default=0,
                        help="sequences per DeepLIFT/SHAP call (0: 8 at <= 200 bp, else 4)")
    parser.add_argument("--loop-positions", type=int, default=100,
                        help="positions the plain loop mutates (of one sequence)")
    parser.add_argument("--shuffles", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"device {device}, torch threads {torch.get_num_threads()}, median of "
          f"{args.rounds} alternating rounds")
    for arch in args.archs:
        for length in args.lengths:
            bench(arch, length, args, device)


if __name__ == "__main__":
    main()
