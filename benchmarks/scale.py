"""Scale: time and peak memory of region preparation, cache building and one training epoch
at 100,000 and 1,000,000 regions of 500 bp.

Run: ``python benchmarks/scale.py`` (``--quick`` for a smoke run at 20,000 and 200,000;
``--sizes`` for others; ``--steps regions cache`` to skip training). A random genome
(i.i.d. bases, lowercase runs, one 10-kb N run per chromosome) and narrowPeak files are
generated under a temporary directory (removed at the end unless ``--keep``); nothing is
downloaded. For each size, each step runs in a fresh Python process, which reports its
wall time and memory:

- ``regions``: :func:`seqcnn.data.regions.prepare_regions`, the ``prepare_positives`` rule:
  read + validate the narrowPeak files in chunks, resize to ``--seq-len``, filter (unknown
  chromosome, ends), external sort (``sort`` in a child process: its peak RSS, sampled,
  is in the notes), N-fraction filter, merge, write the labelled region table. The generated
  peaks are dealt at random to two task files, ``T`` (30 %) and ``U`` (70 %), so that the
  labels hold both classes (training needs them);
- ``cache``: count the rows, then stream the region table in chunks
  (:func:`seqcnn.data.regions.read_regions`) through :func:`seqcnn.data.cache.write_cache`: the path
  of the ``build_cache`` rule;
- ``train``: one epoch of :func:`seqcnn.train.loop.train` (``epochs: 1``) on the
  memory-mapped cache, validating on a fixed 5,000-region split: the ``train_model`` rule.
  Before it, this process runs :func:`seqcnn.workflow.resources.epoch_seconds`'s probe
  (``--probe-batches`` batches); its prediction is printed beside the epoch's time
  (``train_log.tsv``'s seconds: training and validation).

Memory figures are in MB (MiB: /proc's kB / 1024):

- ``peak RSS``: ``VmHWM`` of the step's process at its end (everything resident at the
  peak: anonymous memory *and* mapped file pages, such as the memory-mapped cache);
- ``peak anon``: the largest ``RssAnon`` sampled every 20 ms (heap, arrays, tensors; the
  memory a job really needs, since mapped file pages are reclaimable page cache).

The last table divides each step's figures at the largest size by those at the smallest;
a step passes when the ``peak RSS`` ratio is at most 1.2 (memory flat in N). Figures only
for time (on a shared machine they vary with its load, printed at the start and the end);
nothing is asserted.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from prepare import make_genome, make_peaks  # noqa: E402

#: the model trained for one epoch (small: an epoch on 1M x 500 bp fits minutes on 2 cores)
MODEL = {"arch": "dilated", "filters": 16, "first_kernel": 19, "layers": 2, "kernel": 3,
         "dilation_base": 2, "pool": "global_max"}
STEPS = ("regions", "cache", "train")
#: the tasks of the region table and the share of the generated peaks each gets
TASKS = {"T": 0.3, "U": 0.7}
VALID = 5000
LIMIT = 1.2


# --------------------------------------------------------------------------- memory


def status_mb(field: str, pid: str = "self") -> float:
    """A memory field of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``, ``RssAnon``), MiB."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def children_hwm_mb() -> float:
    """Largest ``VmHWM`` (MiB) of this process's running child programs (such as ``sort``;
    not forks of this process, whose figures are this process's until they exec)."""
    with open("/proc/self/comm") as fh:
        me = fh.read()
    peak = 0.0
    for tasks in glob.glob("/proc/self/task/*/children"):
        try:
            with open(tasks) as fh:
                pids = fh.read().split()
            for pid in pids:
                with open(f"/proc/{pid}/comm") as fh:
                    if fh.read() != me:
                        peak = max(peak, status_mb("VmHWM", pid))
        except (OSError, ValueError):  # gone meanwhile
            continue
    return peak


