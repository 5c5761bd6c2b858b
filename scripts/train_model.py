"""Train one model of the zoo on one dataset's cache; write weights, summary and log."""

import json

import torch

from seqcnn.logs import get_logger
from seqcnn.training import TrainPaths, train

sm = snakemake  # noqa: F821
log = get_logger("train_model", sm.log[0])
torch.set_num_threads(max(1, sm.threads))
with open(sm.input.manifest) as fh:
    manifest = json.load(fh)
log.info("dataset %s, model %s: %s; train: %s", sm.wildcards.dataset, sm.wildcards.model,
         json.dumps(sm.params.model, sort_keys=True), json.dumps(sm.params.train, sort_keys=True))
result = train(
    sm.params.model,
    (sm.input.train_onehot, sm.input.train_labels),
    (sm.input.valid_onehot, sm.input.valid_labels),
    sm.params.train,
    paths=TrainPaths(model=sm.output.model, summary=sm.output.summary,
                     log=sm.output.train_log, checkpoint=sm.params.checkpoint),
    tasks=manifest["tasks"],
    alphabet=manifest["alphabet"],
    threads=sm.threads,
    logger=log,
)
log.info("wrote %s (best epoch %d of %d, receptive field %d bp)", sm.output.model,
         result.best_epoch, len(result.history), result.receptive_field)
