"""filters.tsv and the order of filter logos: seqcnn.interpret.filter_table, logo_order."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqcnn.interpret import (
    FILTER_TABLE_COLUMNS,
    TOMTOM_COLUMNS,
    FilterMotifs,
    filter_table,
    logo_order,
)


def _ppm(width: int) -> np.ndarray:
    return np.full((4, width), 0.25)


def _tomtom(rows: list[tuple[str, str, str, float, float, float]]) -> pd.DataFrame:
    """Tomtom rows ``(query, target_id, target_name, p, E, q)``, other columns filled."""
    frame = pd.DataFrame(rows, columns=["query", "target_id", "target_name", "p", "E", "q"])
    for c in TOMTOM_COLUMNS:
        if c not in frame:
            frame[c] = 0
    return frame[TOMTOM_COLUMNS]


FM = FilterMotifs(
    motifs={"filter0": _ppm(8), "filter1": _ppm(6), "filter3": _ppm(5), "filter4": _ppm(7)},
    nsites={"filter0": 40, "filter1": 12, "filter3": 30, "filter4": 30},
    starts={"filter0": 0, "filter1": 2, "filter3": 1, "filter4": 0},
)
TOMTOM = _tomtom([
    ("filter1", "MA0139.2", "CTCF", 1e-3, 0.5, 0.2),
    ("filter1", "MA1929.1", "CTCF_alt", 1e-6, 0.01, 0.05),  # lowest p: the best match
    ("filter3", "MA0079.5", "SP1", 1e-4, 0.05, 0.01),
])
INFLUENCE = np.array([0.30, 0.10, 0.50, 0.02, np.nan])
PERIODS = np.array([10.5, 3.6, np.nan, 2.0, 4.0])


def test_filter_table_one_row_per_filter_with_best_match_sorted_by_influence():
    table = filter_table(FM, 5, TOMTOM, INFLUENCE, PERIODS)
    assert tuple(table.columns) == FILTER_TABLE_COLUMNS
    # influence descending (NaN last), then sites
    assert list(table["filter"]) == ["filter2", "filter0", "filter1", "filter3", "filter4"]
    row = table.set_index("filter")
    assert row.loc["filter1", "jaspar_id"] == "MA1929.1"
    assert row.loc["filter1", "jaspar_name"] == "CTCF_alt"
    assert row.loc["filter1", "E"] == 0.01 and row.loc["filter1", "q"] == 0.05
    # a filter without a motif has no sites and width 0; without a match empty and NaN
    assert row.loc["filter2", "n_sites"] == 0 and row.loc["filter2", "width"] == 0
    assert row.loc["filter0", "jaspar_id"] == "" and np.isnan(row.loc["filter0", "q"])
    assert row.loc["filter0", "width"] == 8 and row.loc["filter0", "n_sites"] == 40
    assert row.loc["filter2", "influence"] == 0.5 and np.isnan(row.loc["filter2", "period"])


def test_filter_table_without_matches_or_site_counts():
    """Protein/RNA filters (no Tomtom) and PWM-constrained filters (no site counts)."""
    fm = FilterMotifs(motifs={"filter1": _ppm(4)}, nsites={}, starts={"filter1": 0})
    table = filter_table(fm, 2, pd.DataFrame(columns=TOMTOM_COLUMNS), np.full(2, np.nan),
                         np.array([3.6, 2.0]))
    assert list(table["filter"]) == ["filter0", "filter1"]
    assert list(table["n_sites"]) == [0, 0] and list(table["width"]) == [0, 4]
    assert list(table["jaspar_id"]) == ["", ""] and table["E"].isna().all()


def test_logo_order_matches_first_then_influence_then_sites():
    table = filter_table(FM, 5, TOMTOM, INFLUENCE, PERIODS)
    # filter3 (q 0.01) before filter1 (q 0.05); then unmatched by influence: filter0 (0.30),
    # filter4 (NaN as 0); filter2 has no motif and no logo
    assert logo_order(table, FM.motifs, 10) == ["filter3", "filter1", "filter0", "filter4"]
    assert logo_order(table, FM.motifs, 2) == ["filter3", "filter1"]
    assert logo_order(table, FM.motifs, 0) == []


def test_logo_order_ties_in_influence_go_to_more_sites():
    fm = FilterMotifs(motifs={"filter0": _ppm(5), "filter1": _ppm(5)},
                      nsites={"filter0": 10, "filter1": 50}, starts={})
    table = filter_table(fm, 2, pd.DataFrame(columns=TOMTOM_COLUMNS), np.array([0.1, 0.1]),
                         np.array([2.0, 2.0]))
    assert logo_order(table, fm.motifs, 5) == ["filter1", "filter0"]
