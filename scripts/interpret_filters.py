"""First-layer filters → PWMs → MEME → Tomtom vs JASPAR; influence, periods and logos.

Track models (profile, counts, binned heads; ``load_model`` rebuilds them) are read through
their trunk's first layer; their filter influence (an auPR drop on binary labels) is not
computed, and the log says so."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from seqcnn import interpret as it
from seqcnn.data.cache import load_split
from seqcnn.logs import get_logger
from seqcnn.models.zoo import load_model
from seqcnn.report import plots
from seqcnn.train.batches import length_mask

sm = snakemake  # noqa: F821
cfg = sm.params.cfg
log = get_logger("interpret_filters", sm.log[0])
torch.set_num_threads(max(1, sm.threads))
model = load_model(sm.input.model)
if hasattr(model, "filter_member"):  # an ensemble: one set of filters, its first member's
    log.info("ensemble of %d members: filters, their motifs and influence are the first "
             "member's (filters of separately trained networks do not average)",
             len(model.members))
    model = model.filter_member()


class _TrunkFilters(nn.Module):
    """A track model seen as what the filter functions read: ``stem``, ``first_layer()``
    and ``config`` of its trunk (the same parameters)."""

    def __init__(self, track_model: nn.Module) -> None:
        super().__init__()
        self.stem = track_model.trunk.stem
        self.config = dict(track_model.config["trunk"])

    def first_layer(self) -> nn.Module:
        return self.stem.conv


track = "target" in model.config
if track:
    log.info("track model (target %s): filters are its trunk's first layer", model.config[
        "target"])
    model = _TrunkFilters(model)
manifest = json.load(open(sm.input.manifest))
alphabet = manifest["alphabet"]
seqset = manifest.get("kind") == "seqset"
test = load_split(Path(sm.input.manifest).parent, "test")
valid = load_split(Path(sm.input.manifest).parent, "valid")
x_test = np.asarray(test.onehot)
x_valid, y_valid = np.asarray(valid.onehot), np.asarray(valid.labels)
# sequence sets: windows in the padding never count (mask from the lengths)
mask = None if test.lengths is None else length_mask(np.asarray(test.lengths), x_test.shape[-1])
weights = it.filter_weights(model)
n_filters = weights.shape[0]

constrained = bool(model.config.get("pwm_constrained"))
fm = it.filter_motifs(model, x_test, cfg["threshold"], cfg["min_ic"], cfg["min_sites"],
                      mask=mask, use_weights=constrained)
if constrained:
    log.info("PWM-constrained first layer: its softmax PPMs are the motifs; %d of %d keep "
             "positions with >= %.2f bits after trimming", len(fm.motifs), n_filters,
             cfg["min_ic"])
else:
    log.info("%d of %d filters have >= %d sites above %.2f of their maximum on %d test "
             "sequences", len(fm.motifs), n_filters, cfg["min_sites"], cfg["threshold"],
             len(x_test))
it.write_meme(sm.output.meme, fm.motifs, alphabet,
              nsites={k: int(v) for k, v in fm.nsites.items()} if fm.nsites else None)

names = [f"filter{i}" for i in range(n_filters)]
if alphabet == "dna" and fm.motifs:
    table = it.tomtom_jaspar(fm.motifs, cfg["release"], cfg["collection"], cfg["tax_group"])
    fraction = it.fraction_matched(table, names, threshold=0.1)
else:  # JASPAR is DNA; protein/RNA filters get logos and periods, not Tomtom
    table, fraction = pd.DataFrame(columns=it.TOMTOM_COLUMNS), float("nan")
top = table.sort_values("p").groupby("query", sort=False).head(cfg["tomtom_top"])
top.to_csv(sm.output.tomtom, sep="\t", index=False)
log.info("fraction of all %d filters matching a %s %s motif at E < 0.1: %.2f", n_filters,
         cfg["release"], cfg["collection"], fraction)

rng = np.random.default_rng(cfg["seed"])
keep = np.sort(rng.choice(len(x_valid), min(len(x_valid), cfg["influence_max"]), replace=False))
if seqset or track:  # influence is the auPR drop on binary per-sequence labels
    influence = np.full(n_filters, np.nan)
    log.info("filter influence: not computed for %s", "track models (it needs a binary "
             "classifier's scores)" if track else "sequence sets")
else:
    influence = it.filter_influence(model, x_valid[keep], y_valid[keep])
    log.info("filter influence on %d validation sequences: largest auPR drops %s", len(keep),
             ", ".join(f"filter{i} {influence[i]:.3f}" for i in np.argsort(-influence)[:5]))

periods = it.filter_periods(weights, alphabet)
grid, power = it.spectrum(it.position_profile(weights, alphabet))
marks = {"α-helix": 3.6, "β-strand": 2.0} if alphabet == "protein" else {"helical turn": 10.5}
plots.periodicity(grid, power, periods, sm.output.periods, marks,
                  title=f"{sm.wildcards.model}: first-layer filter periodicity")
log.info("dominant filter periods: median %.2f; %s of %d filters", np.nanmedian(periods),
         ", ".join(f"{it.band_fraction(periods, b) * n_filters:.0f} within {b[0]}-{b[1]} "
                   f"({name})" for name, b in it.PERIOD_BANDS.items()), n_filters)
summary = it.filter_table(fm, n_filters, table, influence, periods)
summary.to_csv(sm.output.filters, sep="\t", index=False, float_format="%.4g")

shown = it.logo_order(summary, fm.motifs, cfg["logos"])
targets = None
if len(table):
    ids, _, mats = it.jaspar_targets(cfg["release"], cfg["collection"], cfg["tax_group"])
    targets = dict(zip(ids, mats, strict=True))
it.plot_logo_grid(sm.output.logos, {f: fm.motifs[f] for f in shown},
                  it.best_matches(table) if len(table) else None, targets, alphabet)
with open(sm.output.summary, "w") as fh:
    json.dump({"n_filters": n_filters, "n_with_sites": len(fm.motifs),
               "fraction_matched_E0.1": fraction, "influence_sequences": int(len(keep)),
               "logos": shown, "median_period": float(np.nanmedian(periods)),
               "periods": {n: float(v) for n, v in zip(names, periods, strict=True)}},
              fh, indent=2)
