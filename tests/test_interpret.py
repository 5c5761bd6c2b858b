"""Interpretation: filter PWMs, MEME, Tomtom vs JASPAR, periodicity, attributions, TF-MoDISco.

memelite's Tomtom and modisco-lite compile with numba the first time they run in an
environment (about a minute and half a minute on 2 cores; cached on disk afterwards).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from seqcnn.alphabet import letters
from seqcnn.interpret import (
    activation_pwms,
    best_matches,
    bh_qvalues,
    constrained_pwms,
    filter_influence,
    filter_motifs,
    filter_periods,
    fraction_matched,
    influence_by_name,
    information_content,
    motif_table,
    plot_logo_grid,
    plot_motif_logo,
    read_meme,
    run_modisco,
    tomtom,
    tomtom_jaspar,
    trim_bounds,
    trimmed_motifs,
    write_meme,
)
from seqcnn.jaspar import fetch
from seqcnn.models import build_model
from seqcnn.models.layers import PWMConv1d
from seqcnn.simulate.genome import sample_instance

CTCF = "MA0139.2"


def onehot(codes: np.ndarray, size: int = 4) -> np.ndarray:
    return (codes[:, None, :] == np.arange(size)[None, :, None]).astype(np.uint8)


@pytest.fixture(scope="module")
def ctcf() -> np.ndarray:
    return fetch([CTCF], "JASPAR2024")[0].probabilities()


def plant_ctcf(ctcf: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random 100-bp sequences, every other one with a CTCF instance (+ strand):
    one-hot ``(n, 4, 100)`` and labels ``uint8`` ``(n,)``."""
    rng = np.random.default_rng(0)
    length, w = 100, ctcf.shape[1]
    codes = rng.integers(0, 4, (n, length))
    label = np.zeros(n, dtype=np.uint8)
    for i in range(0, n, 2):
        s = rng.integers(0, length - w)
        codes[i, s:s + w] = sample_instance(ctcf, rng)
        label[i] = 1
    return onehot(codes), label


@pytest.fixture(scope="module")
def planted(ctcf):
    """300 sequences of :func:`plant_ctcf`."""
    return plant_ctcf(ctcf, 300)


def ctcf_model(ctcf: np.ndarray, arch: str, n_filters: int = 4) -> nn.Module:
    """A tiny model whose filter 0 is CTCF's log-odds (bits); the others random."""
    w = ctcf.shape[1]
    cfg = ({"arch": "deepbind", "filters": n_filters, "kernel": w, "hidden": 0, "dropout": 0.0}
           if arch == "deepbind" else
           {"arch": "dilated", "filters": n_filters, "first_kernel": w, "layers": 1})
    torch.manual_seed(0)
    model = build_model(cfg, 4, 1, 100).eval()
    with torch.no_grad():
        model.first_layer().weight[0] = torch.tensor(np.log2(ctcf / 0.25), dtype=torch.float32)
        model.first_layer().bias[0] = 0.0
    return model


def centred_corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef((a - 0.25).ravel(), (b - 0.25).ravel())[0, 1])


# --------------------------------------------------------------------------- TF-MoDISco


