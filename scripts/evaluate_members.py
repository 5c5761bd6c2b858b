"""Test metrics of each member of an ensemble (the spread the report shows beside the
ensemble's own metrics.tsv), with the strand averaging evaluate_model uses."""

import json
from pathlib import Path

import numpy as np

from seqcnn.data.cache import dataset_orientation, load_split, validate_manifest
from seqcnn.data.targets import Targets
from seqcnn.evaluate import metrics
from seqcnn.logs import get_logger
from seqcnn.models.strands import strand_choice
from seqcnn.models.zoo import load_model, read_checkpoint
from seqcnn.train.loop import predict

sm = snakemake  # noqa: F821
cfg = sm.params.cfg
log = get_logger("evaluate_members", sm.log[0])
manifest = validate_manifest(json.load(open(sm.input.manifest)), sm.input.manifest)
genome = manifest["kind"] == "genome"
split = load_split(Path(sm.input.manifest).parent, "test")
oriented, _ = dataset_orientation(manifest)
rc_average, reason = strand_choice(cfg["rc_average"], oriented, "strand averaging",
                                   "evaluate.rc_average")
rc_average = rc_average and genome
scores = {}
for i, path in enumerate(sm.input.members):
    meta = read_checkpoint(path, verify=False)["meta"]
    targets = Targets.from_meta(meta)
    scores[f"member{i}"] = predict(load_model(path), split.onehot, lengths=split.lengths,
                                   padding=meta.get("padding", "zeros+mask"), targets=targets,
                                   rc_average=rc_average, device=sm.params.device)
table, _ = metrics.evaluate_scores(np.asarray(split.labels), scores, targets,
                                   n_boot=cfg["bootstrap"], seed=cfg["seed"],
                                   by_class=not genome)
table.insert(0, "ensemble", sm.wildcards.model)
table.to_csv(sm.output.members, sep="\t", index=False, float_format="%.4f")
log.info("%s; %d members on %d test rows:\n%s", reason, len(scores), len(split),
         table.to_string(index=False))
if "auroc" in table:
    means = table.groupby("model", sort=False)["auroc"].mean()
    log.info("members' mean test auROC: min %.4f, max %.4f, SD %.4f", means.min(), means.max(),
             means.std(ddof=1) if len(means) > 1 else 0.0)
