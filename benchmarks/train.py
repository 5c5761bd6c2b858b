"""Training throughput: the on-disk cache through the training input path vs tensors in memory.

Binary models (default). For each model (the default dilated CNN and Koo & Eddy's CNN-25 at
200 bp), the same training step (:func:`seqcnn.train.loop.train_epoch`: forward, weighted
BCE, backward, Adam) runs over

- ``disk``: a memory-mapped cache split read by :class:`seqcnn.train.datasets.CacheDataset` through
  :func:`seqcnn.train.datasets.make_loader` with the training augmentation (reverse complement,
  jitter), pinned memory and workers as :func:`seqcnn.train.loop.train` would use them;
- ``memory``: the same sequences already on the device as ``float32`` tensors, batched by
  slicing a permutation (no augmentation, no copies: the model step alone).

Profile models (``--profile``). A generated track cache, ``train.onehot.npy`` ``(N, 4,
seq_len)`` uint8 and ``train.targets.npy`` ``(N, tracks, output_len)`` float32 counts, both
memory-mapped; ``output_len`` (default) is the largest centred window whose every profile
output sees its whole receptive field (:func:`seqcnn.models.profile.max_output_len` of the
largest model). Each model is built by :func:`seqcnn.train.tracks.track_model` (``target:
profile``), its count head set by :func:`~seqcnn.train.tracks.init_count_bias`, and trained
with :class:`~seqcnn.train.tracks.TrackLoss` (BPNet's count weight from the targets) by the
step of :func:`seqcnn.train.tracks.train_tracks` (its ``_epoch``: forward, loss, backward,
Adam) over

- ``disk``: :func:`seqcnn.train.tracks.batches` on the memmaps, rows and strands drawn as
  ``_epoch`` draws them (a seeded permutation of the whole split, reverse complement of half
  the rows with their profiles flipped);
- ``memory``: the same rows as ``float32`` tensors on the device, sliced by a permutation;
- ``bpnet``: bpnet-lite's ``BPNet`` (when installed; its defaults, 64 filters, 8 dilated
  layers, no control tracks as our models have none, ``trimming`` so that its output length
  is ours) on the same in-memory tensors, with the step of its ``fit``: forward, its
  ``_mixture_loss`` (MNLL + count weight × log1p MSE), backward, gradient clipping, Adam.
  Only for the models of BPNet's size (``bpnet: True`` in :data:`PROFILE_MODELS`).

Rounds alternate the paths so that machine noise hits all; the medians are reported, and
the ratio of the best rounds (the least disturbed on a shared machine). Prints sequences/s
for each and ``ratio = disk / memory`` (at least 0.9: the input path is not the
bottleneck), and for profile models ``ours / BPNet`` (memory path against BPNet's). It also
times the input path alone (memmap reads, augmentation, copy to the device; no model), which
is less sensitive to a busy machine: in the training process its cost adds to every step,
so ``1 / (1 + memory / alone)`` bounds the ratio from below. Figures only: nothing is
asserted.

    python benchmarks/train.py                       # 20,000 random 200 bp sequences, CPU
    python benchmarks/train.py --device cuda         # on a GPU (bf16 autocast, workers)
    python benchmarks/train.py --cache results/demo/cache
    python benchmarks/train.py --profile --threads 1 # 5,000 x 1000 bp, 2 tracks; vs BPNet
    python benchmarks/train.py --profile --seq-len 2114 --output-len 1000 --device cuda
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from seqcnn.models import build_model, count_parameters
from seqcnn.models.profile import max_output_len, trunk_extent
from seqcnn.models.zoo import build_trunk
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
from seqcnn.train.loop import autocast as loop_autocast
from seqcnn.train.losses import count_loss_weight
from seqcnn.train.tracks import (
    HEAD_KEYS,
    TrackLoss,
    epoch_batches,
    init_count_bias,
    track_model,
)

MODELS = {
    "dilated": {"arch": "dilated", "filters": 64, "first_kernel": 19, "layers": 6, "kernel": 3,
                "dilation_base": 2, "pool": "global_max"},
    "koo_eddy_cnn25": {"arch": "koo_eddy", "pool_size": 25},
}

#: Profile models (``--profile``): zoo trunk + ``profile_kernel``; ``bpnet``: also time
#: bpnet-lite's BPNet of the same size on the same batches.
PROFILE_MODELS = {
    # BPNet's size: 64 filters, first kernel 21, 8 dilated residual layers of kernel 3,
    # profile kernel 75 (our dilations 1..128; BPNet's 2..256)
    "profile_bpnet_size": {"model": {"arch": "dilated", "filters": 64, "first_kernel": 21,
                                     "layers": 8, "kernel": 3, "dilation_base": 2,
                                     "profile_kernel": 75}, "bpnet": True},
    # the tracks preset's dilated model (config/presets/tracks.yaml)
    "profile_tracks_preset": {"model": {"arch": "dilated", "filters": 32, "first_kernel": 15,
                                        "layers": 4, "profile_kernel": 25}, "bpnet": False},
}


def _write_onehot(path: Path, n: int, seq_len: int, rng: np.random.Generator) -> None:
    """Random one-hot DNA ``(n, 4, seq_len)`` uint8 written as ``.npy`` in chunks."""
    x = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(n, 4, seq_len))
    for start in range(0, n, 4096):
        codes = rng.integers(0, 4, size=(min(4096, n - start), seq_len))
        x[start:start + len(codes)] = (codes[:, None, :] == np.arange(4)[None, :, None])
    x.flush()
    del x


def synthetic_cache(directory: Path, n: int, seq_len: int, tasks: int, seed: int = 0
                    ) -> tuple[Path, Path]:
    """Random one-hot sequences and labels written as ``.npy`` in chunks (not held in RAM)."""
    rng = np.random.default_rng(seed)
    x_path, y_path = directory / "train.onehot.npy", directory / "train.labels.npy"
    _write_onehot(x_path, n, seq_len, rng)
    np.save(y_path, (rng.random((n, tasks)) < 0.3).astype(np.uint8))
    return x_path, y_path


def synthetic_track_cache(directory: Path, n: int, seq_len: int, tracks: int, output_len: int,
                          seed: int = 0) -> tuple[Path, Path]:
    """Random one-hot sequences ``(n, 4, seq_len)`` uint8 and count profiles ``(n, tracks,
    output_len)`` float32 (Poisson reads on a background plus a central peak, totals spread
    over two orders of magnitude), written as ``.npy`` in chunks (not held in RAM)."""
    rng = np.random.default_rng(seed)
    x_path, y_path = directory / "train.onehot.npy", directory / "train.targets.npy"
    _write_onehot(x_path, n, seq_len, rng)
    y = np.lib.format.open_memmap(y_path, mode="w+", dtype=np.float32,
                                  shape=(n, tracks, output_len))
    pos = np.arange(output_len) - (output_len - 1) / 2
    shape = 0.2 + np.exp(-0.5 * (pos / (output_len / 20)) ** 2)
    shape /= shape.sum()
    for start in range(0, n, 1024):
        rows = min(1024, n - start)
        totals = rng.lognormal(np.log(100), 1.0, size=(rows, tracks, 1))
        y[start:start + rows] = rng.poisson(totals * shape).astype(np.float32)
    y.flush()
    del y
    return x_path, y_path


def profile_output_len(seq_len: int, models: list[dict]) -> int:
    """Largest centred output window in which every profile output of each model (zoo
    trunk config + ``profile_kernel``) sees its whole receptive field: the models' crop
    logic (:func:`~seqcnn.models.profile.trunk_extent`, :func:`max_output_len`)."""
    best = seq_len
    for cfg in models:
        trunk = build_trunk({k: v for k, v in cfg.items() if k not in HEAD_KEYS}, 4, seq_len)
        best = min(best, max_output_len(seq_len, trunk_extent(trunk),
                                        int(cfg.get("profile_kernel", 75))))
    if best < 1:
        raise SystemExit(f"no profile output sees its whole receptive field in {seq_len} bp; "
                         "raise --seq-len")
    return best


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


def bpnet_lite():
    """bpnet-lite's ``(BPNet, _mixture_loss)``, or None when it is not installed."""
    try:
        from bpnetlite import BPNet
        from bpnetlite.losses import _mixture_loss
    except ImportError:
        return None
    return BPNet, _mixture_loss