def test_modisco_recovers_planted_motif(ctcf, tmp_path):
    """The slow test: modisco-lite on synthetic hypothetical contributions.

    First in the file on purpose: modisco-lite caches its numba kernels on disk only when it
    can fork compiler children, which it cannot once another thread has started (memelite's
    Tomtom starts numba's OpenMP threads, tangermeme tqdm's monitor); it then compiles
    in-process every time (about 25 s).
    """
    rng = np.random.default_rng(0)
    n, length, w = 200, 100, ctcf.shape[1]
    x = onehot(rng.integers(0, 4, (n, length))).astype(np.float32)
    hyp = rng.normal(0, 0.05, x.shape).astype(np.float32)
    log_odds = np.log2(ctcf / 0.25)
    for i in range(n):
        s = rng.integers(5, length - w - 5)
        x[i, :, s:s + w] = onehot(sample_instance(ctcf, rng)[None])[0]
        hyp[i, :, s:s + w] += 0.5 * log_odds
    patterns = run_modisco(hyp, x, n_leiden_runs=10)
    assert patterns.ppms and all(v > 0 for v in patterns.n_seqlets.values())
    best = best_matches(tomtom_jaspar(patterns.ppms)).set_index("query")
    top = max(patterns.n_seqlets, key=patterns.n_seqlets.get)
    assert best.loc[top, "target_id"] == CTCF and best.loc[top, "q"] < 1e-5
    write_meme(tmp_path / "patterns.meme", patterns.ppms, nsites=patterns.n_seqlets)
    assert read_meme(tmp_path / "patterns.meme").nsites == patterns.n_seqlets


# --------------------------------------------------------------------------- filters


@pytest.mark.parametrize("arch", ["deepbind", "dilated"])  # valid and same padding
def test_filter_pwm_recovers_planted_motif(ctcf, planted, arch):
    x, label = planted
    model = ctcf_model(ctcf, arch)
    ppm, nsites = activation_pwms(model, x, threshold=0.5)
    assert ppm.shape == (4, 4, ctcf.shape[1])
    np.testing.assert_allclose(ppm.sum(axis=1), 1.0)
    assert centred_corr(ppm[0], ctcf) > 0.9
    assert max(centred_corr(ppm[f], ctcf) for f in (1, 2, 3)) < 0.5  # random filters do not
    # the sites are the planted instances: about one per positive, none per negative
    assert 0.8 * label.sum() <= nsites[0] <= 1.05 * label.sum()


def test_activation_windows_align_with_stride_and_mask(ctcf, planted):
    """Stride 2 plus a mask: the windows still line up with their activations."""
    x, _ = planted
    torch.manual_seed(0)
    w = ctcf.shape[1]
    model = build_model({"arch": "dilated", "filters": 2, "first_kernel": w, "layers": 1,
                         "stride": 2}, 4, 1, 100).eval()
    with torch.no_grad():
        model.first_layer().weight[0] = torch.tensor(np.log2(ctcf / 0.25), dtype=torch.float32)
        model.first_layer().bias[0] = 0.0
    mask = np.ones((len(x), 100), dtype=bool)
    mask[:, 90:] = False
    ppm, nsites = activation_pwms(model, x, mask=mask)
    assert centred_corr(ppm[0], ctcf) > 0.9 and nsites[0] > 0


def test_constrained_pwms_and_trim(ctcf):
    model = build_model({"arch": "deepbind", "filters": 3, "kernel": 7, "pwm_constrained": True},
                        4, 1, 50)
    pwms = constrained_pwms(model)
    assert pwms.shape == (3, 4, 7)
    np.testing.assert_allclose(pwms.sum(axis=1), 1.0, atol=1e-6)
    fm = filter_motifs(model, None, use_weights=True, min_ic=0.0)
    assert list(fm.motifs) == ["filter0", "filter1", "filter2"]
    assert constrained_pwms(build_model({"arch": "deepbind"}, 4, 1, 50)) is None
    # information content: 2 bits for a certain base, 0 for uniform; trimming drops flanks
    padded = np.concatenate([np.full((4, 3), 0.25), ctcf, np.full((4, 2), 0.25)], axis=1)
    ic = information_content(padded)
    assert ic[0] == pytest.approx(0.0) and ic[3:-2].max() > 1.5
    assert information_content(np.eye(4)[:, :1])[0] == pytest.approx(2.0)
    s, e = trim_bounds(padded, 0.2)
    assert s >= 3 and e <= padded.shape[1] - 2


