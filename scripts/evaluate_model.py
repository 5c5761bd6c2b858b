"""Score a trained model on the test split of either kind of dataset: metrics (beside the
baselines of a genome dataset), accuracy, predictions, the model's raw scores and figures.

One path for both kinds: the cache through ``seqcnn.data.cache.load_split``, the tasks through
the model's ``Targets``, the tables through ``seqcnn.evaluate.metrics.evaluate_scores`` and
``predictions_table``. Ambiguous labels (255) are left out of a task's metrics and counted
in ``n_ambiguous``; predictions.tsv.gz keeps their rows with label ``NA``. Per-chromosome
metrics of genome datasets are the evaluate_by_chrom rule's (it reads ``test_scores.npy``).

Regression targets (a sequence set with real-valued labels): the k-mer ridge baseline
(``kmer_ridge``) is fitted here on the train split, its alpha chosen on the valid split,
and scored beside the model; metrics.tsv is then the long table of
``seqcnn.evaluate.metrics.REGRESSION_COLUMNS`` (Pearson, Spearman, MSE per model and task),
curves.png the predicted-versus-observed scatter and scores.png the residuals.
"""

import json
from pathlib import Path

import numpy as np

from seqcnn.data.cache import dataset_orientation, load_split, validate_manifest
from seqcnn.data.targets import Targets
from seqcnn.evaluate import metrics
from seqcnn.evaluate import plots as evalplots
from seqcnn.logs import get_logger
from seqcnn.models.strands import strand_choice
from seqcnn.models.zoo import load_model, read_checkpoint
from seqcnn.train.loop import predict

sm = snakemake  # noqa: F821
cfg = sm.params.cfg
log = get_logger("evaluate_model", sm.log[0])
name = sm.wildcards.model
manifest = validate_manifest(json.load(open(sm.input.manifest)), sm.input.manifest)
genome = manifest["kind"] == "genome"
split = load_split(Path(sm.input.manifest).parent, "test")
model = load_model(sm.input.model)  # a CheckpointError names a bad file and the fix
meta = read_checkpoint(sm.input.model, verify=False)["meta"]
targets = Targets.from_meta(meta)
oriented, why = dataset_orientation(manifest)
rc_average, reason = strand_choice(cfg["rc_average"], oriented, "strand averaging",
                                   "evaluate.rc_average")
if genome:
    log.info("%s (%s)", reason, why)
elif rc_average:  # sequence sets carry lengths: the reverse complement would move the padding
    log.info("strand averaging off: sequence sets are padded to one length, the reverse "
             "complement would put the padding in front")
    rc_average = False
probs = predict(model, split.onehot, lengths=split.lengths,
                padding=meta.get("padding", "zeros+mask"), targets=targets,
                rc_average=rc_average, device=sm.params.device)
np.save(sm.output.raw_scores, probs)
scores = {name: probs}
if "baselines" in sm.input.keys():
    baselines = np.load(sm.input.baselines)
    scores.update({b: baselines[b] for b in baselines.files})
labels = np.asarray(split.labels)
if targets.regression:  # the k-mer ridge baseline, fitted on this dataset's train/valid
    from seqcnn.evaluate.baselines import KMER_RIDGE, KmerRidge

    cache = Path(sm.input.manifest).parent
    train, valid = load_split(cache, "train"), load_split(cache, "valid")
    ridge = KmerRidge().fit(np.asarray(train.onehot), np.asarray(train.labels),
                            np.asarray(valid.onehot), np.asarray(valid.labels),
                            tasks=list(targets.tasks))
    scores[KMER_RIDGE] = ridge.predict(np.asarray(split.onehot))
    log.info("%s NaN rows left out per task (train, valid): %s", ridge.describe(),
             ridge.n_missing_)

by_class = not genome  # sequence sets: one row per output column (class), as before
table, accuracy = metrics.evaluate_scores(labels, scores, targets, n_boot=cfg["bootstrap"],
                                          seed=cfg["seed"], by_class=by_class)
noted = table.loc[table["note"] != "", "task"].unique() if "note" in table else []
for task in noted:
    log.warning("%s: %s (%d rows): its auROC and auPR are NaN; the note column says so",
                task, table.loc[table["task"] == task, "note"].iloc[0], len(split))
table.to_csv(sm.output.metrics, sep="\t", index=False, float_format="%.4f")
# the model against each baseline on the same resamples (genome datasets, binary tasks)
references = {b: s for b, s in scores.items() if b != name and not targets.regression}
paired = metrics.paired_differences(labels, probs, references, list(targets.tasks), name,
                                    n_boot=cfg["bootstrap"], seed=cfg["seed"]
                                    ) if references and genome else metrics.empty_paired()
paired.to_csv(sm.output.paired, sep="\t", index=False, float_format="%.4f")
if len(paired):
    log.info("test auROC minus each baseline's, paired bootstrap:\n%s",
             paired.to_string(index=False))
accuracy.to_csv(sm.output.accuracy, sep="\t", index=False, float_format="%.4f")
log.info("test metrics (%d %s):\n%s\n%s", len(split), "regions" if genome else "sequences",
         table.to_string(index=False), accuracy.to_string(index=False))

pred = metrics.predictions_table(split.ids, labels, probs, targets, split.lengths, by_class)
pred.to_csv(sm.output.predictions, sep="\t", index=False, float_format="%.5f", na_rep="NA",
            compression={"method": "gzip", "mtime": 0})

if targets.regression:
    evalplots.regression_scatter(scores, labels, list(targets.tasks), sm.output.curves)
    evalplots.residual_histograms(scores, labels, list(targets.tasks), sm.output.scores)
elif genome:  # raw labels: the figures leave ambiguous rows out per task
    evalplots.roc_pr_curves(scores, labels, list(targets.tasks), sm.output.curves)
    evalplots.score_distributions({name: probs}, labels, list(targets.tasks), sm.output.scores)
else:  # one-vs-rest columns: one curve per task or class
    Y, P = targets.one_vs_rest(labels, probs)
    evalplots.roc_pr_curves({name: P}, Y, targets.output_names, sm.output.curves)
    evalplots.score_distributions({name: P}, Y, targets.output_names, sm.output.scores)
