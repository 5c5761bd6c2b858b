"""The whole tiny DAG, training included, through a real SLURM (single node, started by the
fixture), with profiles/slurm and snakemake-executor-plugin-slurm. The node declares two
GPUs as a generic resource (device files /dev/null and /dev/zero, see
tests/slurm/start_slurm.sh): jobs asking for --gpus=1 are scheduled, SLURM sets their
CUDA_VISIBLE_DEVICES, and the training itself runs on the CPU (no CUDA here).

Needs root and apt-get (tests/slurm/start_slurm.sh installs slurm-wlm and munge, writes
slurm.conf and starts the daemons), or a SLURM that is already installed. Where SLURM cannot
be started (not root, no SLURM and no apt-get, the start script fails) the test skips and
says why (``pytest -ra`` lists the reason); SEQCNN_REQUIRE_SLURM=1 turns that skip into a
failure (for a CI machine that must run it), SEQCNN_NO_SLURM=1 skips it on purpose.
Marked ``slurm``: a plain ``pytest`` leaves it out, ``make test`` runs it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

import pytest
import yaml

from conftest import ROOT, snakemake_bin
from test_workflow import TINY

pytestmark = pytest.mark.slurm

START = ROOT / "tests" / "slurm" / "start_slurm.sh"
PROFILE = ROOT / "profiles" / "slurm"
TARGET = "results/tiny/report.html"
# the rules of the whole DAG; train_model and attribute_sequences ask for a GPU
DAG_RULES = {"simulate_dataset", "write_simulated_peaks", "prepare_genome",
             "prepare_positives", "make_negatives", "split_regions", "build_cache",
             "write_manifest", "train_model", "train_baselines", "evaluate_model",
             "evaluate_by_chrom", "plot_training", "interpret_filters", "attribute_sequences",
             "discover_motifs", "write_report"}
GPU_RULES = {"train_model", "attribute_sequences"}


def cannot_start(reason: str):
    """Skip (SLURM cannot be started on this machine), or fail when SEQCNN_REQUIRE_SLURM=1."""
    if os.environ.get("SEQCNN_REQUIRE_SLURM") == "1":
        pytest.fail(f"SEQCNN_REQUIRE_SLURM=1 but {reason}", pytrace=False)
    pytest.skip(f"cannot start SLURM here: {reason}")


def slurm_installed() -> bool:
    return all(shutil.which(b) for b in ("slurmctld", "slurmd", "munged", "sinfo"))


@pytest.fixture(scope="module")
def slurm_partition():
    """Start (or reuse) the single-node SLURM; the partition to submit to."""
    if os.environ.get("SEQCNN_NO_SLURM") == "1":
        pytest.skip("SEQCNN_NO_SLURM=1: the real-SLURM test is switched off")
    if os.geteuid() != 0:
        cannot_start(f"{START.name} needs root to install and start slurm-wlm and munge "
                     f"(running as uid {os.geteuid()})")
    if not slurm_installed() and not shutil.which("apt-get"):
        cannot_start("slurm-wlm and munge are not installed and there is no apt-get to "
                     "install them")
    try:
        proc = subprocess.run(["bash", str(START)], capture_output=True, text=True,
                              timeout=600)
    except subprocess.TimeoutExpired:
        cannot_start(f"{START.name} did not finish in 600 s")
    if proc.returncode != 0:
        err = proc.stderr.strip().splitlines()
        why = next((line for line in reversed(err) if "ERROR" in line), err[-1] if err else "")
        cannot_start(f"{START.name} failed (exit {proc.returncode}): {why.strip()} "
                     f"(run `sudo bash {START.relative_to(ROOT)}` to see all it says)")
    print(proc.stderr, end="")
    return proc.stdout.split()[-1]


def scontrol_job(jobid: str) -> dict[str, str]:
    out = subprocess.run(["scontrol", "-o", "show", "job", jobid], capture_output=True,
                         text=True, timeout=60).stdout
    return dict(re.findall(r"(\w+)=(\S*)", out))


def test_whole_dag_runs_through_slurm(slurm_partition, tmp_path):
    work = tmp_path / "slurm run"
    work.mkdir()
    cfg = work / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY, sort_keys=False))
    cmd = [snakemake_bin(), TARGET, "-s", str(ROOT / "Snakefile"), "--directory", str(work),
           "--configfile", str(cfg), "--profile", str(PROFILE),
           "--jobs", "4", "--retries", "0", "--latency-wait", "10",
           "--default-resources", f"slurm_partition={slurm_partition}", "mem_mb=1000",
           "runtime=30",
           # no accounting on the test node: squeue answers (slurm.conf has MinJobAge=3600)
           "--slurm-status-command", "squeue",
           # poll every few seconds instead of the plugin's 40 s: the DAG is 9 levels deep
           "--slurm-init-seconds-before-status-checks", "5",
           # the node has 2 CPUs: the profile's cpus_per_gpu (4) cannot be met here
           "--set-resources", "train_model:gpu=1", "train_model:cpus_per_gpu=1",
           "attribute_sequences:gpu=1", "attribute_sequences:cpus_per_gpu=1"]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=1200)
    took = time.monotonic() - t0
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"snakemake --executor slurm failed:\n{log[-6000:]}"
    assert (work / TARGET).exists()
    for rel in ("cache/test.onehot.npy", "small/model.pt", "small/eval/metrics.tsv",
                "small/interpret/motifs.tsv"):
        assert (work / "results" / "tiny" / rel).exists(), rel

    # every job went through sbatch, ran on the node and finished there
    jobids = re.findall(r"has been submitted with SLURM jobid (\d+)", log)
    n_jobs = re.search(r"(\d+) of (\d+) steps \(100%\) done", log)
    assert n_jobs, log[-3000:]
    assert len(jobids) == int(n_jobs.group(2)) == len(set(jobids)), (jobids, n_jobs[0])
    rules = set()
    for jobid in jobids:
        info = scontrol_job(jobid)
        assert info.get("JobState") == "COMPLETED", (jobid, info)
        assert info.get("ExitCode") == "0:0" and info.get("Partition") == slurm_partition
        rule = re.sub(r"^rule_|_wildcards_.*$", "", info.get("Comment", ""))
        rules.add(rule)
        tres = info.get("TresPerJob", "") + info.get("TresPerNode", "")
        assert ("gpu" in tres) == (rule in GPU_RULES), (rule, info)  # GPU jobs got one
        print(f"SLURM job {jobid}: {info.get('Comment')} {info.get('JobState')} "
              f"on {info.get('NodeList')} {tres}")
    assert rules == DAG_RULES, rules
    held = (work / "results" / "logs" / "tiny" / "small" / "train.log").read_text()
    assert "estimate for" in held and "on cpu" in held  # no CUDA: the GPU job trained on CPU
    print(f"{n_jobs[0]} through SLURM in {took:.0f} s")
