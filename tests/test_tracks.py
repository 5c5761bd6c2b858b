"""bigWig tracks as data: reading, targets (counts, profile, binned), the cache files and
the simulated footprint tracks. Tiny files made in each test."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pyBigWig
import pytest

from seqcnn.data.cache import load_tracks, tracks_block
from seqcnn.data.regions import ChromNameError
from seqcnn.data.tracks import (
    TrackError,
    TrackSettings,
    track_settings,
    track_values,
    write_track_targets,
)
from seqcnn.errors import ConfigError
from seqcnn.simulate.tracks import (
    footprint,
    simulate_task_track,
    task_rng,
    write_bigwig,
    write_task_tracks,
)

SIZES = {"chr1": 3000, "chr2": 2000}


def signal(chrom: str, n: int) -> np.ndarray:
    """Known values: chr1 position i holds i, chr2 position i holds 10000 + i."""
    return np.arange(n, dtype=np.float64) + (10000 if chrom == "chr2" else 0)


def make_bigwig(path, sizes=SIZES, names=None, gap=None):
    """A bigWig of :func:`signal` per bp; ``names`` renames the chromosomes; ``gap``
    ``(chrom, start, end)`` is left without entries (NaN when read)."""
    names = names or {c: c for c in sizes}
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([(names[c], n) for c, n in sizes.items()], maxZooms=0)
    for c, n in sizes.items():
        v = signal(c, n)
        keep = np.ones(n, bool)
        if gap and gap[0] == c:
            keep[gap[1]:gap[2]] = False
        starts = np.flatnonzero(keep).astype(np.int64)
        bw.addEntries([names[c]] * len(starts), starts, ends=starts + 1, values=v[starts])
    bw.close()
    return path


def regions(rows) -> pd.DataFrame:
    """A region table as read_regions gives it: (chrom, start, end, strand) rows."""
    df = pd.DataFrame(rows, columns=["chrom", "start", "end", "strand"])
    df["name"] = [f"r{i}" for i in range(len(df))]
    df["score"] = 0
    df["source"] = "peak"
    return df


ROWS = [("chr1", 100, 200, "+"), ("chr1", 1000, 1100, "."), ("chr2", 50, 150, "-")]


def build(tmp_path, target, output_len, bin_size=None, chunk=2, rows=ROWS, **kw):
    bw = make_bigwig(tmp_path / "a.bw", **kw.pop("bw", {}))
    settings = track_settings({"seq_len": 100, "target": target, "output_len": output_len,
                               "bin_size": bin_size})
    df = regions(rows)
    chunks = [df.iloc[i:i + chunk] for i in range(0, len(df), chunk)]
    stats = write_track_targets({"A": bw, "B": bw}, chunks, len(df), settings,
                                tmp_path / "train.targets.npy", SIZES, **kw)
    return load_tracks(tmp_path, "train").targets, stats


def test_profile_is_the_centred_crop_at_known_positions(tmp_path):
    y, stats = build(tmp_path, "profile", 40)
    assert y.dtype == np.float32 and y.shape == (3, 2, 40)
    # the crop starts (100 - 40) // 2 = 30 bp into each region
    np.testing.assert_array_equal(y[0, 0], np.arange(130, 170))
    np.testing.assert_array_equal(y[1, 1], np.arange(1030, 1070))
    # a '-' strand row is reversed, as its one-hot is
    np.testing.assert_array_equal(y[2, 0], (10000 + np.arange(80, 120))[::-1])
    assert stats.minus_strand == 1 and stats.nan_bp == {"A": 0, "B": 0}
    assert stats.totals["A"] == pytest.approx(float(y[:, 0].sum()))


def test_counts_are_the_sum_over_the_central_output_len(tmp_path):
    y, stats = build(tmp_path, "counts", 10)
    assert y.shape == (3, 2)
    # region chr1:100-200, crop 145..155: sum of 145..154
    assert y[0, 0] == sum(range(145, 155)) == y[0, 1]
    assert y[2, 0] == sum(10000 + i for i in range(95, 105))
    assert stats.totals["A"] == pytest.approx(sum(range(145, 155)) + sum(range(1045, 1055))
                                              + sum(10000 + i for i in range(95, 105)))


def test_bins_are_sums_of_consecutive_bins(tmp_path):
    y, _ = build(tmp_path, "binned", 60, bin_size=20)
    assert y.shape == (3, 2, 3)
    # region chr1:1000-1100, crop 1020..1080 in bins of 20
    assert y[1, 0].tolist() == [sum(range(1020, 1040)), sum(range(1040, 1060)),
                                sum(range(1060, 1080))]


def test_missing_values_read_as_zero_and_are_counted(tmp_path):
    # no entries over chr1:1040-1060: 20 bp of region 2's crop 1030..1070, for each track
    y, stats = build(tmp_path, "profile", 40, bw={"gap": ("chr1", 1040, 1060)})
    assert stats.nan_bp == {"A": 20, "B": 20}
    assert (y[1, 0, 10:30] == 0).all() and y[1, 0, 9] == 1039 and y[1, 0, 30] == 1060
    tally = {}
    vals = track_values(tmp_path / "a.bw", "chr1", np.array([1035, 1050]), 10, tally)
    assert tally["nan_bp"] == 5 + 10 and vals[0].tolist() == [1035, 1036, 1037, 1038, 1039,
                                                              0, 0, 0, 0, 0]


def test_chromosome_names_are_checked_as_for_bed(tmp_path):
    names = {"chr1": "1", "chr2": "2"}
    with pytest.raises(ChromNameError, match=r"add the 'chr' prefix.*chrom_aliases"):
        build(tmp_path, "counts", 10, bw={"names": names})
    # with chrom_aliases (alias -> genome name) the same file works
    y, _ = build(tmp_path, "counts", 10, bw={"names": names},
                 aliases={"1": "chr1", "2": "chr2"})
    assert y[0, 0] == sum(range(145, 155))


def test_regions_on_a_chromosome_the_bigwig_lacks_name_it(tmp_path):
    bw = make_bigwig(tmp_path / "a.bw", sizes={"chr1": 3000})
    settings = TrackSettings("counts", 100, 10)
    with pytest.raises(TrackError, match=r"a\.bw \(tracks\.A\): 1 region\(s\).*'chr2'"):
        write_track_targets({"A": bw}, [regions(ROWS)], 3, settings,
                            tmp_path / "train.targets.npy", SIZES)
    assert not (tmp_path / "train.targets.npy").exists()
    assert not (tmp_path / "train.targets.npy.tmp").exists()


def test_another_assembly_is_an_error(tmp_path):
    bw = make_bigwig(tmp_path / "a.bw", sizes={"chr1": 2999, "chr2": 2000})
    with pytest.raises(TrackError, match="chr1 is 2999 bp in the bigWig but 3000"):
        write_track_targets({"A": bw}, [regions(ROWS)], 3, TrackSettings("counts", 100, 10),
                            tmp_path / "t.npy", SIZES)


def test_bad_files_name_the_file_and_the_fix(tmp_path):
    settings = TrackSettings("counts", 100, 10)
    args = ([regions(ROWS)], 3, settings, tmp_path / "t.npy", SIZES)
    with pytest.raises(TrackError, match=r"nope\.bw \(tracks\.A\): bigWig file not found"):
        write_track_targets({"A": tmp_path / "nope.bw"}, *args)
    (tmp_path / "peaks.bedGraph").write_text("chr1\t0\t10\t1.0\n")
    with pytest.raises(TrackError, match=r"not a bigWig file.*bedGraphToBigWig"):
        write_track_targets({"A": tmp_path / "peaks.bedGraph"}, *args)
    shuffled = regions(ROWS).assign(source=["peak", "shuffle", "peak"])
    with pytest.raises(TrackError, match="1 region.*shuffled.*gc_matched"):
        write_track_targets({"A": make_bigwig(tmp_path / "a.bw")}, [shuffled], 3, settings,
                            tmp_path / "t.npy", SIZES)


@pytest.mark.parametrize("cfg, match", [
    ({"output_len": 200}, "output_len is 200, longer than seq_len 100"),
    ({"target": "binned", "output_len": 50, "bin_size": 20},
     "bin_size 20 does not divide output_len 50; use a divisor \\(e.g. 25\\)"),
    ({"target": "binned"}, "needs a positive integer bin size"),
    ({"target": "profile", "bin_size": 10}, "applies to target: binned only"),
    ({"target": "bins"}, "target is 'bins'"),
])
def test_settings_errors_name_the_key(cfg, match):
    with pytest.raises(ConfigError, match=match):
        track_settings({"seq_len": 100, **cfg}, key="datasets.atac")


def test_settings_defaults_and_manifest_block():
    s = track_settings({"seq_len": 100})
    assert (s.target, s.output_len, s.bin_size, s.offset) == ("counts", 100, None, 0)
    assert track_settings({"seq_len": 101, "output_len": 50}).offset == 25
    stats = [{"split": "train", "signal": "targets", "target": "binned", "output_len": 60,
              "bin_size": 20, "n": 3, "shape": [3, 1, 3], "totals": {"A": 5.0},
              "nan_bp": {"A": 0}, "minus_strand_reversed": 1, "sha256": "x"}]
    block = tracks_block({"seq_len": 100, "tracks": {"A": "a.bw"}}, stats)
    assert block["target"] == "binned" and block["bin_size"] == 20
    assert block["per_split"]["train"]["totals"] == {"A": 5.0}
    assert block["controls_per_split"] == {}


# --------------------------------------------------------------------------- simulation


def sim_genome(seed=0):
    rng = np.random.default_rng(seed)
    chroms = {c: np.frombuffer(b"ACGT", np.uint8)[rng.integers(4, size=n)].copy()
              for c, n in {"chr1": 20000, "chr2": 12000}.items()}
    pwm = np.full((4, 6), 0.02)
    pwm[[0, 1, 2, 3, 0, 1], range(6)] = 0.94  # consensus ACGTAC
    sites = []
    for c, seq in chroms.items():
        for k, pos in enumerate(range(500, len(seq) - 500, 1000)):
            strand = "+" if k % 2 == 0 else "-"
            inst = np.array([0, 1, 2, 3, 0, 1])
            if strand == "-":
                inst = (3 - inst)[::-1]
            seq[pos:pos + 6] = np.frombuffer(b"ACGT", np.uint8)[inst]
            sites.append((c, pos, pos + 6, strand, "M1", "toy", "T", f"p{k}"))
    truth = pd.DataFrame(sites, columns=["chrom", "start", "end", "strand", "motif_id",
                                         "motif_name", "task", "peak"])
    return chroms, truth, {"M1": pwm}


PARAMS = {"depth": 200.0, "background": 0.05, "shift": 20, "sigma": 5.0, "dip": 0.9,
          "asymmetry": 0.7}


def test_footprint_has_two_offset_peaks_a_dip_and_flips_with_strand():
    plus, off = footprint(6, "+", PARAMS)
    minus, _ = footprint(6, "-", PARAMS)
    x = np.arange(len(plus)) + off  # bp from the motif's start; centre 2.5
    five, three = np.argmax(np.where(x < 0, plus, 0)), np.argmax(np.where(x > 5, plus, 0))
    assert x[five] in (-18, -17) and x[three] in (22, 23)
    assert plus[five] / plus[three] == pytest.approx(0.7 / 0.3, rel=1e-6)
    np.testing.assert_allclose(minus, plus[::-1])
    assert plus[(x >= 0) & (x < 6)].max() < 0.05 * plus.max()


def test_simulated_track_peaks_at_sites_and_is_strand_specific():
    chroms, truth, pwms = sim_genome()
    counts, strengths = simulate_task_track(chroms, truth, pwms, PARAMS,
                                            np.random.default_rng(3))
    assert (strengths > 0.9).all()  # consensus instances
    around = np.array([counts[r.chrom][r.start - 30:r.end + 30].sum()
                       for r in truth.itertuples()])
    background = np.mean([v[200:400].mean() for v in counts.values()])
    assert 0.02 < background < 0.1
    assert around.mean() / 66 > 30 * background  # per bp: sites >> background
    # 5' flank (motif orientation) carries ~70 % of a site's reads
    left = np.array([counts[r.chrom][r.start - 30:r.start - 5].sum() for r in truth.itertuples()])
    right = np.array([counts[r.chrom][r.end + 5:r.end + 30].sum() for r in truth.itertuples()])
    plus = (truth["strand"] == "+").to_numpy()
    frac = np.where(plus, left, right) / (left + right)
    assert 0.6 < frac.mean() < 0.8
    assert (left[plus] > right[plus]).mean() > 0.9 and (right[~plus] > left[~plus]).mean() > 0.9


def test_write_task_tracks_round_trips_and_is_deterministic(tmp_path):
    from seqcnn.data.fasta import write_fasta

    chroms, truth, pwms = sim_genome()
    write_fasta(tmp_path / "genome.fa", chroms)
    truth.to_csv(tmp_path / "truth.tsv", sep="\t", index=False)
    paths = [write_task_tracks(tmp_path / "genome.fa", tmp_path / "truth.tsv",
                               {"T": tmp_path / f"{k}/T.bw"}, PARAMS, seed=5,
                               log=logging.getLogger("t"), pwms=pwms)["T"] for k in "ab"]
    assert paths[0].read_bytes() == paths[1].read_bytes()
    bw = pyBigWig.open(str(paths[0]))
    assert bw.chroms() == {"chr1": 20000, "chr2": 12000}
    expected, _ = simulate_task_track(chroms, truth, pwms, PARAMS, task_rng(5, "T"))
    got = track_values(paths[0], "chr2", np.array([0]), 12000)[0]
    np.testing.assert_array_equal(got, expected["chr2"])
    with pytest.raises(ConfigError, match="task 'X' has no planted sites"):
        write_task_tracks(tmp_path / "genome.fa", tmp_path / "truth.tsv",
                          {"X": tmp_path / "X.bw"}, PARAMS, seed=5, pwms=pwms)


def test_write_bigwig_stores_runs_exactly(tmp_path):
    v = {"chr1": np.array([0, 0, 3, 3, 3, 1, 0], dtype=np.float32)}
    write_bigwig(tmp_path / "x.bw", v, {"chr1": 7})
    np.testing.assert_array_equal(track_values(tmp_path / "x.bw", "chr1", np.array([0]), 7)[0],
                                  v["chr1"])


# --------------------------------------------------------------------------- the rules


@pytest.mark.workflow
def test_rules_write_targets_beside_the_one_hot_and_leave_other_datasets_alone(tmp_path):
    import json
    import subprocess

    import yaml

    from conftest import ROOT, snakemake_bin

    sim = "resources/simulated/tiny"
    base = {"genome": f"{sim}/genome.fa", "seq_len": 120,
            "tasks": {"A": f"{sim}/peaks/A.narrowPeak.gz", "B": f"{sim}/peaks/B.narrowPeak.gz"},
            "split": {"valid": ["chr4"], "test": ["chr5"]}, "models": ["small"]}
    config = {
        "simulations": {"tiny": {
            "chromosomes": 5, "chrom_length": 120_000, "seed": 2, "shared_peaks": 20,
            "tasks": {"A": {"motifs": ["MA0139.2"], "peaks": 80},
                      "B": {"motifs": ["MA0080.7"], "peaks": 80}},
            "variants": {"break": 0, "create": 0, "random": 0, "indel": 0},
            "tracks": {"depth": 300}}},
        "datasets": {
            "plain": base,
            "trk": {**base, "tracks": {"A": f"{sim}/tracks/A.bw", "B": f"{sim}/tracks/B.bw"},
                    "controls": {"bias": f"{sim}/tracks/B.bw"},
                    "target": "binned", "output_len": 100, "bin_size": 10}},
        "models": {"small": {"arch": "dilated", "filters": 8, "layers": 2}},
    }
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(config, sort_keys=False))
    targets = [f"results/{d}/cache/manifest.json" for d in ("plain", "trk")]
    cmd = [snakemake_bin(), "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
           "--configfile", str(cfg), "--cores", "2", *targets]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "simulate_tracks" in proc.stderr and "extract_track_targets" in proc.stderr
    plain = tmp_path / "results/plain/cache"
    assert not list(plain.glob("*.targets.*"))
    assert "tracks" not in json.loads((plain / "manifest.json").read_text())
    cache = tmp_path / "results/trk/cache"
    manifest = json.loads((cache / "manifest.json").read_text())
    block = manifest["tracks"]
    assert (block["target"], block["output_len"], block["bin_size"]) == ("binned", 100, 10)
    for split in ("train", "valid", "test"):
        tr = load_tracks(cache, split)
        onehot = np.load(cache / f"{split}.onehot.npy", mmap_mode="r")
        assert tr.targets.shape == (len(onehot), 2, 10) and tr.controls.shape == (len(onehot),
                                                                                  1, 10)
        totals = tr.targets.sum(axis=(0, 2), dtype=np.float64)
        assert block["per_split"][split]["totals"]["A"] == pytest.approx(totals[0], rel=1e-6)
        assert f"{split}.targets.npy" in manifest["checksums"]
        np.testing.assert_array_equal(tr.controls[:, 0], tr.targets[:, 1])
    # signal follows the peaks: task A's positives carry far more A reads than negatives
    tr = load_tracks(cache, "train")
    labels = np.load(cache / "train.labels.npy")
    a = tr.targets[:, 0].sum(axis=1)
    assert a[labels[:, 0] == 1].mean() > 10 * a[(labels == 0).all(axis=1)].mean()
