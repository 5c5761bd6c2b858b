"""Model choice by validation: the choice reads validation metrics only."""

import copy
import os

import pandas as pd
import pytest

from seqcnn.errors import ConfigError, InputError
from seqcnn.workflow.portfolio import (
    CHOSEN,
    apply_portfolios,
    choose,
    ensemble_models,
    selection_inputs,
)


def _summary(valid_auroc, valid_auprc, test_auroc=None):
    s = {"arch": "dilated", "best_valid_auroc": valid_auroc, "best_valid_auprc": valid_auprc}
    if test_auroc is not None:  # poison: a test metric that would flip the choice
        s |= {"test_auroc": test_auroc, "best_test_auroc": test_auroc}
    return s


def test_choose_by_validation_not_test():
    summaries = {"a": _summary(0.90, 0.80, test_auroc=0.99),
                 "b": _summary(0.95, 0.70, test_auroc=0.50),
                 "c": _summary(0.93, 0.85, test_auroc=0.98)}
    best, rows = choose(summaries, "valid_auroc")
    assert best == "b"
    assert [r["value"] for r in rows] == [0.90, 0.95, 0.93]
    assert [r["chosen"] for r in rows] == [False, True, False]
    assert choose(summaries, "valid_auprc")[0] == "c"


def test_tie_goes_to_first_in_order():
    summaries = {"a": _summary(0.9, 0.5), "b": _summary(0.9, 0.5)}
    assert choose(summaries)[0] == "a"
    assert choose(summaries, order=["b", "a"])[0] == "b"


def test_missing_metric_is_an_input_error():
    with pytest.raises(InputError, match="'b'.*best_valid_auroc"):
        choose({"a": _summary(0.9, 0.5), "b": {"arch": "basset"}})


def test_selection_inputs_hold_no_test_data():
    inputs = selection_inputs("results", "demo", ["dilated", "basset"])
    paths = [p for files in inputs.values() for p in files]
    assert len(paths) == 6
    assert all("/eval/" not in p and "test" not in p and "/cache/" not in p for p in paths)
    assert inputs["summaries"] == ["results/demo/dilated/model.json",
                                   "results/demo/basset/model.json"]


def _config():
    return {"models": {"dilated": {"arch": "dilated"}, "basset": {"arch": "basset"},
                       "ens": {"arch": "dilated", "ensemble": {"members": 2}}},
            "datasets": {"demo": {"models": [], "portfolio": {"models": ["dilated", "basset"],
                                                              "metric": "valid_auprc"}},
                         "other": {"models": ["dilated"]}}}


def test_apply_portfolios():
    config = _config()
    out = apply_portfolios(config)
    assert out == {"demo": {"models": ["dilated", "basset"], "metric": "valid_auprc"}}
    assert config["datasets"]["demo"]["models"] == [CHOSEN]
    assert "portfolio" not in config["datasets"]["demo"]
    assert config["datasets"]["other"]["models"] == ["dilated"]
    assert ensemble_models(config["models"]) == ["ens"]


@pytest.mark.parametrize("change, match", [
    (lambda c: c["datasets"]["demo"]["portfolio"]["models"].append("nope"), "'nope'"),
    (lambda c: c["datasets"]["demo"]["portfolio"].update(metric="test_auroc"), "metric"),
    (lambda c: c["models"].update(chosen={"arch": "dilated"}), "reserved"),
])
def test_apply_portfolios_errors(change, match):
    config = copy.deepcopy(_config())
    change(config)
    with pytest.raises(ConfigError, match=match):
        apply_portfolios(config)


def _regression(pearson, spearman, tasks=("activity",)):
    """A regression model.json: training records Pearson r as best_valid_auprc and
    Spearman rho as best_valid_auroc (seqcnn.train.loop)."""
    return {"arch": "dilated", "best_valid_auprc": pearson, "best_valid_auroc": spearman,
            "targets": {"tasks": list(tasks), "kinds": dict.fromkeys(tasks, "regression"),
                        "classes": dict.fromkeys(tasks, [])}}


def _binary(auroc, auprc, tasks=("CTCF", "SPI1")):
    return _summary(auroc, auprc) | {
        "targets": {"tasks": list(tasks), "kinds": dict.fromkeys(tasks, "binary")}}


