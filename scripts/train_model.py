"""Train one model of the zoo on one dataset's cache; write weights, summary and log."""

import json

import torch

from seqcnn.logs import get_logger
from seqcnn.targets import Targets
from seqcnn.training import TrainPaths, train

sm = snakemake  # noqa: F821
log = get_logger("train_model", sm.log[0])
torch.set_num_threads(max(1, sm.threads))
with open(sm.input.manifest) as fh:
    manifest = json.load(fh)
model = dict(sm.params.model)
padding = model.pop("padding", "zeros+mask")  # a training choice, not an architecture option
cfg = dict(sm.params.train)
seqset = manifest.get("kind") == "seqset"
splits = [(sm.input.train_onehot, sm.input.train_labels),
          (sm.input.valid_onehot, sm.input.valid_labels)]
if seqset:
    splits = [(*splits[0], sm.input.train_lengths), (*splits[1], sm.input.valid_lengths)]
    if cfg.get("rc_augment") or cfg.get("jitter"):
        log.info("sequence set: rc_augment and jitter are off (they would move the padding)")
    cfg |= {"rc_augment": False, "jitter": 0}
log.info("dataset %s, model %s: %s; padding %s; train: %s", sm.wildcards.dataset,
         sm.wildcards.model, json.dumps(model, sort_keys=True), padding,
         json.dumps(cfg, sort_keys=True))
result = train(
    model,
    *splits,
    cfg,
    paths=TrainPaths(model=sm.output.model, summary=sm.output.summary,
                     log=sm.output.train_log, checkpoint=sm.params.checkpoint),
    tasks=manifest["tasks"],
    targets=Targets.from_manifest(manifest),
    padding=padding,
    alphabet=manifest["alphabet"],
    threads=sm.threads,
    logger=log,
)
log.info("wrote %s (best epoch %d of %d, receptive field %d)", sm.output.model,
         result.best_epoch, len(result.history), result.receptive_field)
