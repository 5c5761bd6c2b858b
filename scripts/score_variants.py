"""Score a VCF with a trained model: per-task ref/alt scores and log-odds effects (TSV and
VCF with INFO fields), then ISM-difference maps and JASPAR motifs of the top variants.

Streamed (seqcnn.data.variants.VariantReader → seqcnn.interpret.variants.score_chunks):
memory does not grow with the number of variants. What was not scored is counted per
reason in the log and in {name}.json (the report reads it).
"""

import json

import numpy as np
import torch

from seqcnn.data import regions as rg
from seqcnn.data import variants as dv
from seqcnn.data.genome import Genome
from seqcnn.interpret import variants as iv
from seqcnn.logs import get_logger
from seqcnn.models.zoo import load_model
from seqcnn.train.loop import resolve_device

sm = snakemake  # noqa: F821
cfg = sm.params.cfg
log = get_logger("score_variants", sm.log[0])
torch.set_num_threads(max(1, sm.threads))
manifest = json.load(open(sm.input.manifest))
tasks, seq_len = manifest["tasks"], manifest["seq_len"]
genome = Genome(sm.input.fasta)
aliases = rg.read_chrom_aliases(sm.input.aliases[0], genome.sizes) if sm.input.aliases else None
model = load_model(sm.input.model)
device = resolve_device(cfg["device"])
fast, path = iv.snv_path(model, seq_len)
log.info("scoring %s with %s on %s: windows of %d bp centred on each variant, both strands; "
         "%s", sm.input.vcf, sm.input.model, device, seq_len, path)

reader = dv.VariantReader(sm.input.vcf, genome, seq_len, aliases=aliases,
                          max_indel_len=cfg["max_indel_len"], strict=cfg["strict"],
                          chunk_size=cfg["chunk_size"])
if reader.max_indel_len < cfg["max_indel_len"]:
    log.warning("max_indel_len %d lowered to %d: longer alleles do not fit the right half "
                "of a %d bp window", cfg["max_indel_len"], reader.max_indel_len, seq_len)
tsv = iv.TsvWriter(sm.output.tsv, ["chrom", "pos", "id", "ref", "alt", "kind",
                                   *iv.score_columns(tasks)])
vcf = iv.VcfWriter(sm.input.vcf, sm.output.vcf, tasks, genome.sizes)
top = iv.TopVariants(tasks, cfg["top_n"])
kinds = {}
chunks = iv.score_chunks(model, reader, tasks, device, cfg["batch_size"], fast=fast)
for chunk, scores, effect in chunks:
    tsv.write(scores)
    vcf.write(chunk.table, scores)
    top.update(chunk, scores, effect)
    for k, n in chunk.table["kind"].value_counts().items():
        kinds[k] = kinds.get(k, 0) + int(n)
tsv.close()
vcf.close()
counts = reader.counts
log.info("read %d records (%d alleles): scored %d (%s); dropped %s", counts["records"],
         counts["alleles"], counts["scored"], ", ".join(f"{n} {k}" for k, n in kinds.items())
         or "none", dv.drop_summary(counts))
if reader.unknown_chroms:
    log.info("chromosomes absent from the genome: %s", ", ".join(
        f"{c} ({n})" for c, n in reader.unknown_chroms.most_common(10)))
if counts["padded"]:
    log.info("%d windows reach past a chromosome end: padded with N", counts["padded"])
checked = counts["scored"] + counts["ref_mismatch"]
if checked and counts["ref_mismatch"] > 0.1 * checked:
    log.warning("REF differs from the genome for %d of %d alleles: is the VCF for this "
                "assembly?", counts["ref_mismatch"], checked)

model.float()
table, arrays = iv.explain(model, top, cfg["motif_db"])
table.to_csv(sm.output.top, sep="\t", index=False, float_format="%.4g")
np.savez_compressed(sm.output.top_npz, **arrays)
iv.plot_top_variants(sm.output.panel, table, arrays, cfg["plot_n"])
for task in tasks:
    t = table[table["task"] == task]
    log.info("%s: top %d variants explained; motifs named: %d (%s)", task, len(t),
             int((t["motif_id"] != "").sum()), ", ".join(sorted(set(
                 f"{a} {m}" for a, m in zip(t["action"], t["motif_name"], strict=True) if m)))
             or "none")
summary = {
    "vcf": str(sm.input.vcf), "model": str(sm.input.model), "seq_len": seq_len,
    "tasks": tasks, "max_indel_len": reader.max_indel_len, "strict": cfg["strict"],
    "records": counts["records"], "alleles": counts["alleles"], "scored": counts["scored"],
    "kinds": kinds, "padded": counts["padded"],
    "dropped": {r: counts[r] for r in dv.DROP_REASONS},
    "unknown_chroms": dict(reader.unknown_chroms), "top_n": cfg["top_n"],
    "device": str(device),
}
with open(sm.output.summary, "w") as fh:
    json.dump(summary, fh, indent=2)
