"""Put a preset's published or textbook figures beside what seqcnn measured."""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from seqcnn.data.cache import load_split
from seqcnn.logs import get_logger
from seqcnn.report import plots
from seqcnn.report.reference import (
    compare,
    length_auroc,
    measure_model,
    requested_metrics,
    trend_rows,
)

sm = snakemake  # noqa: F821
ref = sm.params.reference
log = get_logger("compare_to_reference", sm.log[0])
needed = requested_metrics(ref)
cache = Path(sm.input.manifest).parent


def split_arrays(split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Labels, lengths and (memory-mapped) one-hot of a cached split; a genome dataset's
    rows are all ``seq_len`` long."""
    data = load_split(cache, split)
    lengths = (np.full(len(data), data.onehot.shape[-1]) if data.lengths is None
               else np.asarray(data.lengths))
    return data.labels, lengths, data.onehot


dataset_level = {}
for split in ("valid", "test"):
    if f"length_auroc_{split}" in needed:
        labels, lengths, _ = split_arrays(split)
        dataset_level[f"length_auroc_{split}"] = length_auroc(lengths, labels)
        log.info("auROC of the sequence length alone on %s: %.4f", split,
                 dataset_level[f"length_auroc_{split}"])
positives = pwm = None
if "detection_fraction" in needed:
    from seqcnn.simulate.sets import load_motif, stride_hits

    motif = ref.get("motif") or {}
    if "id" not in motif:
        raise ValueError("reference: detection_fraction needs motif: {id, release}")
    _, pwm = load_motif(motif["id"], motif.get("release", "JASPAR2024"), "reference.motif")
    labels, _, onehot = split_arrays("test")
    positives = np.asarray(onehot[labels.reshape(len(labels), -1)[:, 0] == 1])
    seen = stride_hits(positives, pwm, 1)
    log.info("detection fraction: a fixed log-odds filter of %s detects %d of %d test "
             "positives at stride 1; the fraction of those seen at each model's stride follows",
             motif["id"], int(seen.sum()), len(positives))
    positives = positives[seen]

measured, options = {}, {}
for i, model in enumerate(sm.params.models):
    summary = json.load(open(sm.input.summaries[i]))
    options[model] = summary["model_config"]
    accuracy = pd.read_csv(sm.input.accuracy[i], sep="\t") if "accuracy" in sm.input.keys() \
        else None
    measured[model] = measure_model(
        model, summary, pd.read_csv(sm.input.metrics[i], sep="\t"),
        json.load(open(sm.input.filters_json[i])), pd.read_csv(sm.input.tomtom[i], sep="\t"),
        accuracy, ref["truth_motifs"]) | dataset_level
    if positives is not None:
        stride = int(options[model].get("stride", 1))
        measured[model]["detection_fraction"] = float(stride_hits(positives, pwm, stride).mean())
    if "measured_receptive_field" in needed:
        from seqcnn.models.receptive_field import gradient_footprint
        from seqcnn.models.zoo import load_model

        net = load_model(sm.input.checkpoints[i])
        rf = int(summary["receptive_field"])
        measured[model]["measured_receptive_field"] = float(
            gradient_footprint(net, max(4 * rf, 256), net.alphabet_size))
    log.info("%s: %s", model, {k: round(v, 4) for k, v in measured[model].items()
                               if k in needed})

table = compare(ref["expected"], measured, ref["tolerance"])
if ref.get("trends"):
    table = pd.concat([table, trend_rows(ref["trends"], measured, options, ref["tolerance"])],
                      ignore_index=True)
table.to_csv(sm.output.table, sep="\t", index=False, float_format="%.4g")
frame = pd.DataFrame(measured).T.rename_axis("model")
plot = ref.get("plot")
if plot:
    frame.insert(0, plot["over"], [options[m].get(plot["over"]) for m in frame.index])
frame.to_csv(sm.output.measured, sep="\t", float_format="%.4g")
if plot:
    plots.metrics_against_option(frame, table, plot, sm.output.figure, title=ref["source"])
else:
    plots.reference_comparison(table, sm.output.figure, title=ref["source"])
log.info("%s\n%s\n%d of %d expectations met (tolerance %g); the report gives the verdict",
         ref["source"], table.to_string(index=False), int(table["agrees"].sum()), len(table),
         ref["tolerance"])