@pytest.mark.parametrize("logit_scale", [1.0, 10.0])
def test_trained_pwm_filter_becomes_the_planted_motif(ctcf, logit_scale):
    """A PWM-constrained filter trained (Adam, lr 1e-3, 600 steps) on planted CTCF sites is
    CTCF by Tomtom with the default logit scale (10); with scale 1 the same training leaves
    the PPM near uniform (nothing passes the 0.2-bit trim): the reason for the default."""
    onehots, label = plant_ctcf(ctcf, 600)
    x, y = torch.as_tensor(onehots, dtype=torch.float32), torch.as_tensor(label).float()
    n = len(y)
    torch.manual_seed(0)
    conv, head = PWMConv1d(4, 1, ctcf.shape[1], logit_scale=logit_scale), nn.Linear(1, 1)
    optimizer = torch.optim.Adam([*conv.parameters(), *head.parameters()], lr=1e-3)
    for _ in range(600):
        i = torch.randint(0, n, (50,))
        out = head(torch.relu(conv(x[i])).amax(-1)).squeeze(-1)
        loss = nn.functional.binary_cross_entropy_with_logits(out, y[i])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    ppm = conv.pwm().detach().double().numpy()
    motifs = trimmed_motifs(ppm).motifs
    if logit_scale == 1.0:
        assert information_content(ppm[0]).max() < 0.2 and not motifs
        return
    assert information_content(ppm[0]).sum() > 5
    best = best_matches(tomtom_jaspar(motifs, release="JASPAR2024"))
    assert best["target_name"].tolist() == ["CTCF"] and best["q"].iloc[0] < 0.1


def test_filter_influence(ctcf, planted):
    """Filter 0 carries the signal: zeroing it costs auPR; zeroing the others costs nothing."""
    x, label = planted
    model = ctcf_model(ctcf, "deepbind", n_filters=3)
    with torch.no_grad():
        model.dense[-1].weight.zero_()
        model.dense[-1].weight[0, 0] = 1.0
    drop = filter_influence(model, x, label[:, None], batch_size=64, filters_per_pass=2)
    assert drop.shape == (3,)
    assert drop[0] > 0.3
    np.testing.assert_allclose(drop[1:], 0.0, atol=1e-12)
    assert influence_by_name(drop)["filter0"] == drop[0]


# --------------------------------------------------------------------------- MEME


def test_meme_round_trip_through_memelite(tmp_path, ctcf, planted):
    from memelite.io import read_meme as memelite_read

    model = ctcf_model(ctcf, "deepbind")
    fm = filter_motifs(model, planted[0], min_sites=1)
    path = tmp_path / "filters.meme"
    write_meme(path, fm.motifs, "dna", nsites=fm.nsites)
    theirs = memelite_read(str(path))
    assert list(theirs) == list(fm.motifs)
    for name, ppm in fm.motifs.items():
        np.testing.assert_allclose(theirs[name], ppm, atol=1e-4)
    ours = read_meme(path)
    assert ours.alphabet == "ACGT" and ours.nsites == fm.nsites
    for name, ppm in fm.motifs.items():
        np.testing.assert_allclose(ours.motifs[name], ppm, atol=1e-4)
    text = path.read_text()
    assert "ALPHABET= ACGT" in text and "strands: + -" in text
    assert f"nsites= {fm.nsites['filter0']} " in text


def test_meme_protein_alphabet(tmp_path):
    rng = np.random.default_rng(1)
    motifs = {"p0": rng.dirichlet(np.ones(20), size=9).T, "p1": rng.dirichlet(np.ones(20), 4).T}
    path = tmp_path / "protein.meme"
    write_meme(path, motifs, "protein", nsites=[5, 7])
    back = read_meme(path)
    assert back.alphabet == letters("protein") and back.nsites == {"p0": 5, "p1": 7}
    for k, v in motifs.items():
        np.testing.assert_allclose(back.motifs[k], v, atol=1e-5)
    assert "strands" not in path.read_text()
    with pytest.raises(ValueError, match="expected"):
        write_meme(path, {"bad": np.ones((4, 3)) / 4}, "protein")


