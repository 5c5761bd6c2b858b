"""Split positives and negatives into train/valid/test by whole chromosome."""

import json

import pandas as pd

from seqcnn import regions as rg
from seqcnn import split as sp
from seqcnn.genome import chrom_sizes
from seqcnn.logs import get_logger

sm = snakemake  # noqa: F821
cfg = sm.params.cfg
log = get_logger("split_regions", sm.log[0])
sizes = chrom_sizes(sm.input.fai)
pos, neg = rg.read_regions(sm.input.positives), rg.read_regions(sm.input.negatives)
tasks = rg.task_columns(pos)
allr = rg.sort_regions(pd.concat([pos, neg], ignore_index=True), sizes)

chosen = cfg["split"]
if chosen == "auto":
    chosen = sp.auto_split(allr["chrom"].value_counts().to_dict())
    log.info("split: auto chose valid %s, test %s", chosen["valid"], chosen["test"])
which = sp.assign(allr, chosen, list(sizes))

summary = {}
for name in sp.SPLITS:
    part = allr.loc[which == name]
    if part.empty:
        raise ValueError(f"split {name!r} has no regions (chromosomes: {chosen}); "
                         "choose other chromosomes or split: auto")
    rg.write_regions(part, sm.output[name], tasks)
    summary[name] = {
        "n": len(part),
        "positives": {t: int(part[t].sum()) for t in tasks},
        "negatives_any_task": int((part[tasks].sum(axis=1) == 0).sum()),
        "chromosomes": sorted(part["chrom"].unique().tolist()),
    }
    log.info("%s: %d regions on %d chromosomes; positives %s", name, len(part),
             len(summary[name]["chromosomes"]),
             ", ".join(f"{t} {n}" for t, n in summary[name]["positives"].items()))
with open(sm.output.summary, "w") as fh:
    json.dump({"split": chosen, "splits": summary}, fh, indent=2)
