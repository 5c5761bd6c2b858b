"""Simulated sequence sets: determinism, planted truth, label rules, registry, round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seqcnn import alphabet, jaspar
from seqcnn.data import seqsets
from seqcnn.errors import ConfigError
from seqcnn.simulate import outputs, simulate
from seqcnn.simulate import sets as ss
from seqcnn.simulate.proteins import simulate_secondary_structure, write_seqset_files

SMALL = {
    "koo_eddy": {"n": 120},
    "stride": {"n": 60},
    "grammar": {"n": 60},
    "distance": {"n": 40},
    "padding": {"n": 100},
    "secondary_structure": {"n": 30, "family_size": 3},
}


def _site_scores(table: pd.DataFrame, truth: pd.DataFrame, release: str) -> np.ndarray:
    """Log-odds / best score of each planted site read on its strand, under its + PWM."""
    seqs = dict(zip(table["id"], table["sequence"], strict=True))
    out = []
    for row in truth.itertuples():
        _, pwm = ss.load_motif(row.motif_id, release)
        w = jaspar.log_odds(pwm)
        site = seqs[row.id][row.start:row.end]
        if row.strand == "-":
            site = alphabet.reverse_complement_seq(site)
        idx = ["ACGT".index(c) for c in site]
        out.append(w[idx, np.arange(len(idx))].sum() / w.max(axis=0).sum())
    return np.asarray(out)


def _split_counts(table: pd.DataFrame) -> dict[str, int]:
    return table["split"].value_counts().to_dict()


# --------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("kind", sorted(SMALL))
def test_every_kind_is_deterministic_per_seed(kind):
    t1, r1, c1 = ss.simulate_set(kind, SMALL[kind], seed=7)
    t2, r2, c2 = ss.simulate_set(kind, SMALL[kind], seed=7)
    t3, _, _ = ss.simulate_set(kind, SMALL[kind], seed=8)
    assert t1.equals(t2) and c1 == c2
    assert (r1 is None and r2 is None) or r1.equals(r2)
    assert not t1["sequence"].equals(t3["sequence"])
    assert list(t1.columns[:2]) == ["id", "sequence"] and set(c1) <= set(t1.columns)
    assert t1["id"].is_unique


# --------------------------------------------------------------------------- Koo & Eddy


def test_koo_eddy_pwms_are_the_12_motifs_and_their_reverse_complements():
    pwms = ss.koo_eddy_pwms()
    assert len(pwms) == 24
    assert [p[1] for p in pwms[::2]] == [mid for _, mid in ss.KOO_EDDY_MOTIFS]
    for (name, mid, s1, fwd), (name2, mid2, s2, rev) in zip(pwms[::2], pwms[1::2],
                                                             strict=True):
        assert (name, mid, s1, s2) == (name2, mid2, "+", "-")
        np.testing.assert_allclose(rev, fwd[::-1, ::-1])
        np.testing.assert_allclose(fwd.sum(axis=0), 1.0)


@pytest.fixture(scope="module")
def koo():
    return ss.simulate_koo_eddy(seed=3, n=2000)


def test_koo_eddy_labels_counts_and_placements(koo):
    table, truth, cols = koo
    names = [n for n, _ in ss.KOO_EDDY_MOTIFS]
    assert cols == names
    assert table["sequence"].str.len().eq(200).all()
    assert table["sequence"].str.fullmatch("[ACGT]+").all()
    # labels recomputed from the truth table
    present = truth.groupby("id")["motif_name"].agg(set)
    expected = np.array([[int(n in present.get(i, set())) for n in names]
                         for i in table["id"]])
    np.testing.assert_array_equal(table[names].to_numpy(), expected)
    # 1..5 instances with probabilities 0.50/0.25/0.17/0.05/0.03
    counts = truth.groupby("id").size().reindex(table["id"], fill_value=0)
    freq = np.bincount(counts, minlength=6)[1:6] / len(table)
    assert counts.min() >= 1
    np.testing.assert_allclose(freq, ss.KOO_EDDY_INSTANCE_PROBS, atol=0.035)
    # no overlapping placements, all inside the sequence
    t = truth.sort_values(["id", "start"])
    same = t["id"].to_numpy()[1:] == t["id"].to_numpy()[:-1]
    assert (t["start"].to_numpy()[1:][same] >= t["end"].to_numpy()[:-1][same]).all()
    assert (t["start"] >= 0).all() and (t["end"] <= 200).all()
    # both strands, all 12 motifs, sites read on their strand score like motif instances
    assert 0.4 < (truth["strand"] == "-").mean() < 0.6
    assert set(truth["motif_name"]) == set(names)
    scores = _site_scores(table, truth.iloc[:400], ss.KOO_EDDY_RELEASE)
    assert np.median(scores) > 0.6  # ~0.8; ~0.1 with the strands swapped
    assert _split_counts(table) == {"train": 1400, "valid": 200, "test": 400}


# --------------------------------------------------------------------------- stride


def test_stride_detection_is_one_over_stride():
    _, pwm = ss.load_motif("MA0139.2", "JASPAR2024")
    table, truth, _ = ss.simulate_stride(seed=1, n=2000, consensus=True)
    pos = alphabet.one_hot_batch(list(table.loc[table["label"] == 1, "sequence"]))
    neg = alphabet.one_hot_batch(list(table.loc[table["label"] == 0, "sequence"]))
    assert len(truth) == len(pos) == 1000 and truth["id"].is_unique
    for s in (1, 2, 4, 8):
        assert abs(ss.stride_detection(pos, pwm, s) - 1 / s) < 0.03, s
    assert ss.stride_detection(neg, pwm, 1) < 0.02
    # sampled (not consensus) instances: detection relative to stride 1 is ~1/s
    table, _, _ = ss.simulate_stride(seed=2, n=2000)
    pos = alphabet.one_hot_batch(list(table.loc[table["label"] == 1, "sequence"]))
    base = ss.stride_detection(pos, pwm, 1)
    assert base > 0.75
    for s in (2, 4, 8):
        assert abs(ss.stride_detection(pos, pwm, s) / base - 1 / s) < 0.04, s


def test_stride_plants_once_at_uniform_offsets():
    table, truth, cols = ss.simulate_stride(seed=4, n=400, length=120)
    assert cols == ["label"] and table["label"].sum() == 200
    assert set(truth["id"]) == set(table.loc[table["label"] == 1, "id"])
    assert (truth["strand"] == "+").all()
    assert truth["start"].min() < 10 and truth["end"].max() > 110
    assert np.median(_site_scores(table, truth, "JASPAR2024")) > 0.5


# --------------------------------------------------------------------------- grammar


def _pairs(truth: pd.DataFrame) -> pd.DataFrame:
    a, b = truth[truth["role"] == "A"], truth[truth["role"] == "B"]
    return a.merge(b, on="id", how="outer", suffixes=("_a", "_b")).set_index("id")


def test_grammar_order_and_spacing():
    table, truth, _ = ss.simulate_grammar(seed=5, n=600)
    p = _pairs(truth).loc[table["id"]]
    assert p.notna().all().all()  # one A and one B everywhere
    assert (p["strand_a"] == p["strand_b"]).all()
    plus = p["strand_a"] == "+"
    assert 0.4 < plus.mean() < 0.6
    # gap from A to B read on the motifs' strand (negative: B comes first)
    a_to_b = np.where(plus, p["start_b"] - p["end_a"], p["start_a"] - p["end_b"])
    b_to_a = np.where(plus, p["start_a"] - p["end_b"], p["start_b"] - p["end_a"])
    label = table.set_index("id").loc[p.index, "label"].to_numpy()
    arr = p["arrangement_a"].to_numpy()
    assert (arr[label == 1] == "grammar").all()
    assert ((20 <= a_to_b) & (a_to_b <= 40))[label == 1].all()
    far, swapped = arr == "far", arr == "swapped"
    assert (far | swapped)[label == 0].all() and 0.35 < far[label == 0].mean() < 0.65
    assert (a_to_b[far] > 80).all()
    assert ((20 <= b_to_a[swapped]) & (b_to_a[swapped] <= 40)).all()
    assert np.median(_site_scores(table, truth, "JASPAR2024")) > 0.5


# --------------------------------------------------------------------------- distance


def test_distance_label_follows_the_distance_rule_only():
    table, truth, _ = ss.simulate_distance(seed=6, n=300)
    assert table["sequence"].str.len().eq(4000).all()
    p = _pairs(truth).loc[table["id"]]
    assert p.notna().all().all()
    gap = np.maximum(p["start_b"] - p["end_a"], p["start_a"] - p["end_b"]).to_numpy()
    label = table["label"].to_numpy()
    np.testing.assert_array_equal(label, ((1000 <= gap) & (gap <= 2000)).astype(int))
    a_first = (p["start_a"] < p["start_b"]).to_numpy()
    for y in (0, 1):  # order and strand are uninformative
        assert 0.35 < a_first[label == y].mean() < 0.65
        assert 0.35 < (p["strand_a"].to_numpy()[label == y] == "+").mean() < 0.65
    assert (gap[label == 0] < 1000).any() and (gap[label == 0] > 2000).any()
    near = ss.simulate_distance(seed=6, n=100, near_gap=(0, 299), far_fraction=0)
    assert (near.truth.loc[near.truth["arrangement"] == "near", "gap"] < 300).all()


def test_distance_single_motif_negatives():
    table, truth, _ = ss.simulate_distance(seed=7, n=400, far_fraction=0, single_fraction=0.5)
    per_seq = truth.groupby("id").agg(n=("role", "size"), arrangement=("arrangement", "first"))
    per_seq = per_seq.loc[table["id"]]
    single = (per_seq["arrangement"] == "single").to_numpy()
    label = table["label"].to_numpy()
    assert not (single & (label == 1)).any()  # only negatives lose a motif
    assert 0.35 < single[label == 0].mean() < 0.65
    assert (per_seq["n"].to_numpy()[single] == 1).all() and (per_seq["n"][~single] == 2).all()
    roles = truth.loc[truth["arrangement"] == "single", "role"]
    assert set(roles) == {"A", "B"}
    # the planted site is where truth says: its sequence scores well under its PWM
    assert np.median(_site_scores(table, truth, "JASPAR2024")) > 0.5


# --------------------------------------------------------------------------- padding


def test_padding_length_shortcut_only_in_train_and_valid():
    table, truth, _ = ss.simulate_padding(seed=9, n=2000)
    lengths = table["sequence"].str.len()
    assert lengths.between(100, 300).all()
    r = {s: np.corrcoef(lengths[g.index], g["label"])[0, 1] for s, g in table.groupby("split")}
    assert r["train"] > 0.5 and r["valid"] > 0.5 and abs(r["test"]) < 0.15
    assert _split_counts(table) == {"train": 1400, "valid": 200, "test": 400}
    assert (table.groupby("split")["label"].mean() == 0.5).all()
    # the motif alone determines the label: one site in every positive, none in negatives
    assert sorted(truth["id"]) == sorted(table.loc[table["label"] == 1, "id"])
    ends = table.set_index("id").loc[truth["id"], "sequence"].str.len().to_numpy()
    assert (truth["end"].to_numpy() <= ends).all()
    assert np.median(_site_scores(table, truth, "JASPAR2024")) > 0.5


# --------------------------------------------------------------------------- proteins


def test_secondary_structure_wraps_seqsets():
    table, truth, cols = ss.simulate_set("secondary_structure", {"n": 20}, seed=2)
    direct = simulate_secondary_structure(20, np.random.default_rng(2))
    assert table.equals(direct) and truth is None and cols == ["structure"]
    assert "secondary_structure" in ss.POSITION_LABEL_KINDS


# --------------------------------------------------------------------------- registry


def test_registry_errors():
    with pytest.raises(ValueError, match="unknown simulation kind 'nope'.*koo_eddy"):
        ss.simulate_set("nope", {}, seed=0)
    with pytest.raises(ValueError, match="unknown parameter.*'motiff'.*allowed:.*motif"):
        ss.simulate_set("stride", {"motiff": "MA0139.2"}, seed=0)
    with pytest.raises(ValueError, match="seed"):
        ss.simulate_set("stride", {"seed": 1}, seed=0)
    with pytest.raises(ValueError, match="release 'JASPAR2099'.*allowed:.*JASPAR2024"):
        ss.simulate_set("stride", {"n": 10, "release": "JASPAR2099"}, seed=0)
    with pytest.raises(ValueError, match="motif_b.*MA9999.1"):
        ss.simulate_set("grammar", {"n": 10, "motif_b": "MA9999.1"}, seed=0)
    with pytest.raises(ValueError, match="instance_probs"):
        ss.simulate_set("koo_eddy", {"n": 10, "instance_probs": [0.5, 0.2]}, seed=0)
    with pytest.raises(ValueError, match="outside positive_gap"):
        ss.simulate_set("distance", {"n": 10, "near_gap": [0, 1500]}, seed=0)
    with pytest.raises(ValueError, match="n must be an integer"):
        ss.simulate_set("padding", {"n": 1.5}, seed=0)
    assert set(ss.simulation_params("koo_eddy")) == {"n", "length", "instance_probs",
                                                      "fractions", "release"}


@pytest.mark.parametrize("kind", sorted(SMALL))
def test_round_trip_through_seqset_files(kind, tmp_path):
    table, _, cols = ss.simulate_set(kind, SMALL[kind], seed=11)
    extra = [c for c in ("split", "group") if c in table.columns]
    fasta, labels = write_seqset_files(table, tmp_path / "s.fa.gz",
                                               tmp_path / "s.tsv", [*cols, *extra])
    if kind in ss.POSITION_LABEL_KINDS:
        loaded = seqsets.load_seqset(fasta, labels, position_label=cols[0])
        assert [len(p) for p in loaded.position_labels] == list(table["sequence"].str.len())
    else:
        loaded = seqsets.load_seqset(fasta, labels, label_columns=cols)
        np.testing.assert_array_equal(loaded.labels, table[cols].to_numpy())
        assert loaded.kinds == {c: "binary" for c in cols}
    assert loaded.alphabet == ("protein" if kind == "secondary_structure" else "dna")
    assert list(loaded.ids) == list(table["id"])
    if "split" in table.columns:
        assert loaded.report["split"]["source"] == "column"
        np.testing.assert_array_equal(loaded.split, table["split"].to_numpy())


# --------------------------------------------------------------------------- one entry point


@pytest.mark.parametrize("kind", sorted(SMALL))
def test_simulate_entry_point_writes_the_set(kind, tmp_path):
    files = simulate(kind, SMALL[kind], tmp_path / kind, seed=11, key=f"simulations.{kind}")
    assert {k: p.name for k, p in files.items()} == outputs(kind) == {
        "sequences": "sequences.fa.gz", "labels": "labels.tsv", "truth": "truth.tsv"}
    table, truth, cols = ss.simulate_set(kind, SMALL[kind], seed=11)
    extra = [c for c in ("split", "group") if c in table.columns]
    fasta, labels = write_seqset_files(table, tmp_path / "direct" / "sequences.fa.gz",
                                       tmp_path / "direct" / "labels.tsv", [*cols, *extra])
    assert files["sequences"].read_bytes() == fasta.read_bytes()
    assert files["labels"].read_bytes() == labels.read_bytes()
    written = pd.read_csv(files["truth"], sep="\t")
    if truth is None:
        assert list(written.columns) == ["id"] and written.empty
    else:
        assert len(written) == len(truth) and list(written["id"]) == list(truth["id"])


def test_simulate_entry_point_errors_name_the_config_key(tmp_path):
    with pytest.raises(ConfigError, match=r"^config key simulations\.p\.params: n must be an "
                                          r"integer >= 2, got 1\.5"):
        simulate("padding", {"n": 1.5}, tmp_path, seed=0, key="simulations.p")
    with pytest.raises(ConfigError, match=r"simulations\.p\.params: simulation 'stride': "
                                          r"unknown parameter\(s\) 'motiff'"):
        simulate("stride", {"motiff": "MA0139.2"}, tmp_path, seed=0, key="simulations.p")
    with pytest.raises(ConfigError, match=r"simulations\.p\.params: motif_b: cannot load"):
        simulate("grammar", {"n": 10, "motif_b": "MA9999.1"}, tmp_path, seed=0,
                 key="simulations.p")
    with pytest.raises(ConfigError, match=r"simulations\.p\.params: need 1 <= min_len"):
        simulate("secondary_structure", {"n": 5, "min_len": 50, "max_len": 10}, tmp_path,
                 seed=0, key="simulations.p")
    assert not list(tmp_path.iterdir())  # nothing written when the parameters are bad
