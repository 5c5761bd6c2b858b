"""Simulate a sequence set (FASTA + labels TSV + truth table) for a preset or an example."""

import pandas as pd

from seqcnn.logs import get_logger
from seqcnn.simulate.proteins import write_seqset_files
from seqcnn.simulate.sets import simulate_set

sm = snakemake  # noqa: F821
cfg = sm.params.cfg
log = get_logger("simulate_seqset", sm.log[0])
table, truth, label_columns = simulate_set(cfg["kind"], cfg["params"], cfg["seed"])
extra = [c for c in ("split", "group") if c in table.columns]
write_seqset_files(table, sm.output.sequences, sm.output.labels,
                   label_columns=[*label_columns, *extra])
(truth if truth is not None else pd.DataFrame(columns=["id"])).to_csv(
    sm.output.truth, sep="\t", index=False)
lengths = table["sequence"].str.len()
log.info("%s (%s): %d sequences of %d-%d residues; label columns %s%s; %d planted instances",
         sm.wildcards.simulation, cfg["kind"], len(table), lengths.min(), lengths.max(),
         ", ".join(label_columns), f" (+ {', '.join(extra)})" if extra else "",
         0 if truth is None else len(truth))
