"""Score a track model (profile, counts or binned) on the test split of a genome dataset.

Writes eval/metrics.tsv in the long form of ``seqcnn.evaluate.metrics.REGRESSION_COLUMNS``
(``model, task, metric, value, ...``: ``count_pearson``, ``count_spearman`` of log(1 +
counts) over all test regions; ``profile_jsd``, ``profile_nll`` of the model and of the
``average_profile`` and ``shuffled_profile`` baselines over each track's test peaks with
reads; ``seqcnn.evaluate.tracks``), eval/count_predictions.tsv.gz (observed and predicted
counts per region and track), eval/count_scatter.png and eval/profiles.png. Regions left out
of the profile metrics (not a peak of the track, or no reads) are counted in the log and in
``n_missing``.
"""

import json
from pathlib import Path

import numpy as np

from seqcnn.data.cache import dataset_orientation, load_split, load_tracks
from seqcnn.evaluate import plots as evalplots
from seqcnn.evaluate import tracks as evaltracks
from seqcnn.logs import get_logger
from seqcnn.models.strands import strand_choice
from seqcnn.models.zoo import load_model, read_checkpoint
from seqcnn.train.loop import resolve_device
from seqcnn.train.tracks import predict_tracks

sm = snakemake  # noqa: F821
cfg = sm.params.cfg
log = get_logger("evaluate_track_model", sm.log[0])
name = sm.wildcards.model
cache = Path(sm.input.manifest).parent
manifest = json.load(open(sm.input.manifest))
model = load_model(sm.input.model)  # a CheckpointError names a bad file and the fix
meta = read_checkpoint(sm.input.model, verify=False)["meta"]
tasks, target = list(meta["tasks"]), meta["target"]
oriented, why = dataset_orientation(manifest)
rc_average, reason = strand_choice(cfg["rc_average"], oriented, "strand averaging",
                                   "evaluate.rc_average")
log.info("%s (%s)", reason, why)

test = load_split(cache, "test")
observed = np.asarray(load_tracks(cache, "test").targets, dtype=np.float64)
shape, log_counts = predict_tracks(model, test.onehot, device=resolve_device(sm.params.device),
                                   rc_average=rc_average)
# the peaks of a track: the test regions labelled positive for the task of the same name
labels = np.asarray(test.labels)
peak_of = {t: j for j, t in enumerate(manifest["tasks"])}
rows = np.ones((len(observed), len(tasks)), dtype=bool)
for j, task in enumerate(tasks):
    if task in peak_of:
        rows[:, j] = labels[:, peak_of[task]] == 1
    else:
        log.info("track %s has no peak file of the same name: its profile is scored on every "
                 "test region with reads", task)

profiles = observed.ndim == 3
average = logits = None
if profiles:
    train_y = load_tracks(cache, "train").targets
    train_labels = np.asarray(load_split(cache, "train").labels)
    train_rows = np.ones(train_y.shape[:2], dtype=bool)
    for j, task in enumerate(tasks):
        if task in peak_of:
            train_rows[:, j] = train_labels[:, peak_of[task]] == 1
    average = evaltracks.average_profile(train_y, train_rows)
    # binned models predict rates: their log is a profile's logits up to a constant
    logits = shape if target == "profile" else np.log(np.maximum(shape, 1e-12))
table = evaltracks.track_metrics(name, tasks, observed, log_counts, logits, average, rows,
                                 seed=cfg["seed"])
table.to_csv(sm.output.metrics, sep="\t", index=False, float_format="%.4f")
for task in tasks:
    sub = table[(table["task"] == task) & (table["metric"] == "profile_jsd")]
    if len(sub):
        log.info("%s: profiles scored on %d test peaks with reads; %d peaks without reads "
                 "left out; %d non-peak regions not scored for the profile", task,
                 sub["n"].iloc[0], sub["n_missing"].iloc[0], int((~rows[:, tasks.index(task)])
                                                                .sum()))
log.info("test metrics (%d regions, long form):\n%s", len(observed),
         evaltracks.wide(table).to_string(index=False))

pred = evaltracks.count_predictions(test.ids, tasks, observed, log_counts)
pred.to_csv(sm.output.predictions, sep="\t", index=False, float_format="%.5f",
            compression={"method": "gzip", "mtime": 0})
totals = observed.sum(-1) if profiles else observed
evalplots.regression_scatter({name: log_counts}, np.log1p(totals), tasks, sm.output.scatter)

# a few test peaks of the first track, the ones with most reads
n_show = int(cfg.get("profile_examples", 4))
if profiles:
    first = np.flatnonzero(rows[:, 0] & (totals[:, 0] > 0))
    pick = first[np.argsort(-totals[first, 0], kind="stable")][:n_show]
    probs = evaltracks.softmax(logits[pick])
    ids = [str(i) for i in np.asarray(test.ids)[pick]]
    evalplots.profile_examples(observed[pick], probs, tasks, ids, sm.output.profiles)
else:  # counts only: no profile to draw; the figure says so
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 1))
    ax.axis("off")
    ax.text(0.5, 0.5, f"target {target}: no profiles", ha="center", va="center")
    fig.savefig(sm.output.profiles)
    plt.close(fig)
