"""Benchmark the prepare stages against `bedtools getfasta` + tangermeme's one_hot_encode.

Run: ``python benchmarks/prepare.py`` (defaults: a 50 Mb genome, 200,000 regions of
1,000 bp, and a peak-RSS run on 1,000,000 regions). Prints figures; asserts nothing about
time. Both pipelines start from a FASTA (indexed beforehand, untimed) and end with the same
``uint8 (N, 4, L)`` array on disk; the arrays are checked to be identical.

- seqcnn: read + validate narrowPeak → resize → filter (unknown chrom, ends, N fraction)
  → sort → extract → one-hot → stream to ``.npy`` (with SHA-256), reading the FASTA.
- reference: ``bedtools getfasta -tab`` on the already resized and filtered regions, then
  ``tangermeme.utils.one_hot_encode`` per (uppercased) sequence, stacked, ``np.save``d.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seqcnn.data import regions as rg  # noqa: E402
from seqcnn.data.cache import write_cache  # noqa: E402
from seqcnn.data.fasta import write_fasta  # noqa: E402
from seqcnn.data.genome import Genome, prepare_fasta  # noqa: E402


def make_genome(path: Path, total_mb: float, n_chroms: int, rng: np.random.Generator) -> None:
    """i.i.d. background with 5 % lowercase and a 10-kb N run per chromosome."""
    length = int(total_mb * 1e6 / n_chroms)
    chroms = {}
    for k in range(n_chroms):
        seq = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, size=length, dtype=np.uint8)]
        lower = rng.integers(0, length - 5000, size=length // 100_000)
        for s in lower:
            seq[s:s + 5000] |= 32  # lowercase (idempotent)
        mid = length // 2
        seq[mid:mid + 10_000] = ord("N")
        chroms[f"chr{k + 1}"] = seq
    write_fasta(path, chroms)


def make_peaks(path: Path, sizes: dict[str, int], n: int, rng: np.random.Generator) -> None:
    """``n`` narrowPeak lines in random order with summits, widths 200..2000 bp."""
    names = list(sizes)
    lengths = np.array([sizes[c] for c in names])
    k = rng.choice(len(names), size=n, p=lengths / lengths.sum())
    summit_abs = (rng.random(n) * (lengths[k] - 2000)).astype(np.int64) + 1000
    left = rng.integers(100, 1000, size=n)
    right = rng.integers(100, 1000, size=n)
    df = pd.DataFrame({
        "chrom": np.array(names)[k], "start": summit_abs - left, "end": summit_abs + right,
        "name": [f"p{i}" for i in range(n)], "score": 0, "strand": ".", "signal": 1.0,
        "p": 1.0, "q": 1.0, "summit": left,
    })
    with open(path, "w") as fh:
        fh.write("track type=narrowPeak\n")
        df.to_csv(fh, sep="\t", header=False, index=False)


def seqcnn_prepare(peaks: Path, fasta: Path, out: Path, seq_len: int,
                   chunk: int = 4096) -> tuple[pd.DataFrame, dict]:
    """The workflow's prepare stages, in one process, timed by the caller."""
    genome = Genome(fasta)
    bed = rg.read_bed(peaks)
    resized = rg.resize(bed, seq_len)
    kept, drops = rg.filter_regions(resized, genome, 0.1)
    kept = rg.sort_regions(kept, genome.sizes)
    kept["source"] = "peak"
    kept["T"] = np.uint8(1)
    chunks = (kept.iloc[i:i + chunk] for i in range(0, len(kept), chunk))
    stats = write_cache(genome, chunks, len(kept), ["T"], out, out.with_suffix(".labels.npy"),
                        seq_len)
    return kept, {"dropped": dict(drops), "bytes": stats.bytes}


def reference_prepare(bed: Path, fasta: Path, out: Path) -> int:
    """bedtools getfasta, then tangermeme one_hot_encode each sequence, then np.save."""
    from tangermeme.utils import one_hot_encode

    tab = out.with_suffix(".tab")
    subprocess.run(["bedtools", "getfasta", "-fi", str(fasta), "-bed", str(bed), "-tab",
                    "-fo", str(tab)], check=True)
    seqs = [line.split("\t", 1)[1].rstrip("\n") for line in open(tab)]
    x = np.stack([one_hot_encode(s.upper()).numpy().view(np.uint8) for s in seqs])
    np.save(out, x)
    return len(seqs)


def memory_bandwidth(nbytes: int = 1 << 30, repeats: int = 3) -> float:
    """Copy bandwidth of this machine, bytes/s (read + write counted once, as a copy)."""
    a = np.ones(nbytes, dtype=np.uint8)
    b = np.empty_like(a)
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - t)
    return nbytes / best


def file_write_bandwidth(directory: Path, nbytes: int = 1 << 30) -> float:
    """Sequential write speed of ``directory``'s file system, bytes/s (as the cache writes:
    unsynced, through the page cache)."""
    a = np.ones(nbytes, dtype=np.uint8)
    path = directory / "bandwidth.bin"
    t = time.perf_counter()
    with open(path, "wb") as fh:
        fh.write(memoryview(a))
    seconds = time.perf_counter() - t
    path.unlink()
    return nbytes / seconds


