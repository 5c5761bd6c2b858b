"""What the Snakemake workflow does with its config before it builds the DAG: schema check
and defaults (:mod:`~seqcnn.workflow.config_check`), sweeps
(:mod:`~seqcnn.workflow.sweeps`), the whole resolution (:mod:`~seqcnn.workflow.config`)
and resource estimates per rule (:mod:`~seqcnn.workflow.resources`, which needs torch).

Standard library, ``jsonschema`` and ``yaml`` only at import time (both come with
Snakemake), so that a cluster head node without torch or numpy can build the DAG.
"""