def bench_profile(name: str, spec: dict, x_path: Path, y_path: Path, args, device,
                  precision: str) -> dict[str, float]:
    """Seq/s of a profile model's training step from the memmapped cache (``disk``) and
    from tensors in memory (``memory``), and of bpnet-lite's BPNet (``bpnet``, when
    ``spec["bpnet"]`` and installed) on the same tensors; medians, plus ``alone``."""
    x = np.load(x_path, mmap_mode="r")
    y = np.load(y_path, mmap_mode="r")
    n, _, seq_len = x.shape
    n_tracks, output_len = y.shape[1], y.shape[2]
    bs = args.batch_size
    n_batches = min(args.batches, n // bs)
    seed = 0

    seed_everything(seed)
    model = track_model(spec["model"], "profile", x.shape[1], n_tracks, seq_len, output_len)
    weight = count_loss_weight(np.array(y))  # as train_tracks: of the training targets
    init_count_bias(model, x, y)
    model.to(device)
    criterion = TrackLoss("profile", weight)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    print(f"\n{name}: {count_parameters(model):,} parameters, receptive field "
          f"{model.receptive_field} (profile output), output_len {output_len} of {seq_len} "
          f"bp, {n_tracks} track(s), count-loss weight {weight:.1f}; {n_batches} batches of "
          f"{bs} per round, {precision}", flush=True)

    def disk_batches(epoch: int):
        # the first n_batches of the epoch train_tracks would run (rows and strands)
        return itertools.islice(epoch_batches(x, y, bs, seed, epoch, rc_augment=True),
                                n_batches)

    # the same kind of rows, already on the device as float32
    rows = np.sort(np.random.default_rng(seed).permutation(n)[:n_batches * bs])
    mem_x = torch.from_numpy(np.asarray(x[rows], dtype=np.float32)).to(device)
    mem_y = torch.from_numpy(np.asarray(y[rows], dtype=np.float32)).to(device)

    def memory_batches():
        perm = torch.randperm(len(mem_x), device=device)
        for i in range(n_batches):
            idx = perm[i * bs:(i + 1) * bs]
            yield mem_x[idx], mem_y[idx]

    def ours_step(xb: torch.Tensor, yb: torch.Tensor) -> None:
        # the body of tracks._epoch's loop
        xb, yb = xb.to(device), yb.to(device)
        with loop_autocast(device, precision):
            out = model(xb)
        out = tuple(o.float() for o in out)
        loss = criterion(out, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        float(loss.item())

    steps = {"disk": ours_step, "memory": ours_step}
    lite = bpnet_lite() if spec.get("bpnet") else None
    if spec.get("bpnet") and lite is None:
        print("  bpnet-lite: not installed (pip install bpnet-lite)", flush=True)
    if lite is not None:
        BPNet, mixture_loss = lite
        seed_everything(seed)
        bpnet = BPNet(n_filters=64, n_layers=8, n_outputs=n_tracks, n_control_tracks=0,
                      count_loss_weight=weight, trimming=(seq_len - output_len) // 2,
                      verbose=False).to(device)
        bp_rf = 21 + 2 * sum(2 ** i for i in range(1, 9)) + 75 - 1
        print(f"  bpnet-lite BPNet: {count_parameters(bpnet):,} parameters, receptive field "
              f"{bp_rf} (profile output; {'inside' if bp_rf <= seq_len else 'wider than'} "
              f"the {seq_len} bp input), output_len {seq_len - 2 * bpnet.trimming}",
              flush=True)
        bp_optimizer = torch.optim.Adam(bpnet.parameters(), lr=1e-3)

        def bpnet_step(xb: torch.Tensor, yb: torch.Tensor) -> None:
            # BPNet.fit's step: forward, _mixture_loss, backward, clip, Adam
            bpnet.train()
            bp_optimizer.zero_grad()
            with loop_autocast(device, precision):
                logits, logcounts = bpnet(xb)
            _, _, loss = mixture_loss(yb, logits.float(), logcounts.float(),
                                      bpnet.count_loss_weight)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(bpnet.parameters(), 1)
            bp_optimizer.step()
            float(loss.item())

        steps["bpnet"] = bpnet_step
        model_of = {"disk": model, "memory": model, "bpnet": bpnet}
    else:
        model_of = {"disk": model, "memory": model}

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def run(kind: str, epoch: int, limit: int | None = None) -> float:
        model_of[kind].train()
        it = disk_batches(epoch) if kind == "disk" else memory_batches()
        sync()
        t0 = time.perf_counter()
        seen = 0
        for b, (xb, yb) in enumerate(it):
            if limit is not None and b >= limit:
                break
            steps[kind](xb, yb)
            seen += len(xb)
        sync()
        return seen / (time.perf_counter() - t0)

    for kind in steps:  # warm-up: allocator, kernels
        run(kind, 0, limit=min(2, n_batches))
    kinds = list(steps)
    rates: dict[str, list[float]] = {k: [] for k in kinds}
    for r in range(args.rounds):
        for kind in kinds[r % len(kinds):] + kinds[:r % len(kinds)]:
            rates[kind].append(run(kind, r + 1))
            print(f"  round {r + 1} {kind:6s} {rates[kind][-1]:10.1f} seq/s", flush=True)
    med = {k: float(np.median(v)) for k, v in rates.items()}
    # the input path alone (memmap reads, rc, copy to the device), no model
    sync()
    t0 = time.perf_counter()
    seen = 0
    for epoch in range(args.rounds + 1, args.rounds + 1000):
        for xb, _ in disk_batches(epoch):
            xb = xb.to(device, non_blocking=True)
            seen += len(xb)
        if time.perf_counter() - t0 > 1.0:
            break
    sync()
    med["alone"] = seen / (time.perf_counter() - t0)
    bound = 1 / (1 + med["memory"] / med["alone"])
    best = max(rates["disk"]) / max(rates["memory"])
    line = (f"  {name}: disk {med['disk']:.1f} seq/s, memory {med['memory']:.1f} seq/s "
            f"(medians), ratio {med['disk'] / med['memory']:.3f} (of the best rounds "
            f"{best:.3f}); input path alone {med['alone']:.0f} seq/s (serial-cost bound on "
            f"the ratio {bound:.3f})")
    if "bpnet" in med:
        line += (f"; BPNet {med['bpnet']:.1f} seq/s, ours / BPNet "
                 f"{med['memory'] / med['bpnet']:.3f} (of the best rounds "
                 f"{max(rates['memory']) / max(rates['bpnet']):.3f})")
    print(line, flush=True)
    med["parameters"] = count_parameters(model)
    med["receptive_field"] = model.receptive_field
    return med


def main_profile(args, device, precision: str) -> None:
    """``--profile``: a generated track cache; :func:`bench_profile` for each model."""
    names = args.models.split(",")
    unknown = [m for m in names if m not in PROFILE_MODELS]
    if unknown:
        raise SystemExit(f"unknown profile model(s) {', '.join(unknown)}; choose of "
                         f"{', '.join(PROFILE_MODELS)}")
    seq_len = args.seq_len or 1000
    if args.cache is None:
        output_len = args.output_len or profile_output_len(
            seq_len, [PROFILE_MODELS[m]["model"] for m in names])
    results = {}
    with tempfile.TemporaryDirectory(prefix="seqcnn_train_bench_") as tmp:
        if args.cache is not None:
            x_path, y_path = args.cache / "train.onehot.npy", args.cache / "train.targets.npy"
        else:
            t0 = time.perf_counter()
            x_path, y_path = synthetic_track_cache(Path(tmp), args.n, seq_len, args.tracks,
                                                   output_len)
            print(f"generated {args.n} x {seq_len} bp track cache ({args.tracks} tracks x "
                  f"{output_len}) in {time.perf_counter() - t0:.1f}s")
        for name in names:
            results[name] = bench_profile(name, PROFILE_MODELS[name], x_path, y_path, args,
                                          device, precision)
    print("\nmodel                  params  RF  disk seq/s  memory seq/s  ratio  "
          "BPNet seq/s  ours/BPNet  input alone seq/s")
    for name, m in results.items():
        bp = (f"{m['bpnet']:11.1f} {m['memory'] / m['bpnet']:11.3f}" if "bpnet" in m
              else f"{'-':>11s} {'-':>11s}")
        print(f"{name:21s} {m['parameters']:7d} {m['receptive_field']:4d} {m['disk']:10.1f} "
              f"{m['memory']:13.1f} {m['disk'] / m['memory']:6.3f} {bp} {m['alone']:18.0f}")
    if any(PROFILE_MODELS[n]["bpnet"] for n in names) and bpnet_lite() is None:
        print("BPNet: not installed (pip install bpnet-lite)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N, mps")
    p.add_argument("--precision", default="auto", help="auto, fp32, bf16")
    p.add_argument("--cache", type=Path, default=None,
                   help="a cache directory with train.onehot.npy and train.labels.npy "
                        "(--profile: train.targets.npy) (default: a generated one)")
    p.add_argument("--profile", action="store_true",
                   help="profile (BPNet-style) models on a track cache, against bpnet-lite")
    p.add_argument("--n", type=int, default=None,
                   help="generated sequences (default 20,000; --profile 5,000)")
    p.add_argument("--seq-len", type=int, default=None, help="default 200; --profile 1000")
    p.add_argument("--output-len", type=int, default=None,
                   help="--profile: profile positions (default: the widest window that sees "
                        "the whole receptive field of every model)")
    p.add_argument("--tasks", type=int, default=2)
    p.add_argument("--tracks", type=int, default=2, help="--profile: tracks")
    p.add_argument("--batch-size", type=int, default=None, help="default 128; --profile 64")
    p.add_argument("--batches", type=int, default=None,
                   help="steps per round (default 20; --profile 4)")
    p.add_argument("--rounds", type=int, default=4, help="rounds per path (alternating)")
    p.add_argument("--jitter", type=int, default=10)
    p.add_argument("--num-workers", default="auto")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--models", default=None,
                   help=f"of {', '.join(MODELS)} (default all); --profile: of "
                        f"{', '.join(PROFILE_MODELS)} (default all)")
    args = p.parse_args()
    profile = args.profile
    args.n = args.n or (5_000 if profile else 20_000)
    args.batch_size = args.batch_size or (64 if profile else 128)
    args.batches = args.batches or (4 if profile else 20)
    args.models = args.models or ",".join(PROFILE_MODELS if profile else MODELS)
    if args.num_workers != "auto":
        args.num_workers = int(args.num_workers)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    precision = resolve_precision(args.precision, device)
    print(f"torch {torch.__version__}, device {device}, precision {precision}, "
          f"{torch.get_num_threads()} CPU thread(s)")
    if profile:
        main_profile(args, device, precision)
        return
    args.seq_len = args.seq_len or 200
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
