"""Per-chromosome test metrics of a genome dataset's model and baselines (an extra of
evaluate_model, from the scores it saved)."""

from pathlib import Path

import numpy as np
import pandas as pd

from seqcnn.data import regions as rg
from seqcnn.data.cache import load_split
from seqcnn.evaluate import metrics
from seqcnn.evaluate import plots as evalplots
from seqcnn.logs import get_logger

sm = snakemake  # noqa: F821
log = get_logger("evaluate_by_chrom", sm.log[0])
name = sm.wildcards.model
labels = np.asarray(load_split(Path(sm.input.manifest).parent, "test").labels)
regions = rg.read_regions(sm.input.regions)
if len(regions) != len(labels):
    raise ValueError(f"{sm.input.regions} has {len(regions)} rows, the cache {len(labels)}")
scores = {name: np.load(sm.input.raw_scores)}
baselines = np.load(sm.input.baselines)
scores.update({b: baselines[b] for b in baselines.files})
tasks = list(rg.task_columns(regions))
chrom = regions["chrom"].to_numpy()
by_chrom = pd.concat([metrics.per_chromosome_metrics(labels, s, chrom, tasks, model=m)
                      for m, s in scores.items()], ignore_index=True)
by_chrom.to_csv(sm.output.by_chrom, sep="\t", index=False, float_format="%.4f")
evalplots.chromosome_performance(by_chrom[by_chrom["model"] == name], sm.output.chrom_plot)
log.info("per-chromosome metrics of %s on %s", name, ", ".join(pd.unique(chrom)))
