"""Training throughput: the on-disk cache through the real DataLoader vs tensors in memory.

For each model (the default dilated CNN and Koo & Eddy's CNN-25 at 200 bp), the same
training step (:func:`seqcnn.train.loop.train_epoch`: forward, weighted BCE, backward, Adam)
runs over

- ``disk``: a memory-mapped cache split read by :class:`seqcnn.train.datasets.CacheDataset` through
  :func:`seqcnn.train.datasets.make_loader` with the training augmentation (reverse complement,
  jitter), pinned memory and workers as :func:`seqcnn.train.loop.train` would use them;
- ``memory``: the same sequences already on the device as ``float32`` tensors, batched by
  slicing a permutation (no augmentation, no copies: the model step alone).

Rounds alternate between the two so that machine noise hits both; the medians are
reported, and the ratio of the best rounds (the least disturbed on a shared machine).
Prints sequences/s for each and ``ratio = disk / memory``; a ratio of at least 0.9 means
the input pipeline is not the bottleneck. It also times the loader alone (memmap reads,
augmentation, copy to the device; no model), which is less sensitive to a busy machine:
with 0 workers its cost adds to every step, so ``1 / (1 + memory / alone)`` bounds the
ratio from below. Figures only: nothing is asserted.

    python benchmarks/train.py                       # 20,000 random 200 bp sequences, CPU
    python benchmarks/train.py --device cuda         # on a GPU (bf16 autocast, workers)
    python benchmarks/train.py --cache results/demo/cache
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from seqcnn.models import build_model, count_parameters
from seqcnn.train.datasets import CacheDataset, make_loader
from seqcnn.train.loop import (
    TrainConfig,
    class_weights,
    resolve_device,
    resolve_num_workers,
    resolve_precision,
    seed_everything,
    train_epoch,
)

MODELS = {
    "dilated": {"arch": "dilated", "filters": 64, "first_kernel": 19, "layers": 6, "kernel": 3,
                "dilation_base": 2, "pool": "global_max"},
    "koo_eddy_cnn25": {"arch": "koo_eddy", "pool_size": 25},
}


def synthetic_cache(directory: Path, n: int, seq_len: int, tasks: int, seed: int = 0
                    ) -> tuple[Path, Path]:
    """Random one-hot sequences and labels written as ``.npy`` in chunks (not held in RAM)."""
    rng = np.random.default_rng(seed)
    x_path, y_path = directory / "train.onehot.npy", directory / "train.labels.npy"
    x = np.lib.format.open_memmap(x_path, mode="w+", dtype=np.uint8, shape=(n, 4, seq_len))
    for start in range(0, n, 4096):
        codes = rng.integers(0, 4, size=(min(4096, n - start), seq_len))
        x[start:start + len(codes)] = (codes[:, None, :] == np.arange(4)[None, :, None])
    x.flush()
    del x
    np.save(y_path, (rng.random((n, tasks)) < 0.3).astype(np.uint8))
    return x_path, y_path


def bench_model(name: str, model_cfg: dict, x_path: Path, y_path: Path, args, device,
                precision: str) -> tuple[float, float]:
    cfg = TrainConfig.from_mapping({"batch_size": args.batch_size, "rc_augment": True,
                                    "jitter": args.jitter, "num_workers": args.num_workers})
    ds = CacheDataset.from_files(x_path, y_path, rc_augment=cfg.rc_augment, jitter=cfg.jitter,
                                 seed=0)
    workers = resolve_num_workers(cfg.num_workers, device)
    loader = make_loader(ds, cfg.batch_size, shuffle=True, drop_last=True, seed=0,
                         num_workers=workers, pin_memory=device.type == "cuda")
    n_batches = min(args.batches, len(loader))

    seed_everything(0)
    model = build_model(model_cfg, ds.alphabet_size, ds.n_tasks, ds.seq_len).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    pos_weight = torch.from_numpy(class_weights(ds.labels)).to(device)
    criterion = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    print(f"\n{name}: {count_parameters(model):,} parameters, receptive field "
          f"{model.receptive_field}; {n_batches} batches of {cfg.batch_size} per round, "
          f"{workers} worker(s), {precision}", flush=True)

    # the same sequences, already on the device as float32
    order = np.random.default_rng(0).permutation(len(ds))[: n_batches * cfg.batch_size]
    order.sort()
    mem_x = torch.from_numpy(np.asarray(ds.onehot[order], dtype=np.float32)).to(device)
    mem_y = torch.from_numpy(np.asarray(ds.labels[order], dtype=np.float32)).to(device)

    def memory_batches():
        perm = torch.randperm(len(mem_x), device=device)
        for i in range(n_batches):
            idx = perm[i * cfg.batch_size:(i + 1) * cfg.batch_size]
            yield mem_x[idx], mem_y[idx]

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def run(kind: str, epoch: int) -> float:
        sync()
        t0 = time.perf_counter()
        if kind == "disk":
            loader.sampler.set_epoch(epoch)
            _, seen = train_epoch(model, loader, optimizer, criterion, device, precision,
                                  epoch=epoch, max_batches=n_batches)
        else:
            _, seen = train_epoch(model, memory_batches(), optimizer, criterion, device,
                                  precision, epoch=epoch)
        sync()
        return seen / (time.perf_counter() - t0)

    # warm-up: allocator, kernels, worker start-up
    for kind in ("disk", "memory"):
        train_epoch(model, memory_batches() if kind == "memory" else loader, optimizer,
                    criterion, device, precision, max_batches=min(3, n_batches))
    rates: dict[str, list[float]] = {"disk": [], "memory": []}
    for r in range(args.rounds):
        for kind in (("disk", "memory") if r % 2 == 0 else ("memory", "disk")):
            rates[kind].append(run(kind, r + 1))
            print(f"  round {r + 1} {kind:6s} {rates[kind][-1]:10.0f} seq/s", flush=True)
    disk, memory = float(np.median(rates["disk"])), float(np.median(rates["memory"]))
    # the input pipeline alone (memmap read, augmentation, host-to-device copy), no model
    sync()
    t0 = time.perf_counter()
    seen = 0
    loader.sampler.set_epoch(args.rounds + 1)
    for reps in range(1000):
        for b, (x, _) in enumerate(loader):
            if b >= n_batches:
                break
            x = x.to(device, non_blocking=True)
            seen += len(x)
        if time.perf_counter() - t0 > 1.0 and reps:
            break
    sync()
    alone = seen / (time.perf_counter() - t0)
    # with the loader in the training process (0 workers), its time adds to each step's
    bound = 1 / (1 + memory / alone)
    best = max(rates["disk"]) / max(rates["memory"])
    print(f"  {name}: disk {disk:.0f} seq/s, memory {memory:.0f} seq/s (medians), ratio "
          f"{disk / memory:.3f} (of the best rounds {best:.3f}); loader alone {alone:.0f} "
          f"seq/s (serial-cost bound on the ratio {bound:.3f})", flush=True)
    return disk, memory, alone


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N, mps")
    p.add_argument("--precision", default="auto", help="auto, fp32, bf16")
    p.add_argument("--cache", type=Path, default=None,
                   help="a cache directory with train.onehot.npy and train.labels.npy "
                        "(default: a generated one)")
    p.add_argument("--n", type=int, default=20_000, help="generated sequences")
    p.add_argument("--seq-len", type=int, default=200)
    p.add_argument("--tasks", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--batches", type=int, default=20, help="steps per round")
    p.add_argument("--rounds", type=int, default=4, help="rounds per path (alternating)")
    p.add_argument("--jitter", type=int, default=10)
    p.add_argument("--num-workers", default="auto")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--models", default=",".join(MODELS), help=f"of {', '.join(MODELS)}")
    args = p.parse_args()
    if args.num_workers != "auto":
        args.num_workers = int(args.num_workers)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    precision = resolve_precision(args.precision, device)
    print(f"torch {torch.__version__}, device {device}, precision {precision}, "
          f"{torch.get_num_threads()} CPU thread(s)")
    results = {}
    with tempfile.TemporaryDirectory(prefix="seqcnn_train_bench_") as tmp:
        if args.cache is not None:
            x_path, y_path = args.cache / "train.onehot.npy", args.cache / "train.labels.npy"
        else:
            t0 = time.perf_counter()
            x_path, y_path = synthetic_cache(Path(tmp), args.n, args.seq_len, args.tasks)
            print(f"generated {args.n} x {args.seq_len} bp cache in "
                  f"{time.perf_counter() - t0:.1f}s")
        for name in args.models.split(","):
            results[name] = bench_model(name, MODELS[name], x_path, y_path, args, device,
                                        precision)
    print("\nmodel             disk seq/s  memory seq/s   ratio   loader alone seq/s")
    for name, (disk, memory, alone) in results.items():
        print(f"{name:16s} {disk:11.0f} {memory:13.0f} {disk / memory:7.3f} {alone:20.0f}")


if __name__ == "__main__":
    main()
