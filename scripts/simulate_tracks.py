"""Write one task's simulated bigWig: footprints at the task's planted sites of a genome
simulation, Poisson read counts over a background (seqcnn.simulate.write_task_tracks)."""

from seqcnn.logs import get_logger
from seqcnn.simulate import write_task_tracks

sm = snakemake  # noqa: F821
log = get_logger("simulate_tracks", sm.log[0])
cfg = sm.params.cfg
write_task_tracks(sm.input.genome, sm.input.truth, {sm.wildcards.task: sm.output.track},
                  cfg["params"], cfg["seed"],
                  key=f"simulations.{sm.wildcards.simulation}.tracks", log=log)
