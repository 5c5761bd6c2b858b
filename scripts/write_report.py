"""Render results/{dataset}/report.html for either kind of dataset.

One script and one base template (report/base.html.j2): the model sections, the comparison
and the reference table are common; each kind adds its data section and its per-model
test and interpretation parts (report/dataset.html.j2, report/seqset.html.j2 extend the base).
"""

import json

import pandas as pd

import seqcnn
from seqcnn.data.cache import dataset_orientation
from seqcnn.data.regions import DROP_REASONS
from seqcnn.evaluate.baselines import KMER_BASELINES
from seqcnn.logs import get_logger
from seqcnn.report.render import (
    baseline_verdict,
    best_baseline_differences,
    config_table,
    difference_text,
    epoch_text,
    model_comparison,
    reference_section,
    render,
    split_text,
    table_html,
)
from seqcnn.workflow.portfolio import summaries_regression

sm = snakemake  # noqa: F821
log = get_logger("write_report", sm.log[0])
dataset = sm.wildcards.dataset
manifest = json.load(open(sm.input.manifest))
genome = manifest["kind"] == "genome"
tasks = manifest["tasks"]
GENOME_COLUMNS = ["model", "task", "auroc", "auroc_lo", "auroc_hi", "auprc", "auprc_lo",
                  "auprc_hi", "n_pos", "n_neg", "n_ambiguous", "note"]
SEQSET_COLUMNS = ["task", "class", "auroc", "auroc_lo", "auroc_hi", "auprc", "auprc_lo",
                  "auprc_hi", "n_pos", "n_neg"]
REGRESSION = manifest["targets"]["kinds"][tasks[0]] == "regression"