class AnonPeak:
    """Largest ``RssAnon`` (MiB) seen by a background thread sampling every ``interval`` s;
    ``children``: the largest ``VmHWM`` of a child program (:func:`children_hwm_mb`)."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.peak = status_mb("RssAnon")
        self.children = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, status_mb("RssAnon"))
            self.children = max(self.children, children_hwm_mb())

    def __enter__(self) -> AnonPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, status_mb("RssAnon"))


# --------------------------------------------------------------------------- steps (child)


def step_regions(work: Path, n: int, seq_len: int) -> dict:
    """prepare_positives' path: :func:`seqcnn.data.regions.prepare_regions` on one task file."""
    from seqcnn.data import regions as rg
    from seqcnn.data.genome import Genome

    genome = Genome(work / "genome.fa")
    out = rg.prepare_regions({t: _task_peaks(work, n, t) for t in TASKS}, genome, seq_len,
                             work / f"regions_{n}.bed", 0.1, tmp_dir=work)
    return {"read": sum(t["read"] for t in out["tasks"].values()), "kept": out["positives"]}


def step_cache(work: Path, n: int, seq_len: int, chunk: int = 4096) -> dict:
    """build_cache's path: count rows, stream chunks of the table into the cache."""
    from seqcnn.data import regions as rg
    from seqcnn.data.cache import write_cache
    from seqcnn.data.genome import Genome

    path = work / f"regions_{n}.bed"
    with open(path) as fh:
        rows = sum(1 for _ in fh) - 1
    tasks = rg.task_columns(rg.read_regions(path, chunksize=1).get_chunk())
    chunks = rg.read_regions(path, chunksize=chunk)
    stats = write_cache(Genome(work / "genome.fa"), chunks, rows, tasks,
                        work / f"cache_{n}.onehot.npy", work / f"cache_{n}.labels.npy", seq_len)
    return {"rows": stats.n, "cache_bytes": stats.bytes}


class _Capped(Exception):
    """Raised from ``on_batch_end`` to stop an epoch after ``--max-batches`` steps."""


def step_train(work: Path, n: int, batch_size: int, threads: int, max_batches: int) -> dict:
    """train_model's path: one epoch of :func:`seqcnn.train.loop.train` on the memmap cache."""
    import torch

    from seqcnn.train.loop import train

    torch.set_num_threads(threads)
    steps, epoch_s = [0], [float("nan")]

    def on_batch_end(epoch: int, batch: int) -> None:
        steps[0] = batch
        if max_batches and batch >= max_batches:
            raise _Capped

    def on_epoch_end(epoch: int, row: dict) -> None:
        epoch_s[0] = row["seconds"]  # training + validation, as in train_log.tsv

    cfg = {"epochs": 1, "batch_size": batch_size, "patience": 0, "device": "cpu",
           "num_workers": 0, "rc_augment": True, "jitter": 0, "seed": 0}
    t = time.perf_counter()
    try:
        train(MODEL, (work / f"cache_{n}.onehot.npy", work / f"cache_{n}.labels.npy"),
              (work / "cache_valid.onehot.npy", work / "cache_valid.labels.npy"), cfg,
              out_dir=work / f"model_{n}", progress=False, on_batch_end=on_batch_end,
              on_epoch_end=on_epoch_end, threads=threads)
        capped = False
    except _Capped:
        capped, epoch_s[0] = True, time.perf_counter() - t
    return {"batches": steps[0], "capped": capped, "epoch_seconds": epoch_s[0],
            "rss_file_mb": status_mb("RssFile")}


def child(args: argparse.Namespace) -> None:
    """Run one step; print its figures as one JSON line."""
    work = Path(args.workdir)
    n = args.sizes[0]
    base = status_mb("VmRSS")
    t = time.perf_counter()
    with AnonPeak() as anon:
        if args.child == "regions":
            info = step_regions(work, n, args.seq_len)
        elif args.child == "cache":
            info = step_cache(work, n, args.seq_len)
        else:
            info = step_train(work, n, args.batch_size, args.threads, args.max_batches)
    info.update(seconds=time.perf_counter() - t, peak_rss_mb=status_mb("VmHWM"),
                peak_anon_mb=anon.peak, start_rss_mb=base, child_rss_mb=anon.children)
    print(json.dumps(info))


# --------------------------------------------------------------------------- driver


