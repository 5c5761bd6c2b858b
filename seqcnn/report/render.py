"""The per-dataset HTML report: a Jinja2 template filled with tables and embedded figures.

The page is self-contained (images are ``data:`` URIs, styles inline), so it opens offline
and can be mailed as one file.
"""

from __future__ import annotations

import base64
import html
import mimetypes
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

#: The template shipped with the workflow (report/dataset.html.j2).
DEFAULT_TEMPLATE = Path(__file__).resolve().parents[1] / "report" / "dataset.html.j2"


def embed_image(path: str | os.PathLike) -> str:
    """A ``data:`` URI holding the image at ``path`` (PNG, SVG, JPEG)."""
    path = Path(path)
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def table_html(df: pd.DataFrame, table_id: str | None = None, floatfmt: str = "{:.3f}",
               classes: Sequence[str] = ("data",)) -> str:
    """A DataFrame as an escaped HTML table (numbers right-aligned, floats formatted)."""
    attrs = f' id="{html.escape(table_id)}"' if table_id else ""
    out = [f'<table{attrs} class="{" ".join(classes)}"><thead><tr>']
    out += [f"<th>{html.escape(str(c))}</th>" for c in df.columns]
    out.append("</tr></thead><tbody>")
    for row in df.itertuples(index=False):
        out.append("<tr>")
        for v in row:
            if isinstance(v, float):
                text, cls = ("–" if pd.isna(v) else floatfmt.format(v)), ' class="num"'
            elif isinstance(v, int):
                text, cls = f"{v:,}", ' class="num"'
            else:
                text, cls = html.escape(str(v)), ""
            out.append(f"<td{cls}>{text}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def render(context: Mapping[str, Any], path: str | os.PathLike,
           template: str | os.PathLike = DEFAULT_TEMPLATE) -> None:
    """Render ``template`` with ``context`` to ``path`` (UTF-8 HTML).

    Undefined template variables are errors (StrictUndefined), so a missing section fails
    loudly instead of rendering empty.
    """
    template = Path(template)
    env = Environment(loader=FileSystemLoader(template.parent),
                      autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["image"] = embed_image
    page = env.get_template(template.name).render(**context)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(page, encoding="utf-8")


def option_text(value: Any) -> str:
    """A model option as report text; a matrix (``fixed_filters``) as its shape."""
    if isinstance(value, list) and value and isinstance(value[0], list):
        shape = []
        while isinstance(value, list) and value:
            shape.append(len(value))
            value = value[0]
        return "matrix " + " × ".join(map(str, shape))
    return str(value)


def config_table(model_config: Mapping[str, Any]) -> pd.DataFrame:
    """A model's options as ``option``/``value`` rows for the report (:func:`option_text`)."""
    return pd.DataFrame({"option": list(model_config),
                         "value": [option_text(v) for v in model_config.values()]})


def best_epochs(summary: Mapping[str, Any]) -> str:
    """The best epoch of a model.json ("8"); for an ensemble its members' span ("8–10")."""
    members = summary.get("ensemble", {}).get("members") or []
    best = sorted(int(m["best_epoch"]) for m in members if m.get("best_epoch") is not None)
    if not best:
        return str(summary.get("best_epoch"))
    return str(best[0]) if best[0] == best[-1] else f"{best[0]}–{best[-1]}"


def epoch_text(summary: Mapping[str, Any]) -> str:
    """"best epoch 8 of 10" from a model.json; for an ensemble, its members' best epochs
    ("members' best epochs 8–10 of 10"), not the largest one alone."""
    runs = summary.get("epochs_run")
    members = summary.get("ensemble", {}).get("members") or []
    if not any(m.get("best_epoch") is not None for m in members):
        return f"best epoch {best_epochs(summary)} of {runs}"
    return f"members' best epochs {best_epochs(summary)} of {runs}"


def model_comparison(
    names: Sequence[str],
    summaries: Sequence[Mapping[str, Any]],
    metrics: Sequence[pd.DataFrame],
    accuracy: Sequence[pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """One row per model (a sweep's variants side by side): the options in which the models
    differ, parameters, receptive field, best epoch, and the mean test auROC / auPR over the
    model's own rows of its metrics table (tasks or classes); with ``accuracy`` tables, the
    mean accuracy and Q3 too."""
    configs = [dict(s["model_config"]) for s in summaries]
    keys = sorted({k for c in configs for k in c})
    varied = [k for k in keys if len({repr(c.get(k)) for c in configs}) > 1]
    rows = []
    for i, (name, summary, table) in enumerate(zip(names, summaries, metrics, strict=True)):
        own = table[table["model"] == name]
        row: dict[str, Any] = {"model": name, "arch": summary["arch"]}
        row |= {k: option_text(configs[i].get(k, "")) for k in varied}
        row |= {"parameters": int(summary.get("parameters", 0)),
                "receptive_field": int(summary.get("receptive_field", 0)),
                "best_epoch": best_epochs(summary)}  # an ensemble: its members' span
        if "metric" in own:  # regression targets: the long table of Pearson/Spearman/MSE
            row |= {f"test_{m}": float(own.loc[own["metric"] == m, "value"].mean())
                    for m in ("pearson", "spearman")}
        else:
            row |= {"test_auroc": float(own["auroc"].mean()),
                    "test_auprc": float(own["auprc"].mean())}
        if accuracy is not None:
            acc = accuracy[i]
            row["accuracy"] = float(acc["accuracy"].mean()) if len(acc) else float("nan")
            if "q3" in acc:
                row["q3"] = float(acc["q3"].mean()) if len(acc) else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def split_text(split: Mapping[str, Sequence[str]] | None, how: str | None,
               chromosomes: Mapping[str, Sequence[str]]) -> str:
    """How the regions were split, for a sentence: the valid and test chromosomes or ranges
    (``chr1:1-60000``, 1-based), with ``how`` (``blocks``: chosen by ``split: auto`` on a
    small genome); long chromosome lists are counted, not listed."""
    def names(entries: Sequence[str]) -> str:
        return ", ".join(entries) if len(entries) < 8 else f"{len(entries)} chromosomes"

    entries = [e for k in ("valid", "test") for e in (split or {}).get(k, [])]
    if split and any(":" in e for e in entries):
        kind = ("contiguous blocks chosen by split: auto" if how == "blocks"
                else "chromosomes and ranges")
        return (f"{kind}: valid {names(split['valid'])}; test {names(split['test'])}; "
                "train the rest")
    return "whole chromosomes: " + "; ".join(f"{s} {names(c)}" for s, c in chromosomes.items())


def baseline_verdict(metrics: pd.DataFrame, model: str, tasks: Sequence[str],
                     baseline: str | Sequence[str] = ("kmer_lr", "kmer_oriented_lr"),
                     paired: pd.DataFrame | None = None) -> tuple[str | None, str]:
    """Whether ``model`` beats ``baseline`` on test auROC, per task of an ``eval/metrics.tsv``
    table: ``(flag, verdict)``, where ``flag`` (``None`` when there is nothing to flag) names
    the tasks it does not beat, the tasks where it is level (below), and the tasks that could
    not be scored (no positives or no negatives in the test split: auROC NaN), and ``verdict``
    is one line for the page. Several baselines (the canonical and oriented k-mer ones): the
    best per task counts. ``paired`` (``eval/vs_baselines.tsv``,
    :func:`seqcnn.evaluate.metrics.paired_differences`) adds each task's paired difference
    with that best baseline and its interval; with it a task counts as beaten only when the
    interval lies above 0, and a task ahead by the point estimate whose interval holds 0 is
    *level* (within resampling noise). Without it the point estimates decide."""
    own = metrics[metrics["model"] == model].set_index("task")["auroc"]
    names = [baseline] if isinstance(baseline, str) else list(baseline)
    rows = metrics[metrics["model"].isin(names)]
    base = rows.groupby("task")["auroc"].max()
    what = ("the k-mer baseline" if rows["model"].nunique() < 2
            else "the best k-mer baseline (canonical or oriented)")
    unscored = [t for t in tasks if t in own and pd.isna(own[t])]
    behind = [t for t in tasks if t in own and t in base and t not in unscored
              and not own[t] > base[t]]
    scored = [t for t in tasks if t in own and t not in unscored]
    best = (best_baseline_differences(metrics, paired, names)
            if paired is not None and len(paired) else None)
    best = best if best is not None and len(best) else None
    level = [] if best is None else [
        r.task for r in best.itertuples()
        if r.task in scored and r.task not in behind and not pd.isna(r.delta_lo)
        and r.delta_lo <= 0]
    parts = []
    if behind:
        parts.append(f"The CNN does not beat {what} on {', '.join(behind)} "
                     "(test auROC): what it learned may be no more than k-mer composition.")
    if level:
        parts.append(f"The CNN is level with {what} on {', '.join(level)}: ahead by the point "
                     "estimate, but the paired 95% interval of the difference holds 0.")
    if unscored:
        parts.append(f"Not scored on {', '.join(unscored)}: the test split has no positives "
                     "(or no negatives) for it (allow_empty_tasks).")
    how = "test auROC" if best is None else "test auROC; paired 95% interval above 0"
    if not scored:
        line = "No task could be scored on the test split."
    elif behind or level:
        line = (f"The CNN beats {what} on {len(scored) - len(behind) - len(level)} of "
                f"{len(scored)} scored tasks ({how}).")
    else:
        line = (f"The CNN beats {what} on every task ({how})." if not unscored
                else f"The CNN beats {what} on every scored task ({len(scored)} of "
                f"{len(tasks)}; {how}).")
    extra = paired_text(best, scored) if best is not None else ""
    if extra:
        line = f"{line} {extra}"
        if parts:
            parts.append(extra)
    return (" ".join(parts) or None), line


def best_baseline_differences(metrics: pd.DataFrame, paired: pd.DataFrame,
                              baselines: Sequence[str]) -> pd.DataFrame:
    """Per task, the row of ``paired`` (``eval/vs_baselines.tsv``) against the best of
    ``baselines`` by test auROC in ``metrics`` (``eval/metrics.tsv``): columns ``task``,
    ``reference``, ``delta``, ``delta_lo``, ``delta_hi``, ``n_boot``; tasks without a scored
    baseline or paired row are left out."""
    rows = metrics[metrics["model"].isin(baselines)].dropna(subset=["auroc"])
    best = rows.loc[rows.groupby("task", sort=False)["auroc"].idxmax()]
    by = paired.set_index(["reference", "task"])
    out = []
    for r in best.itertuples():
        if (r.model, r.task) in by.index and not pd.isna(by.loc[(r.model, r.task), "delta"]):
            p = by.loc[(r.model, r.task)]
            out.append({"task": r.task, "reference": r.model, "delta": p["delta"],
                        "delta_lo": p["delta_lo"], "delta_hi": p["delta_hi"],
                        "n_boot": int(p["n_boot"])})
    return pd.DataFrame(out, columns=["task", "reference", "delta", "delta_lo", "delta_hi",
                                      "n_boot"])


def difference_text(r: Any) -> str:
    """``+0.015 [+0.001, +0.029]``: a difference and its interval (none when not drawn)."""
    ci = "" if pd.isna(r.delta_lo) else f" [{r.delta_lo:+.3f}, {r.delta_hi:+.3f}]"
    return f"{r.delta:+.3f}{ci}"


def paired_text(best: pd.DataFrame, tasks: Sequence[str]) -> str:
    """One sentence from :func:`best_baseline_differences`: per task, the paired bootstrap
    difference of test auROC with the best baseline, and the tasks where the interval holds
    zero (within resampling noise)."""
    best = best[best["task"].isin(tasks)]
    if not len(best):
        return ""
    parts = [f"{r.task} {difference_text(r)} against {r.reference}" for r in best.itertuples()]
    noise = [r.task for r in best.itertuples()
             if not pd.isna(r.delta_lo) and r.delta_lo <= 0 <= r.delta_hi]
    text = (f"Paired bootstrap ({int(best['n_boot'].max()):,} resamples of the test regions), "
            f"the CNN's test auROC minus the best baseline's: {'; '.join(parts)}.")
    if noise:
        text += f" Within resampling noise (the interval holds 0) on {', '.join(noise)}."
    return text


def verdict(table: pd.DataFrame, claim: str) -> str:
    """One line: whether every row of a comparison table agrees, the rows that do not, and
    the preset's ``claim``."""
    met, total = int(table["agrees"].sum()), len(table)
    if met == total:
        return f"Reproduced ({met} of {total} expectations met): {claim}"
    off = "; ".join(f"{r.model} {r.metric} {r.measured:.3g} (expected {r.expected})"
                    for r in table[~table["agrees"].astype(bool)].itertuples())
    return f"Not reproduced ({met} of {total} met; off: {off}): {claim}"


def reference_section(table_path: str | os.PathLike, figure_path: str | os.PathLike,
                      reference: Mapping[str, Any]) -> dict[str, Any]:
    """The "published versus seqcnn" part of a report page from the comparison table
    (:func:`seqcnn.report.reference.compare`, as TSV), its figure and the config's ``reference``."""
    ref = pd.read_csv(table_path, sep="\t", dtype={"expected": str})
    line = verdict(ref, reference.get("claim", reference["source"]))
    ref["agrees"] = ref["agrees"].map({True: "yes", False: "no"})
    shown = ref[["model", "metric", "expected", "measured", "difference", "agrees"]]
    return {
        "source": reference["source"], "figure": figure_path,
        "met": int((ref["agrees"] == "yes").sum()), "total": len(ref),
        "tolerance": reference["tolerance"], "verdict": line,
        "table": table_html(shown, table_id="reference"),
    }
