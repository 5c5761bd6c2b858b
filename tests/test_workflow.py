"""The DAG end to end on tiny simulated data, config validation, lint and format."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import BIN, ROOT, snakemake_bin
from seqcnn.alphabet import one_hot, reverse_complement_seq
from seqcnn.data import regions as rg
from seqcnn.data.cache import load_cache
from seqcnn.data.genome import Genome

# every test runs Snakemake; one xdist worker runs them all (and test_design's rule test, which
# copies the build), so tiny_run is built once
pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("tiny")]

TINY = {
    "simulations": {
        "tiny": {
            "chromosomes": 5, "chrom_length": 120_000, "seed": 2, "shared_peaks": 20,
            "tasks": {"A": {"motifs": ["MA0139.2"], "peaks": 80},
                      "B": {"motifs": ["MA0080.7"], "peaks": 80}},
        }
    },
    "datasets": {
        "tiny": {
            "genome": "resources/simulated/tiny/genome.fa",
            "tasks": {"A": "resources/simulated/tiny/peaks/A.narrowPeak.gz",
                      "B": "resources/simulated/tiny/peaks/B.narrowPeak.gz"},
            "seq_len": 120,
            "split": {"valid": ["chr4"], "test": ["chr5"]},
            "models": ["small"],
            "baseline_motifs": ["MA0139.2"],
        }
    },
    "models": {"small": {"arch": "dilated", "filters": 8, "layers": 2, "first_kernel": 11}},
    "train": {"epochs": 2, "batch_size": 64},
    "evaluate": {"bootstrap": 50},
    "interpret": {"n_top": 30, "ism_top": 5, "n_shuffles": 3, "influence_max": 100,
                  "logos": 4},
}


def run_snakemake(workdir: Path, config: dict, *args: str, check: bool = True,
                  timeout: int = 600):
    cfg = workdir / "my config.yaml"
    cfg.write_text(yaml.safe_dump(config, sort_keys=False))
    cmd = [snakemake_bin(), "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(cfg), "--cores", "2", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--hide-scrollbars"]


def check_report_in_chromium(page: Path, tmp: Path, models: list[str], images_per_model: int = 4,
                             baseline: str | None = "kmer_lr") -> Path:
    """Open the report in headless Chromium as a person would: every image decoded (at least
    one plus ``images_per_model`` per model), each model's metrics table there (beside the
    ``baseline``'s rows); returns a full-page screenshot."""
    assert shutil.which("chromium"), "chromium is needed (make test installs it)"
    url = page.resolve().as_uri()
    dom = subprocess.run(CHROMIUM + [f"--user-data-dir={tmp / 'chromium-profile'}",
                                     "--dump-dom", url],
                         capture_output=True, text=True, timeout=120).stdout
    loaded = re.search(r'id="imgcheck" data-loaded="(-?\d+)" data-failed="(-?\d+)"', dom)
    assert loaded, "the page's image check did not run"
    n_ok, n_bad = int(loaded.group(1)), int(loaded.group(2))
    assert n_bad == 0 and n_ok >= 1 + images_per_model * len(models), (n_ok, n_bad)
    for m in models:
        assert f'id="metrics-{m}"' in dom and (baseline is None or baseline in dom)
    shot = tmp / "report.png"
    subprocess.run(CHROMIUM + [f"--user-data-dir={tmp / 'chromium-profile'}",
                               "--window-size=1200,3000", f"--screenshot={shot}", url],
                   capture_output=True, timeout=120)
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)
    assert pixels.shape[0] == 3000 and pixels.std() > 0.05  # not a blank page
    return shot


@pytest.fixture(scope="module")
def tiny_run(tiny_build):
    """The default DAG, to the cache, in a directory whose path has spaces (conftest's
    tiny_build: built once for the "tiny" group, test_design's rule test copies it)."""
    return tiny_build


