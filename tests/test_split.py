import numpy as np
import pandas as pd
import pytest

from seqcnn.data.split import (
    DROPPED,
    assign,
    auto_blocks,
    auto_split,
    check_tasks,
    parse_split,
    resolve_split,
)
from seqcnn.errors import ConfigError, EmptyTaskError

SIZES = {"a": 10_000, "b": 5_000, "c": 3_000}


def windows(chrom: str, starts, width: int = 100) -> pd.DataFrame:
    starts = np.asarray(starts, dtype=np.int64)
    return pd.DataFrame({"chrom": chrom, "start": starts, "end": starts + width})


def test_auto_split_is_whole_chromosomes_near_ten_percent():
    counts = {f"chr{i}": n for i, n in enumerate([500, 400, 300, 250, 200, 150, 100, 100,
                                                   80, 60, 40, 20], 1)}
    s = auto_split(counts)
    total = sum(counts.values())
    for name in ("valid", "test"):
        frac = sum(counts[c] for c in s[name]) / total
        assert 0.07 <= frac <= 0.13, (name, frac)
    assert not set(s["valid"]) & set(s["test"])
    assert auto_split(dict(reversed(list(counts.items())))) == s  # order does not matter


def test_auto_split_needs_three_chromosomes():
    with pytest.raises(ValueError, match="at least 3 chromosomes"):
        auto_split({"a": 10, "b": 5})


def test_assign_whole_chromosomes_and_errors():
    df = pd.DataFrame({"chrom": ["a", "b", "c", "a"], "start": 0, "end": 100})
    out = assign(df, {"valid": ["b"], "test": ["c"]}, SIZES)
    assert out.tolist() == ["train", "valid", "test", "train"]
    with pytest.raises(ConfigError, match="chrZ, which is not a chromosome of the genome"):
        assign(df, {"valid": ["chrZ"], "test": ["c"]}, SIZES)
    with pytest.raises(ConfigError, match="valid b and test b overlap"):
        assign(df, {"valid": ["b"], "test": ["b"]}, SIZES)
    assert np.all(assign(df, {"valid": [], "test": []}, SIZES) == "train")


def test_ranges_are_one_based_inclusive_and_mix_with_chromosomes():
    spans = parse_split({"valid": ["a:1,001-2,000"], "test": ["b", "a:2001-3000"]}, SIZES)
    got = {(s.split, s.chrom, s.start, s.end) for s in spans}
    assert got == {("valid", "a", 1000, 2000), ("test", "b", 0, 5000), ("test", "a", 2000, 3000)}
    # inside a range: that split; straddling an edge: dropped; elsewhere: train
    df = pd.concat([windows("a", [1000, 1900, 1950, 2000, 2900, 2950, 5000]),
                    windows("b", [0, 4900]), windows("c", [0])], ignore_index=True)
    out = assign(df, {"valid": ["a:1001-2000"], "test": ["b", "a:2001-3000"]}, SIZES)
    assert out.tolist() == ["valid", "valid", DROPPED, "test", "test", DROPPED, "train",
                            "test", "test", "train"]


@pytest.mark.parametrize("split, message", [
    ({"valid": ["a:2000-1000"], "test": ["b"]},
     "'a:2000-1000' in valid: start after end; write a range as chrom:start-end, 1-based"),
    ({"valid": ["a:0-1000"], "test": ["b"]},
     "'a:0-1000' in valid: start 0 (ranges are 1-based: the BED interval 0-1000 is a:1-1000)"),
    ({"valid": ["a:1k-2k"], "test": ["b"]},
     "'a:1k-2k' in valid is neither a chromosome of the genome nor a range"),
    ({"valid": ["chrZ:1-100"], "test": ["b"]}, "range chrZ:1-100 in valid is on chrZ, which is "
                                               "not a chromosome of the genome (a, b, c)"),
    ({"valid": ["a:1-10001"], "test": ["b"]}, "ends past the end of a (10,000 bp)"),
    ({"valid": ["a:1-5000"], "test": ["a:4001-9000"]},
     "valid a:1-5000 and test a:4001-9000 overlap (a:4001-5000)"),
    ({"valid": ["a:1-5000", "a:4001-4500"], "test": ["b"]}, "valid a:1-5000 and valid a:4001"),
    ({"valid": ["a"], "test": ["a:1-100"]}, "valid a and test a:1-100 overlap"),
])
def test_bad_ranges_name_the_key_and_the_fix(split, message):
    with pytest.raises(ConfigError, match="split") as err:
        parse_split(split, SIZES, key="datasets.x.split")
    text = str(err.value)
    assert message in text and text.startswith("datasets.x.split:"), text


def test_adjacent_ranges_are_allowed():
    spans = parse_split({"valid": ["a:1-5000"], "test": ["a:5001-10000"]}, SIZES)
    assert [(s.start, s.end) for s in spans] == [(0, 5000), (5000, 10000)]


def single_chromosome_regions(rng: np.random.Generator, n: int = 2000, size: int = 1_000_000,
                              width: int = 200) -> pd.DataFrame:
    """Dense windows on one chromosome (many overlap), as positives and negatives."""
    starts = np.sort(rng.integers(0, size - width, size=n))
    df = windows("chr1", starts, width)
    df["source"] = np.where(rng.random(n) < 0.5, "peak", "background")
    return df


