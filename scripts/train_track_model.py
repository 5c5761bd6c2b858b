"""Train a track model (profile, counts or binned head on a dilated or hybrid trunk) on a
genome dataset with ``tracks:``; write weights, summary and log (seqcnn.train.tracks).

The target kind, ``output_len`` and ``bin_size`` come from the cache manifest's ``tracks``
block; the trunk from the model config (``profile_kernel`` and ``rate`` go to the head).
Jitter is turned off for tracks and said so in the log.
"""

import json
from pathlib import Path

import torch

from seqcnn.logs import get_logger
from seqcnn.train.loop import TrainPaths
from seqcnn.train.tracks import train_tracks

sm = snakemake  # noqa: F821
log = get_logger("train_track_model", sm.log[0])
torch.set_num_threads(max(1, sm.threads))
model = {k: v for k, v in dict(sm.params.model).items() if k != "padding"}
cfg = dict(sm.params.train)
if cfg.get("gpus", 0) > 1:
    log.warning("train.gpus = %d: track models train in one process; using one device",
                cfg["gpus"])
    cfg["gpus"] = 0
log.info("dataset %s, model %s: %s; train: %s", sm.wildcards.dataset, sm.wildcards.model,
         json.dumps(model, sort_keys=True), json.dumps(cfg, sort_keys=True))
paths = TrainPaths(model=sm.output.model, summary=sm.output.summary, log=sm.output.train_log,
                   checkpoint=sm.params.checkpoint)
_, meta = train_tracks(model, Path(sm.input.manifest).parent, cfg, paths=paths, logger=log)
log.info("wrote %s (%s target, best epoch %d of %d, receptive field %d)", sm.output.model,
         meta["target"], meta["best_epoch"], meta["epochs_run"], meta["receptive_field"])
