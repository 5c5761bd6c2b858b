"""Design sequences with a trained model (seqcnn.design), then check them with what the
design did not see: a second model and, for simulated data, the true planted matrices.

Writes the designed FASTA, the trajectory (round, sequence, objective, edits, probability
per task), the edits, the check table (designed and starting sequences side by side), the
edited windows with their JASPAR names, a JSON summary and two figures.
"""

import json
import time

import numpy as np
import pandas as pd
import torch

from seqcnn.alphabet import decode, letters
from seqcnn.data.cache import dataset_orientation, load_split
from seqcnn.data.fasta import write_fasta
from seqcnn.design import check as dc
from seqcnn.design import edits as de
from seqcnn.design import plots as dp
from seqcnn.design import starts as ds
from seqcnn.design import windows as dw
from seqcnn.design.objective import Objective, model_logits, probabilities
from seqcnn.errors import ConfigError
from seqcnn.logs import get_logger
from seqcnn.models.strands import strand_choice
from seqcnn.models.zoo import load_model
from seqcnn.train.loop import resolve_device

sm = snakemake  # noqa: F821
cfg = sm.params.cfg
key = f"datasets.{sm.wildcards.dataset}.design.{sm.wildcards.name}"
log = get_logger("design_sequences", sm.log[0])
torch.set_num_threads(max(1, sm.threads))
manifest = json.load(open(sm.input.manifest))
tasks, alphabet = manifest["tasks"], manifest["alphabet"]
cache_dir = sm.input.manifest.rsplit("/", 1)[0]
for task in [cfg["task"], *cfg["keep_low"]]:
    if task not in tasks:
        raise ConfigError(f"config key {key} names task {task!r}, which the dataset does not "
                          f"have ({', '.join(tasks)})")
objective = Objective(task=tasks.index(cfg["task"]), goal=cfg["goal"], target=cfg["target"],
                      keep_low=tuple(tasks.index(t) for t in cfg["keep_low"]),
                      low_weight=cfg["low_weight"])
device = resolve_device(cfg["device"])
# DNA is scored as evaluation scores it: both strands averaged unless the dataset is
# oriented (evaluate.rc_average: auto), where a sequence's reverse complement is another one
forward_only = False
if alphabet == "dna":
    oriented, why = dataset_orientation(manifest)
    both, reason = strand_choice(cfg["rc_average"], oriented, "strand averaging",
                                 "evaluate.rc_average")
    forward_only = not both
    log.info("scoring the designs: %s (%s)", reason, why)
model = load_model(sm.input.model).float().to(device).eval()

# ---- starting sequences
test = load_split(cache_dir, "test")
length = test.onehot.shape[-1]
if cfg["start"] == "random":
    freqs = ds.composition(load_split(cache_dir, "train").onehot)
    start = ds.random_starts(freqs, cfg["n"], length, cfg["seed"])
    ids = np.array([f"design{i + 1}" for i in range(cfg["n"])])
    log.info("start: %d random sequences of %d letters, train-split composition %s", cfg["n"],
             length, " ".join(f"{a}={f:.3f}" for a, f in zip(letters(alphabet), freqs,
                                                               strict=True)))
elif cfg["start"] == "test_negatives":
    start, src = ds.negatives(test.onehot, test.labels, test.ids, cfg["n"], cfg["seed"])
    ids = np.array([f"design{i + 1}|{s}" for i, s in enumerate(src)])
    log.info("start: %d of the test split's negatives (all labels 0)", len(start))
else:
    start, src = ds.from_fasta(sm.input.start_fasta, alphabet, length, cfg["n"])
    ids = np.array([f"design{i + 1}|{s}" for i, s in enumerate(src)])
    log.info("start: %d sequences of %s", len(start), sm.input.start_fasta)
if len(start) < cfg["n"]:
    log.warning("asked for %d sequences, designing %d: the start has no more", cfg["n"],
                len(start))

# ---- design
t0 = time.perf_counter()
if cfg["method"] == "evolution":
    from seqcnn.design.evolution import evolve

    design = evolve(model, start, objective, alphabet, cfg["edits"], cfg["beam"],
                    cfg["max_rounds"], batch_size=cfg["batch_size"], forward_only=forward_only)
elif cfg["method"] == "gradient":
    from seqcnn.design.gradient import relax

    design = relax(model, start, objective, alphabet, cfg["edits"], cfg["steps"], cfg["lr"],
                   cfg["tau"], cfg["penalty"], seed=cfg["seed"],
                   batch_size=cfg["batch_size"], forward_only=forward_only)
else:
    from seqcnn.design.motifs import implant
    from seqcnn.jaspar import fetch

    motif_ids = cfg["motif_ids"] or cfg["baseline_motifs"]
    if not motif_ids:
        raise ConfigError(f"config key {key}.motif_ids: method motifs needs JASPAR ids (or the "
                          "dataset's baseline_motifs); name the motifs to insert")
    if alphabet != "dna":
        raise ConfigError(f"config key {key}.method: motifs inserts JASPAR (DNA) matrices; "
                          f"the dataset is {alphabet}: use evolution or gradient")
    mats = {f"{m.matrix_id} {m.name}": m.probabilities()
            for m in fetch(list(motif_ids), cfg["motif_db"]["release"])}
    design = implant(model, start, objective, alphabet, mats, cfg["edits"],
                     cfg["max_rounds"], cfg["top_positions"], batch_size=cfg["batch_size"],
                     forward_only=forward_only)
