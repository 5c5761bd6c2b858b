"""Sequence design (seqcnn.design): known optima on linear models, the edit budget,
alphabets, seeds, the check by planted matrices; the rule through Snakemake."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from seqcnn.alphabet import decode, letters, one_hot
from seqcnn.design.edits import allowed_substitutions, count_edits, edit_table, edit_window
from seqcnn.design.evolution import evolve
from seqcnn.design.gradient import relax
from seqcnn.design.motifs import consensus, implant, placement_gain
from seqcnn.design.objective import Objective, model_logits
from seqcnn.design.starts import composition, random_starts


class Linear(nn.Module):
    """``logit_t(x) = Σ W[t] · x + b[t]``: a model whose optimum is known."""

    def __init__(self, W: np.ndarray) -> None:
        super().__init__()
        self.W = nn.Parameter(torch.as_tensor(W, dtype=torch.float32))
        self.b = nn.Parameter(torch.zeros(len(W)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("nal,tal->nt", x, self.W) + self.b


def linear_optimum(W: np.ndarray, x0: np.ndarray, budget: int) -> float:
    """Largest ``W · x`` reachable from one-hot ``x0`` ``(A, L)`` with ``budget`` edits:
    the ``budget`` largest positive per-position gains added to the start's score."""
    gains = W.max(axis=0) - (W * x0).sum(axis=0)
    return float((W * x0).sum() + np.sort(gains)[::-1][:budget].clip(min=0).sum())


def test_evolution_reaches_the_optimum_of_a_linear_model_within_the_budget():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(2, 4, 30))
    model = Linear(W)
    x0 = random_starts(np.full(4, 0.25), 5, 30, seed=1)
    obj = Objective(task=0)
    d = evolve(model, x0, obj, "rna", budget=4)  # RNA: forward only
    got = model_logits(model, d.x, "rna")[:, 0]
    want = [linear_optimum(W[0], x, 4) for x in x0]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert (count_edits(d.x, x0) == 4).all()  # every position has gains: the budget is used
    # the trajectory climbs one substitution per round, start included as round 0
    assert sorted(d.trajectory["round"].unique()) == [0, 1, 2, 3, 4]
    first = d.trajectory[d.trajectory["round"] == 0]["objective"].to_numpy()
    np.testing.assert_allclose(first, model_logits(model, x0, "rna")[:, 0], rtol=1e-5)


def test_dna_designs_score_both_strands_and_beam_matches_greedy_on_linear_models():
    rng = np.random.default_rng(3)
    W = rng.normal(size=(1, 4, 25))
    model = Linear(W)
    x0 = random_starts(np.full(4, 0.25), 3, 25, seed=2)
    both = (W[0] + W[0][::-1, ::-1]) / 2  # the average of the two strands, still linear
    for beam in (1, 3):
        d = evolve(model, x0, Objective(task=0), "dna", budget=3, beam=beam)
        got = model_logits(model, d.x, "dna")[:, 0]
        np.testing.assert_allclose(got, [linear_optimum(both, x, 3) for x in x0], rtol=1e-5)


def test_oriented_dna_designs_score_the_forward_strand_only():
    """A model of an oriented dataset (forward_only): its reverse complement is another
    sequence, so the design reaches the forward strand's optimum, not the averaged one."""
    rng = np.random.default_rng(3)
    W = rng.normal(size=(1, 4, 25))
    model = Linear(W)
    x0 = random_starts(np.full(4, 0.25), 3, 25, seed=2)
    fwd = [linear_optimum(W[0], x, 3) for x in x0]
    both = [linear_optimum((W[0] + W[0][::-1, ::-1]) / 2, x, 3) for x in x0]
    d = evolve(model, x0, Objective(task=0), "dna", budget=3, forward_only=True)
    np.testing.assert_allclose(model_logits(model, d.x, "dna", forward_only=True)[:, 0], fwd,
                               rtol=1e-5)
    assert not np.allclose(model_logits(model, d.x, "dna")[:, 0], both, rtol=1e-4)
    # the trajectory records the forward strand's logits
    start = d.trajectory[d.trajectory["round"] == 0]["objective"].to_numpy()
    np.testing.assert_allclose(start, (W[0] * x0).sum(axis=(1, 2)), rtol=1e-5)
    # gradient design: within the forward optimum, and above what the averaged objective
    # reaches on the forward strand (measured: 6.3 / 5.9 / 9.6 against 3.1 / 3.5 / 8.0)
    one = model_logits(model, relax(model, x0, Objective(task=0), "dna", budget=3, steps=150,
                                    seed=0, forward_only=True).x, "dna", forward_only=True)
    avg = model_logits(model, relax(model, x0, Objective(task=0), "dna", budget=3, steps=150,
                                    seed=0).x, "dna", forward_only=True)
    assert (one[:, 0] <= np.array(fwd) + 1e-4).all() and (one[:, 0] > avg[:, 0]).all()


