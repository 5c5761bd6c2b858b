from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


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