def run_step(step: str, n: int, work: Path, args: argparse.Namespace) -> dict:
    """Run ``step`` for ``n`` regions in a fresh process; its JSON figures."""
    cmd = [sys.executable, __file__, "--child", step, "--workdir", str(work),
           "--sizes", str(n), "--seq-len", str(args.seq_len), "--batch-size",
           str(args.batch_size), "--threads", str(args.threads),
           "--max-batches", str(args.max_batches)]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode:
        sys.exit(f"step {step} ({n:,} regions) failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _task_peaks(work: Path, n: int, task: str) -> Path:
    return work / f"peaks_{n}_{task}.narrowPeak"


def make_task_peaks(work: Path, n: int, sizes: dict[str, int], seed: int) -> None:
    """``n`` peaks (:func:`prepare.make_peaks`) dealt at random to the :data:`TASKS` files."""
    src = work / f"peaks_{n}.narrowPeak"
    make_peaks(src, sizes, n, np.random.default_rng(seed))
    deal = np.random.default_rng(seed + 1).choice(len(TASKS), size=n, p=list(TASKS.values()))
    outs = [open(_task_peaks(work, n, t), "w") for t in TASKS]
    try:
        with open(src) as fh:
            header = fh.readline()
            for out in outs:
                out.write(header)
            for line, k in zip(fh, deal, strict=True):
                outs[k].write(line)
    finally:
        for out in outs:
            out.close()
    src.unlink()


def prepare_inputs(work: Path, args: argparse.Namespace) -> None:
    """Genome, a small validation cache and narrowPeak files per size (untimed)."""
    from seqcnn.data.genome import Genome, prepare_fasta

    rng = np.random.default_rng(0)
    make_genome(work / "src.fa", args.genome_mb, args.chroms, rng)
    prepare_fasta(work / "src.fa", work / "genome.fa")
    sizes = Genome(work / "genome.fa").sizes
    for n in args.sizes:
        make_task_peaks(work, n, sizes, n)
    # the validation split: the same two steps, in this (untimed) process
    make_task_peaks(work, VALID, sizes, 1)
    step_regions(work, VALID, args.seq_len)
    step_cache(work, VALID, args.seq_len)
    for suffix in ("onehot.npy", "labels.npy"):
        os.replace(work / f"cache_{VALID}.{suffix}", work / f"cache_valid.{suffix}")


def probe_epoch(n: int, args: argparse.Namespace) -> float:
    """:func:`seqcnn.workflow.resources.epoch_seconds` for ``n`` sequences, in this process."""
    import torch

    from seqcnn.workflow.resources import epoch_seconds

    torch.set_num_threads(args.threads)
    return epoch_seconds(n, args.seq_len, MODEL, "cpu", batch_size=args.batch_size,
                         batches=args.probe_batches)


def _note(step: str, r: dict, args: argparse.Namespace) -> str:
    """The last column of the table for one step's figures."""
    if step == "regions":
        sort = (f"{r['child_rss_mb']:.0f} MB" if r["child_rss_mb"]
                else "not sampled (ran under 20 ms)")
        return f"kept {r['kept']:,}; sort peak RSS {sort}"
    if step == "cache":
        return f"{r['rows']:,} rows"
    seen = r["batches"] * args.batch_size
    return (f"{r['batches']:,} batches of {args.batch_size}"
            + (" (CAPPED by --max-batches)" if r["capped"] else "")
            + f"; epoch {r['epoch_seconds']:.0f} s, {seen / r['epoch_seconds']:.0f} seq/s; "
            f"probe predicted {r['probe_seconds']:.0f} s")


def print_tables(results: dict[tuple[int, str], dict], sizes: list[int],
                 args: argparse.Namespace) -> None:
    """The per-step table, then the ratios of the largest size to the smallest."""
    print(f"\n{'regions':>10} {'step':<8}{'seconds':>9}{'peak RSS MB':>13}{'peak anon MB':>14}"
          f"{'cache GB':>10}  notes")
    for n in sizes:
        cache = results.get((n, "cache"))
        cache_gb = f"{cache['cache_bytes'] / 1e9:.2f}" if cache else "-"
        for step in args.steps:
            r = results[(n, step)]
            note = _note(step, r, args)
            print(f"{n:>10,} {step:<8}{r['seconds']:>9.1f}{r['peak_rss_mb']:>13.0f}"
                  f"{r['peak_anon_mb']:>14.0f}{cache_gb:>10}  {note}")
    if len(sizes) < 2:
        return
    lo, hi = min(sizes), max(sizes)
    print(f"\nratios {hi:,} / {lo:,} regions (x{hi / lo:g}); PASS: peak RSS ratio <= {LIMIT}")
    print(f"{'step':<8}{'seconds':>9}{'peak RSS':>10}{'peak anon':>11}  verdict")
    for step in args.steps:
        a, b = results[(lo, step)], results[(hi, step)]
        rss = b["peak_rss_mb"] / a["peak_rss_mb"]
        verdict = "PASS" if rss <= LIMIT else "FAIL"
        print(f"{step:<8}{b['seconds'] / a['seconds']:>9.2f}{rss:>10.2f}"
              f"{b['peak_anon_mb'] / a['peak_anon_mb']:>11.2f}  {verdict}")


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000],
                    help="numbers of regions (default: 100000 1000000)")
    ap.add_argument("--quick", action="store_true", help="smoke run: --sizes 20000 200000")
    ap.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS),
                    help="steps to run (default: all; each needs the one before it)")
    ap.add_argument("--seq-len", type=int, default=500)
    ap.add_argument("--genome-mb", type=float, default=100)
    ap.add_argument("--chroms", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1),
                    help="torch/OpenMP threads of the training step")
    ap.add_argument("--max-batches", type=int, default=0,
                    help="stop the training epoch after this many batches (0: the whole "
                         "epoch; a capped epoch is marked in the output)")
    ap.add_argument("--probe-batches", type=int, default=10,
                    help="batches timed by resources.epoch_seconds before each epoch")
    ap.add_argument("--workdir", default=None, help="parent of the temporary directory")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--child", choices=STEPS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.quick:
        args.sizes = [20_000, 200_000]
    args.steps = [s for s in STEPS if s in args.steps]
    if not args.child and args.steps != list(STEPS[:len(args.steps)]):
        ap.error(f"--steps: each step needs the one before it ({' → '.join(STEPS)})")
    return args


