"""Choose a dataset's model from its portfolio by the validation metric training recorded
(model.json); copy the chosen model to results/{dataset}/chosen/ and record the choice.

Reads the portfolio models' model.json, model.pt and train_log.tsv only (rule select_model's
inputs): the test split cannot reach the choice.
"""

import json
import shutil

from seqcnn.logs import get_logger
from seqcnn.workflow.portfolio import choose

sm = snakemake  # noqa: F821
log = get_logger("select_model", sm.log[0])
spec = sm.params.portfolio
names = list(spec["models"])
summaries = {n: json.load(open(p)) for n, p in zip(names, sm.input.summaries, strict=True)}
best, rows = choose(summaries, spec["metric"], order=names)
i = names.index(best)
shutil.copyfile(sm.input.models[i], sm.output.model)
shutil.copyfile(sm.input.train_logs[i], sm.output.train_log)
summary = dict(summaries[best]) | {"chosen_from": best}  # model_sha256 still holds (a copy)
with open(sm.output.summary, "w") as fh:
    json.dump(summary, fh, indent=2)
with open(sm.output.choice, "w") as fh:
    json.dump({"dataset": sm.wildcards.dataset, "chosen": best, "metric": rows[0]["metric"],
               "read": "model.json (validation metrics recorded at training)",
               "models": rows}, fh, indent=2)
for r in rows:
    log.info("%-20s %s %.4f%s", r["model"], r["metric"], r["value"],
             "  <- chosen" if r["chosen"] else "")
