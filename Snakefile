import sys

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


# Rule scripts import the seqcnn library too: Snakemake puts scripts/ on their sys.path, and
# scripts/seqcnn links to ../seqcnn, so this works inside --sdm conda environments.
sys.path.insert(0, workflow.basedir)
from seqcnn.workflow.config import resolve

# schema (plain messages naming the key) and defaults, sweeps, per-kind keys, fixed_motifs
config.update(resolve(config, workflow.basedir))
# portfolio: (model choice by validation) moved out of the datasets; "chosen" added to models
from seqcnn.workflow.portfolio import apply_portfolios

PORTFOLIOS = apply_portfolios(config)


include: "rules/common.smk"
include: "rules/simulate.smk"
include: "rules/real.smk"
include: "rules/regions.smk"
include: "rules/sequences.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/interpret.smk"
include: "rules/report.smk"
include: "rules/variants.smk"
include: "rules/design.smk"
include: "rules/ensemble.smk"


rule all:
    default_target: True
    input:
        all_outputs(),