def test_regression_chooses_by_pearson_and_the_choice_flips_with_the_metric():
    summaries = {"a": _regression(0.60, 0.70), "b": _regression(0.65, 0.55),
                 "c": _regression(0.62, 0.66)}
    best, rows = choose(summaries)  # auto: regression → valid_pearson
    assert best == "b"
    assert [(r["metric"], r["value"]) for r in rows] == [
        ("valid_pearson", 0.60), ("valid_pearson", 0.65), ("valid_pearson", 0.62)]
    assert choose(summaries, "valid_pearson")[0] == "b"
    best, rows = choose(summaries, "valid_spearman")
    assert best == "a"
    assert [r["value"] for r in rows] == [0.70, 0.55, 0.66]


def test_binary_auto_is_valid_auroc():
    summaries = {"a": _binary(0.90, 0.85), "b": _binary(0.92, 0.80)}
    best, rows = choose(summaries)
    assert (best, rows[1]["metric"]) == ("b", "valid_auroc")
    assert choose(summaries, "valid_auprc")[0] == "a"


@pytest.mark.parametrize("summary, metric, match", [
    (_regression(0.6, 0.7), "valid_auroc", "'valid_auroc', but the dataset has regression"),
    (_regression(0.6, 0.7), "valid_auprc", "valid_pearson, valid_spearman"),
    (_binary(0.9, 0.8), "valid_pearson", "'valid_pearson', but the dataset has classification"),
    (_binary(0.9, 0.8), "valid_r2", "choose one of auto, valid_auroc"),
])
def test_metric_of_the_other_kind_is_a_config_error(summary, metric, match):
    with pytest.raises(ConfigError, match=match):
        choose({"a": summary, "b": summary}, metric)


def test_mixed_regression_and_binary_summaries_are_an_input_error():
    with pytest.raises(InputError, match="'?b'?.*regression"):
        choose({"a": _binary(0.9, 0.8), "b": _regression(0.6, 0.7)})


def _seqset_config(label_type, metric=None):
    portfolio = {"models": ["dilated", "basset"]} | ({"metric": metric} if metric else {})
    return {"models": {"dilated": {"arch": "dilated"}, "basset": {"arch": "basset"}},
            "datasets": {"mpra": {"sequences": "s.fa", "labels": "l.tsv",
                                  "label_type": label_type, "models": [],
                                  "portfolio": portfolio}}}


@pytest.mark.parametrize("label_type, metric, resolved", [
    ("regression", None, "valid_pearson"),
    ("regression", "auto", "valid_pearson"),
    ("regression", "valid_spearman", "valid_spearman"),
    ("binary", None, "valid_auroc"),
    ("multiclass", "valid_auprc", "valid_auprc"),
    (None, None, "auto"),  # label_type detected at the cache: model.json decides
    (None, "valid_pearson", "valid_pearson"),
])
def test_apply_portfolios_resolves_the_metric(label_type, metric, resolved):
    out = apply_portfolios(_seqset_config(label_type, metric))
    assert out["mpra"]["metric"] == resolved


@pytest.mark.parametrize("config, match", [
    (_seqset_config("regression", "valid_auroc"),
     r"datasets\.mpra\.portfolio\.metric is 'valid_auroc', but the dataset has regression"),
    (_seqset_config("binary", "valid_pearson"),
     r"datasets\.mpra\.portfolio\.metric is 'valid_pearson', but the dataset has class"),
])
def test_apply_portfolios_metric_of_the_other_kind(config, match):
    with pytest.raises(ConfigError, match=match):
        apply_portfolios(config)


def test_apply_portfolios_genome_dataset_rejects_valid_pearson():
    config = _config()
    config["datasets"]["demo"]["portfolio"]["metric"] = "valid_pearson"
    with pytest.raises(ConfigError, match=r"datasets\.demo\.portfolio\.metric.*valid_auroc"):
        apply_portfolios(config)


# --------------------------------------------------------------------------- workflow


