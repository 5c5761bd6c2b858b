import numpy as np
import pandas as pd
import pytest

from seqcnn.split import assign, auto_split


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


def test_assign_and_errors():
    df = pd.DataFrame({"chrom": ["a", "b", "c", "a"]})
    out = assign(df, {"valid": ["b"], "test": ["c"]}, ["a", "b", "c"])
    assert out.tolist() == ["train", "valid", "test", "train"]
    with pytest.raises(ValueError, match="not in the genome: chrZ"):
        assign(df, {"valid": ["chrZ"], "test": ["c"]}, ["a", "b", "c"])
    with pytest.raises(ValueError, match="both valid and test"):
        assign(df, {"valid": ["b"], "test": ["b"]}, ["a", "b", "c"])
    assert np.all(assign(df, {"valid": [], "test": []}, ["a"]) == "train")
