"""Link (or decompress) the genome FASTA into the results and index it."""

from seqcnn.data.genome import chrom_sizes, prepare_fasta
from seqcnn.logs import get_logger

log = get_logger("prepare_genome", snakemake.log[0])  # noqa: F821
fai = prepare_fasta(snakemake.input.genome, snakemake.output.fasta)  # noqa: F821
sizes = chrom_sizes(fai)
log.info("%s: %d sequences, %d bp", snakemake.input.genome, len(sizes),  # noqa: F821
         sum(sizes.values()))
