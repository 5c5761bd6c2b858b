"""Shared fixtures: small genomes and region files written to a temporary directory.

Tests come in tiers (markers registered in pyproject.toml): unmarked tests are the unit
tier, which a plain ``pytest`` runs; ``workflow`` (runs Snakemake), ``slurm`` and ``gpu``
run under ``make test`` (``pytest -m ''``) or when selected with ``-m``.

Under pytest-xdist the heavy tests go first (:data:`COST`, :func:`cost`): ``make test`` runs
two workers with ``--dist loadgroup --no-loadscope-reorder``, so the collection order made
here is the order in which work is handed out, longest first, and the unit tests fill in
at the end instead of one worker idling while the other finishes a ten-minute DAG.
"""

from __future__ import annotations

import gzip
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from seqcnn.data.fasta import write_fasta
from seqcnn.data.targets import Targets

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def write_text(path: Path, text: str, gz: bool = False) -> Path:
    """Write ``text`` to ``path``, gzipped when ``gz``."""
    if gz:
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def fasta_file(path: Path, records: dict[str, str], width: int = 7, gz: bool = False) -> Path:
    """Write ``records`` (id → sequence) as FASTA with ``width`` letters a line and a
    description after each id; gzipped when ``gz``."""
    text = ""
    for name, seq in records.items():
        text += f">{name} some description\n"
        text += "".join(seq[i:i + width] + "\n" for i in range(0, len(seq), width)) or "\n"
    return write_text(path, text, gz)


def random_dna(n: int, rng: np.random.Generator, gc: float = 0.5) -> str:
    p = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
    return "".join(np.array(list("ACGT"))[rng.choice(4, size=n, p=p)])


# Targets used by test_targets, test_metrics and test_training: one per-position task
# (secondary structure, H/E/C) and a binary task beside a three-class one.
SS = Targets(("ss",), {"ss": "per_position"}, {"ss": ("H", "E", "C")})
MIXED = Targets(("bound", "family"), {"bound": "binary", "family": "multiclass"},
                {"family": ("a", "b", "c")})


def secondary_structure(n: int, seed: int, min_len: int = 40, max_len: int = 80):
    """Simulated proteins: one-hot (n, 20, max_len), labels (n, max_len) H/E/C codes with 255
    past the end, lengths (n,)."""
    from seqcnn.data.seqsets import encode_chunk, encode_position_labels, pad_position_labels
    from seqcnn.simulate.proteins import simulate_secondary_structure

    table = simulate_secondary_structure(n, np.random.default_rng(seed), min_len=min_len,
                                         max_len=max_len)
    seqs, ids = list(table["sequence"]), list(table["id"])
    x, lengths = encode_chunk(seqs, "protein", max_len)
    codes, _ = encode_position_labels(list(table["structure"]), seqs, "structure", "mem",
                                      ids, list(range(n)), "HEC")
    return x, pad_position_labels(codes, max_len), lengths


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def small_genome(tmp_path, rng):
    """A three-chromosome genome (with N runs and lowercase) prepared and indexed."""
    from seqcnn.data.genome import Genome, prepare_fasta

    chroms = {
        "chr1": random_dna(5000, rng),
        "chr2": random_dna(3000, rng).lower()[:1000] + random_dna(2000, rng),
        "chr3": "N" * 500 + random_dna(1500, rng) + "N" * 500,
    }
    src = write_fasta(tmp_path / "genome.fa", chroms, width=70)
    prepare_fasta(src, tmp_path / "prepared" / "genome.fa")
    return Genome(tmp_path / "prepared" / "genome.fa"), chroms


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory) -> Path:
    """test_workflow.TINY's whole DAG, built once per test process, in a directory whose path
    has spaces. test_workflow's tests (xdist_group "tiny") work in it; a test elsewhere in
    that group copies it with :func:`copy_project` and runs only what its config adds."""
    from test_workflow import TINY, run_snakemake

    work = tmp_path_factory.mktemp("work") / "my project dir"
    work.mkdir()
    run_snakemake(work, TINY)
    return work


def copy_project(src: Path, dst: Path) -> Path:
    """Copy the Snakemake project ``src`` to ``dst`` (outputs, .snakemake metadata,
    modification times): a run in ``dst`` finds what ``src`` built up to date."""
    shutil.copytree(src, dst, symlinks=True)
    return dst


def snakemake_bin() -> str:
    exe = BIN / "snakemake"
    return str(exe) if exe.exists() else shutil.which("snakemake")


#: Seconds of the slowest work units (an xdist group's name, or the start of a test's node
#: id) as ``make test`` measured them on 2 cores (2026-12-06: two workers); only their order
#: matters. A workflow or slurm test not listed counts DEFAULT_WORKFLOW_COST, a unit test 0
#: (it keeps its place).
COST = {
    "tests/test_demo.py::": 540,  # the whole demo (README)
    "tests/test_slurm.py::": 270,  # mostly waiting on SLURM: good beside a CPU-bound test
    "tiny": 160,  # test_workflow.py: the tiny DAG, the tests on it, test_design.py's rule
    "tests/test_presets.py::test_preset_runs_reduced[demo_portfolio]": 110,
    "tests/test_presets.py::test_preset_runs_reduced[tracks]": 100,
    "tests/test_presets.py::test_preset_runs_reduced[koo_eddy]": 96,
    "tests/test_presets.py::test_preset_runs_reduced[athaliana_promoters]": 76,
    "portfolio": 75,
    "protein": 75,
    "tests/test_presets.py::test_preset_runs_reduced[dilation]": 69,
    "tests/test_presets.py::test_preset_runs_reduced[padding]": 63,
}
DEFAULT_WORKFLOW_COST = 40


def cost(item: pytest.Item) -> float:
    """Estimated seconds of ``item``'s work unit (:data:`COST`)."""
    group = item.get_closest_marker("xdist_group")
    if group and group.args and group.args[0] in COST:
        return COST[group.args[0]]
    for start, seconds in COST.items():
        if item.nodeid.startswith(start):
            return seconds
    heavy = item.get_closest_marker("workflow") or item.get_closest_marker("slurm")
    return DEFAULT_WORKFLOW_COST if heavy else 0


def pytest_collection_modifyitems(config, items):
    """On an xdist worker, order the work units longest first (stable: an xdist group's
    tests stay together and in file order, the unit tests keep their order)."""
    if not hasattr(config, "workerinput"):
        return
    units = []
    for item in items:
        group = item.get_closest_marker("xdist_group")
        units.append(f"group:{group.args[0]}" if group and group.args else item.nodeid)
    unit_cost: dict[str, float] = {}
    first: dict[str, int] = {}
    for i, (unit, item) in enumerate(zip(units, items, strict=True)):
        unit_cost[unit] = max(unit_cost.get(unit, 0), cost(item))
        first.setdefault(unit, i)
    order = sorted(range(len(items)), key=lambda i: (-unit_cost[units[i]], first[units[i]], i))
    items[:] = [items[i] for i in order]


def pytest_report_header(config):
    expr = config.getoption("markexpr")
    return f"tiers: {'every tier' if not expr else repr(expr)} (make test runs every tier)"


def pytest_runtest_setup(item):
    if item.get_closest_marker("gpu"):
        import torch

        if not torch.cuda.is_available():
            pytest.skip("marked gpu: needs a CUDA GPU (torch.cuda.is_available() is False)")