def test_protein_alphabet_substitutions_over_twenty_letters():
    rng = np.random.default_rng(1)
    W = rng.normal(size=(1, 20, 12))
    model = Linear(W)
    x0 = random_starts(np.full(20, 0.05), 4, 12, seed=0)
    d = evolve(model, x0, Objective(task=0, goal="minimize"), "protein", budget=2)
    got = model_logits(model, d.x, "protein")[:, 0]
    want = [-linear_optimum(-W[0], x, 2) for x in x0]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    for x in d.x:  # decodes to the alphabet: exactly one letter per column
        assert (x.sum(axis=0) == 1).all() and set(decode(x, "protein")) <= set(letters("protein"))


def test_no_budget_and_a_stop_when_the_score_stops_rising():
    W = np.zeros((1, 4, 6))
    W[0, 2, :] = 1.0  # G everywhere is the optimum: 6 − (start's Gs) edits, then no gain
    model = Linear(W)
    x0 = one_hot("ACGTAC")[None]
    d = evolve(model, x0, Objective(task=0), "rna", budget=None, max_rounds=50)
    assert decode(d.x[0], "rna") == "GGGGGG"
    assert d.trajectory["round"].max() == 5  # 5 rounds of edits; the 6th found no gain


def test_keep_low_and_target_objectives():
    obj = Objective(task=0, keep_low=(1,), low_weight=2.0)
    z = np.array([[1.0, 0.0], [3.0, 5.0]])
    np.testing.assert_allclose(obj.score_logits(z), [1 - 2 * np.log(2), 3 - 2 * np.log1p(
        np.exp(5))])
    tgt = Objective(task=1, goal="target", target=0.5)
    np.testing.assert_allclose(tgt.score_logits(z), [0.0, -5.0])
    # on a linear model, keep-low trades one task against the other
    W = np.zeros((2, 4, 4))
    W[0, 0], W[1, 0] = 1.0, 10.0  # A raises task 0 a little and task 1 a lot
    W[0, 1] = 0.5                 # C raises task 0 less, task 1 not at all
    d = evolve(Linear(W), one_hot("GGGG", "rna")[None], obj, "rna", budget=4)
    assert decode(d.x[0], "rna") == "CCCC"
    with pytest.raises(ValueError, match="target"):
        Objective(task=0, goal="target")


def test_allowed_substitutions_and_edit_tables():
    start = one_hot("ACGT")[None]
    x = one_hot("CCGT")[None]  # one edit at position 0
    ok = allowed_substitutions(x, start, budget=1)
    # position 0: back to A (0 edits) or to G/T (1 edit) allowed; C is the letter in place
    assert ok[0, :, 0].tolist() == [True, False, True, True]
    # positions 1..3: any change makes 2 edits: not allowed
    assert not ok[0, :, 1:].any()
    assert allowed_substitutions(x, start, None)[0].sum() == 12
    t = edit_table(x, start, ["s1"], "dna")
    assert t.to_dict("records") == [{"id": "s1", "position": 0, "start_letter": "A",
                                     "letter": "C"}]
    assert edit_window(np.array([0, 1, 0, 0, 0, 0, 0, 1, 1, 0], bool), flank=1, gap=2) == (6, 10)
    assert edit_window(np.zeros(5, bool)) is None


