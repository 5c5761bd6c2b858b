"""Read, validate, resize and filter every task's peaks; merge them into labelled regions.

Streamed (:func:`seqcnn.data.regions.prepare_regions`): memory does not grow with the number of
peaks; the temporary files go to the job's ``tmpdir``. Chromosome names are renamed with
``chrom_aliases`` and checked against the genome's; a task left with no region stops the
run here (unless ``allow_empty_tasks``); labels come from overlap (``label_overlap``).
"""

import json

from seqcnn.data import regions as rg
from seqcnn.data.genome import Genome
from seqcnn.logs import get_logger

sm = snakemake  # noqa: F821
cfg, tasks = sm.params.cfg, sm.params.tasks
log = get_logger("prepare_positives", sm.log[0])
genome = Genome(sm.input.fasta)
aliases = rg.read_chrom_aliases(sm.input.aliases[0], genome.sizes) if sm.input.aliases else None
if aliases is not None:
    log.info("chrom_aliases %s: %d aliases of %d genome chromosomes", sm.input.aliases[0],
             len(aliases), len(set(aliases.values())))
blacklist = (rg.read_genome_bed(sm.input.blacklist[0], genome.sizes, aliases, "blacklist")
             if sm.input.blacklist else None)
label_overlap = cfg.get("label_overlap", 0.5)

result = rg.prepare_regions(
    dict(zip(tasks, sm.input.peaks, strict=True)), genome, cfg["seq_len"], sm.output.bed,
    cfg["max_n_fraction"], blacklist, cfg["strict"],
    tmp_dir=getattr(sm.resources, "tmpdir", None), chrom_aliases=aliases,
    label_overlap=label_overlap, allow_empty_tasks=cfg.get("allow_empty_tasks", False))

summary = {"tasks": {}, "seq_len": cfg["seq_len"], "label_overlap": label_overlap}
for task in tasks:
    s = summary["tasks"][task] = result["tasks"][task]
    log.info("%s: read %d regions from %s; resized to %d bp around the %s; dropped %s; kept %d",
             task, s["read"], s["file"], cfg["seq_len"],
             "summit" if result["summit"][task] else "centre",
             ", ".join(f"{n} {r}" for r, n in s["dropped"].items()), s["kept"])
    if s.get("unknown_chroms"):
        log.info("%s: chromosomes absent from the genome: %s", task,
                 ", ".join(f"{c} ({n})" for c, n in s["unknown_chroms"].items()))
for task in result["empty_tasks"]:
    log.warning("%s: no region left (allow_empty_tasks: true): every label of this task is 0; "
                "it cannot be trained or evaluated", task)
for key in ("merged_duplicates", "positives", "positives_per_task", "ambiguous_per_task",
            "empty_tasks"):
    summary[key] = result[key]
log.info("merged %d duplicate regions (same interval, union of labels); %d positive regions: %s",
         summary["merged_duplicates"], summary["positives"],
         ", ".join(f"{t} {n}" for t, n in summary["positives_per_task"].items()))
log.info("labels by overlap (label_overlap %s: at least %d bp of a task's window): ambiguous "
         "(255, ignored in training and metrics) %s", label_overlap,
         rg.min_overlap_bp(cfg["seq_len"], label_overlap),
         ", ".join(f"{t} {n}" for t, n in summary["ambiguous_per_task"].items()))
with open(sm.output.summary, "w") as fh:
    json.dump(summary, fh, indent=2)
