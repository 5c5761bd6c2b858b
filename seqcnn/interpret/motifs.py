"""Motif comparison with Tomtom (memelite) against JASPAR, and the table of learned motifs.

:func:`tomtom` compares query PPMs ``(4, w)`` with target PPMs and returns one row per
query–target pair:

``query``, ``target_id``, ``target_name``, ``p`` (Tomtom p-value of the best alignment over
both strands), ``E`` (``p × n_targets``), ``q`` (Benjamini–Hochberg over the ``n_targets``
p-values **of that query**: the family is one query against the whole database, as for
``E``, so a filter's q does not depend on how many other filters are compared),
``score``, ``offset``, ``overlap``, ``strand``, ``query_width``, ``target_width``.

Alignment: ``strand`` ``+`` aligns the query with the target as stored, ``-`` with its
reverse complement; query position ``i`` faces position ``i + offset`` of that (possibly
reverse-complemented) target; ``overlap`` columns overlap.

Column similarity: memelite scores aligned columns by their Euclidean distance. On
probability columns that lets uninformative queries match long motifs with uninformative
flanks (measured: a near-uniform 19-column query matched JASPAR2024's MA1929.2 at E = 1e-11;
every filter of an untrained CNN "matched" at E < 0.1). With ``distance="pearson"`` (the
default, as MEME's Tomtom ``-dist pearson``) every query and target column is centred and
scaled to unit length first, so the Euclidean distance memelite computes is
``sqrt(2 − 2r)`` of the columns' Pearson correlation ``r`` and a uniform column scores the
same against everything (it then carries no evidence). Random queries then match at
E < 0.1 a few percent of the time, and a motif still finds itself at E ≈ 1e-20 or below.
``distance="euclidean"`` passes the probabilities unchanged.

memelite compiles Tomtom with numba the first time it runs in an environment (about a
minute on 2 cores; cached on disk afterwards). Queries and targets are passed as float64.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from seqcnn.jaspar import Motif, fetch_collection

TOMTOM_COLUMNS = [
    "query", "target_id", "target_name", "p", "E", "q", "score", "offset", "overlap",
    "strand", "query_width", "target_width",
]


def bh_qvalues(p: np.ndarray, axis: int = -1) -> np.ndarray:
    """Benjamini–Hochberg q-values along ``axis`` (each slice one family), same shape as p."""
    p = np.moveaxis(np.asarray(p, dtype=np.float64), axis, -1)
    m = p.shape[-1]
    order = np.argsort(p, axis=-1)
    ranked = np.take_along_axis(p, order, axis=-1) * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[..., ::-1], axis=-1)[..., ::-1]
    q = np.empty_like(ranked)
    np.put_along_axis(q, order, np.minimum(ranked, 1.0), axis=-1)
    return np.moveaxis(q, -1, axis)


def jaspar_targets(
    release: str = "JASPAR2024", collection: str = "CORE", tax_group: str | None = "vertebrates",
    pseudocount: float = 0.8,
) -> tuple[list[str], list[str], list[np.ndarray]]:
    """``(ids, names, ppms (4, w))`` of a JASPAR collection from pyjaspar (offline)."""
    motifs: list[Motif] = fetch_collection(release, collection, tax_group)
    return ([m.matrix_id for m in motifs], [m.name for m in motifs],
            [m.probabilities(pseudocount) for m in motifs])


def pearson_columns(ppm: np.ndarray) -> np.ndarray:
    """Columns of ``(A, w)`` centred and scaled to unit length (all-equal columns → 0), so
    that squared Euclidean distances between columns are ``2 − 2r``."""
    c = np.asarray(ppm, dtype=np.float64)
    c = c - c.mean(axis=0, keepdims=True)
    norm = np.sqrt((c**2).sum(axis=0, keepdims=True))
    return np.ascontiguousarray(np.where(norm > 1e-12, c / np.where(norm > 1e-12, norm, 1), 0.0))


def tomtom(
    queries: Mapping[str, np.ndarray],
    targets: Mapping[str, np.ndarray] | Sequence[np.ndarray],
    target_names: Sequence[str] | None = None,
    distance: str = "pearson",
    reverse_complement: bool = True,
    n_jobs: int = -1,
) -> pd.DataFrame:
    """Tomtom of every query against every target: a table (module docstring), sorted by
    query (input order) then p.

    ``queries``: name → PPM ``(4, w)``; ``targets``: id → PPM, or a list with ids
    ``0, 1, …``; ``target_names`` optional, same order (default the ids). ``distance``:
    ``pearson`` or ``euclidean`` (module docstring).
    """
    from memelite.tomtom import tomtom as _tomtom

    if isinstance(targets, Mapping):
        ids, mats = list(targets), list(targets.values())
    else:
        mats = list(targets)
        ids = [str(i) for i in range(len(mats))]
    names = list(target_names) if target_names is not None else ids
    if len(names) != len(ids):
        raise ValueError(f"{len(names)} target names for {len(ids)} targets")
    qnames = list(queries)
    if not qnames:
        return pd.DataFrame(columns=TOMTOM_COLUMNS)
    if distance not in ("pearson", "euclidean"):
        raise ValueError(f"unknown distance {distance!r}; choose pearson or euclidean")
    q_mats = [np.ascontiguousarray(queries[n], dtype=np.float64) for n in qnames]
    t_mats = [np.ascontiguousarray(t, dtype=np.float64) for t in mats]
    prep = pearson_columns if distance == "pearson" else (lambda m: m)
    p, score, offset, overlap, strand = _tomtom(
        [prep(m) for m in q_mats], [prep(m) for m in t_mats],
        reverse_complement=reverse_complement, n_jobs=n_jobs,
    )
    n_t = len(t_mats)
    qv = bh_qvalues(p, axis=1)
    table = pd.DataFrame({
        "query": np.repeat(qnames, n_t),
        "target_id": np.tile(ids, len(qnames)),
        "target_name": np.tile(names, len(qnames)),
        "p": p.ravel(),
        "E": p.ravel() * n_t,
        "q": qv.ravel(),
        "score": score.ravel(),
        "offset": offset.ravel().astype(np.int64),
        "overlap": overlap.ravel().astype(np.int64),
        "strand": np.where(strand.ravel() > 0, "-", "+"),
        "query_width": np.repeat([m.shape[1] for m in q_mats], n_t),
        "target_width": np.tile([m.shape[1] for m in t_mats], len(qnames)),
    })
    table["query"] = pd.Categorical(table["query"], categories=qnames, ordered=True)
    table = table.sort_values(["query", "p"], kind="stable").reset_index(drop=True)
    table["query"] = table["query"].astype(str)
    return table


def tomtom_jaspar(
    queries: Mapping[str, np.ndarray],
    release: str = "JASPAR2024",
    collection: str = "CORE",
    tax_group: str | None = "vertebrates",
    distance: str = "pearson",
    n_jobs: int = -1,
) -> pd.DataFrame:
    """:func:`tomtom` of ``queries`` against a JASPAR release/collection/taxon (pyjaspar)."""
    ids, names, mats = jaspar_targets(release, collection, tax_group)
    return tomtom(queries, dict(zip(ids, mats, strict=True)), names, distance, n_jobs=n_jobs)


def best_matches(table: pd.DataFrame, max_q: float | None = None) -> pd.DataFrame:
    """The lowest-p row per query (input order kept); with ``max_q`` only rows with
    ``q <= max_q`` are kept, so queries without a significant match drop out."""
    if table.empty:
        return table.copy()
    best = table.loc[table.groupby("query", sort=False)["p"].idxmin()]
    if max_q is not None:
        best = best[best["q"] <= max_q]
    return best.reset_index(drop=True)


def fraction_matched(
    table: pd.DataFrame, queries: Sequence[str], threshold: float = 0.1, column: str = "E"
) -> float:
    """Fraction of ``queries`` with any match at ``column < threshold`` (Koo & Eddy 2019).

    ``queries`` are all the filters (also those left out of the table, e.g. filters without
    sites, which count as unmatched).
    """
    if len(queries) == 0:
        return float("nan")
    hit = set(table.loc[table[column] < threshold, "query"])
    return sum(q in hit for q in queries) / len(queries)


# --------------------------------------------------------------------------- motif table

MOTIF_TABLE_COLUMNS = [
    "motif", "jaspar_id", "jaspar_name", "q", "E", "filters", "n_filters", "patterns",
    "n_patterns", "n_sites", "n_seqlets", "influence", "max_influence",
]


def motif_table(
    filter_matches: pd.DataFrame,
    pattern_matches: pd.DataFrame | None = None,
    filter_sites: Mapping[str, int] | None = None,
    pattern_seqlets: Mapping[str, int] | None = None,
    influence: Mapping[str, float] | None = None,
    filter_pattern_matches: pd.DataFrame | None = None,
    max_q: float = 0.05,
) -> pd.DataFrame:
    """One row per learned motif, linking the filters and TF-MoDISco patterns that show it.

    Grouping: a filter or pattern whose best JASPAR match (lowest p in ``filter_matches`` /
    ``pattern_matches``, :func:`tomtom` tables) has ``q <= max_q`` joins the row of that
    JASPAR id. A pattern without one gets a row of its own (``motif`` = pattern name); a
    filter without one joins the row of its best pattern in ``filter_pattern_matches``
    (:func:`tomtom` of filters against patterns) when that has ``q <= max_q``, and is left out
    otherwise (the table is about motifs, not about every filter).

    Columns: ``motif`` (JASPAR id or pattern name), ``jaspar_id``, ``jaspar_name``, ``q``,
    ``E`` (best among the members' matches to that id; empty for unmatched), ``filters``,
    ``patterns`` (comma-separated names), ``n_filters``, ``n_patterns``, ``n_sites`` (sum of
    the filters' sites), ``n_seqlets`` (sum of the patterns' seqlets), ``influence`` (sum of
    the filters' auPR drops, :func:`seqcnn.interpret.filters.filter_influence`) and
    ``max_influence``. Sorted by ``n_seqlets``, then ``influence``, descending.
    """
    filter_sites = filter_sites or {}
    pattern_seqlets = pattern_seqlets or {}
    influence = influence or {}
    rows: dict[str, dict] = {}

    def row(key: str, jid, jname) -> dict:
        if key not in rows:
            rows[key] = {"motif": key, "jaspar_id": jid, "jaspar_name": jname, "q": np.nan,
                         "E": np.nan, "filters": [], "patterns": []}
        return rows[key]

    def add(best: pd.DataFrame, kind: str) -> set[str]:
        matched = set()
        for r in best.itertuples(index=False):
            if r.q > max_q:
                continue
            entry = row(r.target_id, r.target_id, r.target_name)
            entry[kind].append(r.query)
            entry["q"] = np.nanmin([entry["q"], r.q])
            entry["E"] = np.nanmin([entry["E"], r.E])
            matched.add(r.query)
        return matched

    add(best_matches(filter_matches), "filters")
    pattern_row: dict[str, str] = {}
    if pattern_matches is not None and not pattern_matches.empty:
        best_p = best_matches(pattern_matches)
        matched = add(best_p, "patterns")
        for r in best_p.itertuples(index=False):
            pattern_row[r.query] = r.target_id if r.query in matched else r.query
            if r.query not in matched:
                row(r.query, None, None)["patterns"].append(r.query)
    for name in pattern_seqlets:
        if name not in pattern_row:
            pattern_row[name] = name
            row(name, None, None)["patterns"].append(name)
    if filter_pattern_matches is not None and not filter_pattern_matches.empty:
        in_rows = {f for r in rows.values() for f in r["filters"]}
        for r in best_matches(filter_pattern_matches, max_q).itertuples(index=False):
            if r.query not in in_rows and r.target_id in pattern_row:
                rows[pattern_row[r.target_id]]["filters"].append(r.query)
    out = []
    for entry in rows.values():
        fs, ps = entry.pop("filters"), entry.pop("patterns")
        infl = [influence[f] for f in fs if f in influence]
        out.append(entry | {
            "filters": ",".join(fs), "n_filters": len(fs),
            "patterns": ",".join(ps), "n_patterns": len(ps),
            "n_sites": int(sum(filter_sites.get(f, 0) for f in fs)),
            "n_seqlets": int(sum(pattern_seqlets.get(p, 0) for p in ps)),
            "influence": float(np.sum(infl)) if infl else np.nan,
            "max_influence": float(np.max(infl)) if infl else np.nan,
        })
    table = pd.DataFrame(out, columns=MOTIF_TABLE_COLUMNS)
    return table.sort_values(["n_seqlets", "influence"], ascending=False,
                             na_position="last", kind="stable").reset_index(drop=True)