def test_gradient_respects_the_budget_and_seeds_reproduce():
    rng = np.random.default_rng(4)
    W = rng.normal(size=(1, 4, 40))
    model = Linear(W)
    x0 = random_starts(np.full(4, 0.25), 6, 40, seed=5)
    a = relax(model, x0, Objective(task=0), "dna", budget=5, steps=40, seed=7)
    b = relax(model, x0, Objective(task=0), "dna", budget=5, steps=40, seed=7)
    c = relax(model, x0, Objective(task=0), "dna", budget=5, steps=40, seed=8)
    assert np.array_equal(a.x, b.x) and not np.array_equal(a.x, c.x)
    assert (count_edits(a.x, x0) <= 5).all()
    s0, s1 = model_logits(model, x0, "dna")[:, 0], model_logits(model, a.x, "dna")[:, 0]
    assert (s1 > s0).all()
    both = (W[0] + W[0][::-1, ::-1]) / 2
    assert (s1 <= np.array([linear_optimum(both, x, 5) for x in x0]) + 1e-4).all()
    for x in a.x:
        assert (x.sum(axis=0) == 1).all()


def test_random_starts_follow_the_composition_and_the_seed():
    freqs = composition(one_hot("AAAC")[None])
    np.testing.assert_allclose(freqs, [0.75, 0.25, 0, 0])
    x = random_starts(freqs, 200, 50, seed=3)
    assert np.array_equal(x, random_starts(freqs, 200, 50, seed=3))
    assert not np.array_equal(x, random_starts(freqs, 200, 50, seed=4))
    got = x.sum(axis=(0, 2)) / x.sum()
    assert x[:, 2:].sum() == 0 and abs(got[0] - 0.75) < 0.02


def test_motif_placement_gain_is_exact_on_a_linear_model_and_implant_respects_the_budget():
    rng = np.random.default_rng(5)
    W = rng.normal(size=(1, 4, 20))
    model = Linear(W)
    x0 = random_starts(np.full(4, 0.25), 2, 20, seed=0)
    motif = one_hot("GATTACA")
    grad = np.broadcast_to(W[0], x0.shape).astype(np.float64)
    gain = placement_gain(grad, x0, motif)
    for off in (0, 5, 13):
        y = x0[0].copy()
        y[:, off:off + 7] = motif
        assert gain[0, off] == pytest.approx(float((W[0] * (y.astype(int) - x0[0])).sum()))
    ppm = one_hot("GATTACA").astype(float) * 0.9 + 0.025
    assert decode(consensus(ppm)) == "GATTACA"
    d = implant(model, x0, Objective(task=0), "rna", {"m": ppm}, budget=4, max_rounds=3)
    assert (count_edits(d.x, x0) <= 4).all()
    d = implant(model, x0, Objective(task=0), "rna", {"m": ppm}, budget=None, max_rounds=1,
                top_positions=14)
    best = max(range(14), key=lambda o: gain[0, o])
    assert decode(d.x[0], "rna")[best:best + 7] == "GAUUACA"
    assert d.inserted.iloc[0].to_dict() == {"sequence": 0, "round": 1, "motif": "m",
                                            "strand": "+", "start": best}


def test_fimo_finds_a_planted_consensus_and_the_check_table_summarises():
    from seqcnn.design.check import check_table, fimo_hits, summary
    from seqcnn.jaspar import fetch

    ctcf = fetch(["MA0139.2"])[0].probabilities()
    x = np.zeros((4, 4, 100), np.uint8)
    x[:, 0] = 1  # poly-A: no site
    x[1, :, 40:40 + ctcf.shape[1]] = consensus(ctcf)
    x[3, :, 10:10 + ctcf.shape[1]] = consensus(ctcf)[::-1, ::-1]  # reverse strand
    hits = fimo_hits(x, {"CTCF": ctcf})["CTCF"]
    assert (hits > 0).tolist() == [False, True, False, True]
    guide = np.array([[0.1], [0.9], [0.2], [0.8]])
    table = check_table(["a", "b", "c", "d"], {
        "start": {"edits": np.zeros(4), "objective": np.zeros(4), "guide": guide,
                  "check": guide / 2, "fimo": {"CTCF": np.zeros(4, int)}},
        "designed": {"edits": np.ones(4), "objective": np.ones(4), "guide": guide,
                     "check": guide, "fimo": {"CTCF": hits}}}, ["T"])
    s = summary(table)
    assert s["designed"]["with_CTCF"] == 0.5 and s["start"]["with_CTCF"] == 0.0
    assert s["start"]["check_T"] == pytest.approx(0.25) and s["designed"]["n"] == 4
    assert list(pd.unique(table["stage"])) == ["start", "designed"]


