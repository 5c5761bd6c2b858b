"""Train the k-mer and known-motif baselines on one dataset; score the test split.

Each task's regression is fitted and its C chosen on the rows labelled for that task:
ambiguous labels (255) are left out, and the log and the description count them.
"""

import json
from pathlib import Path

import numpy as np

from seqcnn.data.cache import dataset_orientation, load_split
from seqcnn.evaluate.baselines import MotifScanBaseline, kmer_baselines
from seqcnn.logs import get_logger

sm = snakemake  # noqa: F821
cfg = sm.params.cfg
log = get_logger("train_baselines", sm.log[0])
manifest = json.load(open(sm.input.manifest))
tasks = manifest["tasks"]
cache = Path(sm.input.manifest).parent
train, valid, test = (load_split(cache, split) for split in ("train", "valid", "test"))

scores, descriptions = {}, {}
oriented, why = dataset_orientation(manifest)
baselines = kmer_baselines(oriented, seed=cfg["seed"])
log.info("k-mer baselines %s: %s (%s)", ", ".join(baselines),
         "oriented data, canonical and oriented k-mers" if oriented else
         "unstranded data, canonical k-mers only", why)
if cfg["baseline_motifs"]:
    baselines["motif_scan_lr"] = MotifScanBaseline(seed=cfg["seed"],
                                                   motifs=cfg["baseline_motifs"],
                                                   release=sm.params.release)
else:
    log.info("no baseline_motifs listed for this dataset: the known-motif baseline is skipped")
for name, model in baselines.items():
    model.fit(np.asarray(train.onehot), np.asarray(train.labels), np.asarray(valid.onehot),
              np.asarray(valid.labels), tasks=tasks)
    scores[name] = model.predict(np.asarray(test.onehot))
    descriptions[name] = model.describe()
    log.info("%s: C per task %s; ambiguous rows left out per task (train, valid) %s\n%s",
             name, list(model.C_), model.n_ambiguous_, descriptions[name])
np.savez_compressed(sm.output.scores, **scores)
with open(sm.output.summary, "w") as fh:
    json.dump({"baselines": list(scores), "descriptions": descriptions}, fh, indent=2)
