"""What the Snakemake workflow does with its config before it builds the DAG: schema check
and defaults (:mod:`~seqcnn.workflow.config_check`), sweeps
(:mod:`~seqcnn.workflow.sweeps`) and the whole resolution (:mod:`~seqcnn.workflow.config`).

Standard library, ``jsonschema`` and ``yaml`` only at import time (both come with
Snakemake), so that a cluster head node without torch or numpy can build the DAG.
"""
