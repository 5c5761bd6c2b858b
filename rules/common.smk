# Rule scripts import the seqcnn library. Snakemake puts scripts/ on their sys.path, and
# scripts/seqcnn links to ../seqcnn, so this works inside --sdm conda environments too.

RESULTS = config["results"]
SPLITS = ["train", "valid", "test"]
SIMULATED = "resources/simulated"


wildcard_constraints:
    dataset="[A-Za-z0-9_-]+",
    simulation="[A-Za-z0-9_-]+",
    split="train|valid|test",
    task="[A-Za-z0-9_.-]+",


def dataset_config(wildcards):
    """The (schema-validated, defaults filled) config of one dataset."""
    return config["datasets"][wildcards.dataset]


def simulation_config(wildcards):
    return config["simulations"][wildcards.simulation]


def genome_fasta(wildcards):
    return dataset_config(wildcards)["genome"]


def task_names(wildcards):
    return list(dataset_config(wildcards)["tasks"])


def task_peak_files(wildcards):
    return list(dataset_config(wildcards)["tasks"].values())


def blacklist_file(wildcards):
    path = dataset_config(wildcards)["blacklist"]
    return [path] if path else []


def user_negative_file(wildcards):
    """The user's negative BED, when ``negatives`` is a path rather than a method."""
    neg = dataset_config(wildcards)["negatives"]
    return [] if neg in ("gc_matched", "dinuc_shuffle") else [neg]


def cache_files(dataset):
    return expand(
        f"{RESULTS}/{dataset}/cache/{{split}}.{{kind}}.npy",
        split=SPLITS,
        kind=["onehot", "labels"],
    ) + [f"{RESULTS}/{dataset}/cache/manifest.json"]


def all_outputs():
    """Every public output of every dataset in the config."""
    out = []
    for dataset in config["datasets"]:
        out += expand(f"{RESULTS}/{dataset}/regions/{{split}}.bed", split=SPLITS)
        out += cache_files(dataset)
    return out
