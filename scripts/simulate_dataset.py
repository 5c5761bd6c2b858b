"""Build a synthetic genome with planted JASPAR motifs, its peaks and truth table."""

from seqcnn import jaspar
from seqcnn.data.fasta import write_fasta
from seqcnn.logs import get_logger
from seqcnn.simulate import genome as simulate

cfg = snakemake.params.cfg  # noqa: F821
out = snakemake.output  # noqa: F821
log = get_logger("simulate_dataset", snakemake.log[0])  # noqa: F821

motifs = {}
for task, spec in cfg["tasks"].items():
    found = jaspar.fetch(spec["motifs"], cfg["release"])
    motifs[task] = [(m.matrix_id, m.name, m.probabilities()) for m in found]
    log.info("task %s: motifs %s", task, ", ".join(f"{m.matrix_id} {m.name}" for m in found))

genome, peaks, truth = simulate.simulate_dataset(
    motifs,
    n_peaks={t: spec["peaks"] for t, spec in cfg["tasks"].items()},
    shared_peaks=cfg["shared_peaks"],
    n_chroms=cfg["chromosomes"],
    chrom_length=cfg["chrom_length"],
    sites_per_peak=tuple(cfg["sites_per_peak"]),
    seed=cfg["seed"],
    edge_cases=cfg["edge_cases"],
)
write_fasta(out.genome, genome.chroms)
peaks.to_csv(out.peaks, sep="\t", index=False, compression={"method": "gzip", "mtime": 0})
truth.to_csv(out.truth, sep="\t", index=False)
genome.gaps.to_csv(out.gaps, sep="\t", index=False, header=False)
log.info(
    "genome: %d chromosomes x %d bp; %d N runs; %d peaks (%d shared by all tasks, "
    "%d deliberate edge cases); %d planted motif instances",
    len(genome.chroms), cfg["chrom_length"], len(genome.gaps), len(peaks),
    cfg["shared_peaks"], int(peaks["name"].str.startswith("edge_").sum()), len(truth),
)
