"""Gather cache statistics, drop counts and the split into cache/manifest.json."""

import json

import seqcnn
from seqcnn.alphabet import letters
from seqcnn.logs import get_logger

sm = snakemake  # noqa: F821
cfg = sm.params.cfg
log = get_logger("write_manifest", sm.log[0])
load = [json.load(open(p)) for p in sm.input.stats]
positives = json.load(open(sm.input.positives))
negatives = json.load(open(sm.input.negatives))
split = json.load(open(sm.input.split))
tasks = list(cfg["tasks"])
manifest = {
    "dataset": sm.wildcards.dataset,
    "seqcnn_version": seqcnn.__version__,
    "alphabet": cfg["alphabet"],
    "letters": letters(cfg["alphabet"]),
    "seq_len": cfg["seq_len"],
    "tasks": tasks,
    "layout": {"onehot": "uint8 (N, alphabet, seq_len)", "labels": "uint8 (N, tasks)"},
    "counts": {s["split"]: {"n": s["n"], "positives": s["positives"],
                            "ambiguous": s.get("ambiguous", {})} for s in load},
    "chromosomes": {k: v["chromosomes"] for k, v in split["splits"].items()},
    "split": split["split"],
    "split_how": split["how"],
    "split_dropped": split["dropped"],
    "empty_tasks": split["empty_tasks"],
    "dropped": {t: v["dropped"] for t, v in positives["tasks"].items()},
    "read": {t: v["read"] for t, v in positives["tasks"].items()},
    "merged_duplicates": positives["merged_duplicates"],
    "ambiguous": {"label_overlap": positives.get("label_overlap"),
                  "per_task": positives.get("ambiguous_per_task", {}),
                  "per_split": {s["split"]: s.get("ambiguous", {}) for s in load}},
    "negatives": {k: negatives.get(k) for k in
                  ("method", "ratio", "n", "shortfall", "shortfall_by_gc", "candidates",
                   "capacity", "free_bp", "gc_median_positives", "gc_median_negatives")},
    "checksums": {f"{s['split']}.{kind}.npy": {"sha256": s["sha256"][kind]}
                  for s in load for kind in ("onehot", "labels")},
    "config": cfg,
}
with open(sm.output.manifest, "w") as fh:
    json.dump(manifest, fh, indent=2)
log.info("manifest: %s", {k: v["n"] for k, v in manifest["counts"].items()})
