"""Build a synthetic genome with planted JASPAR motifs: genome, peaks, truth table, N runs
and the simulated variants on the test regions (seqcnn.simulate.simulate, kind genome)."""

from pathlib import Path

from seqcnn.logs import get_logger
from seqcnn.simulate import simulate

sm = snakemake  # noqa: F821
log = get_logger("simulate_dataset", sm.log[0])
cfg = dict(sm.params.cfg)
seed = cfg.pop("seed")
variants = dict(cfg.get("variants", {}))
if variants.get("regions") is None and sm.params.variant_regions is not None:
    log.info("variant regions: %s, the test split of the datasets on this genome",
             ", ".join(sm.params.variant_regions))
cfg["variants"] = {**variants, "regions": sm.params.variant_regions}
files = simulate("genome", cfg, Path(sm.output.genome).parent, seed,
                 key=f"simulations.{sm.wildcards.simulation}", log=log)
wrong = {name: path for name, path in sm.output.items() if files.get(name) != Path(path)}
if wrong:
    raise RuntimeError(f"outputs {wrong} are not the files simulate() wrote ({files})")
