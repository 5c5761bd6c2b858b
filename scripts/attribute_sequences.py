"""Attribution maps (ISM, saliency, DeepLIFT/SHAP) for the top-scoring test positives.

A track model (profile and count heads, seqcnn.interpret.tracks) gets DeepLIFT/SHAP of its
count head (``{task}.deeplift_shap``, ISM ``{task}.ism``) and of its profile head (BPNet's
weighted objective: ``{task}.profile.deeplift_shap``) on the test peaks with the highest
predicted counts; ``heads`` in the npz names the heads.

The test split is memory-mapped (seqcnn.data.cache.load_split) and streamed in chunks:
memory holds one chunk and the selected sequences' maps, whatever the number of regions.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from seqcnn import interpret as it
from seqcnn.data import regions as rg
from seqcnn.data.cache import load_split
from seqcnn.interpret.streaming import chunked_attributions, top_complete_positives
from seqcnn.interpret.tracks import head_view
from seqcnn.logs import get_logger

sm = snakemake  # noqa: F821
cfg = sm.params.cfg
log = get_logger("attribute_sequences", sm.log[0])
torch.set_num_threads(max(1, sm.threads))
model = it.load_any_model(sm.input.model)
tasks = json.load(open(sm.input.manifest))["tasks"]
split = load_split(Path(sm.input.test_onehot).parent, "test")
x = split.onehot  # (N, A, L) uint8, memory-mapped
regions = rg.read_regions(sm.input.regions)
truth = pd.read_csv(sm.input.truth[0], sep="\t", dtype={"chrom": str}) if sm.input.truth \
    else None

track = it.is_track_model(model)
# a track model's test peaks are ranked by their predicted log counts (the count head)
ranker = head_view(model, "count") if track else model
if track:
    log.info("track model (target %s): count head and profile head attributions",
             model.config["target"])
top = top_complete_positives(ranker, x, split.labels, cfg["n_top"])
arrays, rows = {}, []
for t, task in enumerate(tasks):
    idx = top.rows[t]
    if not len(idx):
        why = ("no positives in the test split" if not top.positives[t]
               else "every test positive has N (DeepLIFT/SHAP needs complete sequences)")
        log.warning("%s: %s; attributions skipped (empty arrays in %s)", task, why,
                    sm.output.npz)
        arrays.update({f"{task}.index": idx, f"{task}.onehot": x[idx]})
        empty = (("deeplift_shap", "ism", "profile.deeplift_shap") if track
                 else ("saliency", "deeplift_shap", "ism"))
        arrays.update({f"{task}.{m}": np.zeros(x[idx].shape, np.float32) for m in empty})
        continue
    dropped = top.positives[t] - top.complete[t]
    log.info("%s: attributions for the %d top-scoring test positives (%d of %d positives "
             "left out: they have N, which DeepLIFT/SHAP's shuffles cannot take)", task,
             len(idx), dropped, top.positives[t])
    onehot = x[idx]  # (n_top, A, L) uint8: the selected rows only
    # 64 per batch (DeepLIFT/SHAP: sequence-reference pairs) bounds the activations kept
    # for the backward pass; ISM is centred per position
    if track:
        tm = it.track_attributions(model, onehot, it.HEADS, t, n_shuffles=cfg["n_shuffles"],
                                   random_state=cfg["seed"], n_ism=cfg["ism_top"],
                                   progress=log.info)
        maps = {"deeplift_shap": tm["count.deeplift_shap"], "ism": tm["count.ism"],
                "profile.deeplift_shap": tm["profile.deeplift_shap"]}
    else:
        maps = chunked_attributions(model, onehot, ["saliency", "deeplift_shap"], target=t,
                                    n_ism=cfg["ism_top"], batch_size=64,
                                    n_shuffles=cfg["n_shuffles"], random_state=cfg["seed"],
                                    progress=log.info)
    arrays[f"{task}.index"] = idx
    arrays[f"{task}.onehot"] = onehot
    for method, attr in maps.items():
        arrays[f"{task}.{method}"] = attr
        if truth is not None:
            tt = truth[truth["task"] == task] if "task" in truth else truth
            n = len(attr)
            mask = it.motif_mask(tt, regions.iloc[idx[:n]], x.shape[2])
            auc = it.interpretability_auroc(attr, onehot[:n], mask)
            rows.append({"task": task, "method": method, "sequences": n,
                         "planted_positions": int(mask.sum()), "auroc": auc})
            log.info("  %s: interpretability AUROC vs planted motifs %.3f (%d sequences)",
                     method, auc, n)
if track:
    arrays["heads"] = np.array(it.HEADS)
np.savez_compressed(sm.output.npz, **arrays)
columns = ["task", "method", "sequences", "planted_positions", "auroc"]
pd.DataFrame(rows, columns=columns).to_csv(sm.output.auroc, sep="\t", index=False,
                                           float_format="%.4f")
if truth is None:
    log.info("no truth table for this dataset: interpretability AUROC not computed")
