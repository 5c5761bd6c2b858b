"""What a user sees when something is wrong, through the workflow: config typos fail at
start-up naming the key and the allowed values; a failing rule's log ends with one plain
FAILED line (a torchrun worker's failure: test_distributed)."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import ROOT, random_dna, snakemake_bin
from seqcnn.data.fasta import write_fasta

TINY = {
    "simulations": {
        "tiny": {"chromosomes": 3, "chrom_length": 40_000, "seed": 2,
                 "tasks": {"A": {"motifs": ["MA0139.2"], "peaks": 20}}},
    },
    "datasets": {
        "tiny": {
            "genome": "resources/simulated/tiny/genome.fa",
            "tasks": {"A": "resources/simulated/tiny/peaks/A.narrowPeak.gz"},
            "seq_len": 100,
            "split": {"valid": ["chr2"], "test": ["chr3"]},
            "models": ["small"],
        }
    },
    "models": {"small": {"arch": "dilated", "filters": 8, "layers": 2}},
}


def run_snakemake(workdir: Path, config: dict, *args: str) -> subprocess.CompletedProcess:
    cfg = workdir / "config.yaml"
    cfg.write_text(yaml.safe_dump(config, sort_keys=False))
    cmd = [snakemake_bin(), "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(cfg), "--cores", "2", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def _set(config: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        config = config[key]
    config[last] = value


def _rename_model(config: dict) -> None:
    config["models"]["my model"] = config["models"].pop("small")
    config["datasets"]["tiny"]["models"] = ["my model"]


def _rename_simulation(config: dict) -> None:
    config["simulations"]["my sim"] = config["simulations"].pop("tiny")


@pytest.mark.workflow
@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda c: _set(c, "datasets.tiny.negatives", "gc_match"),
         ["datasets.tiny.negatives", "'gc_match'", "gc_matched", "dinuc_shuffle", ".bed"]),
        (_rename_model, ["models", "'my model'", "letters, digits"]),
        (_rename_simulation, ["simulations", "'my sim'", "letters, digits"]),
        (lambda c: _set(c, "datasets.tiny.models", ["small", "tiny model"]),
         ["datasets.tiny.models", "'tiny model'"]),
        (lambda c: _set(c, "models.small.pool", "global_maximum"),
         ["models.small.pool", "'global_maximum'", "global_max", "global_avg"]),
        (lambda c: _set(c, "models.small.activation", "ReLU"),
         ["models.small.activation", "relu", "exp"]),
        (lambda c: _set(c, "models.small.arch", "dilate"),
         ["models.small.arch", "'dilate'", "dilated", "danq"]),
        (lambda c: c.update(train={"device": "gpu"}), ["train.device", "'gpu'", "cuda:N"]),
        (lambda c: c.update(train={"num_workers": "many"}), ["train.num_workers", "auto"]),
        (lambda c: c.update(train={"padding": "zero"}), ["train", "'padding' was unexpected"]),
    ],
    ids=["negatives", "model-name", "simulation-name", "model-list", "pool", "activation",
         "arch", "device", "num_workers", "unknown-key"],
)
def test_config_typo_fails_at_start_up_naming_the_key(tmp_path, edit, expected):
    config = copy.deepcopy(TINY)
    edit(config)
    proc = run_snakemake(tmp_path, config, "-n")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    for text in expected:
        assert text in out, (text, out[-3000:])
    assert "MissingInputException" not in out and "Failed validating" not in out, out[-3000:]


@pytest.mark.workflow
def test_valid_config_values_still_pass(tmp_path):
    """The enums and patterns accept what the workflow accepts (a path for negatives, dots
    in model names, cuda:N)."""
    config = copy.deepcopy(TINY)
    config["models"] = {"small.v2": {"arch": "dilated", "pool": "global_avg",
                                     "activation": "exp", "padding": "zeros"}}
    config["datasets"]["tiny"]["models"] = ["small.v2"]
    config["datasets"]["tiny"]["negatives"] = "dinuc_shuffle"
    config["train"] = {"device": "cuda:1", "num_workers": 2}
    proc = run_snakemake(tmp_path, config, "-n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    from seqcnn.workflow.config_check import config_errors

    for negatives in ("negatives.bed", "data/negatives", "neg.bed.gz"):
        config["datasets"]["tiny"]["negatives"] = negatives
        assert config_errors(config, ROOT / "config" / "config.schema.yaml") == []


def _last_line(path: Path) -> str:
    return path.read_text().rstrip("\n").splitlines()[-1]


@pytest.mark.workflow
def test_failing_rule_log_ends_with_the_plain_message(tmp_path):
    """A malformed BED through the real DAG: the rule log Snakemake points at ends with
    ``FAILED: <file>, line N: ...``, the traceback above it at DEBUG level."""
    rng = np.random.default_rng(0)
    write_fasta(tmp_path / "genome.fa", {f"chr{i}": random_dna(4000, rng) for i in (1, 2, 3)})
    (tmp_path / "bad.bed").write_text("chr1\t100\t300\nchr1\t900\t700\n")
    config = {"datasets": {"bad": {"genome": "genome.fa", "tasks": {"A": "bad.bed"},
                                   "seq_len": 100, "split": {"valid": ["chr2"],
                                                             "test": ["chr3"]}}}}
    proc = run_snakemake(tmp_path, config)
    assert proc.returncode != 0
    log = tmp_path / "results" / "logs" / "bad" / "regions" / "positives.log"
    text = log.read_text()
    last = _last_line(log)
    assert " ERROR FAILED: " in last and "bad.bed, line 2" in last, text
    assert "Traceback" in text and text.index("Traceback") < text.index("ERROR FAILED")
    assert str(log.relative_to(tmp_path)) in proc.stdout + proc.stderr
