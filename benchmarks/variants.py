"""Variant scoring throughput against tangermeme, and peak RSS at 100,000 and 1,000,000.

Data: a random genome (4 chromosomes of 2 Mb) and a sorted, bgzipped VCF of random SNVs
whose REF is the genome's letter, written in a temporary folder.

Throughput (``--n`` SNVs, default 100,000) with one of :data:`MODELS` (``--model``), 200 bp,
2 tasks, random weights, eval mode, one process:

- seqcnn: VCF → windows → both strands of the reference windows in one batched pass that
  keeps every layer's activations, each SNV by fast ISM of its reference window (only the
  windows of each layer the letter reaches: the default fast path of
  :func:`seqcnn.interpret.variants.score_chunks`; ``--full``: also time ``fast=False``, a
  full pass of every alternative window too), everything from the VCF on;
- tangermeme: ``tangermeme.variant_effect.substitution_effect`` on the same reference
  windows (built by seqcnn, in memory, not timed) and the same substitutions, called once on
  the forward windows and once on their reverse complements: 4 × n forward passes (its
  ``batch_size`` set to seqcnn's); seqcnn does 2 × u full passes for u distinct positions
  (alleles at one position share their reference window; at 100,000 random SNVs 638 share a
  position) and 2 × n fast-ISM mutants; its full path 2 × (u + n) full passes;
- where seqcnn's time goes: reading and windowing alone (no model), and the model alone
  (the same 4 × n forward passes on windows in memory); tangermeme's time less the model's
  is its own overhead.

The default dilated CNN (64 filters, 6 blocks) runs at about 130 variants/s on a quiet
2-core CPU (4 forward passes per variant), so 100,000 variants take ~13 min per side there
and far longer on a loaded machine: 100,000 is run with ``--model small`` (a dilated CNN of
16 filters and 3 blocks, the same code path), the default model at a smaller ``--n``.
The load average is printed before and after: timings on a shared machine move with it,
and so does the CPU time of torch's threads when the cores are oversubscribed (``--threads 1``
then runs small models several times faster; both sides always get the same threads).

Peak RSS (``--rss``): the genome and VCFs are written first; then a fresh process per size
scores 100,000 and 1,000,000 SNVs with ``--model`` (default ``tiny``, 8 filters, 2 blocks:
the memory question is the streaming, not the model), writes the TSV and the VCF as the
rule does and prints ``ru_maxrss`` and its time split.

    python benchmarks/variants.py --model small             # throughput, 100,000 SNVs
    python benchmarks/variants.py --model dilated --n 5000  # the default model
    python benchmarks/variants.py --rss                     # peak RSS at 1e5 and 1e6
    python benchmarks/variants.py --device cuda
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pysam
import torch

from seqcnn.data.genome import Genome
from seqcnn.data.variants import VariantReader
from seqcnn.interpret import variants as iv
from seqcnn.models import build_model

SEQ_LEN, TASKS = 200, ["t0", "t1"]
CHROMS, CHROM_LEN = 4, 2_000_000


def make_genome(folder: Path, seed: int = 0) -> Genome:
    rng = np.random.default_rng(seed)
    path = folder / "genome.fa"
    with open(path, "w") as fh:
        for c in range(CHROMS):
            seq = np.array(list("ACGT"))[rng.integers(0, 4, CHROM_LEN)]
            fh.write(f">chr{c + 1}\n")
            for s in range(0, CHROM_LEN, 80):
                fh.write("".join(seq[s:s + 80]) + "\n")
    pysam.faidx(str(path))
    return Genome(path)


def make_vcf(folder: Path, genome: Genome, n: int, seed: int = 1) -> str:
    """n random SNVs (several may share a position), sorted, bgzipped and indexed."""
    rng = np.random.default_rng(seed)
    path = folder / f"snv{n}.vcf"
    per = np.bincount(rng.integers(0, CHROMS, n), minlength=CHROMS)
    with open(path, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for c in range(CHROMS):
            chrom = f"chr{c + 1}"
            seq = genome.chromosome(chrom)
            pos = np.sort(rng.integers(1, CHROM_LEN, per[c]))
            ref = seq[pos - 1]
            shift = rng.integers(1, 4, len(pos))
            alt = np.array(list(b"ACGT"), np.uint8)[
                (np.searchsorted(np.array(list(b"ACGT")), ref) + shift) % 4]
            lines = [f"{chrom}\t{p}\t.\t{chr(r)}\t{chr(a)}\t.\tPASS\t.\n"
                     for p, r, a in zip(pos, ref, alt, strict=True)]
            fh.write("".join(lines))
    return pysam.tabix_index(str(path), preset="vcf", force=True)


#: ``--model`` choices: name → (model config, description).
MODELS = {
    "dilated": ({"arch": "dilated"}, "default dilated CNN (64 filters, 6 blocks)"),
    "small": ({"arch": "dilated", "filters": 16, "layers": 3},
              "small dilated CNN (16 filters, 3 blocks)"),
    "tiny": ({"arch": "dilated", "filters": 8, "layers": 2},
             "tiny dilated CNN (8 filters, 2 blocks)"),
    "deepbind": ({"arch": "deepbind"}, "DeepBind (default options)"),
}


def model_for(name: str, device: torch.device) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(MODELS[name][0], alphabet_size=4, n_tasks=len(TASKS),
                       seq_len=SEQ_LEN).to(device).eval()


def load() -> str:
    return "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def seqcnn_run(model, vcf, genome, device, batch_size, fast: bool | None = None,
               ) -> tuple[np.ndarray, float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    reader = VariantReader(vcf, genome, SEQ_LEN, chunk_size=4096)
    effects = [e for _, _, e in iv.score_chunks(model, reader, TASKS, device, batch_size,
                                                fast=fast)]
    return np.concatenate(effects), time.perf_counter() - t0, time.process_time() - c0


def read_only(vcf, genome) -> tuple[np.ndarray, np.ndarray, float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    chunks = list(VariantReader(vcf, genome, SEQ_LEN, chunk_size=4096))
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    return (np.concatenate([c.ref for c in chunks]), np.concatenate([c.alt for c in chunks]),
            dt, dc)


def tangermeme_run(model, ref, alt, device, batch_size
                   ) -> tuple[np.ndarray, float, float]:
    from tangermeme.variant_effect import substitution_effect

    c = SEQ_LEN // 2
    letters = alt[:, :, c].argmax(axis=1)
    x = torch.from_numpy(ref).float()
    n = torch.arange(len(ref))
    fwd = torch.stack([n, torch.full_like(n, c), torch.from_numpy(letters)], dim=1)
    rc = torch.stack([n, torch.full_like(n, SEQ_LEN - 1 - c), torch.from_numpy(3 - letters)],
                     dim=1)
    t0, c0 = time.perf_counter(), time.process_time()
    y0f, y1f = substitution_effect(model, x, fwd, batch_size=batch_size, device=device,
                                   verbose=False)
    y0r, y1r = substitution_effect(model, x.flip(dims=(-2, -1)), rc, batch_size=batch_size,
                                   device=device, verbose=False)
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    return (((y1f - y0f) + (y1r - y0r)) / 2).numpy(), dt, dc


def model_only(model, ref, alt, device, batch_size) -> tuple[float, float]:
    """Wall and CPU seconds of the 4 × n forward passes alone (windows in memory)."""
    x = np.concatenate([ref, alt])
    t0, c0 = time.perf_counter(), time.process_time()
    iv.strand_logits(model, x, device, batch_size)
    return time.perf_counter() - t0, time.process_time() - c0


def throughput(n: int, name: str, device: torch.device, batch_size: int,
               full: bool = False) -> None:
    print(f"{n:,} SNVs, seq_len {SEQ_LEN}, {MODELS[name][1]}, {device}, batch {batch_size}, "
          f"{torch.get_num_threads()} threads; {load()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        genome = make_genome(Path(tmp))
        vcf = make_vcf(Path(tmp), genome, n)
        model = model_for(name, device)
        ours, t_ours, c_ours = seqcnn_run(model, vcf, genome, device, batch_size)
        print(f"  seqcnn done; {load()}", flush=True)
        if full:
            slow, t_full, c_full = seqcnn_run(model, vcf, genome, device, batch_size, False)
            print(f"  seqcnn full path (fast=False) done; {load()}", flush=True)
        ref, alt, t_read, c_read = read_only(vcf, genome)
        theirs, t_theirs, c_theirs = tangermeme_run(model, ref, alt, device, batch_size)
        print(f"  tangermeme done; {load()}", flush=True)
        t_model, c_model = model_only(model, ref, alt, device, batch_size)
    diff = float(np.abs(ours - theirs).max())
    print(f"  seqcnn (VCF → effects, both strands): {t_ours:7.1f} s  {n / t_ours:9,.0f} variants/s"
          f"  (CPU {c_ours:.1f} s)")
    print(f"  tangermeme substitution_effect x2:    {t_theirs:7.1f} s  {n / t_theirs:9,.0f} "
          f"variants/s  (CPU {c_theirs:.1f} s; windows given in memory)")
    if full:
        print(f"  seqcnn full path (fast=False):        {t_full:7.1f} s  {n / t_full:9,.0f} "
              f"variants/s  (CPU {c_full:.1f} s); fast / full {t_full / t_ours:.2f}x wall, "
              f"{c_full / c_ours:.2f}x CPU; max |difference| {np.abs(ours - slow).max():.2e}")
    print(f"  ratio seqcnn / tangermeme: {t_theirs / t_ours:.2f}x wall, {c_theirs / c_ours:.2f}x "
          f"CPU; max |effect difference| {diff:.2e}")
    print(f"  seqcnn's time: read + windows {t_read:.1f} s ({n / t_read:,.0f} variants/s); "
          f"4n full forward passes {t_model:.1f} s ({4 * n / t_model:,.0f} windows/s)")
    print(f"  seqcnn's CPU: read + windows {c_read:.1f} s; 4n forward passes take "
          f"{c_model:.1f} s; tangermeme's CPU less the forward passes "
          f"{c_theirs - c_model:.1f} s")
    print(f"  tangermeme's time less the same forward passes: {t_theirs - t_model:.1f} s")
    print(f"  {load()}")


def rss_child(vcf: str, fasta: str, name: str, batch_size: int) -> None:
    """Score the SNVs of ``vcf`` as the rule does (TSV, VCF, top variants); print peak RSS
    and the time split as JSON."""
    genome = Genome(fasta)
    model = model_for(name, torch.device("cpu"))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        reader = VariantReader(vcf, genome, SEQ_LEN, chunk_size=4096)
        tsv = iv.TsvWriter(folder / "out.tsv.gz", ["chrom", "pos", "id", "ref", "alt", "kind",
                                                   *iv.score_columns(TASKS)])
        out = iv.VcfWriter(vcf, folder / "out.vcf.gz", TASKS, genome.sizes)
        top = iv.TopVariants(TASKS, 10)
        t_write = 0.0
        for chunk, scores, effect in iv.score_chunks(model, reader, TASKS, "cpu", batch_size):
            t1 = time.perf_counter()
            tsv.write(scores)
            out.write(chunk.table, scores)
            top.update(chunk, scores, effect)
            t_write += time.perf_counter() - t1
        t1 = time.perf_counter()
        tsv.close()
        out.close()
        t_write += time.perf_counter() - t1
        dt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    n = reader.counts["scored"]
    print(json.dumps({"n": n, "model": name, "seconds": round(dt, 1),
                      "variants_per_s": round(n / dt), "writing_s": round(t_write, 1),
                      "reading_and_model_s": round(dt - t_write, 1),
                      "rss_before_mb": before // 1024, "peak_rss_mb": peak // 1024,
                      "load_after": os.getloadavg()[0]}))


def rss(sizes: tuple[int, ...], name: str, batch_size: int) -> None:
    """Write the data here, then score each size in a fresh process."""
    print(f"peak RSS, {MODELS[name][1]}, {torch.get_num_threads()} threads; {load()}",
          flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        genome = make_genome(Path(tmp))
        for n in sizes:
            vcf = make_vcf(Path(tmp), genome, n)
            out = subprocess.run([sys.executable, __file__, "--rss-child", vcf,
                                  str(genome.path), "--model", name, "--batch-size",
                                  str(batch_size), "--threads", str(torch.get_num_threads())],
                                 capture_output=True, text=True, check=True).stdout
            print(out.strip().splitlines()[-1], flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--model", choices=list(MODELS), default=None,
                    help="dilated (default for throughput), small, tiny (default for --rss), "
                         "deepbind")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads (default: torch's); on a loaded machine 1 avoids "
                         "OpenMP threads waiting on each other")
    ap.add_argument("--full", action="store_true",
                    help="also time seqcnn's full path (fast=False)")
    ap.add_argument("--rss", action="store_true", help="peak RSS at 100,000 and 1,000,000")
    ap.add_argument("--rss-sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--rss-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.rss_child:
        rss_child(*args.rss_child, args.model or "tiny", args.batch_size)
    elif args.rss:
        rss(tuple(args.rss_sizes), args.model or "tiny", args.batch_size)
    else:
        throughput(args.n, args.model or "dilated", torch.device(args.device), args.batch_size,
                   args.full)


if __name__ == "__main__":
    main()
