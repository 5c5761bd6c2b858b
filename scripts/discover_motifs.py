"""TF-MoDISco on the DeepLIFT/SHAP maps, Tomtom of its patterns, and the motif table.

Attributions of a track model (``heads`` in the npz: count and profile head, see
attribute_sequences.py) give patterns ``{task}.{head}.{pattern}`` and one motif table per
head, stacked, with a ``head`` column.
"""

import json

import numpy as np
import pandas as pd

from seqcnn import interpret as it
from seqcnn.logs import get_logger

sm = snakemake  # noqa: F821
cfg = sm.params.cfg
log = get_logger("discover_motifs", sm.log[0])
tasks = json.load(open(sm.input.manifest))["tasks"]
data = np.load(sm.input.npz)

heads = [str(h) for h in data["heads"]] if "heads" in data else None
# (label, npz key of the maps, pattern name prefix) per task; a track model has two heads
sets = [(task, f"{task}.deeplift_shap", task) for task in tasks] if heads is None else [
    (f"{task} ({head} head)", f"{task}.deeplift_shap" if head == "count"
     else f"{task}.{head}.deeplift_shap", f"{task}.{head}") for task in tasks for head in heads]

# TF-MoDISco first, before any thread starts (see seqcnn.interpret's docstring)
ppms, seqlets = {}, {}
for label, key, prefix in sets:
    hyp, onehot = data[key], data[f"{prefix.split('.')[0]}.onehot"]
    if len(hyp) < 20:
        log.info("%s: %d sequences, too few for TF-MoDISco; skipped", label, len(hyp))
        continue
    pats = it.run_modisco(hyp, onehot.astype(np.float32), max_seqlets=cfg["max_seqlets"])
    for name, ppm in pats.ppms.items():
        ppms[f"{prefix}.{name}"] = ppm
        seqlets[f"{prefix}.{name}"] = int(pats.n_seqlets[name])
    log.info("%s: %d patterns (%s seqlets)", label, len(pats.ppms),
             ", ".join(str(v) for v in pats.n_seqlets.values()))
it.write_meme(sm.output.meme, ppms, "dna", nsites=seqlets)

if ppms:
    pattern_table = it.tomtom_jaspar(ppms, cfg["release"], cfg["collection"], cfg["tax_group"])
else:
    pattern_table = pd.DataFrame(columns=it.TOMTOM_COLUMNS)
pattern_table.sort_values("p").groupby("query", sort=False).head(cfg["tomtom_top"]).to_csv(
    sm.output.tomtom, sep="\t", index=False)

filters = it.read_meme(sm.input.filters_meme)
filter_table = pd.read_csv(sm.input.filters_tomtom, sep="\t")
summary = pd.read_csv(sm.input.filters_summary, sep="\t")
filter_vs_pattern = (it.tomtom(filters.motifs, ppms) if ppms and filters.motifs else None)

sites = dict(zip(summary["filter"], summary["n_sites"], strict=True))
influence = dict(zip(summary["filter"], summary["influence"], strict=True))
if heads is None:
    table = it.motif_table(filter_table, pattern_table, sites, seqlets, influence,
                           filter_vs_pattern, max_q=cfg["max_q"])
else:  # one table per head over that head's patterns (a filter may appear under both)
    parts = []
    for head in heads:
        names = [k for k in seqlets if k.split(".")[1] == head]
        part = it.motif_table(
            filter_table, pattern_table[pattern_table["query"].isin(names)], sites,
            {k: seqlets[k] for k in names}, influence,
            None if filter_vs_pattern is None
            else filter_vs_pattern[filter_vs_pattern["target_id"].isin(names)],
            max_q=cfg["max_q"])
        part.insert(1, "head", head)
        parts.append(part)
    table = pd.concat(parts, ignore_index=True)
table.to_csv(sm.output.motifs, sep="\t", index=False, float_format="%.4g")
log.info("motif table:\n%s", table.drop(columns=["filters", "patterns"]).to_string(index=False))

targets = None
if len(pattern_table):
    ids, _, mats = it.jaspar_targets(cfg["release"], cfg["collection"], cfg["tax_group"])
    targets = dict(zip(ids, mats, strict=True))
it.plot_logo_grid(sm.output.logos, ppms,
                  it.best_matches(pattern_table) if len(pattern_table) else None, targets,
                  "dna")