def main() -> None:
    args = parse_args()
    if args.child:
        child(args)
        return
    sizes = sorted(set(args.sizes))
    work = Path(tempfile.mkdtemp(prefix="seqcnn_scale_", dir=args.workdir))
    need = max(sizes) * 4 * args.seq_len * 1.1 + sum(sizes) * 4 * args.seq_len
    free = shutil.disk_usage(work).free
    print(f"work dir {work}: {free / 1e9:.0f} GB free, about {need / 1e9:.1f} GB needed; "
          f"model {json.dumps(MODEL)}; batch {args.batch_size}; {args.threads} thread(s); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    if need > free:
        shutil.rmtree(work)
        sys.exit("not enough disk space")
    results: dict[tuple[int, str], dict] = {}
    try:
        t = time.perf_counter()
        prepare_inputs(work, args)
        print(f"generated a {args.genome_mb:g} Mb genome and peaks for {sizes} in "
              f"{time.perf_counter() - t:.0f} s", flush=True)
        for n in sizes:
            for step in args.steps:
                probe = (probe_epoch(results[(n, "cache")]["rows"], args) if step == "train"
                         else None)
                results[(n, step)] = r = run_step(step, n, work, args)
                r["probe_seconds"] = probe
                print(f"  {n:>10,} {step:<8} {r['seconds']:8.1f} s  peak RSS "
                      f"{r['peak_rss_mb']:6.0f} MB", flush=True)
            for task in TASKS:
                _task_peaks(work, n, task).unlink()
        print_tables(results, sizes, args)
        print("load average (1, 5, 15 min) at the end: "
              + ", ".join(f"{v:.1f}" for v in os.getloadavg())
              + f" on {os.cpu_count()} CPUs (timings are only comparable on a quiet machine)")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
