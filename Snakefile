import sys

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


# plain messages naming the key first; then Snakemake's validate fills the defaults
sys.path.insert(0, workflow.basedir)
from seqcnn.config_check import check_config

check_config(config, f"{workflow.basedir}/config/config.schema.yaml")
validate(config, "config/config.schema.yaml")


include: "rules/common.smk"
include: "rules/simulate.smk"
include: "rules/regions.smk"
include: "rules/sequences.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/interpret.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        all_outputs(),
