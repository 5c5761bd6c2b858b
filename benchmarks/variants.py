"""Variant scoring throughput against tangermeme, and peak RSS at 100,000 and 1,000,000.

Data: a random genome (4 chromosomes of 2 Mb) and a sorted, bgzipped VCF of random SNVs
whose REF is the genome's letter, written in a temporary folder.

Throughput (``--n`` SNVs, default 100,000): the default dilated CNN
(:func:`seqcnn.models.build_model` ``{"arch": "dilated"}``: 64 filters, 6 blocks), 200 bp,
2 tasks, random weights, eval mode, one process:

- seqcnn: VCF → windows → both strands of both alleles in one batched pass
  (:class:`seqcnn.data.variants.VariantReader` + :func:`seqcnn.interpret.variants.score_chunks`),
  everything from the VCF on;
- tangermeme: ``tangermeme.variant_effect.substitution_effect`` on the same reference
  windows (built by seqcnn, in memory, not timed) and the same substitutions, called once on
  the forward windows and once on their reverse complements so that both do the same
  4 × n forward passes (its ``batch_size`` set to seqcnn's);
- where seqcnn's time goes: reading and windowing alone (no model), and the model alone.

Peak RSS (``--rss``): a fresh process per size scores 100,000 and 1,000,000 SNVs with a
small dilated model (8 filters, 2 blocks: the memory question is the streaming, not the
model) and writes the TSV and the VCF as the rule does; prints ``ru_maxrss``.

    python benchmarks/variants.py                 # throughput, 100,000 SNVs
    python benchmarks/variants.py --rss           # peak RSS at 100,000 and 1,000,000
    python benchmarks/variants.py --device cuda
"""

from __future__ import annotations

import argparse
import json
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


def model_for(small: bool, device: torch.device) -> torch.nn.Module:
    cfg = {"arch": "dilated", "filters": 8, "layers": 2} if small else {"arch": "dilated"}
    torch.manual_seed(0)
    return build_model(cfg, alphabet_size=4, n_tasks=len(TASKS), seq_len=SEQ_LEN).to(
        device).eval()


def seqcnn_run(model, vcf, genome, device, batch_size) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    reader = VariantReader(vcf, genome, SEQ_LEN, chunk_size=4096)
    effects = [e for _, _, e in iv.score_chunks(model, reader, TASKS, device, batch_size)]
    return np.concatenate(effects), time.perf_counter() - t0


def read_only(vcf, genome) -> tuple[np.ndarray, np.ndarray, float]:
    t0 = time.perf_counter()
    chunks = list(VariantReader(vcf, genome, SEQ_LEN, chunk_size=4096))
    dt = time.perf_counter() - t0
    return (np.concatenate([c.ref for c in chunks]), np.concatenate([c.alt for c in chunks]),
            dt)


def tangermeme_run(model, ref, alt, device, batch_size) -> tuple[np.ndarray, float]:
    from tangermeme.variant_effect import substitution_effect

    c = SEQ_LEN // 2
    letters = alt[:, :, c].argmax(axis=1)
    x = torch.from_numpy(ref).float()
    n = torch.arange(len(ref))
    fwd = torch.stack([n, torch.full_like(n, c), torch.from_numpy(letters)], dim=1)
    rc = torch.stack([n, torch.full_like(n, SEQ_LEN - 1 - c), torch.from_numpy(3 - letters)],
                     dim=1)
    t0 = time.perf_counter()
    y0f, y1f = substitution_effect(model, x, fwd, batch_size=batch_size, device=device,
                                   verbose=False)
    y0r, y1r = substitution_effect(model, x.flip(dims=(-2, -1)), rc, batch_size=batch_size,
                                   device=device, verbose=False)
    dt = time.perf_counter() - t0
    return (((y1f - y0f) + (y1r - y0r)) / 2).numpy(), dt


@torch.no_grad()
def model_only(model, ref, alt, device, batch_size) -> float:
    x = np.concatenate([ref, alt])
    t0 = time.perf_counter()
    iv.strand_logits(model, x, device, batch_size)
    return time.perf_counter() - t0


def throughput(n: int, device: torch.device, batch_size: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        genome = make_genome(Path(tmp))
        vcf = make_vcf(Path(tmp), genome, n)
        model = model_for(False, device)
        torch.set_num_threads(torch.get_num_threads())
        ours, t_ours = seqcnn_run(model, vcf, genome, device, batch_size)
        ref, alt, t_read = read_only(vcf, genome)
        theirs, t_theirs = tangermeme_run(model, ref, alt, device, batch_size)
        t_model = model_only(model, ref, alt, device, batch_size)
    diff = float(np.abs(ours - theirs).max())
    print(f"{n:,} SNVs, seq_len {SEQ_LEN}, dilated CNN (64 filters, 6 blocks), {device}, "
          f"batch {batch_size}, {torch.get_num_threads()} threads")
    print(f"  seqcnn (VCF → effects, both strands): {t_ours:7.1f} s  {n / t_ours:9,.0f} variants/s")
    print(f"  tangermeme substitution_effect x2:    {t_theirs:7.1f} s  {n / t_theirs:9,.0f} "
          "variants/s (windows given in memory)")
    print(f"  ratio seqcnn / tangermeme: {t_theirs / t_ours:.2f}x; max |effect difference| "
          f"{diff:.2e}")
    print(f"  seqcnn's time: read + windows {t_read:.1f} s, model {t_model:.1f} s, "
          f"rest {t_ours - t_read - t_model:.1f} s")


def rss_child(n: int) -> None:
    """Score n SNVs with the small model, writing the TSV and the VCF; print peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        genome = make_genome(folder)
        vcf = make_vcf(folder, genome, n)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        model = model_for(True, torch.device("cpu"))
        t0 = time.perf_counter()
        reader = VariantReader(vcf, genome, SEQ_LEN, chunk_size=4096)
        tsv = iv.TsvWriter(folder / "out.tsv.gz", ["chrom", "pos", "id", "ref", "alt", "kind",
                                                   *iv.score_columns(TASKS)])
        out = iv.VcfWriter(vcf, folder / "out.vcf.gz", TASKS, genome.sizes)
        top = iv.TopVariants(TASKS, 10)
        for chunk, scores, effect in iv.score_chunks(model, reader, TASKS, "cpu", 512):
            tsv.write(scores)
            out.write(chunk.table, scores)
            top.update(chunk, scores, effect)
        tsv.close()
        out.close()
        dt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"n": n, "seconds": round(dt, 1), "scored": reader.counts["scored"],
                      "rss_before_mb": before // 1024, "peak_rss_mb": peak // 1024}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--rss", action="store_true", help="peak RSS at 100,000 and 1,000,000")
    ap.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rss_child:
        rss_child(args.rss_child)
    elif args.rss:
        for n in (100_000, 1_000_000):
            out = subprocess.run([sys.executable, __file__, "--rss-child", str(n)],
                                 capture_output=True, text=True, check=True).stdout
            print(out.strip().splitlines()[-1])
    else:
        throughput(args.n, torch.device(args.device), args.batch_size)


if __name__ == "__main__":
    main()