@pytest.mark.workflow
@pytest.mark.xdist_group("tiny")  # reuses test_workflow's tiny build (conftest.tiny_build)
def test_design_sequences_rule_on_a_tiny_config(tiny_build, tmp_path):
    from conftest import copy_project
    from test_workflow import TINY, run_snakemake

    work = copy_project(tiny_build, tmp_path / "project")  # small is trained: only check runs
    config = json.loads(json.dumps(TINY))
    config["models"]["check"] = {"arch": "deepbind", "filters": 4, "kernel": 11, "hidden": 8}
    ds = config["datasets"]["tiny"]
    ds["models"] = ["small", "check"]
    ds["truth"] = "resources/simulated/tiny/truth.tsv"
    ds["design"] = {"up": {"task": "A", "keep_low": ["B"], "n": 6, "edits": 3,
                           "check_model": "check", "plot_n": 2}}
    run_snakemake(work, config, "results/tiny/small/design/up.check.tsv")
    out = work / "results" / "tiny" / "small" / "design"
    table = pd.read_csv(out / "up.check.tsv", sep="\t")
    assert len(table) == 12 and set(table["stage"]) == {"start", "designed"}
    assert {"guide_A", "guide_B", "check_A", "check_B", "fimo_MA0139.2_CTCF",
            "fimo_MA0080.7_Spi1"} <= set(table.columns)
    designed = table[table["stage"] == "designed"]
    assert (designed["edits"] <= 3).all()
    start = table[table["stage"] == "start"]
    assert (designed["objective"].to_numpy() >= start["objective"].to_numpy() - 1e-4).all()
    edits = pd.read_csv(out / "up.edits.tsv", sep="\t")
    assert len(edits) == designed["edits"].sum()
    from seqcnn.data.fasta import read_fasta

    fa = read_fasta(out / "up.fa")
    assert len(fa) == 6 and set("".join(fa["sequence"])) <= set("ACGT")
    assert (fa["sequence"].str.len() == 120).all()
    summary = json.loads((out / "up.json").read_text())
    assert summary["check_model"] == "check" and summary["stages"]["designed"]["n"] == 6
    traj = pd.read_csv(out / "up.trajectory.tsv", sep="\t")
    assert traj["round"].min() == 0 and traj["edits"].max() <= 3
    # the tiny genome's peaks are unstranded: both strands scored, as evaluation does
    log = (work / "results" / "logs" / "tiny" / "small" / "design" / "up.log").read_text()
    assert "scoring the designs: strand averaging on (evaluate.rc_average: auto)" in log


def test_start_sequences_from_negatives_and_a_fasta(tmp_path):
    from seqcnn.design.starts import from_fasta, negatives
    from seqcnn.errors import InputError

    onehot = np.stack([one_hot(s) for s in ("AAAA", "CCCC", "GGGG", "TTTT")])
    labels = np.array([[1, 0], [0, 0], [0, 255], [0, 0]], np.uint8)
    x, ids = negatives(onehot, labels, np.array(["a", "b", "c", "d"]), n=5)
    assert ids.tolist() == ["b", "d"] and decode(x[1]) == "TTTT"  # 255 is not a negative
    fa = tmp_path / "s.fa"
    fa.write_text(">one\nACGU\n>two\nGGCC\n")
    x, ids = from_fasta(fa, "rna", 4, n=10)
    assert ids.tolist() == ["one", "two"] and decode(x[0], "rna") == "ACGU"
    with pytest.raises(InputError, match="record two .*3 letters"):
        fa.write_text(">one\nACGU\n>two\nGGC\n")
        from_fasta(fa, "rna", 4, n=10)


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(check_model="nope"), "check_model is 'nope', which is not in"),
    (lambda d: d.update(task="C"), "names task 'C'"),
    (lambda d: d.update(goal="target"), "goal target needs"),
    (lambda d: d.update(check_model="small"), "must differ"),
])
def test_design_config_errors_name_the_key(edit, message):
    from conftest import ROOT
    from seqcnn.errors import ConfigError
    from seqcnn.workflow.config import resolve
    from test_workflow import TINY

    config = json.loads(json.dumps(TINY))
    design = {"task": "A", "keep_low": ["B"]}
    config["datasets"]["tiny"]["design"] = {"up": design}
    resolved = resolve(config, ROOT)
    assert resolved["datasets"]["tiny"]["design"]["up"]["model"] == "small"
    edit(design)
    with pytest.raises(ConfigError, match=message):
        resolve(config, ROOT)
