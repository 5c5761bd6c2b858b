"""Attribution throughput: the project's batched ISM and DeepLIFT/SHAP against plain references.

One model for everything: the default dilated CNN (:func:`seqcnn.models.build_model` with
``{"arch": "dilated"}``: 64 filters, 6 residual blocks), 200 bp, 4 letters, 1 task, random
weights (throughput does not depend on training), eval mode, in one process.

- ISM: :func:`seqcnn.interpret.ism` (all ``L × 3`` mutants of a sequence as rows of large
  batches, across sequences) against a plain loop that runs one forward pass per mutation
  (batch of 1), and against ``tangermeme.saturation_mutagenesis`` (its defaults: batch 32,
  fastISM when it pays). Checks that ours equals the loop.
- DeepLIFT/SHAP, 20 dinucleotide-shuffled references: :func:`seqcnn.interpret.deep_lift_shap`
  (batch of 128 sequence–reference pairs, max-pools as modules so DeepLIFT's max rule
  applies) against ``tangermeme.deep_lift_shap`` called on the model with its defaults
  (batch 32; the functional global max is then treated as linear).

Rounds alternate between the candidates and the median is printed (the machine may be
shared). Prints sequences/s for each and the ratios. Figures only: nothing is asserted.

    python benchmarks/interpret.py                    # CPU
    python benchmarks/interpret.py --device cuda
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
def ism_loop(model: torch.nn.Module, x: np.ndarray, target: int = 0) -> np.ndarray:
    """The plain reference: one forward pass per single-letter mutation."""
    dev = next(model.parameters()).device
    xt = torch.tensor(x, dtype=torch.float32, device=dev)
    out = np.zeros(x.shape, dtype=np.float32)
    for n in range(len(xt)):
        y0 = model(xt[n:n + 1])[0, target]
        for pos in range(xt.shape[2]):
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seq-len", type=int, default=200)
    parser.add_argument("--ism-seqs", type=int, default=8, help="sequences per batched ISM")
    parser.add_argument("--loop-seqs", type=int, default=1, help="sequences per plain loop")
    parser.add_argument("--dls-seqs", type=int, default=8, help="sequences per DeepLIFT/SHAP")
    parser.add_argument("--shuffles", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = build_model({"arch": "dilated"}, 4, 1, args.seq_len).to(device).eval()
    print(f"model: default DilatedCNN, {args.seq_len} bp, device {device}, "
          f"torch threads {torch.get_num_threads()}, median of {args.rounds} alternating rounds")

    from tangermeme.deep_lift_shap import deep_lift_shap as tm_dls
    from tangermeme.saturation_mutagenesis import saturation_mutagenesis

    x = random_onehot(max(args.ism_seqs, args.dls_seqs), args.seq_len)
    xi, xl, xd = x[:args.ism_seqs], x[:args.loop_seqs], x[:args.dls_seqs]
    diff = float(np.abs(ism(model, xl) - ism_loop(model, xl)).max())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tangermeme's convergence / fastISM notes
        saturation_mutagenesis(model, torch.tensor(xi[:1]), device=device)  # warm-up
        r = rounds({
            "batched": (lambda: ism(model, xi), len(xi)),
            "loop": (lambda: ism_loop(model, xl), len(xl)),
            "tangermeme": (lambda: saturation_mutagenesis(model, torch.tensor(xi),
                                                          device=device), len(xi)),
        }, args.rounds, device)
        print(f"ISM ({args.seq_len * 3} mutants per sequence)")
        print(f"  seqcnn.interpret.ism (batch 256)   {r['batched']:9.3f} seq/s  ({len(xi)} seqs)")
        print(f"  plain loop, 1 mutant per forward   {r['loop']:9.3f} seq/s  ({len(xl)} seqs)")
        print(f"  tangermeme saturation_mutagenesis  {r['tangermeme']:9.3f} seq/s  "
              f"({len(xi)} seqs)")
        print(f"  ratio batched / loop {r['batched'] / r['loop']:.1f}x, batched / tangermeme "
              f"{r['batched'] / r['tangermeme']:.2f}x; max |batched - loop| = {diff:.2e}")

        xdt = torch.tensor(xd, dtype=torch.float32)
        deep_lift_shap(model, xd[:1], n_shuffles=2)  # warm-up
        r = rounds({
            "ours": (lambda: deep_lift_shap(model, xd, n_shuffles=args.shuffles), len(xd)),
            "tangermeme": (lambda: tm_dls(model, xdt, n_shuffles=args.shuffles,
                                          random_state=0, device=device), len(xd)),
        }, args.rounds, device)
    print(f"DeepLIFT/SHAP ({args.shuffles} dinucleotide shuffles)")
    print(f"  seqcnn.interpret.deep_lift_shap    {r['ours']:9.3f} seq/s  ({len(xd)} seqs)")
    print(f"  tangermeme defaults (batch 32)     {r['tangermeme']:9.3f} seq/s  ({len(xd)} seqs)")
    print(f"  ratio ours / tangermeme defaults {r['ours'] / r['tangermeme']:.2f}x")


if __name__ == "__main__":
    main()
