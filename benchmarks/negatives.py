"""Negatives: time and peak memory of placing GC-matched background windows, against
``bedtools shuffle`` (without ``-noOverlapping``) on the same input, in the same run.

Run: ``python benchmarks/negatives.py`` (defaults: 50,000 and 500,000 positives of 500 bp,
``negative_ratio`` 1, 5x oversampling, as :func:`seqcnn.data.negatives.gc_matched` does;
``--quick`` for 5,000 and 50,000). Two genomes:

- ``hg38 sizes``: the chromosome sizes of GRCh38 (hard-coded below; no sequence, so no N
  gaps and no GC);
- ``sim 100 Mb``: a generated genome (10 chromosomes of 10 Mb, i.i.d. bases, a 10-kb N run
  per chromosome, written to a temporary directory; positives touching an N dropped). At
  500,000 positives the zones (every positive ± seq_len, 1,500 bp each) cover nearly all
  of it: the dense case of issue 15, where a shortfall is the answer.

Methods, each in a fresh process:

- ``seqcnn placement``: exclusion zones (every positive ± seq_len) → free space
  (:func:`seqcnn.data.negatives.free_space`) → ``5 × ratio × positives`` non-overlapping windows
  (:func:`seqcnn.data.negatives.place_windows`), from the chromosome sizes alone;
- ``seqcnn gc_matched`` (simulated genome only): the whole of
  :func:`seqcnn.data.negatives.gc_matched`: N gaps (a pass over the sequence), placement, the
  GC of every candidate and of the positives (a second pass), GC matching;
- ``bedtools shuffle -excl zones.bed -seed 0`` of the same number of windows
  (``-noOverlapping`` left out: with it, bedtools never returns on a dense genome), given
  the exclusion zones already written (untimed; seqcnn's time includes making them). Its
  windows may overlap each other, and it knows no N gaps and no GC: it does less than
  either seqcnn row. A run past ``--timeout`` seconds is killed and shown as ``> t``.

``peak RSS``: ``VmHWM`` of the process (seqcnn; ``at start``: its RSS before the step,
mostly the interpreter and imports) or of the bedtools program (sampled every 20 ms), MiB.
Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from prepare import make_genome  # noqa: E402

#: GRCh38 primary assembly chromosome sizes (UCSC hg38.chrom.sizes, main chromosomes)
HG38 = {
    "chr1": 248_956_422, "chr2": 242_193_529, "chr3": 198_295_559, "chr4": 190_214_555,
    "chr5": 181_538_259, "chr6": 170_805_979, "chr7": 159_345_973, "chr8": 145_138_636,
    "chr9": 138_394_717, "chr10": 133_797_422, "chr11": 135_086_622, "chr12": 133_275_309,
    "chr13": 114_364_328, "chr14": 107_043_718, "chr15": 101_991_189, "chr16": 90_338_345,
    "chr17": 83_257_441, "chr18": 80_373_285, "chr19": 58_617_616, "chr20": 64_444_167,
    "chr21": 46_709_983, "chr22": 50_818_468, "chrX": 156_040_895, "chrY": 57_227_415,
    "chrM": 16_569,
}
OVERSAMPLE = 5


def positives(sizes: dict[str, int], n: int, seq_len: int, rng: np.random.Generator
              ) -> pd.DataFrame:
    """``n`` random ``seq_len`` windows (a region table, task ``T``), chromosomes drawn by
    length, sorted."""
    from seqcnn.data import regions as rg

    names = [c for c in sizes if sizes[c] > 10 * seq_len]
    lengths = np.array([sizes[c] for c in names], dtype=np.int64)
    k = rng.choice(len(names), size=n, p=lengths / lengths.sum())
    start = (rng.random(n) * (lengths[k] - seq_len)).astype(np.int64)
    df = pd.DataFrame({"chrom": np.array(names)[k], "start": start, "end": start + seq_len,
                       "name": [f"p{i}" for i in range(n)], "strand": ".", "summit": -1,
                       "file": "bench", "line": 0, "T": np.uint8(1)})
    return rg.sort_regions(df, sizes)


def status_mb(field: str, pid: int | str = "self") -> float:
    """A memory field of /proc/<pid>/status (VmRSS, VmHWM), MiB; 0 once the process is
    gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# --------------------------------------------------------------------------- child steps


