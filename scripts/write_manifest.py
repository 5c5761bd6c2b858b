"""Gather cache statistics, drop counts and the split into cache/manifest.json (the one
manifest schema of seqcnn.data.cache, checked before it is written)."""

import json

import seqcnn
from seqcnn.data.cache import genome_manifest, validate_manifest
from seqcnn.logs import get_logger

sm = snakemake  # noqa: F821
log = get_logger("write_manifest", sm.log[0])
manifest = genome_manifest(
    sm.wildcards.dataset, sm.params.cfg, [json.load(open(p)) for p in sm.input.stats],
    json.load(open(sm.input.positives)), json.load(open(sm.input.negatives)),
    json.load(open(sm.input.split)), seqcnn.__version__,
    tracks=[json.load(open(p)) for p in sm.input.get("tracks", [])])
validate_manifest(manifest, sm.output.manifest)
with open(sm.output.manifest, "w") as fh:
    json.dump(manifest, fh, indent=2)
log.info("manifest: %s", {k: v["n"] for k, v in manifest["counts"].items()})
