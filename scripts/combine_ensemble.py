"""Combine an ensemble's trained members into one model.pt (mean of their logits), with a
model.json carrying the ensemble's own validation metrics (what model choice reads) and each
member's, and a train_log.tsv of the members' mean curves per epoch."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from seqcnn.data.cache import load_split
from seqcnn.data.targets import Targets
from seqcnn.logs import get_logger
from seqcnn.models.ensemble import ensemble_checkpoint, out_of_fold
from seqcnn.models.zoo import SHA256_KEY, file_sha256, from_checkpoint, read_checkpoint
from seqcnn.train.loop import predict, task_metrics

sm = snakemake  # noqa: F821
log = get_logger("combine_ensemble", sm.log[0])
torch.set_num_threads(max(1, sm.threads))
members = [read_checkpoint(p) for p in sm.input.members]  # each checked against its model.json
summaries = [json.load(open(p)) for p in sm.input.summaries]
ckpt = ensemble_checkpoint(members)
torch.save(ckpt, sm.output.model)
model = from_checkpoint(ckpt)
meta = ckpt.get("meta", {})
targets = Targets.from_meta(meta)

# the ensemble's validation metrics: one pass (no strand averaging) as training validates
cache = Path(sm.input.manifest).parent
valid = load_split(cache, "valid")
padding = meta.get("padding", "zeros+mask")
fold = sm.params.fold  # vary: fold: {"k"} (each member trained on the others' folds)
if fold:
    # every valid row is training data for k-1 members: score it out of fold, by the member
    # that held it out (one model's prediction, not the mean: a conservative estimate)
    oof, oof_labels, folds = out_of_fold(model.members, cache, padding=padding,
                                         targets=targets, device=sm.params.device)
    probs = oof[folds.n_train:]
    log.info("vary: fold (%s; rows per fold %s, of them from the valid split %s): valid "
             "metrics are out of fold, each valid row scored by the member that held it out",
             folds.how, np.bincount(folds.fold, minlength=folds.k).tolist(),
             np.bincount(folds.fold[folds.n_train:], minlength=folds.k).tolist())
else:
    probs = predict(model, valid.onehot, lengths=valid.lengths, padding=padding,
                    targets=targets, device=sm.params.device)
summary = dict(summaries[0])
member_rows = [{"member": i, "seed": s["train"]["seed"], "best_epoch": s.get("best_epoch"),
                "epochs_run": s.get("epochs_run"), "best_valid_auroc": s.get("best_valid_auroc"),
                "best_valid_auprc": s.get("best_valid_auprc")} for i, s in enumerate(summaries)]
if targets.all_binary and not targets.per_position and not targets.regression:
    auroc, auprc = task_metrics(np.asarray(valid.labels), probs)
    if fold:
        pooled_auroc, _ = task_metrics(oof_labels, oof)
        summary["oof_pooled_auroc"] = float(np.nanmean(pooled_auroc))
        log.info("out-of-fold auROC over all %d pooled train and valid rows: %.4f", len(oof),
                 summary["oof_pooled_auroc"])
    summary |= {"best_valid_auroc": float(np.nanmean(auroc)),
                "best_valid_auprc": float(np.nanmean(auprc)),
                "valid_auroc_per_task": dict(zip(targets.tasks, auroc.tolist(), strict=True)),
                "valid_auprc_per_task": dict(zip(targets.tasks, auprc.tolist(), strict=True))}
else:  # other targets: the members' mean of what training recorded
    log.warning("ensemble validation metrics for %s targets are the members' mean of what "
                "training recorded", "non-binary")
    for key in ("best_valid_auroc", "best_valid_auprc"):
        values = [s[key] for s in summaries if s.get(key) is not None]
        summary[key] = float(np.mean(values)) if values else None
summary |= {
    "arch": f"ensemble of {len(members)} × {summaries[0]['arch']}",
    "model_config": {**summaries[0]["model_config"], "ensemble": len(members)},
    "parameters": int(sum(s.get("parameters", 0) for s in summaries)),
    "receptive_field": int(model.receptive_field),
    "best_epoch": int(max(s.get("best_epoch") or 0 for s in summaries)),
    "epochs_run": int(max(s.get("epochs_run") or 0 for s in summaries)),
    "ensemble": {"members": member_rows, "combine": "mean of logits",
                 "vary": ("fold (member i chooses its epoch on genomic fold i of the pooled "
                          "train and valid rows, trains on the others) and seed (train.seed + "
                          "member); valid metrics out of fold") if fold
                 else "seed (train.seed + member)"},
    SHA256_KEY: file_sha256(sm.output.model),
}
with open(sm.output.summary, "w") as fh:
    json.dump(summary, fh, indent=2)

# the members' mean curve per epoch (members that stopped early drop out of later epochs)
logs = pd.concat([pd.read_csv(p, sep="\t") for p in sm.input.train_logs], ignore_index=True)
curve = logs.groupby("epoch", as_index=False).mean(numeric_only=True)
curve.to_csv(sm.output.train_log, sep="\t", index=False, float_format="%.6g")
log.info("ensemble of %d members (mean of logits): valid auROC %.4f, auPR %.4f; members' "
         "valid auROC %s", len(members), summary["best_valid_auroc"] or float("nan"),
         summary["best_valid_auprc"] or float("nan"),
         ", ".join(f"{r['best_valid_auroc']:.4f}" for r in member_rows))
