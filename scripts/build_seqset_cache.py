"""Read, check and split a sequence set (FASTA + labels TSV); write its padded cache."""

import json

import numpy as np

import seqcnn
from seqcnn.data.cache import orientation_block, validate_manifest
from seqcnn.data.seqsets import SPLITS, load_seqset, write_seqset_cache
from seqcnn.logs import get_logger
from seqcnn.report import plots

sm = snakemake  # noqa: F821
cfg = sm.params.cfg
log = get_logger("build_seqset_cache", sm.log[0])
seqset = load_seqset(
    cfg["sequences"], cfg["labels"], alphabet=cfg["alphabet"], id_column=cfg["id_column"],
    label_columns=cfg["label_columns"], position_label=cfg["position_label"],
    position_classes=cfg["position_classes"], fractions=cfg["fractions"], seed=cfg["seed"],
    max_len=cfg["max_len"], too_long=cfg["too_long"], dedupe=cfg["dedupe"],
    missing_labels=cfg.get("missing_labels", "error"),
    label_type=cfg.get("label_type"), loss=cfg.get("loss", "mse"),
)
report = seqset.report
det = report["alphabet_detection"]
log.info("%d records; alphabet %s (%s)", report["source"]["records"], seqset.alphabet,
         "detected from the letters" if det["detected"] else "from the config")
log.info("labels: %s (%s)", ", ".join(seqset.tasks), report["label_kind"])
label_type = report.get("label_type") or {}
if label_type.get("message"):  # regression detected: the evidence
    log.info(label_type["message"])
for task in seqset.tasks:
    if seqset.kinds[task] == "regression":
        log.info("task %s: regression, loss %s", task, label_type.get("loss"))
    else:
        log.info("task %s: %s, %d classes %s", task, seqset.kinds[task],
                 len(seqset.classes[task]), seqset.classes[task][:20])
log.info("split: %s; counts %s", report["split"], report["counts"])
log.info("dropped: %s; cropped to %s: %d", report["dropped"], cfg["max_len"], report["cropped"])
for warning in report["warnings"]:  # dropped records, conversions, length outliers, ...
    log.warning(warning)

cache_dir = sm.output.manifest.rsplit("/", 1)[0]
manifest = write_seqset_cache(seqset, cache_dir, chunk_size=cfg["chunk_size"])
manifest = {"dataset": sm.wildcards.dataset, "seqcnn_version": seqcnn.__version__, **manifest,
            **orientation_block("seqset", seqset.alphabet, cfg.get("oriented", "auto"),
                                key=f"datasets.{sm.wildcards.dataset}.oriented"),
            "config": cfg}
log.info("orientation: %s (%s)", "oriented" if manifest["oriented"] else "not oriented",
         manifest["orientation"]["how"])
validate_manifest(json.loads(json.dumps(manifest, default=str)), sm.output.manifest)
with open(sm.output.manifest, "w") as fh:
    json.dump(manifest, fh, indent=2, default=str)
plots.length_histogram({s: seqset.lengths[seqset.rows(s)] for s in SPLITS},
                       sm.output.lengths_plot, seqset.seq_len,
                       title=f"{sm.wildcards.dataset}: sequence lengths")
log.info("cache: %s, seq_len %d, %s", cache_dir, seqset.seq_len,
         {s: manifest["counts"][s]["n"] for s in SPLITS})
log.info("lengths: %s", {k: (int(v) if isinstance(v, (int, np.integer)) else v)
                         for k, v in report["lengths"].items()})
