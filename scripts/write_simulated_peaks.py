"""Write one task's simulated peaks as a gzipped narrowPeak file."""

import pandas as pd

from seqcnn.logs import get_logger
from seqcnn.simulate import genome as simulate

task = snakemake.wildcards.task  # noqa: F821
log = get_logger("write_simulated_peaks", snakemake.log[0])  # noqa: F821
peaks = pd.read_csv(snakemake.input.peaks, sep="\t", dtype={"chrom": str})  # noqa: F821
mine = peaks[peaks["task"] == task]
if mine.empty:
    raise ValueError(f"task {task!r} is not in {snakemake.input.peaks}")  # noqa: F821
simulate.write_narrowpeak(mine, snakemake.output.peaks)  # noqa: F821
log.info("%s: %d peaks written (plus one duplicated line)", task, len(mine))