def test_dag_builds_the_cache_as_the_output_contract_says(tiny_run):
    res = tiny_run / "results" / "tiny"
    manifest = json.loads((res / "cache" / "manifest.json").read_text())
    assert manifest["letters"] == "ACGT" and manifest["seq_len"] == 120
    assert manifest["tasks"] == ["A", "B"]
    genome = Genome(res / "genome" / "genome.fa")
    for split in ("train", "valid", "test"):
        x, y = load_cache(res / "cache" / f"{split}.onehot.npy",
                          res / "cache" / f"{split}.labels.npy")
        bed = rg.read_regions(res / "regions" / f"{split}.bed")
        assert x.dtype == np.uint8 and x.shape == (len(bed), 4, 120)
        assert y.shape == (len(bed), 2) and manifest["counts"][split]["n"] == len(bed)
        np.testing.assert_array_equal(y, bed[["A", "B"]].to_numpy())
        # rows match the BED, base for base
        for i in np.random.default_rng(0).choice(len(bed), 5, replace=False):
            r = bed.iloc[i]
            seq = genome.fetch(r.chrom, r.start, r.end)
            if r.strand == "-":
                seq = reverse_complement_seq(seq)
            np.testing.assert_array_equal(x[i], one_hot(seq))
    # drops are counted per reason (the simulation plants edge cases) and in the log
    assert manifest["dropped"]["A"] == {"unknown_chrom": 3, "off_chrom_end": 2,
                                        "blacklist": 0, "too_many_n": 1}
    log = (tiny_run / "results" / "logs" / "tiny" / "regions" / "positives.log").read_text()
    assert "dropped 3 unknown_chrom, 2 off_chrom_end, 0 blacklist, 1 too_many_n" in log
    assert manifest["merged_duplicates"] == 20 + 2  # shared peaks + one duplicate per file
    # both tasks positive on the shared peaks: multi-task from day one
    train = rg.read_regions(res / "regions" / "train.bed")
    assert ((train["A"] == 1) & (train["B"] == 1)).sum() > 0
    assert abs(manifest["negatives"]["gc_median_positives"]
               - manifest["negatives"]["gc_median_negatives"]) < 0.02
    neglog = (tiny_run / "results" / "logs" / "tiny" / "regions" / "negatives.log").read_text()
    assert "positives   negatives" in neglog and "median" in neglog
    assert (res / "regions" / "gc.png").stat().st_size > 1000
    sha = manifest["checksums"]["train.onehot.npy"]["sha256"]
    import hashlib

    assert hashlib.sha256((res / "cache" / "train.onehot.npy").read_bytes()).hexdigest() == sha


def test_no_region_of_one_split_overlaps_another(tiny_run):
    regions = tiny_run / "results" / "tiny" / "regions"
    splits = ["train", "valid", "test"]
    for i, a in enumerate(splits):
        for b in splits[i + 1:]:
            out = subprocess.run(["bedtools", "intersect", "-u", "-a", str(regions / f"{a}.bed"),
                                  "-b", str(regions / f"{b}.bed")],
                                 capture_output=True, text=True, check=True)
            assert out.stdout == "", f"{a} overlaps {b}:\n{out.stdout[:500]}"
    chroms = {s: set(rg.read_regions(regions / f"{s}.bed")["chrom"]) for s in splits}
    assert chroms["valid"] == {"chr4"} and chroms["test"] == {"chr5"}
    assert not chroms["train"] & (chroms["valid"] | chroms["test"])


