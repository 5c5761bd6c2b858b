"""Promoter windows of an annotation's genes as oriented BED6, beside the genome FASTA."""

from seqcnn.data.annotation import check_genes, package_file, promoters, read_genes, write_bed6
from seqcnn.data.genome import chrom_sizes, prepare_fasta
from seqcnn.logs import get_logger

sm = snakemake  # noqa: F821
log = get_logger("extract_promoters", sm.log[0])
cfg = sm.params.cfg
genome = package_file(cfg["package"], cfg["genome"])
annotation = package_file(cfg["package"], cfg["annotation"])
log.info("genome %s, annotation %s (package %s)", genome, annotation, cfg["package"])
sizes = chrom_sizes(prepare_fasta(genome, sm.output.genome))
log.info("genome: %d sequences, %s bp", len(sizes), f"{sum(sizes.values()):,}")
genes, skipped = read_genes(annotation, cfg["biotype"], cfg["feature"])
for reason, n in sorted(skipped.items(), key=lambda kv: -kv[1]):
    log.info("skipped %d %s rows: %s", n, cfg["feature"], reason)
check_genes(genes, skipped, annotation, cfg["biotype"])
log.info("%d %s rows with biotype %s", len(genes), cfg["feature"], cfg["biotype"])
bed, dropped = promoters(genes, sizes, cfg["upstream"], cfg["downstream"],
                         cfg["within"])
for reason, n in dropped.items():
    log.info("dropped %d genes: %s", n, reason)
write_bed6(bed, sm.output.bed)
plus = int((bed["strand"] == "+").sum())
log.info("wrote %d promoter windows of %d bp (TSS -%d..+%d; %d on +, %d on -) to %s",
         len(bed), cfg["upstream"] + cfg["downstream"], cfg["upstream"], cfg["downstream"],
         plus, len(bed) - plus, sm.output.bed)
