"""Published-versus-measured tables: match fractions against the truth, agreement rules."""

import pandas as pd
import pytest

from seqcnn.reference import compare, truth_match_fraction

TOMTOM = pd.DataFrame({
    "query": ["filter0", "filter0", "filter1", "filter2", "filter3"],
    "target_id": ["MA0139.2", "MA0080.7", "MA0080.5", "MA9999.1", "MA0139.1"],
    "E": [1e-5, 1e-3, 0.05, 1e-9, 0.5],
})


def test_truth_match_fraction_counts_any_version_below_e():
    # filter0 (MA0139.2) and filter1 (MA0080.5 ~ MA0080.7) match; filter2 matches a motif that
    # is not planted; filter3's match is too weak; filter4 has no row at all
    assert truth_match_fraction(TOMTOM, 5, ["MA0139.1", "MA0080.7"]) == pytest.approx(2 / 5)
    assert truth_match_fraction(TOMTOM, 5, ["MA0139.1"], max_e=1.0) == pytest.approx(2 / 5)
    assert truth_match_fraction(TOMTOM.iloc[:0], 3, ["MA0139.1"]) == 0


def test_compare_ranges_numbers_and_tolerance():
    measured = {"a": {"match_fraction": 0.9, "test_auroc": 0.99},
                "b": {"match_fraction": 0.2, "test_auroc": 0.96}}
    table = compare({"a": {"match_fraction": 1.0, "test_auroc": [0.95, 0.97]},
                     "b": {"match_fraction": 0.0}}, measured, tolerance=0.1)
    got = table.set_index(["model", "metric"])
    assert got.loc[("a", "match_fraction"), "agrees"]  # 0.1 below 1.0: inside the tolerance
    assert got.loc[("a", "test_auroc"), "difference"] == pytest.approx(0.02)
    assert not got.loc[("b", "match_fraction"), "agrees"]  # 0.2 above 0.0
    assert got.loc[("a", "test_auroc"), "expected"] == "0.95–0.97"


def test_compare_names_unknown_models_and_metrics():
    with pytest.raises(ValueError, match="model 'c'"):
        compare({"c": {"q3": 0.8}}, {"a": {"q3": 0.8}})
    with pytest.raises(ValueError, match="unknown metric 'auc'"):
        compare({"a": {"auc": 0.8}}, {"a": {"q3": 0.8}})
