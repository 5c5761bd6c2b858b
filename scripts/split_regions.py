"""Split positives and negatives into train/valid/test by whole chromosome or by range;
check that every task keeps positives in every split."""

import json

import pandas as pd

from seqcnn.data import SPLITS
from seqcnn.data import regions as rg
from seqcnn.data import split as sp
from seqcnn.data.genome import chrom_sizes
from seqcnn.errors import ConfigError
from seqcnn.logs import get_logger

sm = snakemake  # noqa: F821
cfg = sm.params.cfg
key = f"datasets.{sm.wildcards.dataset}"
log = get_logger("split_regions", sm.log[0])
sizes = chrom_sizes(sm.input.fai)
pos, neg = rg.read_regions(sm.input.positives), rg.read_regions(sm.input.negatives)
tasks = rg.task_columns(pos)
allr = rg.sort_regions(pd.concat([pos, neg], ignore_index=True), sizes)


def as_config(chosen: dict) -> str:
    """The split as a line to paste into the config."""
    return "split: {" + ", ".join(f"{k}: [{', '.join(v)}]" for k, v in chosen.items()) + "}"


chosen, how = sp.resolve_split(cfg["split"], allr, sizes, key=f"{key}.split")
if how == "chromosomes":
    log.info("split: auto chose whole chromosomes: valid %s, test %s", chosen["valid"],
             chosen["test"])
elif how == "blocks":
    per_chrom = allr["chrom"].value_counts()
    log.info("split: auto: regions on fewer than 3 chromosomes (%s), so valid and test are "
             "contiguous blocks of about 10%% of the regions each; to fix them, paste %s",
             ", ".join(f"{c} {n}" for c, n in per_chrom.items()), as_config(chosen))
which = sp.assign(allr, chosen, sizes, key=f"{key}.split")

straddle = which == sp.DROPPED
dropped = {"straddling_range_edge": int(straddle.sum()),
           "positives": {t: int((allr.loc[straddle, t] == 1).sum()) for t in tasks}}
log.info("%d regions straddle the edge of a valid/test range and are dropped (positives: %s)",
         dropped["straddling_range_edge"],
         ", ".join(f"{t} {n}" for t, n in dropped["positives"].items()) or "none")

summary = {}
for name in SPLITS:
    part = allr.loc[which == name]
    if part.empty:
        raise ConfigError(
            f"{key}.split: the {name} split has no regions ({as_config(chosen)}); choose "
            "chromosomes or ranges that hold regions, leave some for train, or use split: auto")
    summary[name] = {
        "n": len(part),
        "positives": {t: int((part[t] == 1).sum()) for t in tasks},  # 255: ambiguous
        "negatives": {t: int((part[t] == 0).sum()) for t in tasks},
        "negatives_any_task": int((part[tasks] == 0).all(axis=1).sum()),
        "chromosomes": sorted(part["chrom"].unique().tolist()),
    }
    log.info("%s: %d regions on %d chromosomes; positives %s", name, len(part),
             len(summary[name]["chromosomes"]),
             ", ".join(f"{t} {n}" for t, n in summary[name]["positives"].items()))

empty = sp.check_tasks({n: s["positives"] for n, s in summary.items()},
                       {n: s["n"] for n, s in summary.items()}, chosen, cfg["tasks"],
                       allow=cfg["allow_empty_tasks"], key=key,
                       negatives={n: s["negatives"] for n, s in summary.items()})
for message in empty:
    log.warning("%s; kept because allow_empty_tasks is true: evaluation and attribution skip "
                "the task where it cannot be scored", message)

for name in SPLITS:
    rg.write_regions(allr.loc[which == name], sm.output[name], tasks)
with open(sm.output.summary, "w") as fh:
    json.dump({
        "split": chosen, "how": how, "splits": summary, "dropped": dropped,
        "empty_tasks": [{"task": t, "split": n, "missing": kind} for n, s in summary.items()
                        for kind in ("positives", "negatives")
                        for t, c in s[kind].items() if c == 0],
    }, fh, indent=2)
