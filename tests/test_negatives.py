import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqcnn.data import negatives as ng
from seqcnn.data import regions as rg
from seqcnn.data.fasta import write_fasta
from seqcnn.data.genome import Genome, base_fractions, prepare_fasta
from seqcnn.errors import ConfigError
from seqcnn.simulate import genome as simulate

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sim_dataset(tmp_path_factory):
    """A simulated genome with GC-rich (CTCF) peaks, prepared and resized to 200 bp."""
    from seqcnn import jaspar

    tmp = tmp_path_factory.mktemp("sim")
    m = jaspar.fetch(["MA0139.2"])[0]
    genome, peaks, _ = simulate.simulate_dataset(
        {"A": [(m.matrix_id, m.name, m.probabilities())]}, {"A": 300}, 0, n_chroms=4,
        chrom_length=400_000, seed=3, edge_cases=False)
    write_fasta(tmp / "g.fa", genome.chroms)
    fai = prepare_fasta(tmp / "g.fa", tmp / "p" / "g.fa")
    g = Genome(tmp / "p" / "g.fa")
    pos = rg.resize(peaks.drop(columns="task").assign(file="x", line=1), 200)
    pos = pos[["chrom", "start", "end", "name", "strand", "summit", "file", "line"]]
    pos["A"] = np.uint8(1)
    return g, fai, pos


