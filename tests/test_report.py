"""seqcnn.report.render: the sentences and verdicts a report page shows."""

import numpy as np
import pandas as pd

from seqcnn.report.render import baseline_verdict, epoch_text, split_text


def _metrics(cnn: dict, kmer: dict) -> pd.DataFrame:
    rows = [{"model": "dilated", "task": t, "auroc": a} for t, a in cnn.items()]
    rows += [{"model": "kmer_lr", "task": t, "auroc": a} for t, a in kmer.items()]
    return pd.DataFrame(rows)


def test_verdict_when_the_cnn_beats_the_baseline_everywhere():
    flag, line = baseline_verdict(_metrics({"A": 0.9, "B": 0.8}, {"A": 0.7, "B": 0.75}),
                                  "dilated", ["A", "B"])
    assert flag is None
    assert line == "The CNN beats the k-mer baseline on every task (test auROC)."


def test_verdict_names_the_tasks_it_does_not_beat():
    flag, line = baseline_verdict(_metrics({"A": 0.9, "B": 0.7}, {"A": 0.7, "B": 0.75}),
                                  "dilated", ["A", "B"])
    assert flag.startswith("The CNN does not beat the k-mer baseline on B ")
    assert "1 of 2 scored tasks" in line


def test_a_task_without_test_positives_is_not_scored_not_behind():
    """auROC NaN (no positives in the test split) is said as such, not as a loss to k-mers."""
    flag, line = baseline_verdict(_metrics({"A": 0.9, "B": np.nan}, {"A": 0.7, "B": np.nan}),
                                  "dilated", ["A", "B"])
    assert "does not beat" not in flag
    assert "Not scored on B" in flag
    assert "every scored task (1 of 2" in line


def test_split_text_for_chromosomes_ranges_and_blocks():
    chroms = {"train": ["chr1", "chr2"], "valid": ["chr3"], "test": ["chr4"]}
    assert split_text({"valid": ["chr3"], "test": ["chr4"]}, "given", chroms) == (
        "whole chromosomes: train chr1, chr2; valid chr3; test chr4")
    ranges = {"valid": ["chr1:1-60000"], "test": ["chr1:340001-400000"]}
    one = {"train": ["chr1"], "valid": ["chr1"], "test": ["chr1"]}
    assert split_text(ranges, "given", one) == (
        "chromosomes and ranges: valid chr1:1-60000; test chr1:340001-400000; train the rest")
    assert split_text(ranges, "blocks", one).startswith(
        "contiguous blocks chosen by split: auto: valid chr1:1-60000")
    many = {"train": [f"chr{i}" for i in range(10)], "valid": ["chrX"], "test": ["chrY"]}
    assert split_text(None, None, many).startswith("whole chromosomes: train 10 chromosomes;")


def test_epoch_text_gives_an_ensembles_member_epochs():
    assert epoch_text({"best_epoch": 8, "epochs_run": 10}) == "best epoch 8 of 10"
    ensemble = {"best_epoch": 10, "epochs_run": 10, "ensemble": {"members": [
        {"member": 0, "best_epoch": 9}, {"member": 1, "best_epoch": 10},
        {"member": 2, "best_epoch": 8}]}}
    assert epoch_text(ensemble) == "members' best epochs 8–10 of 10"
    same = {"epochs_run": 6, "ensemble": {"members": [{"best_epoch": 6}, {"best_epoch": 6}]}}
    assert epoch_text(same) == "members' best epochs 6 of 6"


def test_model_comparison_gives_an_ensembles_member_epochs_not_the_largest():
    from seqcnn.report.render import model_comparison

    single = {"arch": "dilated", "model_config": {"filters": 8}, "best_epoch": 7,
              "epochs_run": 10}
    ensemble = {"arch": "ensemble of 3 × dilated", "model_config": {"filters": 8},
                "best_epoch": 10, "epochs_run": 10, "ensemble": {"members": [
                    {"best_epoch": 9}, {"best_epoch": 10}, {"best_epoch": 8}]}}
    metrics = [pd.DataFrame([{"model": m, "task": "A", "auroc": 0.9, "auprc": 0.8}])
               for m in ("one", "ens")]
    table = model_comparison(["one", "ens"], [single, ensemble], metrics)
    assert table["best_epoch"].tolist() == ["7", "8–10"]


def test_verdict_gives_the_paired_difference_and_says_when_it_is_noise():
    """With eval/vs_baselines.tsv, each task's paired difference with its best k-mer baseline
    is given; a task ahead by the point estimate whose interval holds 0 is level, not beaten,
    and the flag says so."""
    metrics = _metrics({"A": 0.9, "B": 0.76}, {"A": 0.7, "B": 0.75})
    metrics = pd.concat([metrics, pd.DataFrame([{"model": "kmer_oriented_lr", "task": "B",
                                                  "auroc": 0.755}])])
    paired = pd.DataFrame([
        {"reference": "kmer_lr", "task": "A", "delta": 0.2, "delta_lo": 0.15,
         "delta_hi": 0.25, "n_boot": 1000},
        {"reference": "kmer_lr", "task": "B", "delta": 0.01, "delta_lo": -0.02,
         "delta_hi": 0.04, "n_boot": 1000},
        {"reference": "kmer_oriented_lr", "task": "B", "delta": 0.005, "delta_lo": -0.01,
         "delta_hi": 0.02, "n_boot": 1000}])
    flag, line = baseline_verdict(metrics, "dilated", ["A", "B"], paired=paired)
    what = "the best k-mer baseline (canonical or oriented)"
    assert line.startswith(f"The CNN beats {what} on 1 of 2 scored tasks (test auROC; paired "
                           "95% interval above 0). Paired bootstrap (1,000 resamples")
    # B's best baseline is the oriented one (0.755 > 0.75): its row is the one quoted
    assert "A +0.200 [+0.150, +0.250] against kmer_lr; B +0.005 [-0.010, +0.020] against " \
           "kmer_oriented_lr." in line
    assert line.endswith("Within resampling noise (the interval holds 0) on B.")
    assert flag.startswith(f"The CNN is level with {what} on B: ahead by the point estimate, "
                           "but the paired 95% interval of the difference holds 0.")
    # every interval above 0: beaten everywhere, nothing to flag
    clear = paired.assign(delta_lo=[0.15, 0.001, 0.001])
    flag, line = baseline_verdict(metrics, "dilated", ["A", "B"], paired=clear)
    assert flag is None
    assert line.startswith(f"The CNN beats {what} on every task (test auROC; paired 95% "
                           "interval above 0).")
    # behind on a task: the flag carries the paired sentence too
    flag, _ = baseline_verdict(_metrics({"A": 0.6}, {"A": 0.7}), "dilated", ["A"],
                               paired=pd.DataFrame([{"reference": "kmer_lr", "task": "A",
                                                     "delta": -0.1, "delta_lo": -0.15,
                                                     "delta_hi": -0.05, "n_boot": 200}]))
    assert "does not beat" in flag and "A -0.100 [-0.150, -0.050] against kmer_lr." in flag
    assert "noise" not in flag