# --------------------------------------------------------------------------- Tomtom


def test_tomtom_finds_ctcf_and_alignment(ctcf, planted):
    rc_slice = ctcf[::-1, ::-1][:, 2:12]
    model = ctcf_model(ctcf, "deepbind")
    recovered = filter_motifs(model, planted[0]).motifs["filter0"]
    table = tomtom_jaspar({"ctcf": ctcf, "rc_slice": rc_slice, "filter0": recovered},
                          "JASPAR2024", "CORE", "vertebrates")
    n_targets = 879
    assert len(table) == 3 * n_targets
    assert {"query", "target_id", "target_name", "p", "E", "q", "offset", "strand"} <= set(table)
    np.testing.assert_allclose(table["E"], table["p"] * n_targets)
    assert (table["q"] >= table["p"] - 1e-300).all() and (table["q"] <= 1).all()
    best = best_matches(table).set_index("query")
    assert (best["target_id"] == CTCF).all() and best.loc["ctcf", "target_name"] == "CTCF"
    assert best.loc["ctcf", "q"] < 1e-10 and best.loc["filter0", "q"] < 1e-10
    # the reverse-complemented slice 2..12 aligns to the minus strand at offset 2
    assert best.loc["rc_slice", "strand"] == "-" and best.loc["rc_slice", "offset"] == 2
    assert best.loc["ctcf", "strand"] == "+" and best.loc["ctcf", "offset"] == 0
    assert fraction_matched(table, ["ctcf", "rc_slice", "filter0", "dead_filter"]) == 0.75


def test_tomtom_pearson_is_calibrated_on_random_queries():
    """Random and uniform queries rarely match at E < 0.1 with Pearson columns; with
    memelite's plain Euclidean distance a uniform query 'matches' a flanky long motif."""
    rng = np.random.default_rng(0)
    queries = {f"r{i}": rng.dirichlet(np.ones(4) * 2, size=12).T for i in range(30)}
    queries["uniform"] = np.full((4, 15), 0.25)
    pearson = tomtom_jaspar(queries)
    assert fraction_matched(pearson, list(queries)) < 0.15
    assert best_matches(pearson).set_index("query").loc["uniform", "E"] > 1
    euclid = tomtom_jaspar({"uniform": queries["uniform"]}, distance="euclidean")
    assert best_matches(euclid)["E"].iloc[0] < 1e-3


def test_bh_qvalues_match_reference():
    p = np.array([[0.01, 0.04, 0.03, 0.5], [0.2, 0.2, 0.9, 0.001]])
    expected_row0 = np.minimum.accumulate((np.sort(p[0]) * 4 / np.arange(1, 5))[::-1])[::-1]
    q = bh_qvalues(p)
    np.testing.assert_allclose(np.sort(q[0]), expected_row0)
    np.testing.assert_allclose(q[1], [0.2 * 4 / 3, 0.2 * 4 / 3, 0.9, 0.004])


