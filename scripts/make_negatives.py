"""Build negative regions for a dataset: GC-matched background, shuffles or a user BED."""

import json

import numpy as np

from seqcnn.data import negatives as ng
from seqcnn.data import regions as rg
from seqcnn.data.genome import Genome, base_fractions
from seqcnn.logs import get_logger
from seqcnn.report.plots import gc_histogram

sm = snakemake  # noqa: F821
cfg, tasks = sm.params.cfg, sm.params.tasks
log = get_logger("make_negatives", sm.log[0])
genome = Genome(sm.input.fasta)
pos = rg.read_regions(sm.input.positives)
aliases = rg.read_chrom_aliases(sm.input.aliases[0], genome.sizes) if sm.input.aliases else None
blacklist = (rg.read_genome_bed(sm.input.blacklist[0], genome.sizes, aliases, "blacklist")
             if sm.input.blacklist else None)
method, ratio, seed = cfg["negatives"], cfg["negative_ratio"], cfg["seed"]

if method == "gc_matched":
    neg, info = ng.gc_matched(pos, genome, cfg["seq_len"], ratio, tasks, seed, blacklist,
                              cfg["max_n_fraction"], strict=cfg["strict"],
                              dataset=sm.wildcards.dataset, logger=log)
elif method == "dinuc_shuffle":
    neg, info = ng.dinucleotide_shuffled(pos, ratio, tasks, seed)
else:
    user = rg.resize(rg.read_genome_bed(sm.input.user[0], genome.sizes, aliases, "negatives",
                                        narrowpeak=None), cfg["seq_len"])
    user, drops = rg.filter_regions(user, genome, cfg["max_n_fraction"], blacklist,
                                    cfg["strict"])
    log.info("user negatives %s: dropped %s", sm.input.user[0],
             ", ".join(f"{n} {r}" for r, n in drops.items()))
    neg, info = ng.user_negatives(user, pos, ratio, tasks, seed)
    info["dropped"] = dict(drops)
neg = rg.sort_regions(neg, genome.sizes)
rg.write_regions(neg, sm.output.bed, tasks)

pos_gc = base_fractions(genome, pos)[0]
neg_gc = pos_gc if method == "dinuc_shuffle" else base_fractions(genome, neg)[0]
log.info("negatives (%s, ratio %s): %d for %d positives", method, ratio, len(neg), len(pos))
for key in ("candidates", "capacity", "free_bp", "removed_too_many_n",
            "removed_overlapping_positives", "shortfall"):
    if info.get(key):
        log.info("  %s: %s", key, f"{info[key]:,}")
if info.get("shortfall_by_gc"):
    log.warning("negatives missing per GC bin (needed, missing):\n%s", "\n".join(
        f"  {b['gc']}  {b['needed']:>8,}  {b['short']:>8,}" for b in info["shortfall_by_gc"]))
elif info.get("shortfall"):
    log.warning("%d of the %d negatives asked could not be placed", info["shortfall"],
                info["shortfall"] + len(neg))
log.info("GC of positives and negatives:\n%s",
         ng.gc_table({"positives": pos_gc, "negatives": neg_gc}))
gc_histogram({"positives": pos_gc, "negatives": neg_gc}, sm.output.plot,
             title=f"{sm.wildcards.dataset}: GC of positives and {method} negatives")
edges = np.linspace(0, 1, 51)
info.update({
    "method": method, "ratio": ratio, "n_positives": len(pos),
    "gc_bins": edges.tolist(),
    "gc_hist_positives": np.histogram(pos_gc[~np.isnan(pos_gc)], edges)[0].tolist(),
    "gc_hist_negatives": np.histogram(neg_gc[~np.isnan(neg_gc)], edges)[0].tolist(),
    "gc_median_positives": float(np.nanmedian(pos_gc)) if len(pos) else None,
    "gc_median_negatives": float(np.nanmedian(neg_gc)) if len(neg) else None,
})
with open(sm.output.summary, "w") as fh:
    json.dump(info, fh, indent=2)