def child_seqcnn(work: Path, genome: str, n: int, seq_len: int, ratio: float,
                 placement: bool) -> dict:
    """seqcnn's placement alone (chromosome sizes: no N gaps, no GC) or the whole
    gc_matched (simulated genome)."""
    from seqcnn.data import negatives as ng
    from seqcnn.data.genome import Genome

    pos = pd.read_pickle(work / f"{genome}_{n}.pkl")
    sizes = dict(pd.read_csv(work / f"{genome}.sizes", sep="\t", header=None,
                             dtype={0: str}).itertuples(index=False))
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # reset VmHWM: a child starts with its parent's high-water mark
    before = status_mb("VmRSS")
    t = time.perf_counter()
    if placement:
        rng = np.random.default_rng(0)
        free = ng.free_space(sizes, ng.exclusion_zones(pos, seq_len, None, None), seq_len)
        cand = ng.place_windows(free, OVERSAMPLE * int(round(ratio * n)), seq_len, rng)
        out = {"windows": len(cand), "negatives": None, "shortfall": None,
               "capacity": int(ng.window_capacity(free, seq_len).sum())}
    else:
        neg, info = ng.gc_matched(pos, Genome(work / "genome.fa"), seq_len, ratio, ["T"],
                                  seed=0, oversample=OVERSAMPLE)
        out = {"windows": info["candidates"], "negatives": len(neg),
               "shortfall": info["shortfall"], "capacity": info["capacity"]}
    out.update(seconds=time.perf_counter() - t, peak_rss_mb=status_mb("VmHWM"),
               rss_before_mb=before)
    return out


def child_bedtools(work: Path, genome: str, n: int, seq_len: int, ratio: float,
                   timeout: float) -> dict:
    """``bedtools shuffle`` of the same number of windows, outside the same zones."""
    n_win = OVERSAMPLE * int(round(ratio * n))
    template = work / f"template_{n_win}.bed"
    with open(template, "w") as fh:
        fh.writelines(f"chr1\t0\t{seq_len}\tw{i}\n" for i in range(n_win))
    out_bed = work / f"shuffled_{genome}_{n}.bed"
    cmd = ["bedtools", "shuffle", "-i", str(template), "-g", str(work / f"{genome}.sizes"),
           "-excl", str(work / f"{genome}_{n}.zones.bed"), "-seed", "0"]
    t = time.perf_counter()
    with open(out_bed, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.DEVNULL)
        peak, killed = 0.0, False
        while proc.poll() is None:  # VmHWM of bedtools itself (ru_maxrss of a child
            peak = max(peak, status_mb("VmHWM", proc.pid))  # counts the forking Python)
            if time.perf_counter() - t > timeout:
                proc.kill()
                killed = True
            time.sleep(0.02)
    seconds = time.perf_counter() - t
    placed = sum(1 for _ in open(out_bed)) if not killed else None
    return {"windows": placed, "seconds": seconds, "killed": killed, "peak_rss_mb": peak}


def child(args: argparse.Namespace) -> None:
    work = Path(args.workdir)
    if args.child in ("placement", "gc_matched"):
        out = child_seqcnn(work, args.genome, args.n, args.seq_len, args.ratio,
                           args.child == "placement")
    else:
        out = child_bedtools(work, args.genome, args.n, args.seq_len, args.ratio, args.timeout)
    print(json.dumps(out))


# --------------------------------------------------------------------------- parent


def prepare(work: Path, genome: str, sizes: dict[str, int], n: int, seq_len: int,
            rng: np.random.Generator) -> int:
    """Positives (pickled) and their exclusion zones (BED) for one case, untimed; returns
    the number of positives (on the simulated genome, those without N, as
    ``prepare_positives`` would keep)."""
    from seqcnn.data import negatives as ng

    pos = positives(sizes, n, seq_len, rng)
    if (work / "genome.fa").exists() and genome == "sim":  # as prepare_positives: no N
        from seqcnn.data.genome import Genome, base_fractions

        pos = pos[base_fractions(Genome(work / "genome.fa"), pos)[1] == 0]
    pos.to_pickle(work / f"{genome}_{n}.pkl")
    zones = ng.exclusion_zones(pos, seq_len, None, None)
    zones["start"] = zones["start"].clip(lower=0)
    zones["end"] = np.minimum(zones["end"], zones["chrom"].map(sizes))
    zones.to_csv(work / f"{genome}_{n}.zones.bed", sep="\t", header=False, index=False)
    with open(work / f"{genome}.sizes", "w") as fh:
        fh.writelines(f"{c}\t{s}\n" for c, s in sizes.items())
    return len(pos)


