"""Targets: what a model predicts and how it is scored.

A :class:`Targets` describes the label columns of a dataset and the output columns of the
model trained on it:

- ``binary`` task: labels ``0``/``1``, **one** logit column, sigmoid, binary cross-entropy
  (the genome path: every task binary);
- ``multiclass`` task: labels ``0 .. K-1``, **K** logit columns, softmax within them,
  cross-entropy;
- ``per_position`` task (the only task then): labels ``(N, L)`` with codes ``0 .. K-1`` and
  ``ignore_index`` (255) at padding, logits ``(N, K, L)``, softmax over the class axis,
  cross-entropy over the real positions;
- ``regression`` task (every task then): labels ``float32`` with ``NaN`` = no label, **one**
  output column, loss ``mse`` (the output is the prediction) or ``poisson`` (the output is
  the log of the predicted rate; labels must be >= 0), per task (:attr:`Targets.losses`),
  averaged over the labelled entries. Regression tasks have no classes: scoring is
  Pearson/Spearman (:func:`seqcnn.evaluate.metrics.regression_metrics`), not one-vs-rest.

Per-sequence labels are ``(N, T)`` class codes, one column per task (binary and multiclass
tasks may be mixed); the logits are ``(N, n_outputs)``, the tasks' columns side by side in
task order (:attr:`Targets.slices`). Scoring is one-vs-rest: every output column is a binary
problem (:meth:`Targets.one_vs_rest`), so auROC/auPR apply to every kind.

A per-sequence label equal to ``ignore_index`` (255) means *no label for this task on this
sequence* (e.g. a genome region that overlaps a task's peak too little to call it positive
or negative: "ambiguous"): it is masked out of the loss, left out of the metrics
(:meth:`Targets.indicator` keeps it as 255, which :mod:`seqcnn.evaluate.metrics` leaves out per
column) and out of the counts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqcnn.data.cache import IGNORE

KINDS = ("binary", "multiclass", "per_position", "regression")
#: Losses of a regression task: squared error, or Poisson NLL on a log-rate output.
REGRESSION_LOSSES = ("mse", "poisson")
#: Class names of a binary task.
BINARY_CLASSES = ("0", "1")
#: Label rows checked at once (memmaps are read chunk by chunk).
_CHUNK = 1 << 16


@dataclass(frozen=True, eq=True)
class Targets:
    """Tasks, their kinds and classes; the layout of the model's output columns.

    ``kinds[t]`` is ``binary``, ``multiclass`` or ``per_position``; ``classes[t]`` the class
    names (code ``i`` is ``classes[t][i]``; binary tasks default to ``("0", "1")``). A
    ``per_position`` task must be the only task. ``ignore_index`` marks padded positions of
    per-position labels and, in per-sequence labels, a task without a label on that sequence
    (ambiguous). ``regression`` tasks have no classes (``()``), labels ``float32`` with NaN
    for no label, and a loss in ``losses`` (:data:`REGRESSION_LOSSES`, default ``mse``); they
    cannot be mixed with other kinds.
    """

    tasks: tuple[str, ...]
    kinds: Mapping[str, str]
    classes: Mapping[str, tuple[str, ...]]
    ignore_index: int = IGNORE
    losses: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.tasks, str):
            raise ValueError(f"tasks must be a list of names, got the string {self.tasks!r}")
        tasks = tuple(str(t) for t in self.tasks)
        if not tasks:
            raise ValueError("targets need at least one task")
        dupes = sorted({t for t in tasks if tasks.count(t) > 1})
        if dupes:
            raise ValueError(f"task names must be unique; repeated: {', '.join(dupes)}")
        kinds, classes = dict(self.kinds), dict(self.classes or {})
        extra = sorted(set(kinds) - set(tasks)) + sorted(set(classes) - set(tasks))
        if extra:
            raise ValueError(f"kinds/classes name unknown task(s): {', '.join(extra)}")
        ignore = self.ignore_index
        if isinstance(ignore, bool) or not isinstance(ignore, (int, np.integer)) or ignore < 0:
            raise ValueError(f"ignore_index must be an integer >= 0, got {ignore!r}")
        out_kinds: dict[str, str] = {}
        out_classes: dict[str, tuple[str, ...]] = {}
        for t in tasks:
            out_kinds[t], out_classes[t] = _check_task(t, kinds.get(t), classes.get(t),
                                                       int(ignore))
        per_pos = [t for t in tasks if out_kinds[t] == "per_position"]
        if per_pos and len(tasks) > 1:
            raise ValueError(f"per_position task {per_pos[0]!r} must be the only task, got "
                             f"tasks {', '.join(tasks)}")
        object.__setattr__(self, "losses", _check_losses(tasks, out_kinds, self.losses))
        object.__setattr__(self, "tasks", tasks)
        object.__setattr__(self, "kinds", out_kinds)
        object.__setattr__(self, "classes", out_classes)
        object.__setattr__(self, "ignore_index", int(ignore))

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    # ----------------------------------------------------------------- constructors

    @classmethod
    def binary(cls, tasks: Iterable[str]) -> Targets:
        """All tasks binary (the genome path)."""
        tasks = tuple(tasks)
        return cls(tasks, {t: "binary" for t in tasks}, {t: BINARY_CLASSES for t in tasks})

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> Targets:
        """From a cache manifest: its ``targets`` (:meth:`to_dict`; the one schema, both
        kinds), whose tasks must be the manifest's ``tasks`` when it lists them.

        Manifests written before ``targets`` (schema 1) still load: a sequence set's
        ``tasks``, ``task_kinds``, ``classes``, ``ignore_index``; a genome dataset's ``tasks``
        (no ``task_kinds``) → all binary."""
        if "targets" in manifest:
            targets = cls.from_dict(manifest["targets"])
            if "tasks" in manifest and list(manifest["tasks"]) != list(targets.tasks):
                raise ValueError(f"the manifest's targets name tasks {list(targets.tasks)} "
                                 f"but its tasks are {list(manifest['tasks'])}; rebuild the "
                                 "cache")
            return targets
        if "tasks" not in manifest:
            raise ValueError("the manifest has neither 'targets' nor 'tasks'")
        if "task_kinds" not in manifest:
            return cls.binary(manifest["tasks"])
        classes = manifest.get("classes") or {}
        return cls(tuple(manifest["tasks"]), dict(manifest["task_kinds"]),
                   {t: tuple(c) for t, c in classes.items()},
                   int(manifest.get("ignore_index", IGNORE)))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | Targets) -> Targets:
        """Inverse of :meth:`to_dict`."""
        if isinstance(data, Targets):
            return data
        return cls(tuple(data["tasks"]), dict(data["kinds"]),
                   {t: tuple(c) for t, c in (data.get("classes") or {}).items()},
                   int(data.get("ignore_index", IGNORE)), data.get("losses"))

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> Targets:
        """From a trained model's ``meta``: its ``targets``, else all ``tasks`` binary."""
        if meta.get("targets"):
            return cls.from_dict(meta["targets"])
        return cls.binary(meta["tasks"])

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types: ``{"tasks", "kinds", "classes", "ignore_index"}``, plus
        ``"losses"`` (task → loss) for regression targets."""
        out = {"tasks": list(self.tasks), "kinds": dict(self.kinds),
               "classes": {t: list(c) for t, c in self.classes.items()},
               "ignore_index": self.ignore_index}
        if self.losses:
            out["losses"] = dict(self.losses)
        return out

    # ----------------------------------------------------------------- layout

    @property
    def per_position(self) -> bool:
        """True for one ``per_position`` task: labels ``(N, L)``, logits ``(N, K, L)``."""
        return self.kinds[self.tasks[0]] == "per_position"

    @property
    def all_binary(self) -> bool:
        return all(k == "binary" for k in self.kinds.values())

    @property
    def regression(self) -> bool:
        """True for regression targets (every task ``regression``): float labels ``(N, T)``,
        NaN = no label, one output column per task."""
        return self.kinds[self.tasks[0]] == "regression"

    def n_classes(self, task: str) -> int:
        return len(self.classes[task])

    @cached_property
    def slices(self) -> dict[str, slice]:
        """Output columns of each task: one for binary, ``K`` for multiclass/per-position."""
        out, start = {}, 0
        for t in self.tasks:
            width = 1 if self.kinds[t] in ("binary", "regression") else self.n_classes(t)
            out[t] = slice(start, start + width)
            start += width
        return out

    @property
    def n_outputs(self) -> int:
        """Logit columns (the model's ``n_tasks``)."""
        return self.slices[self.tasks[-1]].stop

    @cached_property
    def output_names(self) -> list[str]:
        """One name per output column: ``task`` (binary, regression) or ``task:class``."""
        if self.regression:
            return list(self.tasks)
        return [t if self.kinds[t] == "binary" else f"{t}:{c}"
                for t in self.tasks for c in (self.classes[t][1:2] if self.kinds[t] ==
                                              "binary" else self.classes[t])]

    @cached_property
    def output_tasks(self) -> list[tuple[str, str]]:
        """``(task, class)`` per output column; class ``""`` for binary and regression
        columns."""
        if self.regression:
            return [(t, "") for t in self.tasks]
        return [(t, "" if self.kinds[t] == "binary" else c)
                for t in self.tasks for c in (self.classes[t][1:2] if self.kinds[t] ==
                                              "binary" else self.classes[t])]

    @property
    def binary_tasks(self) -> list[int]:
        """Label-column indices of the binary tasks."""
        return [j for j, t in enumerate(self.tasks) if self.kinds[t] == "binary"]

    @property
    def binary_columns(self) -> list[int]:
        """Output-column indices of the binary tasks (same order as :attr:`binary_tasks`)."""
        return [self.slices[t].start for t in self.tasks if self.kinds[t] == "binary"]

    # ----------------------------------------------------------------- labels

    def check_labels(self, labels: np.ndarray, seq_len: int | None = None,
                     name: str = "labels") -> None:
        """Raise ``ValueError`` (naming the task) for a wrong shape or a code that is neither
        one of the task's classes nor ``ignore_index`` (padding, or no label: ambiguous).
        ``labels``: per-sequence ``(N, T)`` or per-position ``(N, L)`` (``L == seq_len``
        when given); read in row chunks (fine on memmaps)."""
        labels = np.asarray(labels)
        if self.per_position:
            if labels.ndim != 2 or (seq_len is not None and labels.shape[1] != seq_len):
                raise ValueError(f"{name}: per-position task {self.tasks[0]!r} needs labels "
                                 f"(N, {seq_len or 'seq_len'}), got shape {labels.shape}")
        elif labels.ndim != 2 or labels.shape[1] != len(self.tasks):
            raise ValueError(f"{name}: expected labels (N, {len(self.tasks)}) for tasks "
                             f"{', '.join(self.tasks)}, got shape {labels.shape}")
        if self.regression:
            self._check_values(labels, name)
            return
        columns = [labels] if self.per_position else [labels[:, j] for j in
                                                      range(len(self.tasks))]
        for t, col in zip(self.tasks, columns, strict=True):
            allowed = list(range(self.n_classes(t)))
            if self._ignorable(t):
                allowed.append(self.ignore_index)
            for start in range(0, len(col), _CHUNK):
                chunk = np.asarray(col[start:start + _CHUNK])
                bad = ~np.isin(chunk, allowed)
                if bad.any():
                    raise ValueError(self._bad_code(t, chunk[bad], name))

    def _check_values(self, labels: np.ndarray, name: str) -> None:
        """Regression labels: real numbers, NaN for no label, never inf; >= 0 for a
        ``poisson`` task. Raises ``ValueError`` naming the task and the row."""
        if not np.issubdtype(labels.dtype, np.number) or labels.dtype == np.bool_:
            raise ValueError(f"{name}: regression labels must be numbers (float32, NaN = no "
                             f"label), got dtype {labels.dtype}")
        for start in range(0, len(labels), _CHUNK):
            chunk = np.asarray(labels[start:start + _CHUNK], dtype=np.float64)
            for j, t in enumerate(self.tasks):
                col = chunk[:, j]
                bad = np.isinf(col)
                if self.losses[t] == "poisson":
                    bad |= col < 0
                if bad.any():
                    i = int(np.flatnonzero(bad)[0])
                    need = ("a count >= 0 (loss poisson)" if self.losses[t] == "poisson"
                            else "a finite number")
                    raise ValueError(f"{name}: regression task {t!r} has "
                                     f"{float(col[i])!r} at row {start + i} "
                                     f"({int(bad.sum())} such rows); each label must be "
                                     f"{need} or NaN (no label)")

    def labelled_counts(self, labels: np.ndarray) -> np.ndarray:
        """Regression: labelled (non-NaN) rows per task, ``int64`` ``(T,)``."""
        labels = np.asarray(labels)
        self.check_labels(labels)
        out = np.zeros(len(self.tasks), dtype=np.int64)
        for start in range(0, len(labels), _CHUNK):
            out += (~np.isnan(np.asarray(labels[start:start + _CHUNK], dtype=np.float64))
                    ).sum(axis=0)
        return out

    def _no_classes(self, what: str) -> None:
        if self.regression:
            raise ValueError(f"regression targets ({', '.join(self.tasks)}) have no classes: "
                             f"{what} does not apply; score them with "
                             "seqcnn.evaluate.metrics.regression_metrics")

    def _ignorable(self, task: str) -> bool:
        """True when ``ignore_index`` is not one of ``task``'s class codes."""
        return self.ignore_index >= self.n_classes(task)

    def _bad_code(self, task: str, bad: np.ndarray, name: str) -> str:
        shown = ", ".join(str(v.item()) for v in np.unique(bad)[:5])
        k = self.n_classes(task)
        extra = (f" or {self.ignore_index} (padding)" if self.per_position else
                 f" or {self.ignore_index} (no label: ambiguous)")
        hint = (" (a binary task takes 0 or 1, or 255 for no label; multiclass or "
                "per-position labels need "
                "targets from the manifest: Targets.from_manifest)"
                if self.kinds[task] == "binary" else "")
        return (f"{name}: task {task!r} ({self.kinds[task]}, classes "
                f"{list(self.classes[task])}) has label code(s) {shown}; codes must be "
                f"0..{k - 1}{extra}{hint}")

    def indicator(self, labels: np.ndarray) -> np.ndarray:
        """One-vs-rest labels ``uint8`` ``(M, n_outputs)`` in {0, 1}: per-sequence ``M = N``;
        per-position ``M`` = real positions (label != ignore), sequence by sequence.

        A per-sequence label equal to ``ignore_index`` (no label) gives :data:`IGNORE` (255)
        in every column of its task on that row: :mod:`seqcnn.evaluate.metrics` leaves such entries
        out, column by column."""
        labels = np.asarray(labels)
        self._no_classes("indicator")
        self.check_labels(labels)
        if self.per_position:
            codes = labels[labels != self.ignore_index]
            return (codes[:, None] == np.arange(self.n_outputs)[None, :]).astype(np.uint8)
        out = np.empty((len(labels), self.n_outputs), dtype=np.uint8)
        for j, t in enumerate(self.tasks):
            sl = self.slices[t]
            if self.kinds[t] == "binary":
                out[:, sl.start] = labels[:, j] == 1
            else:
                out[:, sl] = labels[:, j][:, None] == np.arange(sl.stop - sl.start)[None, :]
            if self._ignorable(t):
                out[labels[:, j] == self.ignore_index, sl] = IGNORE
        return out

    def column_counts(self, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positives and labelled rows per output column, both ``int64`` ``(n_outputs,)``:
        rows of :meth:`indicator` (sequences, or real positions) whose entry is 0 or 1, i.e.
        not ignored (ambiguous). Read in row chunks."""
        labels = np.asarray(labels)
        self._no_classes("column_counts")
        pos = np.zeros(self.n_outputs, dtype=np.int64)
        labelled = np.zeros(self.n_outputs, dtype=np.int64)
        for start in range(0, len(labels), _CHUNK):
            ind = self.indicator(labels[start:start + _CHUNK])
            pos += (ind == 1).sum(axis=0, dtype=np.int64)
            labelled += (ind != IGNORE).sum(axis=0, dtype=np.int64)
        return pos, labelled

    def position_rows(self, labels: np.ndarray) -> np.ndarray:
        """Sequence index ``(M,)`` of each row of :meth:`indicator` (per-position: the
        sequence of each real position; per-sequence: ``0..N-1``)."""
        labels = np.asarray(labels)
        if not self.per_position:
            return np.arange(len(labels))
        return np.nonzero(labels != self.ignore_index)[0]

    # ----------------------------------------------------------------- scores

    def _check_outputs(self, a: np.ndarray | Tensor, what: str) -> None:
        shape = tuple(a.shape)
        if self.per_position:
            ok = len(shape) == 3 and shape[1] == self.n_outputs
            want = f"(N, {self.n_outputs}, L)"
        else:
            ok = len(shape) == 2 and shape[1] == self.n_outputs
            want = f"(N, {self.n_outputs})"
        if not ok:
            raise ValueError(f"{what} must be {want} for outputs "
                             f"{', '.join(self.output_names)}; got shape {shape}")

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Logits → probabilities ``float64``, same shape: sigmoid on binary columns, softmax
        within each multiclass task's columns, softmax over the class axis (axis 1) of
        per-position logits ``(N, K, L)``. Regression: the prediction in label units, the
        output itself (``mse``) or ``exp`` of it (``poisson``: the predicted rate)."""
        logits = np.asarray(logits)
        self._check_outputs(logits, "logits")
        z = logits.astype(np.float64)
        if self.regression:
            poisson = np.array([self.losses[t] == "poisson" for t in self.tasks])
            return np.where(poisson[None, :], np.exp(np.minimum(z, 80.0)), z)
        if self.all_binary:
            return 1.0 / (1.0 + np.exp(-z))
        if self.per_position:
            return _softmax(z, axis=1)
        out = np.empty_like(z)
        for t in self.tasks:
            sl = self.slices[t]
            if self.kinds[t] == "binary":
                out[:, sl] = 1.0 / (1.0 + np.exp(-z[:, sl]))
            else:
                out[:, sl] = _softmax(z[:, sl], axis=1)
        return out

    def one_vs_rest(self, labels: np.ndarray, probs: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
        """``(Y, P)``: one-vs-rest labels ``uint8`` ``(M, n_outputs)`` and scores
        ``(M, n_outputs)``. Per-sequence ``M = N`` and ``P = probs``, with ``Y`` 255 where a
        task has no label (:meth:`indicator`); per-position the rows are the real positions
        (label != ignore), flattened sequence by sequence, and ``probs`` is ``(N, K, L)``
        with the labels' ``L``."""
        labels, probs = np.asarray(labels), np.asarray(probs)
        self._no_classes("one_vs_rest")
        self._check_outputs(probs, "probs")
        if self.per_position:
            if labels.shape != (probs.shape[0], probs.shape[2]):
                raise ValueError(f"labels {labels.shape} do not match probs {probs.shape} "
                                 "(expected labels (N, L) for probs (N, K, L))")
            real = labels != self.ignore_index
            return self.indicator(labels), np.moveaxis(probs, 1, 2)[real]
        if len(labels) != len(probs):
            raise ValueError(f"labels have {len(labels)} rows, probs {len(probs)}")
        return self.indicator(labels), probs

    def predicted_class(self, probs: np.ndarray) -> dict[str, np.ndarray]:
        """Predicted class code per task: argmax of a multiclass task's columns ``(N,)``,
        of the class axis for per-position ``(N, L)``; binary: ``probs >= 0.5`` ``(N,)``."""
        probs = np.asarray(probs)
        self._no_classes("predicted_class")
        self._check_outputs(probs, "probs")
        if self.per_position:
            return {self.tasks[0]: probs.argmax(axis=1)}
        out = {}
        for t in self.tasks:
            sl = self.slices[t]
            out[t] = ((probs[:, sl.start] >= 0.5).astype(np.int64)
                      if self.kinds[t] == "binary" else probs[:, sl].argmax(axis=1))
        return out

    # ----------------------------------------------------------------- loss

    def loss(self, pos_weight: np.ndarray | Sequence[float] | None = None) -> TargetsLoss:
        """The training loss ``(logits, labels) -> scalar`` (see :class:`TargetsLoss`);
        ``pos_weight``: one weight per binary task (in task order), or ``None``."""
        return TargetsLoss(self, pos_weight)


def _check_task(task: str, kind: Any, classes: Any, ignore: int
                ) -> tuple[str, tuple[str, ...]]:
    if kind not in KINDS:
        raise ValueError(f"task {task!r}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind == "regression":
        if classes:
            raise ValueError(f"regression task {task!r} has no classes, got {list(classes)}")
        return kind, ()
    if classes is None:
        if kind != "binary":
            raise ValueError(f"task {task!r} ({kind}) needs its class names")
        classes = BINARY_CLASSES
    if isinstance(classes, str):
        classes = tuple(classes)
    classes = tuple(str(c) for c in classes)
    if len(set(classes)) != len(classes):
        raise ValueError(f"task {task!r}: class names must be distinct, got {list(classes)}")
    if kind == "binary" and len(classes) != 2:
        raise ValueError(f"binary task {task!r} needs 2 classes, got {list(classes)}")
    if len(classes) < 2:
        raise ValueError(f"{kind} task {task!r} needs at least 2 classes, got {list(classes)}")
    if kind == "per_position" and len(classes) > ignore:
        raise ValueError(f"task {task!r}: {len(classes)} classes collide with ignore_index "
                         f"{ignore}")
    return kind, classes


def _check_losses(tasks: tuple[str, ...], kinds: Mapping[str, str],
                  losses: Mapping[str, str] | None) -> dict[str, str]:
    """Loss per regression task (default ``mse``); ``{}`` for targets without regression.
    Regression mixed with other kinds, or a loss for a task that is not regression, raises
    ``ValueError``."""
    losses = dict(losses or {})
    reg = [t for t in tasks if kinds[t] == "regression"]
    other = [t for t in tasks if kinds[t] != "regression"]
    if reg and other:
        raise ValueError(f"regression task(s) {', '.join(reg)} cannot be mixed with "
                         f"{', '.join(f'{t} ({kinds[t]})' for t in other)}: make every label "
                         "column a regression target, or train them as separate datasets")
    wrong = sorted(set(losses) - set(reg))
    if wrong:
        raise ValueError(f"losses name task(s) that are not regression: {', '.join(wrong)}")
    out = {t: str(losses.get(t, "mse")) for t in reg}
    bad = {t: v for t, v in out.items() if v not in REGRESSION_LOSSES}
    if bad:
        raise ValueError(f"regression loss must be one of {', '.join(REGRESSION_LOSSES)}, got "
                         + ", ".join(f"{v!r} for task {t!r}" for t, v in bad.items()))
    return out


def _softmax(z: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


class TargetsLoss(nn.Module):
    """Loss of :class:`Targets`: ``forward(logits, labels) -> scalar``.

    - all binary: ``BCEWithLogits`` (``pos_weight`` per task) averaged over every labelled
      entry of ``(N, T)`` (label != ``ignore_index``): exactly
      ``nn.BCEWithLogitsLoss(pos_weight)`` on the labelled entries, and on all of them when
      none is ignored;
    - per-sequence, mixed: mean over tasks of per-task mean losses over that task's labelled
      rows (BCE with ``pos_weight`` on a binary task's column, cross-entropy on a multiclass
      task's columns);
    - per-position: cross-entropy over the class axis of logits ``(N, K, L)`` against labels
      ``(N, L)``, averaged over the positions whose label is not ``ignore_index``.

    - regression: mean over tasks of per-task means over the labelled (non-NaN) rows of the
      squared error ``(z - y)^2`` (``mse``) or the Poisson NLL of a log-rate output
      ``exp(z) - y z`` (``poisson``; ``torch.nn.PoissonNLLLoss(log_input=True)``).

    Ignored entries add nothing to the loss and get zero gradient; a batch (or a task) with
    no labelled entry contributes 0, not NaN. ``labels`` may be any numeric dtype holding
    class codes (floats are converted).
    """

    def __init__(self, targets: Targets,
                 pos_weight: np.ndarray | Sequence[float] | None = None) -> None:
        super().__init__()
        self.targets = targets
        n_bin = len(targets.binary_tasks)
        if pos_weight is not None:
            pw = torch.as_tensor(np.asarray(pos_weight, dtype=np.float32))
            if pw.shape != (n_bin,):
                raise ValueError(f"pos_weight needs one value per binary task ({n_bin}), got "
                                 f"shape {tuple(pw.shape)}")
            self.register_buffer("pos_weight", pw)
        else:
            self.pos_weight = None
        self.register_buffer("_bin_cols", torch.tensor(targets.binary_columns,
                                                       dtype=torch.long), persistent=False)
        self.register_buffer("_bin_tasks", torch.tensor(targets.binary_tasks,
                                                        dtype=torch.long), persistent=False)

    def forward(self, logits: Tensor, labels: Tensor) -> Tensor:
        t = self.targets
        t._check_outputs(logits, "logits")
        if t.per_position:
            if labels.shape != (logits.shape[0], logits.shape[2]):
                raise ValueError(f"per-position labels must be (N, L) = "
                                 f"{(logits.shape[0], logits.shape[2])}, got "
                                 f"{tuple(labels.shape)}")
            codes = labels.long()
            total = F.cross_entropy(logits, codes, ignore_index=t.ignore_index,
                                    reduction="sum")
            count = (codes != t.ignore_index).sum().clamp(min=1)
            return total / count
        if labels.shape != (logits.shape[0], len(t.tasks)):
            raise ValueError(f"labels must be (N, {len(t.tasks)}) = "
                             f"{(logits.shape[0], len(t.tasks))}, got {tuple(labels.shape)}")
        if t.all_binary:
            total, count = self._bce(logits, labels)
            return total.sum() / count.sum().clamp(min=1)
        if t.regression:
            return self._regression(logits, labels)
        parts = []
        if len(t.binary_tasks):  # the sum of the binary tasks' per-task means
            total, count = self._bce(logits[:, self._bin_cols], labels[:, self._bin_tasks])
            parts.append((total / count.clamp(min=1)).sum())
        for j, task in enumerate(t.tasks):
            if t.kinds[task] == "multiclass":
                codes = labels[:, j].long()
                ce = F.cross_entropy(logits[:, t.slices[task]], codes,
                                     ignore_index=t.ignore_index, reduction="sum")
                parts.append(ce / (codes != t.ignore_index).sum().clamp(min=1))
        return torch.stack(parts).sum() / len(t.tasks)

    def _regression(self, logits: Tensor, labels: Tensor) -> Tensor:
        """Mean over tasks of each task's mean loss over its labelled (non-NaN) rows."""
        y = labels.to(logits.dtype)
        labelled = ~torch.isnan(y)
        y = torch.where(labelled, y, torch.zeros((), dtype=y.dtype, device=y.device))
        parts = []
        for j, task in enumerate(self.targets.tasks):
            z = logits[:, j]
            per = (torch.exp(z) - y[:, j] * z if self.targets.losses[task] == "poisson"
                   else (z - y[:, j]) ** 2)
            per = torch.where(labelled[:, j], per, torch.zeros((), dtype=per.dtype,
                                                               device=per.device))
            parts.append(per.sum() / labelled[:, j].sum().clamp(min=1))
        return torch.stack(parts).mean()

    def _bce(self, logits: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        """Per-column BCE summed over the labelled rows, and their number: ``(T,)``, ``(T,)``
        for binary logits and labels ``(N, T)``; ignored labels count as 0 with weight 0."""
        labelled = labels != self.targets.ignore_index
        y = torch.where(labelled, labels.float(), torch.zeros((), device=labels.device))
        per = F.binary_cross_entropy_with_logits(logits, y, pos_weight=self.pos_weight,
                                                 reduction="none")
        per = torch.where(labelled, per, torch.zeros((), dtype=per.dtype, device=per.device))
        return per.sum(dim=0), labelled.sum(dim=0)


__all__ = ["BINARY_CLASSES", "KINDS", "REGRESSION_LOSSES", "Targets", "TargetsLoss"]