def _status_mb(field: str) -> float:
    """A memory field of /proc/self/status (VmRSS, VmHWM), in MB."""
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child_rss(args: argparse.Namespace) -> None:
    """Run the seqcnn prepare stages on the prepared regions; print peak RSS as JSON.

    The peak (VmHWM) is reset first (``/proc/self/clear_refs``), because a child process
    starts with the high-water mark of its parent.
    """
    work = Path(args.workdir)
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    rss_before = _status_mb("VmRSS")
    t = time.perf_counter()
    kept, info = seqcnn_prepare(work / "rss.narrowPeak", work / "genome.fa",
                                work / "rss.onehot.npy", args.length)
    seconds = time.perf_counter() - t
    print(json.dumps({"regions": len(kept), "cache_bytes": info["bytes"], "seconds": seconds,
                      "rss_before_mb": rss_before, "peak_rss_mb": _status_mb("VmHWM"),
                      "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--genome-mb", type=float, default=50)
    ap.add_argument("--chroms", type=int, default=5)
    ap.add_argument("--regions", type=int, default=200_000)
    ap.add_argument("--length", type=int, default=1000)
    ap.add_argument("--rss-regions", type=int, default=1_000_000, help="0 skips the RSS run")
    ap.add_argument("--workdir", default=None, help="default: a temporary directory")
    ap.add_argument("--child-rss", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_rss:
        child_rss(args)
        return
    if shutil.which("bedtools") is None:
        sys.exit("bedtools is not on PATH (make setup installs it)")

    tmp = tempfile.mkdtemp(prefix="seqcnn_bench_", dir=args.workdir)
    work = Path(tmp)
    try:
        rng = np.random.default_rng(0)
        print(f"generating a {args.genome_mb:g} Mb genome and {args.regions:,} regions "
              f"in {work} ...", flush=True)
        make_genome(work / "src.fa", args.genome_mb, args.chroms, rng)
        prepare_fasta(work / "src.fa", work / "genome.fa")  # index: untimed, both use it
        genome = Genome(work / "genome.fa")
        make_peaks(work / "peaks.narrowPeak", genome.sizes, args.regions, rng)
        del genome

        t = time.perf_counter()
        kept, info = seqcnn_prepare(work / "peaks.narrowPeak", work / "genome.fa",
                                    work / "ours.npy", args.length)
        ours = time.perf_counter() - t

        kept[["chrom", "start", "end"]].to_csv(work / "kept.bed", sep="\t", header=False,
                                               index=False)
        t = time.perf_counter()
        n_ref = reference_prepare(work / "kept.bed", work / "genome.fa", work / "ref.npy")
        ref = time.perf_counter() - t

        same = n_ref == len(kept) and np.array_equal(np.load(work / "ours.npy", mmap_mode="r"),
                                                     np.load(work / "ref.npy", mmap_mode="r"))
        bw = memory_bandwidth()
        disk = file_write_bandwidth(work)
        n = len(kept)
        print(f"\nregions: {args.regions:,} read, {n:,} kept (dropped: {info['dropped']}), "
              f"{args.length} bp each; cache {info['bytes'] / 1e9:.2f} GB")
        print(f"identical one-hot arrays from both pipelines: {same}")
        print(f"{'pipeline':<44}{'seconds':>9}{'µs/region':>11}")
        print(f"{'seqcnn (read+resize+filter+extract+cache)':<44}{ours:>9.2f}"
              f"{ours / n * 1e6:>11.2f}")
        print(f"{'bedtools getfasta + tangermeme one_hot':<44}{ref:>9.2f}{ref / n * 1e6:>11.2f}")
        print(f"speed-up (reference / seqcnn per region): {ref / ours:.2f}x  (goal >= 2x)")
        rate = info["bytes"] / ours
        print(f"cache bytes written per second: {rate / 1e9:.2f} GB/s; memory copy bandwidth "
              f"here: {bw / 1e9:.2f} GB/s (ratio {rate / bw:.2f}); writing 1 GB to a file "
              f"here: {disk / 1e9:.2f} GB/s (ratio {rate / disk:.2f})")
        for f in ("ours.npy", "ref.npy", "ref.tab"):
            (work / f).unlink(missing_ok=True)

        if args.rss_regions:
            print(f"\npeak RSS run: {args.rss_regions:,} regions of {args.length} bp "
                  f"(fresh process) ...", flush=True)
            make_peaks(work / "rss.narrowPeak", Genome(work / "genome.fa").sizes,
                       args.rss_regions, np.random.default_rng(1))
            out = subprocess.run(
                [sys.executable, __file__, "--child-rss", "--workdir", str(work),
                 "--regions", str(args.rss_regions), "--length", str(args.length)],
                capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"regions {r['regions']:,}; cache {r['cache_bytes'] / 1e9:.2f} GB in "
                  f"{r['seconds']:.1f} s; peak RSS {r['peak_rss_mb']:.0f} MB "
                  f"(after imports: {r['rss_before_mb']:.0f} MB)  (goal < 2000 MB)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