def run(kind: str, genome: str, n: int, work: Path, args: argparse.Namespace) -> dict:
    """One measurement in a fresh process; returns its JSON line."""
    cmd = [sys.executable, __file__, "--child", kind, "--genome", genome, "--n", str(n),
           "--workdir", str(work), "--seq-len", str(args.seq_len), "--ratio", str(args.ratio),
           "--timeout", str(args.timeout)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fmt(v: object, spec: str = ",") -> str:
    return "–" if v is None else format(v, spec)


def print_table(rows: list[dict], args: argparse.Namespace) -> None:
    print(f"\nseq_len {args.seq_len}, negative_ratio {args.ratio:g}, {OVERSAMPLE}x "
          f"oversampling: windows asked = {OVERSAMPLE} x ratio x positives; room: how many "
          "non-overlapping windows the free space holds")
    head = (f"{'genome':<12}{'positives':>10}  {'method':<30}{'seconds':>9}{'peak RSS MB':>12}"
            f"{'(at start)':>11}{'windows':>11}{'room':>11}{'negatives':>11}{'shortfall':>11}")
    print(head)
    print("-" * len(head))
    for r in rows:
        sec = f"> {r['seconds']:.0f}" if r.get("killed") else f"{r['seconds']:.2f}"
        print(f"{r['genome']:<12}{r['n']:>10,}  {r['method']:<30}{sec:>9}"
              f"{r['peak_rss_mb']:>12.0f}{fmt(r.get('rss_before_mb'), '.0f'):>11}"
              f"{fmt(r['windows']):>11}{fmt(r.get('capacity')):>11}"
              f"{fmt(r.get('negatives')):>11}{fmt(r.get('shortfall')):>11}")
    print("\nseconds of bedtools shuffle / seconds of seqcnn (same genome, same positives):")
    by = {(r["genome"], r["n"], r["kind"]): r for r in rows}
    for (g, n, kind), r in by.items():
        b = by.get((g, n, "bedtools"))
        if kind != "bedtools" and b is not None:
            print(f"  {g:<12}{n:>10,}  vs {r['method']:<30}"
                  f"{'>' if b.get('killed') else ''}{b['seconds'] / r['seconds']:.1f}x")


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[50_000, 500_000])
    ap.add_argument("--quick", action="store_true", help="5,000 and 50,000 positives")
    ap.add_argument("--genomes", nargs="+", default=["hg38", "sim"], choices=["hg38", "sim"])
    ap.add_argument("--seq-len", type=int, default=500)
    ap.add_argument("--ratio", type=float, default=1.0)
    ap.add_argument("--timeout", type=float, default=600, help="bedtools limit, seconds")
    ap.add_argument("--workdir", default=None, help="default: a temporary directory")
    ap.add_argument("--child", choices=["placement", "gc_matched", "bedtools"],
                    help=argparse.SUPPRESS)
    ap.add_argument("--genome", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    return ap.parse_args()


def main() -> None:
    args = parse_args()
    if args.child:
        child(args)
        return
    if shutil.which("bedtools") is None:
        sys.exit("bedtools is not on PATH (make setup installs it)")
    sizes_n = [5_000, 50_000] if args.quick else sorted(set(args.sizes))
    work = Path(tempfile.mkdtemp(prefix="seqcnn_bench_neg_", dir=args.workdir))
    print(f"work dir {work}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
          flush=True)
    rows = []
    try:
        rng = np.random.default_rng(0)
        genomes: dict[str, dict[str, int]] = {}
        if "hg38" in args.genomes:
            genomes["hg38"] = HG38
        if "sim" in args.genomes:
            from seqcnn.data.genome import chrom_sizes, prepare_fasta

            t = time.perf_counter()
            make_genome(work / "src.fa", 100, 10, rng)
            genomes["sim"] = chrom_sizes(prepare_fasta(work / "src.fa", work / "genome.fa"))
            print(f"generated a 100 Mb genome in {time.perf_counter() - t:.0f} s", flush=True)
        for g, sizes in genomes.items():
            label = "hg38 sizes" if g == "hg38" else "sim 100 Mb"
            kinds = [("placement", "seqcnn placement")]
            if g == "sim":
                kinds.append(("gc_matched", "seqcnn gc_matched (all of it)"))
            kinds.append(("bedtools", "bedtools shuffle -excl"))
            for n in sizes_n:
                n_pos = prepare(work, g, sizes, n, args.seq_len, rng)
                for kind, method in kinds:
                    r = run(kind, g, n, work, args)
                    rows.append({"genome": label, "n": n_pos, "kind": kind, "method": method,
                                 **r})
                    print(f"  {label} {n_pos:>9,} {method:<30} {r['seconds']:8.2f} s",
                          flush=True)
        print_table(rows, args)
        print("load average (1, 5, 15 min) at the end: "
              + ", ".join(f"{v:.1f}" for v in os.getloadavg()))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
