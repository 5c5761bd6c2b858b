"""Attribution maps (ISM, saliency, DeepLIFT/SHAP) for the top-scoring test positives."""

import json

import numpy as np
import pandas as pd
import torch

from seqcnn import interpret as it
from seqcnn.data import regions as rg
from seqcnn.data.cache import load_cache
from seqcnn.logs import get_logger
from seqcnn.models.zoo import load_model

sm = snakemake  # noqa: F821
cfg = sm.params.cfg
log = get_logger("attribute_sequences", sm.log[0])
torch.set_num_threads(max(1, sm.threads))
model = load_model(sm.input.model)
tasks = json.load(open(sm.input.manifest))["tasks"]
x, y = (np.asarray(a) for a in load_cache(sm.input.test_onehot, sm.input.test_labels))
regions = rg.read_regions(sm.input.regions)
truth = pd.read_csv(sm.input.truth[0], sep="\t", dtype={"chrom": str}) if sm.input.truth \
    else None

scores = it.logits(model, x)
complete = x.sum(axis=1).min(axis=1) == 1  # DeepLIFT/SHAP's shuffles need no N
arrays, rows = {}, []
for t, task in enumerate(tasks):
    idx = it.top_positives(np.where(complete, scores[:, t], -np.inf), y[:, t], cfg["n_top"])
    idx = idx[complete[idx]]
    if not len(idx):
        why = ("no positives in the test split" if not (y[:, t] == 1).any()
               else "every test positive has N (DeepLIFT/SHAP needs complete sequences)")
        log.warning("%s: %s; attributions skipped (empty arrays in %s)", task, why,
                    sm.output.npz)
        arrays.update({f"{task}.index": idx, f"{task}.onehot": x[idx]})
        arrays.update({f"{task}.{m}": np.zeros(x[idx].shape, np.float32)
                       for m in ("saliency", "deeplift_shap", "ism")})
        continue
    log.info("%s: attributions for the %d top-scoring test positives", task, len(idx))
    maps = it.attributions(model, x[idx], ["saliency", "deeplift_shap"], target=t,
                           n_shuffles=cfg["n_shuffles"], random_state=cfg["seed"])
    n_ism = min(len(idx), cfg["ism_top"])
    maps["ism"] = it.ism(model, x[idx[:n_ism]], t, center=True)  # per-position mean removed
    arrays[f"{task}.index"] = idx
    arrays[f"{task}.onehot"] = x[idx]
    for method, attr in maps.items():
        arrays[f"{task}.{method}"] = attr.astype(np.float32)
        if truth is not None:
            tt = truth[truth["task"] == task] if "task" in truth else truth
            n = len(attr)
            mask = it.motif_mask(tt, regions.iloc[idx[:n]], x.shape[2])
            auc = it.interpretability_auroc(attr, x[idx[:n]], mask)
            rows.append({"task": task, "method": method, "sequences": n,
                         "planted_positions": int(mask.sum()), "auroc": auc})
            log.info("  %s: interpretability AUROC vs planted motifs %.3f (%d sequences)",
                     method, auc, n)
np.savez_compressed(sm.output.npz, **arrays)
columns = ["task", "method", "sequences", "planted_positions", "auroc"]
pd.DataFrame(rows, columns=columns).to_csv(sm.output.auroc, sep="\t", index=False,
                                           float_format="%.4f")
if truth is None:
    log.info("no truth table for this dataset: interpretability AUROC not computed")
