"""Put a preset's published or textbook figures beside what seqcnn measured."""

import json

import pandas as pd

from seqcnn import plots
from seqcnn.logs import get_logger
from seqcnn.reference import compare, measure_model

sm = snakemake  # noqa: F821
ref = sm.params.reference
log = get_logger("compare_to_reference", sm.log[0])
measured = {}
for i, model in enumerate(sm.params.models):
    accuracy = pd.read_csv(sm.input.accuracy[i], sep="\t") if "accuracy" in sm.input.keys() \
        else None
    measured[model] = measure_model(
        model, json.load(open(sm.input.summaries[i])), pd.read_csv(sm.input.metrics[i], sep="\t"),
        json.load(open(sm.input.filters_json[i])), pd.read_csv(sm.input.tomtom[i], sep="\t"),
        accuracy, ref["truth_motifs"])
table = compare(ref["expected"], measured, ref["tolerance"])
table.to_csv(sm.output.table, sep="\t", index=False, float_format="%.4g")
pd.DataFrame(measured).T.rename_axis("model").to_csv(sm.output.measured, sep="\t",
                                                     float_format="%.4g")
plots.reference_comparison(table, sm.output.figure, title=ref["source"])
log.info("%s\n%s\n%d of %d expectations met (tolerance %g)", ref["source"],
         table.to_string(index=False), int(table["agrees"].sum()), len(table), ref["tolerance"])