def test_tomtom_table_without_jaspar_is_sorted_per_query():
    rng = np.random.default_rng(3)
    targets = {f"t{i}": rng.dirichlet(np.ones(4) * 0.5, size=8).T for i in range(30)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = tomtom({"q0": targets["t5"], "q1": targets["t9"][:, 1:7]}, targets)
    best = best_matches(table).set_index("query")["target_id"]
    assert best.to_dict() == {"q0": "t5", "q1": "t9"}
    assert list(table["query"].unique()) == ["q0", "q1"]


# --------------------------------------------------------------------------- periodicity


def test_periodicity_recovers_helix_and_strand():
    """Amphipathic α-helix (hydrophobic face every 3.6 residues) and β-strand (alternating)."""
    aa = letters("protein")
    hydrophobic = [aa.index(c) for c in "ILVFM"]
    polar = [aa.index(c) for c in "KEDRQ"]
    rng = np.random.default_rng(0)
    k = 21
    pos = np.arange(k)
    filters = np.zeros((3, 20, k))
    helix = np.cos(2 * np.pi * pos / 3.6) > 0  # helical wheel: 100° per residue
    strand = pos % 2 == 0
    for f, face in enumerate([helix, strand]):
        filters[f][np.ix_(hydrophobic, np.flatnonzero(face))] = 1.0
        filters[f][np.ix_(polar, np.flatnonzero(~face))] = 1.0
    filters[:2] += rng.normal(0, 0.15, filters[:2].shape)
    filters[2] = rng.normal(0, 1.0, (20, k))  # no structure
    for scale in ("eisenberg", "kyte_doolittle"):
        periods = filter_periods(filters, "protein", scale)
        assert periods[0] == pytest.approx(3.6, abs=0.3)
        assert periods[1] == pytest.approx(2.0, abs=0.3)
    # DNA: information content alternating with a 10-bp period
    ppm = np.full((4, 40), 0.25)
    ppm[:, (np.arange(40) % 10) < 3] = [[0.85], [0.05], [0.05], [0.05]]
    assert filter_periods(ppm[None], "dna")[0] == pytest.approx(10.0, abs=0.5)


# --------------------------------------------------------------------------- table and logos


def test_motif_table_groups_filters_and_patterns():
    def rows(items):
        return pd.DataFrame(items, columns=["query", "target_id", "target_name", "p", "E", "q",
                                            "offset", "strand"])

    filt = rows([("filter0", CTCF, "CTCF", 1e-9, 1e-6, 1e-6, 0, "+"),
                 ("filter1", CTCF, "CTCF", 1e-7, 1e-4, 1e-4, 1, "-"),
                 ("filter2", "MA0035.4", "GATA1", 0.2, 176, 0.9, 0, "+"),
                 ("filter3", "MA0035.4", "GATA1", 0.3, 260, 0.9, 0, "+")])
    pats = rows([("pos_pattern_0", CTCF, "CTCF", 1e-12, 1e-9, 1e-9, 0, "+"),
                 ("pos_pattern_1", "MA0035.4", "GATA1", 0.4, 350, 0.9, 0, "+")])
    fp = rows([("filter2", "pos_pattern_1", "pos_pattern_1", 1e-5, 2e-5, 1e-3, 0, "+")])
    table = motif_table(filt, pats, {"filter0": 100, "filter1": 40, "filter2": 30},
                        {"pos_pattern_0": 300, "pos_pattern_1": 50},
                        {"filter0": 0.2, "filter1": 0.05, "filter2": 0.01, "filter3": 0.3},
                        fp, max_q=0.05)
    assert table["motif"].tolist() == [CTCF, "pos_pattern_1"]
    first = table.iloc[0]
    assert first["filters"] == "filter0,filter1" and first["patterns"] == "pos_pattern_0"
    assert first["n_sites"] == 140 and first["n_seqlets"] == 300 and first["q"] == 1e-9
    assert first["influence"] == pytest.approx(0.25) and first["max_influence"] == 0.2
    second = table.iloc[1]
    assert second["filters"] == "filter2" and pd.isna(second["jaspar_id"])
    assert "filter3" not in ",".join(table["filters"])


def test_logos_write_pngs(tmp_path, ctcf):
    table = pd.DataFrame([("f0", CTCF, "CTCF", 1e-9, 1e-6, 1e-6, 2, "-")],
                         columns=["query", "target_id", "target_name", "p", "E", "q", "offset",
                                  "strand"])
    motifs = {"f0": ctcf[::-1, ::-1][:, 2:12], "f1": ctcf[:, :6]}
    plot_logo_grid(tmp_path / "grid.png", motifs, table, {CTCF: ctcf})
    plot_motif_logo(tmp_path / "one.png", motifs["f0"], "f0", match=ctcf, match_title="CTCF",
                    offset=2, strand="-")
    for name in ("grid.png", "one.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
