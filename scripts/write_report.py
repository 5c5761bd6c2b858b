"""Render results/{dataset}/report.html from the workflow's outputs."""

import json

import pandas as pd

import seqcnn
from seqcnn.logs import get_logger
from seqcnn.regions import DROP_REASONS
from seqcnn.report import (
    baseline_verdict,
    config_table,
    model_comparison,
    reference_section,
    render,
    split_text,
    table_html,
)

sm = snakemake  # noqa: F821
log = get_logger("write_report", sm.log[0])
dataset = sm.wildcards.dataset
manifest = json.load(open(sm.input.manifest))
positives = json.load(open(sm.input.positives))
negatives = json.load(open(sm.input.negatives))
tasks = manifest["tasks"]

counts = pd.DataFrame([
    {"split": s, "regions": c["n"], **{f"{t} +": c["positives"][t] for t in tasks},
     **{f"{t} ambiguous": c.get("ambiguous", {}).get(t, 0) for t in tasks
        if any(v.get("ambiguous", {}).get(t, 0) for v in manifest["counts"].values())},
     "chromosomes": len(manifest["chromosomes"][s])}
    for s, c in manifest["counts"].items()
])
drops = pd.DataFrame([
    {"task": t, "file": v["file"], "read": v["read"],
     **{r: v["dropped"].get(r, 0) for r in DROP_REASONS}, "kept": v["kept"]}
    for t, v in positives["tasks"].items()
])
shortfall = pd.DataFrame(negatives.get("shortfall_by_gc") or [],
                         columns=["gc", "needed", "short"])
shortfall_table = (table_html(shortfall.rename(columns={
    "gc": "GC bin", "needed": "negatives asked", "short": "missing"}), table_id="shortfall")
    if len(shortfall) else None)


def interpretation(i: int) -> dict:
    """The motif table, logos and attribution AUROCs of the i-th model."""
    motifs = pd.read_csv(sm.input.motifs[i], sep="\t")
    motifs = motifs[["motif", "jaspar_name", "q", "n_filters", "n_patterns", "n_sites",
                     "n_seqlets", "influence", "filters", "patterns"]]
    filters = json.load(open(sm.input.filters_json[i]))
    auroc = pd.read_csv(sm.input.attribution_auroc[i], sep="\t")
    return {
        "motif_table": table_html(motifs, table_id="motifs", floatfmt="{:.3g}"),
        "fraction_matched": filters["fraction_matched_E0.1"],
        "n_filters": filters["n_filters"],
        "auroc_table": table_html(auroc, table_id="attribution-auroc") if len(auroc) else None,
        "motif_figures": [sm.input.modisco_logos[i], sm.input.filter_logos[i]],
    }


models, summaries, tables = [], [], []
figures = list(sm.input.eval_figures)
per_model = len(figures) // max(1, len(sm.params.models))
for i, (name, summary_path, metrics_path, curves) in enumerate(zip(
        sm.params.models, sm.input.summaries, sm.input.metrics, sm.input.curves, strict=True)):
    figs = figures[i * per_model:(i + 1) * per_model]
    summary = json.load(open(summary_path))
    table = pd.read_csv(metrics_path, sep="\t")
    summaries.append(summary)
    tables.append(table)
    flag, verdict = baseline_verdict(table, name, tasks)
    shown = table[[c for c in ("model", "task", "auroc", "auroc_lo", "auroc_hi", "auprc",
                               "auprc_lo", "auprc_hi", "n_pos", "n_neg", "n_ambiguous", "note")
                   if c in table]]
    if "note" in shown and shown["note"].isna().all():
        shown = shown.drop(columns="note")
    config = config_table(summary["model_config"])
    models.append({
        "name": name, "arch": summary["arch"],
        "parameters": int(summary.get("parameters", 0)),
        "receptive_field": summary.get("receptive_field"),
        "best_epoch": summary.get("best_epoch"), "epochs": summary.get("epochs_run"),
        "config_table": table_html(config, classes=("data", "config")),
        "curves": curves, "metrics_table": table_html(shown, table_id=f"metrics-{name}"),
        "flag": flag,
        "verdict": verdict,
        "eval_figures": list(figs),
        **interpretation(i),
    })

comparison = (table_html(model_comparison(sm.params.models, summaries, tables),
                         table_id="comparison") if len(models) > 1 else None)

reference = (reference_section(sm.input.reference_table, sm.input.reference_figure,
                               sm.params.reference)
             if "reference_table" in sm.input.keys() else None)

render({
    "dataset": dataset, "version": seqcnn.__version__, "tasks": tasks,
    "seq_len": manifest["seq_len"], "letters": manifest["letters"],
    "chromosomes": manifest["chromosomes"], "negatives": negatives,
    "split_text": split_text(manifest.get("split"), manifest.get("split_how"),
                             manifest["chromosomes"]),
    "split_dropped": manifest.get("split_dropped"),
    "label_overlap": manifest.get("ambiguous", {}).get("label_overlap"),
    "empty_tasks": manifest.get("empty_tasks") or [],
    "merged_duplicates": positives["merged_duplicates"],
    "counts_table": table_html(counts, table_id="counts"),
    "drops_table": table_html(drops, table_id="drops"), "shortfall_table": shortfall_table,
    "gc_plot": sm.input.gc_plot, "models": models, "comparison": comparison, "reference": reference,
}, sm.output.html, template=sm.input.template)
log.info("wrote %s (%d models)", sm.output.html, len(models))
