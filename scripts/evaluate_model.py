"""Score a trained model on the test split; metrics beside the baselines; figures.

Ambiguous labels (255: the region overlaps the task's peak too little to be called either
way) are left out of that task's metrics and figures and counted in ``n_ambiguous``;
predictions.tsv.gz keeps their rows (the score is still the model's) with label ``NA``.
"""

import json

import numpy as np
import pandas as pd

from seqcnn import evalplots, metrics
from seqcnn import regions as rg
from seqcnn.cache import load_cache
from seqcnn.logs import get_logger
from seqcnn.models.zoo import load_model
from seqcnn.training import predict

sm = snakemake  # noqa: F821
cfg = sm.params.cfg
log = get_logger("evaluate_model", sm.log[0])
model_name = sm.wildcards.model
tasks = json.load(open(sm.input.manifest))["tasks"]
x, y = load_cache(sm.input.test_onehot, sm.input.test_labels)
regions = rg.read_regions(sm.input.regions)
if len(regions) != len(x):
    raise ValueError(f"{sm.input.regions} has {len(regions)} rows, the cache {len(x)}")

model = load_model(sm.input.model)
scores = {model_name: predict(model, x, rc_average=cfg["rc_average"], device=sm.params.device)}
baselines = np.load(sm.input.baselines)
scores.update({name: baselines[name] for name in baselines.files})
labels = np.asarray(y)

table = pd.concat([metrics.task_metrics(labels, s, tasks, model=name, n_boot=cfg["bootstrap"],
                                        seed=cfg["seed"])
                   for name, s in scores.items()], ignore_index=True)
# a task kept by allow_empty_tasks: an explicit row, not a blank one
table["note"] = np.select([table["n_pos"] == 0, table["n_neg"] == 0],
                          ["no positives in the test split", "no negatives in the test split"],
                          "")
for task in table.loc[table["note"] != "", "task"].unique():
    log.warning("%s: %s (%d regions): its auROC and auPR are NaN; the note column says so",
                task, table.loc[table["task"] == task, "note"].iloc[0], len(x))
table.to_csv(sm.output.metrics, sep="\t", index=False, float_format="%.4f")
log.info("test metrics (%d regions on %s):\n%s", len(x),
         ", ".join(sorted(regions["chrom"].unique())), table.to_string(index=False))

region_id = (regions["chrom"] + ":" + regions["start"].astype(str) + "-"
             + regions["end"].astype(str) + "(" + regions["strand"] + ")").to_numpy()
pred = pd.DataFrame({
    "region": np.repeat(region_id, len(tasks)),
    "task": np.tile(tasks, len(x)),
    "label": pd.array(labels.reshape(-1), dtype="Int64"),
    "score": scores[model_name].reshape(-1),
})
pred.loc[labels.reshape(-1) == metrics.AMBIGUOUS, "label"] = pd.NA  # no label: NA, not 255
pred.to_csv(sm.output.predictions, sep="\t", index=False, float_format="%.5f", na_rep="NA",
            compression={"method": "gzip", "mtime": 0})

by_chrom = pd.concat([metrics.per_chromosome_metrics(labels, s, regions["chrom"].to_numpy(),
                                                     tasks, model=name)
                      for name, s in scores.items()], ignore_index=True)
by_chrom.to_csv(sm.output.by_chrom, sep="\t", index=False, float_format="%.4f")
evalplots.roc_pr_curves(scores, labels, tasks, sm.output.curves)
evalplots.score_distributions({model_name: scores[model_name]}, labels, tasks, sm.output.scores)
evalplots.chromosome_performance(by_chrom[by_chrom["model"] == model_name], sm.output.chrom_plot)
