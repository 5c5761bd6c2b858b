"""Draw the training curves of one model from its train_log.tsv."""

import json

import pandas as pd

from seqcnn.logs import get_logger
from seqcnn.report.plots import training_curves

sm = snakemake  # noqa: F821
log = get_logger("plot_training", sm.log[0])
history = pd.read_csv(sm.input.train_log, sep="\t")
summary = json.load(open(sm.input.summary))
training_curves(history, sm.output.plot, summary.get("best_epoch"),
                title=f"{sm.wildcards.dataset} / {sm.wildcards.model}")
log.info("%d epochs drawn; best epoch %s", len(history), summary.get("best_epoch"))
