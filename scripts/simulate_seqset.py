"""Simulate a sequence set (FASTA + labels TSV + truth table) for a preset or an example
(seqcnn.simulate.simulate, the kinds of seqcnn.simulate.sets)."""

from pathlib import Path

from seqcnn.logs import get_logger
from seqcnn.simulate import simulate

sm = snakemake  # noqa: F821
cfg = sm.params.cfg
log = get_logger("simulate_seqset", sm.log[0])
log.info("simulation %s: kind %s, seed %s", sm.wildcards.simulation, cfg["kind"], cfg["seed"])
files = simulate(cfg["kind"], cfg["params"], Path(sm.output.sequences).parent, cfg["seed"],
                 key=f"simulations.{sm.wildcards.simulation}", log=log)
wrong = {name: path for name, path in sm.output.items() if files.get(name) != Path(path)}
if wrong:
    raise RuntimeError(f"outputs {wrong} are not the files simulate() wrote ({files})")