wall = time.perf_counter() - t0
edits = de.count_edits(design.x, start)
log.info("%s: %d sequences designed in %.1f s; edits per sequence: mean %.1f, max %d "
         "(budget %s); %d unchanged (no edit raised the objective)", cfg["method"], len(start),
         wall, edits.mean(), edits.max(initial=0), cfg["edits"], int((edits == 0).sum()))

# ---- outputs of the design
write_fasta(sm.output.fasta, {i: decode(x, alphabet) for i, x in zip(ids, design.x,
                                                                       strict=True)})
traj = design.trajectory.copy()
traj.insert(2, "id", ids[traj["sequence"].to_numpy()])
for t, task in enumerate(tasks):
    traj[f"p_{task}"] = probabilities(traj.pop(f"logit_{t}"))
traj.drop(columns="sequence").to_csv(sm.output.trajectory, sep="\t", index=False,
                                     float_format="%.5g")
etab = de.edit_table(design.x, start, ids, alphabet)
if len(design.inserted):  # motif method: which insertion wrote each edited position
    etab["motif"] = ""
    for r in design.inserted.itertuples():
        w = mats[r.motif].shape[1]
        hit = (etab["id"] == ids[r.sequence]) & etab["position"].between(r.start, r.start + w - 1)
        etab.loc[hit, "motif"] = f"{r.motif} ({r.strand})"
    log.info("motifs inserted: %s", ", ".join(f"{m} {n}" for m, n in
                                               design.inserted["motif"].value_counts().items()))
etab.to_csv(sm.output.edits, sep="\t", index=False)

# ---- the check: second model and planted matrices
check = load_model(sm.input.check_model).float().to(device).eval() \
    if "check_model" in sm.input.keys() else None
truth = {}
if sm.input.truth and alphabet == "dna":
    from seqcnn.jaspar import fetch

    tt = pd.read_csv(sm.input.truth[0], sep="\t")
    ids_truth = list(dict.fromkeys(tt["motif_id"]))
    truth = {f"{m.matrix_id}_{m.name}": m.probabilities()
             for m in fetch(ids_truth, cfg["motif_db"]["release"])}
stages = {}
for stage, x in (("start", start), ("designed", design.x)):
    z = model_logits(model, x, alphabet, cfg["batch_size"], forward_only=forward_only)
    stages[stage] = {
        "edits": de.count_edits(x, start), "objective": objective.score_logits(z),
        "guide": probabilities(z),
        "check": probabilities(model_logits(check, x, alphabet, cfg["batch_size"],
                                            forward_only=forward_only))
        if check is not None else None,
        "fimo": dc.fimo_hits(x, truth),
    }
table = dc.check_table(ids, stages, tasks)
table.to_csv(sm.output.check, sep="\t", index=False, float_format="%.5g")
summ = dc.summary(table)
for stage, row in summ.items():
    log.info("%s: %s", stage, ", ".join(f"{k} {v:.3g}" for k, v in row.items()))
if check is None:
    log.warning("no check_model: the designs are not scored by a second model (set %s."
                "check_model to one of the dataset's models)", key)
gain = {m: stages["designed"][m][:, objective.task] - stages["start"][m][:, objective.task]
        for m in ("guide", "check") if stages["designed"][m] is not None}

# ---- edited windows: ISM logos and JASPAR names
windows, maps = dw.window_maps(model, design.x, start, objective.task,
                               batch_size=cfg["batch_size"])
wtab = dw.name_windows(list(ids), windows, maps, design.x,
                       cfg["motif_db"] if alphabet == "dna" else None)
wtab.to_csv(sm.output.windows, sep="\t", index=False, float_format="%.4g")
named = wtab["motif_name"].replace("", "no match").value_counts()
log.info("edited windows named (Tomtom vs JASPAR): %s", ", ".join(
    f"{k} {v}" for k, v in named.items()) or "no edited sequence")
order = np.argsort(-stages["designed"]["objective"], kind="stable")
edited = [i for i in order if windows[i] is not None][:cfg["plot_n"]]
pos = {s: k for k, s in enumerate(wtab["id"])}
dp.plot_windows(sm.output.windows_plot, wtab.iloc[[pos[ids[i]] for i in edited]]
                .reset_index(drop=True), maps, design.x, edited, letters(alphabet),
                title=f"{sm.wildcards.name}: edited windows, ISM for {cfg['task']}")
dp.plot_trajectory(sm.output.trajectory_plot, design.trajectory, tasks,
                   title=f"{sm.wildcards.name}: {cfg['method']}, {cfg['goal']} {cfg['task']}",
                   xlabel="step" if cfg["method"] == "gradient" else "round")

with open(sm.output.summary, "w") as fh:
    json.dump({
        "name": sm.wildcards.name, "model": sm.wildcards.model,
        "check_model": cfg["check_model"], "method": cfg["method"],
        "gradient_backend": "straight-through relaxation (seqcnn.design.gradient; Ledidi "
                            "not installed)" if cfg["method"] == "gradient" else None,
        "task": cfg["task"], "goal": cfg["goal"], "target": cfg["target"],
        "keep_low": cfg["keep_low"], "start": cfg["start"], "n": int(len(start)),
        "budget": cfg["edits"], "alphabet": alphabet, "tasks": tasks,
        "truth_motifs": list(truth), "wall_s": round(wall, 2), "device": str(device),
        "stages": summ, "unchanged": int((edits == 0).sum()),
        "rank_agreement_gain": dc.rank_agreement(gain["guide"], gain["check"])
        if "check" in gain else None,
        "windows_named": {str(k): int(v) for k, v in named.items()},
    }, fh, indent=2)
