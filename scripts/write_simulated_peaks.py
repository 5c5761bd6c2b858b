"""Write one task's simulated peaks as a gzipped narrowPeak file."""

from seqcnn.logs import get_logger
from seqcnn.simulate import write_task_peaks

sm = snakemake  # noqa: F821
log = get_logger("write_simulated_peaks", sm.log[0])
n = write_task_peaks(sm.input.peaks, sm.wildcards.task, sm.output.peaks)
log.info("%s: %d peaks written (plus one duplicated line)", sm.wildcards.task, n)
