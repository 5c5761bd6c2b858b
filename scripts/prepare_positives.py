"""Read, validate, resize and filter every task's peaks; merge them into labelled regions.

Streamed (:func:`seqcnn.regions.prepare_regions`): memory does not grow with the number of
peaks; the temporary files go to the job's ``tmpdir``.
"""

import json

from seqcnn import regions as rg
from seqcnn.genome import Genome
from seqcnn.logs import get_logger

sm = snakemake  # noqa: F821
cfg, tasks = sm.params.cfg, sm.params.tasks
log = get_logger("prepare_positives", sm.log[0])
genome = Genome(sm.input.fasta)
blacklist = rg.read_bed(sm.input.blacklist[0], narrowpeak=False) if sm.input.blacklist else None

result = rg.prepare_regions(
    dict(zip(tasks, sm.input.peaks, strict=True)), genome, cfg["seq_len"], sm.output.bed,
    cfg["max_n_fraction"], blacklist, cfg["strict"],
    tmp_dir=getattr(sm.resources, "tmpdir", None))

summary = {"tasks": {}, "seq_len": cfg["seq_len"]}
for task in tasks:
    s = summary["tasks"][task] = result["tasks"][task]
    log.info("%s: read %d regions from %s; resized to %d bp around the %s; dropped %s; kept %d",
             task, s["read"], s["file"], cfg["seq_len"],
             "summit" if result["summit"][task] else "centre",
             ", ".join(f"{n} {r}" for r, n in s["dropped"].items()), s["kept"])
summary["merged_duplicates"] = result["merged_duplicates"]
summary["positives"] = result["positives"]
summary["positives_per_task"] = result["positives_per_task"]
log.info("merged %d duplicate regions (same interval, union of labels); %d positive regions: %s",
         summary["merged_duplicates"], summary["positives"],
         ", ".join(f"{t} {n}" for t, n in summary["positives_per_task"].items()))
with open(sm.output.summary, "w") as fh:
    json.dump(summary, fh, indent=2)
