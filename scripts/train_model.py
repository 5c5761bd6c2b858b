"""Train one model of the zoo on one dataset's cache; write weights, summary and log.

With ``train.gpus: N > 1`` the training runs in N processes under torchrun inside this job
(DistributedDataParallel); otherwise in this process, holding one free GPU when there are
GPUs (distinct ``CUDA_VISIBLE_DEVICES`` for concurrent jobs on one machine).
"""

import contextlib
import json
from pathlib import Path

import torch

from seqcnn.data.cache import load_split
from seqcnn.data.folds import cache_folds
from seqcnn.data.targets import Targets
from seqcnn.logs import get_logger
from seqcnn.train.distributed import run_distributed
from seqcnn.train.gpus import claim_gpus
from seqcnn.train.loop import TrainPaths, resolve_device, train
from seqcnn.workflow.resources import epoch_seconds, format_estimate

sm = snakemake  # noqa: F821
log = get_logger("train_model", sm.log[0])
torch.set_num_threads(max(1, sm.threads))
with open(sm.input.manifest) as fh:
    manifest = json.load(fh)
model = dict(sm.params.model)
padding = model.pop("padding", "zeros+mask")  # a training choice, not an architecture option
cfg = dict(sm.params.train)
targets = Targets.from_manifest(manifest)
# the cache's splits as train() reads them (load_split; JSON for the torchrun processes)
cache = str(Path(sm.input.manifest).parent)
splits = [{"cache": cache, "split": split} for split in ("train", "valid")]
fold = getattr(sm.params, "fold", None)  # an ensemble member of vary: fold
if fold:
    splits = [s | {"fold": dict(fold)} for s in splits]
    folds = cache_folds(cache, int(fold["k"]))
    log.info("fold %d of %d (%s of the pooled train and valid rows; test is in none): "
             "training on %d rows, choosing the epoch on %d", fold["held_out"], fold["k"],
             folds.how, len(folds.rows(fold["held_out"], "train")),
             len(folds.rows(fold["held_out"], "valid")))
log.info("dataset %s, model %s: %s; padding %s; train: %s", sm.wildcards.dataset,
         sm.wildcards.model, json.dumps(model, sort_keys=True), padding,
         json.dumps(cfg, sort_keys=True))

# one process: hold a free GPU first (CUDA reads CUDA_VISIBLE_DEVICES once, when first used)
one_gpu = cfg["gpus"] <= 1 and cfg["device"] not in ("cpu", "mps")
with claim_gpus(1) if one_gpu else contextlib.nullcontext([]) as claimed:
    if claimed:
        log.info("holding GPU %s (CUDA_VISIBLE_DEVICES)", ",".join(map(str, claimed)))
    # the estimate before a long run: memory per rule, and a timed probe on this device
    n_train, alphabet_size, seq_len = load_split(cache, "train").onehot.shape
    if fold:
        n_train = len(folds.rows(fold["held_out"], "train"))
    device = resolve_device(cfg["device"])
    probe = epoch_seconds(n_train, seq_len, model, device, alphabet_size=alphabet_size,
                          n_tasks=1 if targets.per_position else targets.n_outputs,
                          batch_size=cfg["batch_size"], rc_augment=False)
    log.info("estimate for %d training sequences: %s", n_train,
             format_estimate(n_train, seq_len, alphabet_size=alphabet_size,
                             n_tasks=targets.n_outputs, model_config=model,
                             batch_size=cfg["batch_size"], epoch_s=probe, device=str(device)))
    paths = {"model": sm.output.model, "summary": sm.output.summary,
             "log": sm.output.train_log, "checkpoint": sm.params.checkpoint}
    if cfg["gpus"] > 1:
        log.info("train.gpus = %d: DistributedDataParallel in %d processes (torchrun); their "
                 "output goes to %s.torchrun", cfg["gpus"], cfg["gpus"], sm.log[0])
        run_distributed({"model_config": model, "train_data": splits[0],
                         "valid_data": splits[1], "config": cfg, "paths": paths,
                         "tasks": manifest["tasks"], "alphabet": manifest["alphabet"],
                         "threads": sm.threads,
                         "kwargs": {"targets": targets.to_dict(), "padding": padding}},
                        cfg["gpus"], f"{sm.log[0]}.torchrun")
    else:
        train(model, *splits, cfg, paths=TrainPaths(**paths), tasks=manifest["tasks"],
              targets=targets, padding=padding, alphabet=manifest["alphabet"],
              threads=sm.threads, logger=log)
summary = json.load(open(sm.output.summary))
if fold:  # which rows chose this member's epoch
    summary["fold"] = {"k": int(fold["k"]), "held_out": int(fold["held_out"]), "how": folds.how}
    with open(sm.output.summary, "w") as fh:
        json.dump(summary, fh, indent=2)
log.info("wrote %s (best epoch %d of %d, receptive field %d)", sm.output.model,
         summary["best_epoch"], summary["epochs_run"], summary["receptive_field"])