def test_predictions_are_on_test_chromosomes_only(tiny_run):
    res = tiny_run / "results" / "tiny"
    pred = pd.read_csv(res / "small" / "eval" / "predictions.tsv.gz", sep="\t")
    assert list(pred.columns) == ["region", "task", "label", "score"]
    test = rg.read_regions(res / "regions" / "test.bed")
    ids = set(test["chrom"] + ":" + test["start"].astype(str) + "-" + test["end"].astype(str)
              + "(" + test["strand"] + ")")
    assert set(pred["region"]) == ids and len(pred) == 2 * len(test)
    bed = tiny_run / "pred.bed"
    coords = pred["region"].str.extract(r"^(.+):(\d+)-(\d+)\(")
    coords.drop_duplicates().to_csv(bed, sep="\t", header=False, index=False)
    assert set(coords[0]) == {"chr5"}
    for other in ("train", "valid"):
        out = subprocess.run(["bedtools", "intersect", "-u", "-a", str(bed), "-b",
                              str(res / "regions" / f"{other}.bed")],
                             capture_output=True, text=True, check=True)
        assert out.stdout == "", f"a predicted region overlaps {other}"
    metrics = pd.read_csv(res / "small" / "eval" / "metrics.tsv", sep="\t")
    assert set(metrics["model"]) == {"small", "kmer_lr", "motif_scan_lr"}
    # every test region counts once per task: positive, negative or ambiguous (masked)
    assert (metrics["n_pos"] + metrics["n_neg"] + metrics["n_ambiguous"] == len(test)).all()


def test_paired_differences_with_the_baselines_reach_the_report(tiny_run):
    """eval/vs_baselines.tsv: the model against each baseline on the same resamples, its
    auROCs those of metrics.tsv; the report quotes the difference with the k-mer baseline."""
    res = tiny_run / "results" / "tiny"
    metrics = pd.read_csv(res / "small" / "eval" / "metrics.tsv", sep="\t")
    paired = pd.read_csv(res / "small" / "eval" / "vs_baselines.tsv", sep="\t")
    assert set(paired["reference"]) == {"kmer_lr", "motif_scan_lr"}
    auroc = metrics.set_index(["model", "task"])["auroc"]
    for r in paired.itertuples():
        assert r.auroc == pytest.approx(auroc[("small", r.task)], abs=1e-4)
        assert r.auroc_reference == pytest.approx(auroc[(r.reference, r.task)], abs=1e-4)
        assert r.delta_lo <= r.delta <= r.delta_hi and r.n_boot > 0
    page = (res / "report.html").read_text()
    assert "Paired bootstrap (50 resamples of the test regions)" in page


def test_tiny_report_renders(tiny_run, tmp_path):
    check_report_in_chromium(tiny_run / "results" / "tiny" / "report.html", tmp_path, ["small"])


def test_snakemake_report(tiny_run):
    """`snakemake --report` makes a real report from the report()-marked outputs."""
    config = yaml.safe_load((tiny_run / "my config.yaml").read_text())
    out = tiny_run / "snakemake-report.zip"
    run_snakemake(tiny_run, config, "--report", str(out))
    import zipfile

    names = zipfile.ZipFile(out).namelist()
    for expected in ("gc.png", "curves.png", "train_curves.png", "motifs.tsv", "report.html"):
        assert any(n.endswith(expected) for n in names), (expected, names[:20])


def test_rerun_gives_identical_files(tiny_run, tmp_path):
    other = tmp_path / "again"
    other.mkdir()
    run_snakemake(other, TINY, "results/tiny/cache/manifest.json")  # data stages only
    for rel in ["regions/train.bed", "regions/test.bed", "cache/train.onehot.npy",
                "cache/valid.labels.npy"]:
        a = (tiny_run / "results" / "tiny" / rel).read_bytes()
        b = (other / "results" / "tiny" / rel).read_bytes()
        assert a == b, rel


