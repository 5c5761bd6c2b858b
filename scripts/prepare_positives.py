"""Read, validate, resize and filter every task's peaks; merge them into labelled regions."""

import json

from seqcnn import regions as rg
from seqcnn.genome import Genome
from seqcnn.logs import get_logger

sm = snakemake  # noqa: F821
cfg, tasks = sm.params.cfg, sm.params.tasks
log = get_logger("prepare_positives", sm.log[0])
genome = Genome(sm.input.fasta)
blacklist = rg.read_bed(sm.input.blacklist[0], narrowpeak=False) if sm.input.blacklist else None

per_task, summary = {}, {"tasks": {}, "seq_len": cfg["seq_len"]}
for task, path in zip(tasks, sm.input.peaks, strict=True):
    bed = rg.read_bed(path)
    resized = rg.resize(bed, cfg["seq_len"])
    kept, drops = rg.filter_regions(resized, genome, cfg["max_n_fraction"], blacklist,
                                    cfg["strict"])
    per_task[task] = kept
    summary["tasks"][task] = {"file": path, "read": len(bed), "kept": len(kept),
                              "dropped": dict(drops)}
    log.info("%s: read %d regions from %s; resized to %d bp around the %s; dropped %s; kept %d",
             task, len(bed), path, cfg["seq_len"],
             "summit" if (bed["summit"] >= 0).any() else "centre",
             ", ".join(f"{n} {r}" for r, n in drops.items()), len(kept))

merged, n_merged = rg.label_and_merge(per_task)
merged = rg.sort_regions(merged, genome.sizes)
merged["source"] = "peak"
rg.write_regions(merged, sm.output.bed, tasks)
summary["merged_duplicates"] = n_merged
summary["positives"] = len(merged)
summary["positives_per_task"] = {t: int(merged[t].sum()) for t in tasks}
log.info("merged %d duplicate regions (same interval, union of labels); %d positive regions: %s",
         n_merged, len(merged),
         ", ".join(f"{t} {n}" for t, n in summary["positives_per_task"].items()))
with open(sm.output.summary, "w") as fh:
    json.dump(summary, fh, indent=2)