@pytest.mark.workflow
@pytest.mark.xdist_group("portfolio")
def test_ensemble_and_portfolio_through_the_dag(tmp_path):
    """A 2-member ensemble and a single model as a portfolio: members trained as jobs, the
    ensemble's logits are the members' mean, the choice follows the recorded validation
    metric and is made with the test split unreadable (no job before it may read it), the
    chosen model is interpreted, and the report shows both tables."""
    import json

    import numpy as np
    import torch

    from seqcnn.data.cache import load_split
    from seqcnn.models import Ensemble, load_model
    from test_workflow import TINY, run_snakemake

    config = copy.deepcopy(TINY)
    config["models"] = {
        "small": TINY["models"]["small"],
        "ens": {**TINY["models"]["small"], "ensemble": {"members": 2}},
    }
    config["datasets"]["tiny"]["models"] = []
    config["datasets"]["tiny"]["portfolio"] = {"models": ["small", "ens"]}
    res = tmp_path / "results" / "tiny"
    # the test split cannot reach training or the choice: built, then replaced by bytes no
    # reader accepts (times kept, so Snakemake sees nothing new) until the model is chosen
    run_snakemake(tmp_path, config, "results/tiny/cache/manifest.json")
    poisoned = {p: (p.read_bytes(), p.stat()) for p in sorted((res / "cache").glob("test.*"))}
    assert len(poisoned) >= 3
    for p, (_, st) in poisoned.items():
        p.write_bytes(b"")
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    run_snakemake(tmp_path, config, "results/tiny/chosen_model.json", timeout=1200)
    for p, (data, st) in poisoned.items():
        p.write_bytes(data)
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    run_snakemake(tmp_path, config, timeout=1500)  # the whole tiny DAG: slow on a busy machine

    members = [res / "ens" / "members" / str(i) / "model.pt" for i in (0, 1)]
    seeds = [json.loads((p.parent / "model.json").read_text())["train"]["seed"]
             for p in members]
    assert seeds == [0, 1]
    ens = load_model(res / "ens" / "model.pt")
    assert isinstance(ens, Ensemble)
    x = torch.from_numpy(np.array(load_split(res / "cache", "test").onehot[:16])).float()
    a, b = (load_model(p) for p in members)
    with torch.no_grad():
        assert torch.equal(ens(x), (a(x) + b(x)) / 2)

    summaries = {m: json.loads((res / m / "model.json").read_text()) for m in ("small", "ens")}
    expected = max(summaries, key=lambda m: (summaries[m]["best_valid_auroc"], m == "small"))
    choice = json.loads((res / "chosen_model.json").read_text())
    assert choice["chosen"] == expected
    assert [r["value"] for r in choice["models"]] == [
        summaries[m]["best_valid_auroc"] for m in ("small", "ens")]
    assert (res / "chosen" / "model.pt").read_bytes() == (res / expected / "model.pt").read_bytes()
    assert (res / "chosen" / "interpret" / "motifs.tsv").exists()

    members_tsv = (res / "ens" / "eval" / "members.tsv").read_text().splitlines()
    assert len(members_tsv) == 1 + 2 * 2  # header + 2 members × 2 tasks
    page = (res / "report.html").read_text()
    assert 'id="portfolio"' in page and 'id="ensembles"' in page
    assert "✔" in page
    # each portfolio model's paired difference with the k-mer baseline, per task
    table = page[page.index('id="portfolio"'):]
    table = table[: table.index("</table>")]
    assert "test auROC − best k-mer baseline, paired (95% CI)" in table
    for m in ("small", "ens"):
        paired = pd.read_csv(res / m / "eval" / "vs_baselines.tsv", sep="\t")
        row = paired[(paired["reference"] == "kmer_lr") & (paired["task"] == "A")].iloc[0]
        assert f"A {row['delta']:+.3f} [{row['delta_lo']:+.3f}, {row['delta_hi']:+.3f}]" in table


@pytest.mark.workflow
def test_regression_portfolio_through_the_dag(tmp_path):
    """A portfolio on a regression sequence set chooses by validation Pearson r, and the
    report's model-choice table names Pearson/Spearman columns, not auROC/auPR."""
    import json

    from test_regression import MPRA

    from test_workflow import run_snakemake

    config = copy.deepcopy(MPRA)
    config["models"]["wide"] = {**MPRA["models"]["small"], "filters": 24}
    config["datasets"]["mpra"]["models"] = []
    config["datasets"]["mpra"]["portfolio"] = {"models": ["small", "wide"]}
    config["train"]["epochs"] = 3
    run_snakemake(tmp_path, config, "results/mpra/chosen_model.json", "results/mpra/report.html")
    res = tmp_path / "results" / "mpra"
    choice = json.loads((res / "chosen_model.json").read_text())
    assert choice["metric"] == "valid_pearson"
    pearsons = {m: json.loads((res / m / "model.json").read_text())["best_valid_auprc"]
                for m in ("small", "wide")}
    assert choice["chosen"] == max(pearsons, key=lambda m: (pearsons[m], m == "small"))
    page = (res / "report.html").read_text()
    table = page[page.index('id="portfolio"'):]
    table = table[: table.index("</table>")]
    assert "valid_pearson" in table and "test_pearson" in table and "valid_auroc" not in table
