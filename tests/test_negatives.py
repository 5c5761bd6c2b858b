import numpy as np
import pandas as pd
import pytest

from seqcnn import negatives as ng
from seqcnn import regions as rg
from seqcnn import simulate
from seqcnn.genome import Genome, base_fractions, prepare_fasta


@pytest.fixture(scope="module")
def sim_dataset(tmp_path_factory):
    """A simulated genome with GC-rich (CTCF) peaks, prepared and resized to 200 bp."""
    from seqcnn import jaspar

    tmp = tmp_path_factory.mktemp("sim")
    m = jaspar.fetch(["MA0139.2"])[0]
    genome, peaks, _ = simulate.simulate_dataset(
        {"A": [(m.matrix_id, m.name, m.probabilities())]}, {"A": 300}, 0, n_chroms=4,
        chrom_length=400_000, seed=3, edge_cases=False)
    simulate.write_fasta(genome.chroms, tmp / "g.fa")
    fai = prepare_fasta(tmp / "g.fa", tmp / "p" / "g.fa")
    g = Genome(tmp / "p" / "g.fa")
    pos = rg.resize(peaks.drop(columns="task").assign(file="x", line=1), 200)
    pos = pos[["chrom", "start", "end", "name", "strand", "summit", "file", "line"]]
    pos["A"] = np.uint8(1)
    return g, fai, pos


def test_gc_matched_negatives_match_gc_and_avoid_positives(sim_dataset):
    g, fai, pos = sim_dataset
    neg, info = ng.gc_matched(pos, g, fai, 200, 1.0, ["A"], seed=0)
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
    again, _ = ng.gc_matched(pos, g, fai, 200, 1.0, ["A"], seed=0)
    pd.testing.assert_frame_equal(neg, again)
    other, _ = ng.gc_matched(pos, g, fai, 200, 1.0, ["A"], seed=1)
    assert not neg["start"].equals(other["start"])


def test_negative_ratio(sim_dataset):
    g, fai, pos = sim_dataset
    neg, info = ng.gc_matched(pos, g, fai, 200, 2.0, ["A"], seed=0)
    assert len(neg) + info["shortfall"] == 2 * len(pos)
    shuf, _ = ng.dinucleotide_shuffled(pos, 1.5, ["A"], seed=0)
    assert len(shuf) == len(pos) + round(0.5 * len(pos))
    assert (shuf["source"] == "shuffle").all() and shuf["name"].is_unique


def test_match_gc_counts_shortfall_instead_of_inventing():
    rng = np.random.default_rng(0)
    pos = np.full(100, 0.8)
    cand = np.concatenate([np.full(30, 0.8), np.full(500, 0.3)])
    idx, short = ng.match_gc(pos, cand, 1.0, rng)
    assert len(idx) == 30 and short == 70  # never borrows from far-away GC


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
