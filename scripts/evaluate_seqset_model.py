"""Score a trained model on a sequence set's test split: per-class metrics, accuracy/Q3,
predictions and figures."""

import numpy as np
import pandas as pd

from seqcnn import evalplots, metrics
from seqcnn.logs import get_logger
from seqcnn.models.zoo import from_checkpoint, read_checkpoint
from seqcnn.seqsets import load_seqset_cache
from seqcnn.targets import Targets
from seqcnn.training import predict

sm = snakemake  # noqa: F821
cfg = sm.params.cfg
log = get_logger("evaluate_seqset_model", sm.log[0])
name = sm.wildcards.model
ckpt = read_checkpoint(sm.input.model)
meta = ckpt["meta"]
targets = Targets.from_dict(meta["targets"])
x, y, lengths = load_seqset_cache(sm.input.test_onehot.rsplit("/", 1)[0], "test")
ids = pd.read_csv(sm.input.ids, sep="\t", dtype={"id": str})
if len(ids) != len(x):
    raise ValueError(f"{sm.input.ids} has {len(ids)} rows, the cache {len(x)}")
model = from_checkpoint(ckpt)
probs = predict(model, x, lengths=lengths, padding=meta["padding"], targets=targets,
                device=sm.params.device)
labels = np.asarray(y)

table = metrics.class_metrics(labels, probs, targets, model=name, n_boot=cfg["bootstrap"],
                              seed=cfg["seed"])
table.to_csv(sm.output.metrics, sep="\t", index=False, float_format="%.4f")
accuracy = metrics.accuracy_metrics(labels, probs, targets, model=name)
accuracy.to_csv(sm.output.accuracy, sep="\t", index=False, float_format="%.4f")
log.info("test metrics (%d sequences):\n%s\n%s", len(x), table.to_string(index=False),
         accuracy.to_string(index=False))

names = targets.output_names
Y, P = targets.one_vs_rest(labels, probs)  # (rows, outputs): sequences, or real positions
if targets.per_position:  # one row per real position: id, position, label, p(class)...
    real = np.arange(x.shape[-1])[None, :] < np.asarray(lengths)[:, None]
    rows, pos = np.nonzero(real)
    classes = list(targets.classes[targets.tasks[0]])
    pred = pd.DataFrame({"id": ids["id"].to_numpy()[rows], "position": pos + 1,
                         "label": np.asarray(classes)[labels[rows, pos]]})
    for k, c in enumerate(classes):
        pred[f"p_{c}"] = probs[rows, k, pos]
else:  # one row per sequence and output: id, output, label, score
    pred = pd.DataFrame({"id": np.repeat(ids["id"].to_numpy(), len(names)),
                         "output": np.tile(names, len(x)),
                         "label": Y.reshape(-1).astype(int),
                         "score": probs.reshape(len(x), -1).reshape(-1)})
pred.to_csv(sm.output.predictions, sep="\t", index=False, float_format="%.5f",
            compression={"method": "gzip", "mtime": 0})

evalplots.roc_pr_curves({name: P}, Y, names, sm.output.curves)
evalplots.score_distributions({name: P}, Y, names, sm.output.scores)