def genome_data() -> dict:
    """The data section of a genome dataset: split, labels, drops, negatives, GC."""
    positives = json.load(open(sm.input.positives))
    negatives = json.load(open(sm.input.negatives))
    any_ambiguous = {t: any(v.get("ambiguous", {}).get(t, 0)
                            for v in manifest["counts"].values()) for t in tasks}
    counts = pd.DataFrame([
        {"split": s, "regions": c["n"], **{f"{t} +": c["positives"][t] for t in tasks},
         **{f"{t} ambiguous": c.get("ambiguous", {}).get(t, 0) for t in tasks
            if any_ambiguous[t]},
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
    return {
        "chromosomes": manifest["chromosomes"], "negatives": negatives,
        "split_text": split_text(manifest.get("split"), manifest.get("split_how"),
                                 manifest["chromosomes"]),
        "split_dropped": manifest.get("split_dropped"),
        "label_overlap": manifest.get("ambiguous", {}).get("label_overlap"),
        "empty_tasks": manifest.get("empty_tasks") or [],
        "merged_duplicates": positives["merged_duplicates"],
        "counts_table": table_html(counts, table_id="counts"),
        "drops_table": table_html(drops, table_id="drops"), "shortfall_table": shortfall_table,
        "gc_plot": sm.input.gc_plot,
        "orientation": orientation_text(),
    }


def orientation_text() -> str:
    """One sentence: whether the regions are read in one orientation, and what follows."""
    oriented, why = dataset_orientation(manifest)
    if not oriented:
        return (f"Orientation: {why}; reverse-complement augmentation and strand averaging "
                "follow train.rc_augment and evaluate.rc_average (auto: on).")
    return (f"Orientation: {why}. Orientation is signal here: with auto settings, "
            "reverse-complement augmentation and strand averaging are off, and an oriented "
            "k-mer baseline is fitted beside the canonical one.")


def seqset_split_text(split: dict) -> str:
    """How a sequence set was split, as a sentence part."""
    text = (f"the {split['column']!r} column of the labels file" if split["source"] == "column"
            else "a seeded random split (fractions " + ", ".join(
                f"{k} {v:g}" for k, v in split["fractions"].items())
            + (f", stratified on {split['stratify']}" if split.get("stratify") else "") + ")")
    if split.get("group_column"):
        text += (f"; all members of a {split['group_column']!r} group in one split "
                 f"({split.get('groups', '?')} groups)")
    return text


def seqset_data() -> dict:
    """The data section of a sequence set: records, lengths, split, drops, duplicates."""
    counts = pd.DataFrame([
        {"split": s, "sequences": c["n"], "residues": c["residues"],
         **{f"{t}: {k}": v for t, cc in c["class_counts"].items() for k, v in cc.items()},
         **{f"{t} {k}": v[k] for t, v in c.get("values", {}).items() for k in ("mean", "sd")}}
        for s, c in manifest["counts"].items()
    ])
    return {
        "alphabet": manifest["alphabet"], "detected": manifest["alphabet_detection"]["detected"],
        "label_kind": "regression" if REGRESSION else manifest["label_kind"],
        "label_type": manifest.get("label_type"), "lengths": manifest["lengths"],
        "source": manifest["source"], "split_text": seqset_split_text(manifest["split"]),
        "dropped": manifest["dropped"], "cropped": manifest["cropped"],
        "too_long": manifest["too_long"], "duplicates": manifest["duplicates"],
        "warnings": manifest["warnings"], "counts_table": table_html(counts, table_id="counts"),
        "lengths_plot": sm.input.lengths_plot,
    }


def variant_sections(name: str) -> list[dict]:
    """The variant sets one genome model scored: drop counts, the top variants per task and
    the panel of ref/alt logos with the ISM difference (rule score_variants)."""
    from pathlib import Path

    from seqcnn.data.variants import DROP_REASONS

    out = []
    files = zip(sm.input.get("variants_summary", []), sm.input.get("variants_top", []),
                sm.input.get("variants_panel", []), strict=True)
    for summary_path, top_path, panel in files:
        if Path(summary_path).parent.parent.name != name:
            continue
        s = json.load(open(summary_path))
        counts = pd.DataFrame([{"records": s["records"], "alleles": s["alleles"],
                                **{r: s["dropped"].get(r, 0) for r in DROP_REASONS},
                                "scored": s["scored"]}])
        top = pd.read_csv(top_path, sep="\t", keep_default_na=False, na_values=[""])
        top = top.assign(variant=top["chrom"] + ":" + top["pos"].astype(str) + " "
                         + top["ref"] + ">" + top["alt"])
        shown = top[["task", "rank", "variant", "id", "kind", "ref_score", "alt_score",
                     "effect", "action", "motif_id", "motif_name", "motif_q"]]
        out.append({"name": Path(summary_path).name.removesuffix(".json"), "vcf": s["vcf"],
                    "kinds": s["kinds"], "padded": s["padded"],
                    "max_indel_len": s["max_indel_len"], "strict": s["strict"],
                    "counts_table": table_html(counts, table_id=f"variant-counts-{name}"),
                    "top_table": table_html(shown, table_id=f"variant-top-{name}",
                                            floatfmt="{:.3g}"),
                    "panel": panel})
    return out


def design_sections(name: str) -> list[dict]:
    """The designs one model guided (rule design_sequences): starting and designed
    sequences side by side (guiding model, second model, planted-motif sites), the score
    trajectory and the logos of the edited windows."""
    from pathlib import Path

    out = []
    files = zip(sm.input.get("design_summary", []), sm.input.get("design_trajectory", []),
                sm.input.get("design_windows", []), strict=True)
    for summary_path, trajectory, windows in files:
        if Path(summary_path).parent.parent.name != name:
            continue
        s = json.load(open(summary_path))
        rows = []
        for stage in ("start", "designed"):
            st = s["stages"][stage]
            row = {"sequences": stage, "n": st["n"], "edits": st["edits"]}
            for t in s["tasks"]:
                row[f"{t} ({name})"] = st[f"guide_{t}"]
                if f"check_{t}" in st:
                    row[f"{t} ({s['check_model']})"] = st[f"check_{t}"]
            for m in s["truth_motifs"]:
                row[f"with {m} site"] = st[f"with_{m}"]
            rows.append(row)
        out.append({"name": s["name"], "n": s["n"], "start": s["start"], "method": s["method"],
                    "backend": s.get("gradient_backend"), "goal": s["goal"], "task": s["task"],
                    "keep_low": s["keep_low"], "budget": s["budget"], "wall_s": s["wall_s"],
                    "check_model": s["check_model"], "truth_motifs": s["truth_motifs"],
                    "agreement": s.get("rank_agreement_gain"), "named": s["windows_named"],
                    "table": table_html(pd.DataFrame(rows), floatfmt="{:.3g}",
                                        table_id=f"design-table-{name}-{s['name']}"),
                    "trajectory": trajectory, "windows": windows})
    return out


def genome_model(i: int, name: str, table: pd.DataFrame) -> dict:
    """A genome model's test verdict against the baselines, motif table and logos."""
    paired = pd.read_csv(sm.input.paired[i], sep="\t")
    flag, verdict = baseline_verdict(table, name, tasks, paired=paired)
    shown = table[[c for c in GENOME_COLUMNS if c in table]]
    if "note" in shown and shown["note"].isna().all():
        shown = shown.drop(columns="note")
    motifs = pd.read_csv(sm.input.motifs[i], sep="\t")
    motifs = motifs[["motif", "jaspar_name", "q", "n_filters", "n_patterns", "n_sites",
                     "n_seqlets", "influence", "filters", "patterns"]]
    auroc = pd.read_csv(sm.input.attribution_auroc[i], sep="\t")
    return {
        "flag": flag, "verdict": verdict,
        "metrics_table": table_html(shown, table_id=f"metrics-{name}"),
        "motif_table": table_html(motifs, table_id="motifs", floatfmt="{:.3g}"),
        "auroc_table": table_html(auroc, table_id="attribution-auroc") if len(auroc) else None,
        "motif_figures": [sm.input.modisco_logos[i], sm.input.filter_logos[i]],
        "variant_sets": variant_sections(name),
    }


def regression_table(table: pd.DataFrame) -> pd.DataFrame:
    """metrics.tsv of regression targets (long: model, task, metric, value, lo, hi, n) as one
    row per model and task: Pearson r, Spearman rho, MSE with their intervals, n."""
    rows = []
    for (model, task), part in table.groupby(["model", "task"], sort=False):
        row = {"model": model, "task": task}
        for m in part.itertuples():
            row |= {m.metric: m.value, f"{m.metric}_lo": m.lo, f"{m.metric}_hi": m.hi}
        rows.append(row | {"n": int(part["n"].iloc[0])})
    return pd.DataFrame(rows)


def seqset_model(i: int, name: str, table: pd.DataFrame, accuracy: pd.DataFrame,
                 filters: dict, summary: dict) -> dict:
    """A sequence-set model's class metrics (regression: Pearson, Spearman and MSE beside
    the k-mer ridge baseline), accuracy, filter logos and periods."""
    shown = regression_table(table) if REGRESSION else table[SEQSET_COLUMNS]
    return {
        "padding": summary.get("padding"),
        "regression": REGRESSION,
        "metrics_table": table_html(shown, table_id=f"metrics-{name}"),
        "accuracy_table": table_html(accuracy, table_id=f"accuracy-{name}") if len(accuracy)
        else None,
        "filter_logos": sm.input.filter_logos[i], "periods": sm.input.periods[i],
        "n_with_sites": filters["n_with_sites"], "median_period": filters["median_period"],
    }


def track_model(i: int, name: str, summary: dict) -> dict:
    """A track model's section (report/tracks.html.j2): metrics.tsv (long form) as one row
    per task and model (the model, then the average and shuffled profile baselines)."""
    table = pd.read_csv(sm.input.metrics[i], sep="\t")
    wide = table.pivot_table(index=["task", "model"], columns="metric", values="value",
                             sort=False).reset_index()
    n = table[table["metric"] == "profile_jsd"].groupby("task")["n"].first()
    text = (f"Count Pearson r and Spearman of log(1 + counts) over all test regions; profile "
            f"Jensen–Shannon distance (base 2) and multinomial NLL (nats) over each track's "
            f"test peaks with reads ({', '.join(f'{t}: {k}' for t, k in n.items())}), for the "
            "model and two baselines: the average training profile and the observed profile "
            "shuffled across positions. Lower JSD and NLL are better."
            if len(n) else "Count Pearson r and Spearman of log(1 + counts), test regions.")
    return {
        "name": name, "arch": summary["arch"], "parameters": int(summary.get("parameters", 0)),
        "receptive_field": summary.get("receptive_field"), "target": summary["target"],
        "epoch_text": epoch_text(summary),
        "config_table": table_html(config_table(summary["model_config"]),
                                   classes=("data", "config")),
        "curves": sm.input.curves[i], "track_text": text,
        "eval_figures": list(sm.input.eval_figures)[2 * i:2 * i + 2],
        "metrics_table": table_html(wide, table_id=f"metrics-{name}"), "designs": [],
    }


if "tracks" in manifest:  # a track dataset: its own model sections, the genome data part
    models = [track_model(i, n, json.load(open(sm.input.summaries[i])))
              for i, n in enumerate(sm.params.models)]
    render({
        "dataset": dataset, "version": seqcnn.__version__, "tasks": tasks,
        "seq_len": manifest["seq_len"], "letters": manifest["letters"], "models": models,
        "comparison": None, "reference": None, "portfolio": None, "ensembles": None,
        **genome_data(),
    }, sm.output.html, template=sm.input.template)
    log.info("wrote %s (%d track models)", sm.output.html, len(models))
    raise SystemExit(0)

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
    models.append({
        "name": name, "arch": summary["arch"], "parameters": int(summary.get("parameters", 0)),
        "receptive_field": summary.get("receptive_field"),
        "epoch_text": epoch_text(summary),
        "config_table": table_html(config_table(summary["model_config"]),
                                   classes=("data", "config")),
        "curves": sm.input.curves[i],
        "eval_figures": figures[i * per_model:(i + 1) * per_model],
        "n_filters": filters["n_filters"], "fraction_matched": filters["fraction_matched_E0.1"],
        "designs": design_sections(name),
        **(genome_model(i, name, table) if genome
           else seqset_model(i, name, table, accuracy, filters, summary)),
    })

def with_baselines(comparison: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """The comparison of the models and, below, one row per baseline of a genome dataset
    (canonical and oriented k-mers, known motifs): mean test auROC and auPR over tasks."""
    rows = table[~table["model"].isin(sm.params.models)]
    if not len(rows):
        return comparison
    means = rows.groupby("model", sort=False)[["auroc", "auprc"]].mean()
    base = pd.DataFrame({"model": means.index, "arch": "baseline",
                         "test_auroc": means["auroc"].to_numpy(),
                         "test_auprc": means["auprc"].to_numpy()})
    return pd.concat([comparison.astype(object), base.astype(object)],
                     ignore_index=True).fillna("–")


kmer_kinds = set(tables[0]["model"]) & set(KMER_BASELINES) if genome and tables else set()
comparison = None
if len(models) > 1 or len(kmer_kinds) > 1:  # several models, or both k-mer baselines
    comparison = model_comparison(sm.params.models, summaries, tables,
                                  None if genome else accuracies)
    if genome:
        comparison = with_baselines(comparison, tables[0])
    comparison = table_html(comparison, table_id="comparison")


def mean_ci(table: pd.DataFrame, name: str, metric: str = "auroc") -> str:
    """A model's test metric per task with its 95% CI: ``CTCF 0.995 (0.990–0.998); …``."""
    own = table[table["model"] == name]
    return "; ".join(f"{r.task} {getattr(r, metric):.3f} ({getattr(r, metric + '_lo'):.3f}–"
                     f"{getattr(r, metric + '_hi'):.3f})" for r in own.itertuples())


def portfolio_section() -> dict | None:
    """The portfolio: every model's validation metrics (what the choice read) and test
    auROC with CIs, the chosen one marked."""
    spec = sm.params.portfolio
    if not spec:
        return None
    choice = json.load(open(sm.input.choice))
    summaries = {name: json.load(open(path))
                 for name, path in zip(spec["models"], sm.input.portfolio_summaries, strict=True)}
    # regression summaries keep validation Pearson r / Spearman in the auPR / auROC slots
    regression = bool(summaries_regression(summaries))
    valid_cols = ({"valid_pearson": "best_valid_auprc", "valid_spearman": "best_valid_auroc"}
                  if regression else
                  {"valid_auroc": "best_valid_auroc", "valid_auprc": "best_valid_auprc"})
    test = "pearson" if regression else "auroc"
    rows = []
    paired = (sm.input.portfolio_paired if "portfolio_paired" in sm.input.keys()
              else [None] * len(spec["models"]))
    for name, mpath, ppath in zip(spec["models"], sm.input.portfolio_metrics, paired,
                                  strict=True):
        s = summaries[name]
        t = pd.read_csv(mpath, sep="\t", keep_default_na=False, na_values=[""])
        if regression and "metric" in t:  # long format: one row per (task, metric)
            t = t[t["metric"] == test].rename(
                columns={"value": test, "lo": f"{test}_lo", "hi": f"{test}_hi"})
        own = t[t["model"] == name]
        rows.append({"model": name, "arch": s["arch"]}
                    | {col: s.get(key) for col, key in valid_cols.items()}
                    | {f"test_{test}": float(own[test].mean()) if test in own else None,
                       f"test {test} per task (95% CI)": mean_ci(t, name, test)
                       if f"{test}_lo" in t else "",
                       "chosen": "✔" if name == choice["chosen"] else ""})
        if ppath is not None:  # genome datasets: the paired difference with the best k-mers
            best = best_baseline_differences(t, pd.read_csv(ppath, sep="\t"), KMER_BASELINES)
            rows[-1]["test auROC − best k-mer baseline, paired (95% CI)"] = "; ".join(
                f"{r.task} {difference_text(r)}" for r in best.itertuples())
    return {"metric": choice["metric"], "chosen": choice["chosen"],
            "table": table_html(pd.DataFrame(rows), table_id="portfolio", floatfmt="{:.4f}")}


def ensemble_section() -> dict | None:
    """Each ensemble's test auROC beside its members': min–max and SD of the members' mean
    test auROC over tasks, and per task."""
    names = sm.params.ensembles
    if not names:
        return None
    rows = []
    for name, epath, mpath in zip(names, sm.input.ensemble_metrics,
                                  sm.input.ensemble_members, strict=True):
        ens = pd.read_csv(epath, sep="\t", keep_default_na=False, na_values=[""])
        mem = pd.read_csv(mpath, sep="\t", keep_default_na=False, na_values=[""])
        if "auroc" not in mem:
            continue
        own = ens[ens["model"] == name]
        means = mem.groupby("model", sort=False)["auroc"].mean()
        row = {"ensemble": name, "members": len(means),
               "ensemble test_auroc": float(own["auroc"].mean()),
               "members min": float(means.min()), "members max": float(means.max()),
               "members SD": float(means.std(ddof=1)) if len(means) > 1 else 0.0}
        for task, part in mem.groupby("task", sort=False):
            row[f"{task}: ensemble"] = float(own.loc[own["task"] == task, "auroc"].mean())
            row[f"{task}: members"] = f"{part['auroc'].min():.3f}–{part['auroc'].max():.3f}"
        rows.append(row)
    return {"table": table_html(pd.DataFrame(rows), table_id="ensembles", floatfmt="{:.4f}")
            } if rows else None


reference = (reference_section(sm.input.reference_table, sm.input.reference_figure,
                               sm.params.reference)
             if "reference_table" in sm.input.keys() else None)

render({
    "dataset": dataset, "version": seqcnn.__version__, "tasks": tasks,
    "seq_len": manifest["seq_len"], "letters": manifest["letters"],
    "models": models, "comparison": comparison, "reference": reference,
    "portfolio": portfolio_section(), "ensembles": ensemble_section(),
    **(genome_data() if genome else seqset_data()),
}, sm.output.html, template=sm.input.template)
log.info("wrote %s (%d models)", sm.output.html, len(models))