def test_auto_falls_back_to_blocks_on_one_chromosome():
    df = single_chromosome_regions(np.random.default_rng(0))
    sizes = {"chr1": 1_000_000}
    chosen, how = resolve_split("auto", df, sizes)
    assert how == "blocks"
    assert chosen == auto_blocks(df, sizes)
    assert chosen == auto_blocks(df.sample(frac=1, random_state=1), sizes)  # deterministic
    (valid,), (test,) = chosen["valid"], chosen["test"]
    assert valid.startswith("chr1:1-") and test.endswith("-1000000")
    out = assign(df, chosen, sizes)  # the logged ranges, pasted back, give the same split
    for name in ("valid", "test"):
        assert 0.08 <= (out == name).mean() <= 0.12, (name, (out == name).mean())
    assert (out == DROPPED).sum() <= 5  # cut where few windows straddle


def test_auto_blocks_with_two_chromosomes_use_the_larger_one():
    rng = np.random.default_rng(1)
    df = pd.concat([single_chromosome_regions(rng, n=300),
                    windows("plasmid", np.arange(0, 20_000, 400))], ignore_index=True)
    chosen, how = resolve_split("auto", df, {"chr1": 1_000_000, "plasmid": 20_000})
    assert how == "blocks" and chosen["valid"][0].startswith("chr1:")
    assert chosen["test"][0].startswith("chr1:")


def test_auto_keeps_whole_chromosomes_with_three():
    df = pd.concat([windows(c, np.arange(0, 2000, 200)) for c in SIZES], ignore_index=True)
    chosen, how = resolve_split("auto", df, SIZES)
    assert how == "chromosomes" and set(chosen["valid"] + chosen["test"]) <= set(SIZES)


def test_auto_blocks_need_enough_regions():
    with pytest.raises(ConfigError, match="split: auto"):
        resolve_split("auto", windows("a", [0, 500]), SIZES)


def coverage(df: pd.DataFrame, size: int) -> np.ndarray:
    """Per-base count of regions in ``df`` (one chromosome)."""
    cov = np.zeros(size + 1, dtype=np.int64)
    np.add.at(cov, df["start"].to_numpy(), 1)
    np.add.at(cov, df["end"].to_numpy(), -1)
    return np.cumsum(cov)[:size]


@pytest.mark.parametrize("split", ["auto", {"valid": ["chr1:100001-150000"],
                                            "test": ["chr1:150001-200000", "chr1:250001-280000"]}])
def test_no_base_is_in_two_splits(split):
    """Leakage: no base of any region (positive or negative) lies in two splits; windows
    are dense (no gap between them), so every edge has windows straddling it."""
    size = 300_000
    df = single_chromosome_regions(np.random.default_rng(2), n=5000, size=size, width=500)
    chosen, _ = resolve_split(split, df, {"chr1": size})
    out = assign(df, chosen, {"chr1": size})
    covered = np.stack([coverage(df[out == s], size) > 0 for s in ("train", "valid", "test")])
    assert covered.sum(axis=0).max() == 1
    assert (covered.sum(axis=1) > 0).all()
    assert 0 < (out == DROPPED).sum() < 0.02 * len(df)


COUNTS = {"train": {"A": 80, "B": 50}, "valid": {"A": 9, "B": 0}, "test": {"A": 10, "B": 0}}
N = {"train": 260, "valid": 18, "test": 21}


def test_a_task_without_positives_in_a_split_is_an_error():
    with pytest.raises(EmptyTaskError) as err:
        check_tasks(COUNTS, N, {"valid": ["chr4"], "test": ["chr1:1-5000"]},
                    {"A": "a.bed", "B": "peaks/b.narrowPeak.gz"}, allow=False,
                    key="datasets.tiny")
    text = str(err.value)
    for part in ("task B has no positives in the valid split (valid: chr4; 0 of 18 regions",
                 "in the test split (test: chr1:1-5000; 0 of 21 regions", "peaks/b.narrowPeak.gz",
                 "50 positives in train", "datasets.tiny.split", "datasets.tiny.allow_empty_tasks"):
        assert part in text, (part, text)
    assert "task A" not in text


def test_allow_empty_tasks_gives_warnings():
    notes = check_tasks(COUNTS, N, {"valid": ["chr4"], "test": ["chr5"]}, {}, allow=True)
    assert len(notes) == 2 and all("task B has no positives" in n for n in notes)
    assert check_tasks({"train": {"A": 1}}, {"train": 5}, {}, {}, allow=False) == []


def test_a_task_without_negatives_in_a_split_is_an_error():
    """Zero negatives (the free space held none, not strict) cannot be scored either: said at
    the split, with the negatives' fix, not as a NaN auROC three rules later."""
    positives = {"train": {"A": 80}, "valid": {"A": 9}, "test": {"A": 10}}
    negatives = {"train": {"A": 70}, "valid": {"A": 0}, "test": {"A": 0}}
    n = {"train": 150, "valid": 9, "test": 10}
    with pytest.raises(EmptyTaskError) as err:
        check_tasks(positives, n, {"valid": ["chr4"], "test": ["chr5"]}, {}, allow=False,
                    key="datasets.tiny", negatives=negatives)
    text = str(err.value)
    for part in ("task A has no negatives in the valid split (valid: chr4; 0 of 9 regions",
                 "no negatives in the test split", "datasets.tiny.negative_ratio",
                 "negatives.log"):
        assert part in text, (part, text)
    notes = check_tasks(positives, n, {"valid": ["chr4"], "test": ["chr5"]}, {}, allow=True,
                        negatives=negatives)
    assert len(notes) == 2 and all("no negatives" in m for m in notes)