def test_second_dataset_by_config_alone(tiny_run, tmp_path):
    """A second dataset (user BED with a space in its path, gzipped genome, shuffled
    negatives, automatic split) added only by editing the config."""
    sim = tiny_run / "resources" / "simulated" / "tiny"
    data = tmp_path / "user data"
    data.mkdir()
    with open(sim / "genome.fa", "rb") as fin, gzip.open(data / "genome copy.fa.gz", "wb") as f:
        shutil.copyfileobj(fin, f)
    peaks = rg.read_bed(sim / "peaks" / "A.narrowPeak.gz")
    peaks = peaks[~peaks["name"].str.startswith("edge_")]
    bed = data / "my peaks.bed"
    with open(bed, "w") as fh:
        fh.write("track name=mine\n")
        for r in peaks.itertuples():
            fh.write(f"{r.chrom}\t{r.start}\t{r.end}\t{r.name}\t0\t+\n")
    config = json.loads(json.dumps(TINY))
    config["datasets"]["second"] = {
        "genome": str(data / "genome copy.fa.gz"), "tasks": {"mine": str(bed)},
        "seq_len": 100, "negatives": "dinuc_shuffle", "negative_ratio": 2, "split": "auto",
        "models": ["small"],
    }
    work = tiny_run  # same project, tiny is already built: only the new dataset runs
    proc = run_snakemake(work, config)
    assert "prepare_positives" in proc.stderr
    res = work / "results" / "second"
    manifest = json.loads((res / "cache" / "manifest.json").read_text())
    n_pos = sum(v["positives"]["mine"] for v in manifest["counts"].values())
    n_all = sum(v["n"] for v in manifest["counts"].values())
    assert n_all == 3 * n_pos and manifest["negatives"]["method"] == "dinuc_shuffle"
    assert len(manifest["split"]["test"]) >= 1 and len(manifest["split"]["valid"]) >= 1
    x, y = load_cache(res / "cache" / "train.onehot.npy", res / "cache" / "train.labels.npy")
    assert x.shape[2] == 100 and set(np.unique(y)) == {0, 1}


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c["datasets"]["tiny"].update(seq_lenn=100), "'seq_lenn' was unexpected"),
        (lambda c: c["datasets"]["tiny"].update(seq_len="long"), "'long' is not of type"),
        (lambda c: c.update(colour="blue"), "'colour' was unexpected"),
        (lambda c: c["datasets"]["tiny"].update(split={"valid": ["chr1"]}), "split"),
    ],
)
def test_config_errors_name_the_key(tmp_path, edit, message):
    config = json.loads(json.dumps(TINY))
    edit(config)
    proc = run_snakemake(tmp_path, config, "-n", check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert message in out
    assert "seq_len" in out or "colour" in out or "split" in out


def test_defaults_are_filled(tmp_path):
    proc = run_snakemake(tmp_path, TINY, "-n", "--printshellcmds", check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    from snakemake.utils import validate

    config = json.loads(json.dumps(TINY))
    validate(config, str(ROOT / "config" / "config.schema.yaml"))
    ds = config["datasets"]["tiny"]
    assert ds["negatives"] == "gc_matched" and ds["negative_ratio"] == 1
    assert ds["max_n_fraction"] == 0.1 and ds["strict"] is False and ds["seed"] == 0
    assert config["results"] == "results"


def test_strict_mode_fails_on_first_drop(tmp_path):
    config = json.loads(json.dumps(TINY))
    config["datasets"]["tiny"]["strict"] = True
    proc = run_snakemake(tmp_path, config, check=False)
    assert proc.returncode != 0
    log = (tmp_path / "results" / "logs" / "tiny" / "regions" / "positives.log")
    text = proc.stderr + (log.read_text() if log.exists() else "")
    assert "A.narrowPeak.gz, line" in text and "unknown_chrom" in text


def test_lint_and_format():
    lint = subprocess.run([snakemake_bin(), "--lint", "--configfile",
                           str(ROOT / "config" / "config.yaml")], cwd=ROOT,
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "Lints for" not in lint.stdout + lint.stderr
    fmt = subprocess.run([str(BIN / "snakefmt"), "--check", "Snakefile", "rules"], cwd=ROOT,
                         capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    ruff = subprocess.run([str(BIN / "ruff"), "check", "seqcnn", "scripts", "tests",
                           "benchmarks"], cwd=ROOT, capture_output=True, text=True)
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
