"""Published-versus-measured tables: match fractions against the truth, agreement rules."""

import numpy as np
import pandas as pd
import pytest

from seqcnn.report import plots
from seqcnn.report.reference import (
    compare,
    length_auroc,
    requested_metrics,
    trend_rows,
    truth_match_fraction,
)
from seqcnn.report.render import verdict

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


def test_length_auroc_known_values():
    lengths = np.array([100, 150, 200, 250])
    # length separates the classes perfectly, then reversed, then half-way
    assert length_auroc(lengths, np.array([0, 0, 1, 1])) == 1.0
    assert length_auroc(lengths, np.array([1, 1, 0, 0])) == 0.0
    assert length_auroc(lengths, np.array([0, 1, 0, 1])) == 0.75
    # two tasks averaged; an all-positive task and the ignore code 255 are left out
    two = np.array([[0, 1], [0, 1], [1, 255], [1, 1]])
    assert length_auroc(lengths, two) == 1.0
    assert np.isnan(length_auroc(lengths, np.ones(4)))


OPTIONS = {"s1": {"stride": 1}, "s2": {"stride": 2}, "s4": {"stride": 4}, "other": {}}


def test_trend_rows_direction_and_tolerance():
    falling = {"s1": {"test_auroc": 0.99}, "s4": {"test_auroc": 0.80},
               "s2": {"test_auroc": 0.93}, "other": {"test_auroc": 0.5}}
    row = trend_rows([{"metric": "test_auroc", "over": "stride", "direction": "decreasing"}],
                     falling, OPTIONS).iloc[0]
    assert row["agrees"] and row["model"] == "stride 1→4"  # models without stride left out
    assert row["measured"] == pytest.approx(-0.19) and row["difference"] == 0
    # the ends fall, but a rise of 0.15 in the middle breaks "decreasing"
    bumpy = {"s1": {"test_auroc": 0.99}, "s2": {"test_auroc": 0.80},
             "s4": {"test_auroc": 0.95}, "other": {"test_auroc": 0.5}}
    row = trend_rows([{"metric": "test_auroc", "over": "stride", "direction": "decreasing"}],
                     bumpy, OPTIONS, tolerance=0.1).iloc[0]
    assert not row["agrees"] and row["difference"] == pytest.approx(0.15)
    rising = trend_rows([{"metric": "test_auroc", "over": "stride", "direction": "increasing"}],
                        falling, OPTIONS).iloc[0]
    assert not rising["agrees"]
    with pytest.raises(ValueError, match="fewer than two"):
        trend_rows([{"metric": "test_auroc", "over": "pool", "direction": "increasing"}],
                   falling, OPTIONS)
    with pytest.raises(ValueError, match="direction"):
        trend_rows([{"metric": "test_auroc", "over": "stride", "direction": "up"}],
                   falling, OPTIONS)
    # where: only the models with those options (an exp-activation variant left out)
    options = {**OPTIONS, "s8exp": {"stride": 8, "activation": "exp"}}
    for m in ("s1", "s2", "s4"):
        options[m] = {**options[m], "activation": "relu"}
    with_exp = {**falling, "s8exp": {"test_auroc": 0.99}}
    trend = {"metric": "test_auroc", "over": "stride", "direction": "decreasing"}
    assert not trend_rows([trend], with_exp, options).iloc[0]["agrees"]
    row = trend_rows([{**trend, "where": {"activation": "relu"}}], with_exp, options).iloc[0]
    assert row["agrees"] and row["model"] == "stride 1→4 (activation relu)"


def test_verdict_and_requested_metrics():
    table = compare({"a": {"test_auroc": [0.95, 1.0]}, "b": {"test_auroc": [0.4, 0.6]}},
                    {"a": {"test_auroc": 0.99}, "b": {"test_auroc": 0.9}}, tolerance=0.05)
    line = verdict(table, "global pooling fails")
    assert line.startswith("Not reproduced (1 of 2 met; off: b test_auroc 0.9 (expected 0.4–0.6)")
    assert verdict(table.iloc[:1], "x") == "Reproduced (1 of 1 expectations met): x"
    ref = {"expected": {"a": {"test_auroc": 1}}, "plot": {"over": "stride",
                                                          "metrics": ["detection_fraction"]},
           "trends": [{"metric": "auroc_drop", "over": "padding", "direction": "increasing"}]}
    assert requested_metrics(ref) == {"test_auroc", "detection_fraction", "auroc_drop"}
    with pytest.raises(ValueError, match="unknown metric"):
        requested_metrics({"expected": {"a": {"auc": 1}}})


def test_metrics_against_option_draws_the_guide(tmp_path):
    measured = pd.DataFrame({"stride": [1, 2, 4, 8], "detection_fraction": [1, .5, .26, .12],
                             "test_auroc": [.99, .95, .9, .8]},
                            index=pd.Index(["s1", "s2", "s4", "s8"], name="model"))
    table = compare({"s1": {"detection_fraction": 1.0}, "s8": {"detection_fraction": 0.125}},
                    measured.T.to_dict())
    path = tmp_path / "trend.png"
    plots.metrics_against_option(measured, table, {"over": "stride", "metrics":
                                 ["detection_fraction", "test_auroc"],
                                 "guides": {"detection_fraction": "inverse"}}, path)
    assert path.stat().st_size > 10_000


def test_period_band_fractions_from_the_filter_summary():
    from seqcnn.report.reference import measure_model

    filters = {"n_filters": 5, "periods": {"f0": 3.6, "f1": 3.4, "f2": 2.0, "f3": 7.5,
                                           "f4": float("nan")}}
    metrics = pd.DataFrame({"model": ["m"], "auroc": [0.9], "auprc": [0.8]})
    got = measure_model("m", {}, metrics, filters, TOMTOM.iloc[:0])
    assert got["helix_fraction"] == pytest.approx(2 / 5)  # 3.6 and 3.4; NaN counts as outside
    assert got["strand_fraction"] == pytest.approx(1 / 5)
    assert np.isnan(got["valid_auroc"]) and np.isnan(got["auroc_drop"])