def _write_genome(tmp: Path, n_chroms: int, length: int, n_gaps: int, seed: int
                  ) -> tuple[Genome, Path, pd.DataFrame]:
    """Random chromosomes whose GC varies by 5-kb block (0.3-0.65), with ``n_gaps`` N runs
    of 100-400 bp per chromosome; returns the genome, its .fai and the gaps (chrom, start,
    end)."""
    rng = np.random.default_rng(seed)
    chroms, gaps = {}, []
    for k in range(n_chroms):
        gc = np.repeat(rng.uniform(0.3, 0.65, size=-(-length // 5000)), 5000)[:length]
        strong = rng.random(length) < gc
        pick = rng.integers(0, 2, size=length)
        seq = np.where(strong, np.array([ord("C"), ord("G")])[pick],
                       np.array([ord("A"), ord("T")])[pick]).astype(np.uint8)
        name = f"chr{k + 1}"
        for s in rng.integers(0, length - 400, size=n_gaps):
            e = int(s + rng.integers(100, 400))
            seq[s:e] = ord("N")
            gaps.append((name, int(s), e))
        chroms[name] = seq
    write_fasta(tmp / "src.fa", chroms)
    fai = prepare_fasta(tmp / "src.fa", tmp / "g.fa")
    return Genome(tmp / "g.fa"), fai, pd.DataFrame(gaps, columns=["chrom", "start", "end"])


def _positives(genome: Genome, n: int, seq_len: int, seed: int,
               avoid: pd.DataFrame) -> pd.DataFrame:
    """``n`` random ``seq_len`` positives (region table, task ``A``) clear of ``avoid``."""
    rng = np.random.default_rng(seed)
    names = list(genome.sizes)
    rows = []
    while len(rows) < n:
        c = names[rng.integers(len(names))]
        s = int(rng.integers(0, genome.sizes[c] - seq_len))
        cand = pd.DataFrame({"chrom": [c], "start": [s], "end": [s + seq_len]})
        if not rg.overlaps(cand, avoid).any():
            rows.append((c, s, s + seq_len))
    pos = pd.DataFrame(rows, columns=["chrom", "start", "end"])
    pos["name"] = [f"p{i}" for i in range(n)]
    pos["strand"], pos["summit"], pos["file"], pos["line"] = ".", -1, "peaks.bed", 1
    pos["A"] = np.uint8(1)
    return rg.sort_regions(pos, genome.sizes)


def _overlap_each_other(regions: pd.DataFrame) -> bool:
    """Whether any two regions of the table overlap."""
    r = regions.sort_values(["chrom", "start"])
    same = r["chrom"].to_numpy()[1:] == r["chrom"].to_numpy()[:-1]
    return bool((same & (r["start"].to_numpy()[1:] < r["end"].to_numpy()[:-1])).any())


_CHILD = """
import pickle, sys
from seqcnn.data import negatives as ng
from seqcnn.data.genome import Genome
a = pickle.load(open(sys.argv[1], "rb"))
out = ng.gc_matched(a["pos"], Genome(a["fasta"]), a["seq_len"], a["ratio"], ["A"],
                    seed=a["seed"], blacklist=a["blacklist"])
pickle.dump(out, open(sys.argv[2], "wb"))
"""


def _gc_matched_in_child(tmp: Path, timeout: float, **args) -> tuple[pd.DataFrame, dict]:
    """Run :func:`ng.gc_matched` in a fresh interpreter killed after ``timeout`` seconds
    (so that a placement that never ends fails the test instead of hanging it)."""
    (tmp / "in.pkl").write_bytes(pickle.dumps(args))
    subprocess.run([sys.executable, "-c", _CHILD, tmp / "in.pkl", tmp / "out.pkl"],
                   check=True, timeout=timeout, cwd=REPO)
    return pickle.loads((tmp / "out.pkl").read_bytes())


@pytest.fixture(scope="module")
def dense(tmp_path_factory):
    """The genome of issue 15: 4 chromosomes of 40 kb, 240 peaks of 200 bp (their ± seq_len
    zones cover most of it), a few N gaps and a blacklist."""
    tmp = tmp_path_factory.mktemp("dense")
    g, _, gaps = _write_genome(tmp, 4, 40_000, 3, seed=1)
    blacklist = pd.DataFrame({"chrom": ["chr1", "chr3"], "start": [1000, 20_000],
                              "end": [3000, 21_000]})
    pos = _positives(g, 240, 200, seed=2, avoid=pd.concat([gaps, blacklist]))
    return tmp, g, gaps, blacklist, pos


def test_dense_genome_returns_with_the_shortfall_per_gc_bin(dense):
    tmp, g, gaps, blacklist, pos = dense
    neg, info = _gc_matched_in_child(tmp, 120, pos=pos, fasta=str(g.path), seq_len=200,
                                     ratio=1.0, seed=0, blacklist=blacklist)
    assert 0 < len(neg) < len(pos)
    assert info["n"] == len(neg) and info["shortfall"] == len(pos) - len(neg)
    by_bin = info["shortfall_by_gc"]
    assert sum(b["short"] for b in by_bin) == info["shortfall"]
    assert all(b["short"] > 0 and b["short"] <= b["needed"] for b in by_bin)
    # each bin named by its GC range, and the bins short are bins the positives occupy
    pos_gc, _ = base_fractions(g, pos)
    pos_bin = (pos_gc / ng.GC_BIN_WIDTH).astype(int)
    for b in by_bin:
        lo, hi = (float(x) for x in b["gc"].split("-"))
        assert hi - lo == pytest.approx(ng.GC_BIN_WIDTH)
        assert (pos_bin == round(lo / ng.GC_BIN_WIDTH)).sum() == b["needed"] > 0
    # the free space was used up (no non-overlapping window of 200 bp is left in it)
    assert info["candidates"] == info["capacity"] <= info["free_bp"] // 200


def test_negatives_avoid_positives_blacklist_n_gaps_and_each_other(tmp_path):
    g, _, gaps = _write_genome(tmp_path, 3, 150_000, 60, seed=4)
    blacklist = pd.DataFrame({"chrom": ["chr1", "chr2", "chr2"], "start": [10_000, 0, 90_000],
                              "end": [30_000, 5_000, 91_000]})
    pos = _positives(g, 150, 200, seed=5, avoid=pd.concat([gaps, blacklist]))
    neg, info = _gc_matched_in_child(tmp_path, 120, pos=pos, fasta=str(g.path), seq_len=200,
                                     ratio=2.0, seed=0, blacklist=blacklist)
    assert len(neg) + info["shortfall"] == 2 * len(pos) and len(neg) > len(pos)
    assert (neg["end"] - neg["start"] == 200).all()
    assert ((neg["start"] >= 0) & (neg["end"] <= neg["chrom"].map(g.sizes))).all()
    wide = pos.assign(start=pos["start"] - 200, end=pos["end"] + 200)
    assert not rg.overlaps(neg, wide).any()
    assert not rg.overlaps(neg, blacklist).any()
    assert not rg.overlaps(neg, gaps).any()
    assert (base_fractions(g, neg)[1] == 0).all()  # not one N base
    assert not _overlap_each_other(neg)


def test_dense_genome_is_seeded(dense):
    tmp, g, _, blacklist, pos = dense
    a, _ = ng.gc_matched(pos, g, 200, 1.0, ["A"], seed=7, blacklist=blacklist)
    b, _ = ng.gc_matched(pos, g, 200, 1.0, ["A"], seed=7, blacklist=blacklist)
    pd.testing.assert_frame_equal(a, b)


def test_strict_shortfall_is_an_error_naming_the_keys_and_fixes(dense):
    _, g, _, blacklist, pos = dense
    with pytest.raises(ConfigError) as err:
        ng.gc_matched(pos, g, 200, 1.0, ["A"], seed=0, blacklist=blacklist, strict=True,
                      dataset="tiny")
    msg = str(err.value)
    for part in ("datasets.tiny.negative_ratio", "datasets.tiny.seq_len", "dinuc_shuffle",
                 "strict", "of the 240"):
        assert part in msg, part


def test_no_free_space_gives_no_negatives_and_says_why(dense):
    _, g, _, _, pos = dense
    neg, info = ng.gc_matched(pos, g, 20_000, 1.0, ["A"], seed=0)  # wider than any gap
    assert len(neg) == 0 and info["capacity"] == 0 and info["shortfall"] == 240
    assert "no room" in ng.shortfall_message(info, "tiny")


def test_shortfall_message_tells_room_from_gc():
    """Room for more windows than were drawn: the lack is GC, not space; the message says
    which, per bin, and only the strict one points at strict: false."""
    summary = {"n": 90, "shortfall": 10, "ratio": 1.0, "n_positives": 100, "seq_len": 500,
               "capacity": 10_000, "candidates": 500, "free_bp": 6_000_000,
               "shortfall_by_gc": [{"gc": "0.78-0.80", "needed": 12, "short": 10}]}
    msg = ng.shortfall_message(summary, "hg")
    assert "placed 90 of the 100" in msg and "0.78-0.80: 10" in msg
    assert "too few of them have the positives' GC" in msg and "strict: true" in msg
    assert "strict: false" in ng.shortfall_message(summary, "hg", strict=True)


def test_place_windows_tiles_the_free_space_when_asked_for_more():
    free = pd.DataFrame({"chrom": ["c1", "c1", "c2"], "start": [0, 1500, 100],
                         "end": [1000, 1699, 750]})
    rng = np.random.default_rng(0)
    out = ng.place_windows(free, 100, 200, rng)
    # 1000 bp hold 5, 199 bp none, 650 bp hold 3: 8 in all, never more
    assert len(out) == 8 and (out.groupby("chrom").size() == pd.Series({"c1": 5, "c2": 3})).all()
    assert not _overlap_each_other(out)
    inside = [((free["chrom"] == r.chrom) & (free["start"] <= r.start) & (free["end"] >= r.end)
               ).any() for r in out.itertuples()]
    assert all(inside)
    fewer = ng.place_windows(free, 4, 200, rng)
    assert len(fewer) == 4 and not _overlap_each_other(fewer)


def test_free_space_subtracts_and_merges():
    sizes = {"c1": 1000, "c2": 500}
    excl = pd.DataFrame({"chrom": ["c1", "c1", "c1", "c3"], "start": [100, 150, 600, 0],
                         "end": [200, 300, 700, 50]})
    free = ng.free_space(sizes, excl, min_length=50)
    assert free.values.tolist() == [["c1", 0, 100], ["c1", 300, 600], ["c1", 700, 1000],
                                    ["c2", 0, 500]]
    assert ng.free_space(sizes, excl, min_length=301)["chrom"].tolist() == ["c2"]


def test_n_gaps_are_found_across_chunks(tmp_path):
    seq = np.full(10_000, ord("A"), np.uint8)
    seq[0:10], seq[995:1010], seq[9990:] = ord("N"), ord("n"), ord("N")
    write_fasta(tmp_path / "g.fa", {"c": seq})
    prepare_fasta(tmp_path / "g.fa", tmp_path / "p.fa")
    gaps = ng.n_gaps(Genome(tmp_path / "p.fa"), chunk=1000)
    assert gaps.values.tolist() == [["c", 0, 10], ["c", 995, 1010], ["c", 9990, 10_000]]


def test_gc_matched_negatives_match_gc_and_avoid_positives(sim_dataset):
    g, fai, pos = sim_dataset
    neg, info = ng.gc_matched(pos, g, 200, 1.0, ["A"], seed=0)
    assert len(neg) == len(pos) - info["shortfall"] and info["shortfall"] <= 0.02 * len(pos)
    pos_gc, _ = base_fractions(g, pos)
    neg_gc, neg_n = base_fractions(g, neg)
    assert abs(np.median(pos_gc) - np.median(neg_gc)) < 0.02
    # the quartiles match too, not only the median
    assert np.allclose(np.quantile(pos_gc, [0.25, 0.75]), np.quantile(neg_gc, [0.25, 0.75]),
                       atol=0.02)
    assert (neg_n <= 0.1).all()
    assert (neg["end"] - neg["start"] == 200).all()
    assert (neg["A"] == 0).all() and (neg["source"] == "background").all()
    # no negative within seq_len of a positive
    wide = pos.assign(start=pos["start"] - 199, end=pos["end"] + 199)
    assert not rg.overlaps(neg, wide).any()
    # seeded: same seed, same negatives; other seed, other negatives
    again, _ = ng.gc_matched(pos, g, 200, 1.0, ["A"], seed=0)
    pd.testing.assert_frame_equal(neg, again)
    other, _ = ng.gc_matched(pos, g, 200, 1.0, ["A"], seed=1)
    assert not neg["start"].equals(other["start"])


def test_negative_ratio(sim_dataset):
    g, fai, pos = sim_dataset
    neg, info = ng.gc_matched(pos, g, 200, 2.0, ["A"], seed=0)
    assert len(neg) + info["shortfall"] == 2 * len(pos)
    shuf, _ = ng.dinucleotide_shuffled(pos, 1.5, ["A"], seed=0)
    assert len(shuf) == len(pos) + round(0.5 * len(pos))
    assert (shuf["source"] == "shuffle").all() and shuf["name"].is_unique


def test_match_gc_counts_shortfall_instead_of_inventing():
    rng = np.random.default_rng(0)
    pos = np.full(100, 0.8)
    cand = np.concatenate([np.full(30, 0.8), np.full(500, 0.3)])
    idx, short = ng.match_gc(pos, cand, 1.0, rng)
    assert len(idx) == 30 and short.sum() == 70  # never borrows from far-away GC
    assert short[int(0.8 / ng.GC_BIN_WIDTH)] == 70  # and owes it to the 0.80-0.82 bin


def test_user_negatives_remove_overlaps_and_sample(sim_dataset):
    _, _, pos = sim_dataset
    cand = pos.copy()
    cand["start"] += 100_000_000  # off the positives (coordinates only matter here)
    cand["end"] += 100_000_000
    cand = pd.concat([cand, pos.iloc[:10]], ignore_index=True)
    neg, info = ng.user_negatives(cand, pos, 0.5, ["A"], seed=0)
    assert info["removed_overlapping_positives"] == 10
    assert len(neg) == round(0.5 * len(pos))
    assert not rg.overlaps(neg, pos).any()
