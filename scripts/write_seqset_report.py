"""Render results/{dataset}/report.html for a sequence-set dataset."""

import json

import pandas as pd

import seqcnn
from seqcnn.logs import get_logger
from seqcnn.report import (
    config_table,
    model_comparison,
    reference_section,
    render,
    table_html,
)

sm = snakemake  # noqa: F821
log = get_logger("write_seqset_report", sm.log[0])
dataset = sm.wildcards.dataset
manifest = json.load(open(sm.input.manifest))
tasks = manifest["tasks"]

counts = pd.DataFrame([
    {"split": s, "sequences": c["n"], "residues": c["residues"],
     **{f"{t}: {k}": v for t, cc in c["class_counts"].items() for k, v in cc.items()}}
    for s, c in manifest["counts"].items()
])
split = manifest["split"]
split_text = (f"the {split['column']!r} column of the labels file" if split["source"] == "column"
              else "a seeded random split (fractions " + ", ".join(
                  f"{k} {v:g}" for k, v in split["fractions"].items())
              + (f", stratified on {split['stratify']}" if split.get("stratify") else "") + ")")
if split.get("group_column"):
    split_text += (f"; all members of a {split['group_column']!r} group in one split "
                   f"({split.get('groups', '?')} groups)")
dups = manifest["duplicates"]

models, summaries, tables, accuracies = [], [], [], []
figures = list(sm.input.eval_figures)
per_model = len(figures) // max(1, len(sm.params.models))
for i, name in enumerate(sm.params.models):
    summary = json.load(open(sm.input.summaries[i]))
    table = pd.read_csv(sm.input.metrics[i], sep="\t", keep_default_na=False,
                        na_values=[""]).fillna({"class": ""})
    accuracy = pd.read_csv(sm.input.accuracy[i], sep="\t")
    filters = json.load(open(sm.input.filters_json[i]))
    summaries.append(summary)
    tables.append(table)
    accuracies.append(accuracy)
    config = config_table(summary["model_config"])
    shown = table[["task", "class", "auroc", "auroc_lo", "auroc_hi", "auprc", "auprc_lo",
                   "auprc_hi", "n_pos", "n_neg"]]
    models.append({
        "name": name, "arch": summary["arch"], "parameters": int(summary["parameters"]),
        "receptive_field": summary["receptive_field"], "padding": summary.get("padding"),
        "best_epoch": summary["best_epoch"], "epochs": summary["epochs_run"],
        "config_table": table_html(config, classes=("data", "config")),
        "curves": sm.input.curves[i],
        "metrics_table": table_html(shown, table_id=f"metrics-{name}"),
        "accuracy_table": table_html(accuracy, table_id=f"accuracy-{name}") if len(accuracy)
        else None,
        "eval_figures": figures[i * per_model:(i + 1) * per_model],
        "filter_logos": sm.input.filter_logos[i], "periods": sm.input.periods[i],
        "n_filters": filters["n_filters"], "n_with_sites": filters["n_with_sites"],
        "median_period": filters["median_period"],
        "fraction_matched": filters["fraction_matched_E0.1"],
    })
comparison = (table_html(model_comparison(sm.params.models, summaries, tables, accuracies),
                         table_id="comparison") if len(models) > 1 else None)

reference = (reference_section(sm.input.reference_table, sm.input.reference_figure,
                               sm.params.reference)
             if "reference_table" in sm.input.keys() else None)

render({
    "dataset": dataset, "version": seqcnn.__version__, "tasks": tasks,
    "alphabet": manifest["alphabet"], "letters": manifest["letters"],
    "detected": manifest["alphabet_detection"]["detected"],
    "label_kind": manifest["label_kind"], "seq_len": manifest["seq_len"],
    "lengths": manifest["lengths"], "source": manifest["source"], "split_text": split_text,
    "dropped": manifest["dropped"], "cropped": manifest["cropped"],
    "too_long": manifest["too_long"], "duplicates": dups,
    "warnings": manifest["warnings"], "counts_table": table_html(counts, table_id="counts"),
    "lengths_plot": sm.input.lengths_plot, "models": models, "comparison": comparison,
    "reference": reference,
}, sm.output.html, template=sm.input.template)
log.info("wrote %s (%d models)", sm.output.html, len(models))
