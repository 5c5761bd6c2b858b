"""Baselines a CNN has to beat: k-mer spectrum and known-motif logistic regressions.

Both are fitted on the training split, choose their L2 strength ``C`` on the validation
split (highest validation auROC per task, ties to the smaller ``C``; the grid is walked
upwards with warm starts and stops once validation auROC falls), and are scored on the
test split by the caller (:mod:`seqcnn.evaluate.metrics`). Both take one-hot ``uint8``
``(N, 4, L)`` arrays (memory maps welcome: they are read in chunks) and labels ``(N, tasks)``,
and predict ``(N, tasks)`` probabilities. One logistic regression per task, fitted and
selected on the rows labelled for that task: a label of 255 (ambiguous, no label for that
task) leaves the row out of that task's fit and validation (the feature scaling, which does
not see labels, uses every row labelled for some task).

- :class:`KmerBaseline`: canonical k-mer frequencies for every k in ``ks`` (default 1..6).
  A CNN that barely beats it learned composition, not grammar; lower orders are included
  so that composition shortcuts (GC, CpG, dinucleotides) are cheap for the regularised
  model to use, and the baseline exposes them.
- :class:`MotifScanBaseline`: for each listed JASPAR motif, the best log-odds score of any
  window on either strand. A CNN that barely beats it learned the motifs and little else.

Motif scanning uses a ``torch`` ``conv1d`` with the log-odds matrix and its reverse
complement, not memelite's FIMO: ``memelite.fimo`` reports only windows that pass a
p-value threshold (as DataFrames of hits, or counts per motif over all sequences), and
has no per-sequence maximum; getting every window's score from it means a threshold of 1
and one DataFrame row per window and strand (N × L × 2 rows), far slower than a
convolution. The score is FIMO's: the sum of ``log2(p / background)`` over the window,
with N (all-zero columns) adding 0.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from seqcnn.evaluate.metrics import AMBIGUOUS
from seqcnn.jaspar import Motif, log_odds

#: Dense cells per chunk while counting k-mers (bounds peak memory: ~8 bytes a cell).
_KMER_CELLS = 1 << 23
#: Sequences per batch while scanning motifs.
_SCAN_BATCH = 1024


# --------------------------------------------------------------------------- k-mers


def kmer_lookup(k: int, canonical: bool = True) -> tuple[np.ndarray, list[str]]:
    """Feature index of every k-mer code, and the feature names.

    A k-mer's code is its base-4 number in ACGT order, first base most significant (so
    codes sort lexicographically). Returns ``(4**k,)`` ``int64`` code → feature index, and
    the names in feature order. With ``canonical`` a k-mer and its reverse complement share
    one feature, named by the lexicographically smaller of the two: ``(4**k + 4**(k/2)) / 2``
    features for even k (palindromes are their own pair), ``4**k / 2`` for odd k.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    codes = np.arange(4**k, dtype=np.int64)
    if canonical:
        digits = (codes[:, None] // 4 ** np.arange(k - 1, -1, -1)) % 4  # (4**k, k), first base
        rc = ((3 - digits[:, ::-1]) * 4 ** np.arange(k - 1, -1, -1)).sum(axis=1)
        keys, index = np.unique(np.minimum(codes, rc), return_inverse=True)
    else:
        keys, index = codes, codes
    letters = np.array(list("ACGT"))
    digits = (keys[:, None] // 4 ** np.arange(k - 1, -1, -1)) % 4
    names = ["".join(row) for row in letters[digits]]
    return index.astype(np.int64), names


def kmer_names(ks: Sequence[int], canonical: bool = True) -> list[str]:
    """Column names of :func:`kmer_counts` for ``ks``: each k's k-mers in code order."""
    return [name for k in ks for name in kmer_lookup(k, canonical)[1]]


def kmer_counts(X: np.ndarray, ks: Sequence[int] = (1, 2, 3, 4, 5, 6), canonical: bool = True,
                normalize: bool = True, chunk_size: int | None = None) -> sp.csr_matrix:
    """k-mer spectrum of one-hot DNA: ``uint8`` ``(N, 4, L)`` → sparse ``(N, features)``.

    Columns are the k-mers of each k in ``ks``, in order (:func:`kmer_names`). Every window
    of the forward strand is counted once; with ``canonical`` it is counted under the
    smaller of itself and its reverse complement, which is the same as counting both
    strands and halving (palindromes aside). Windows with an N (all-zero column) are
    skipped. With ``normalize``, each k's counts are divided by that sequence's number of
    N-free windows of length k (frequencies summing to 1 per k; rows without any stay 0).
    Counting is vectorised over rows ``chunk_size`` at a time (default: about 32 MB of
    dense cells), so memory is one dense chunk plus the sparse result (100,000 × 500 bp,
    k = 1..6: 93 M non-zeros, 0.75 GB, about 10 s). Returns ``float32`` CSR.
    """
    ks = sorted(set(int(k) for k in ks))
    if not ks:
        raise ValueError("ks is empty")
    X_shape = np.shape(X)
    if len(X_shape) != 3 or X_shape[1] != 4:
        raise ValueError(f"X must be one-hot (N, 4, L), got shape {X_shape}")
    tables = {k: kmer_lookup(k, canonical)[0] for k in ks}
    widths = {k: int(tables[k].max()) + 1 for k in ks}
    n_features = sum(widths.values())
    n, length = X_shape[0], X_shape[2]
    chunk_size = chunk_size or max(1, _KMER_CELLS // n_features)
    # preallocate for the most non-zeros a row can have, fill, then shrink in place: peak
    # memory is the result's bound, not the blocks plus their concatenation
    per_row = sum(min(widths[k], max(length - k + 1, 0)) for k in ks)
    data = np.empty(n * per_row, dtype=np.float32)
    indices = np.empty(n * per_row, dtype=np.int32 if n_features < 2**31 else np.int64)
    indptr = np.zeros(n + 1, dtype=np.int64)
    nnz = 0
    for a in range(0, n, chunk_size):
        block = sp.csr_matrix(_kmer_chunk(np.asarray(X[a:a + chunk_size]), ks, tables, widths,
                                          normalize))
        data[nnz:nnz + block.nnz] = block.data
        indices[nnz:nnz + block.nnz] = block.indices
        indptr[a + 1:a + 1 + block.shape[0]] = nnz + block.indptr[1:]
        nnz += block.nnz
    data.resize(nnz, refcheck=False)
    indices.resize(nnz, refcheck=False)
    return sp.csr_matrix((data, indices, indptr), shape=(n, n_features))


def _kmer_chunk(x: np.ndarray, ks: list[int], tables: dict[int, np.ndarray],
                widths: dict[int, int], normalize: bool) -> np.ndarray:
    """Dense k-mer counts of one chunk ``(n, 4, L)`` → ``float32`` ``(n, features)``."""
    n, _, length = x.shape
    valid = x.any(axis=1)
    base = (x[:, 1] + 2 * x[:, 2] + 3 * x[:, 3]).astype(np.int64)  # ACGT → 0..3
    out = np.zeros((n, sum(widths.values())), dtype=np.float32)
    code, ok = np.zeros((n, length + 1), np.int64), np.ones((n, length + 1), bool)
    col = 0
    for k in range(1, ks[-1] + 1):
        if length - k + 1 <= 0:
            break
        # code of the k-mer starting at each position, from the (k-1)-mer's
        code = code[:, :-1] * 4 + base[:, k - 1:]
        ok = ok[:, :-1] & valid[:, k - 1:]
        if k not in tables:
            continue
        w = widths[k]
        keys = tables[k][code] + (np.arange(n) * w)[:, None]
        counts = np.bincount(keys[ok], minlength=n * w).reshape(n, w).astype(np.float32)
        if normalize:
            total = ok.sum(axis=1, keepdims=True)
            counts /= np.maximum(total, 1)
        out[:, col:col + w] = counts
        col += w
    return out


# --------------------------------------------------------------------------- motifs


def motif_max_scores(X: np.ndarray, matrices: Sequence[np.ndarray], both_strands: bool = True,
                     batch_size: int = _SCAN_BATCH) -> np.ndarray:
    """Best window score of each scoring matrix in each sequence: → ``float32`` ``(N, M)``.

    ``X`` is one-hot ``(N, 4, L)``; ``matrices`` are ``(4, w_m)`` scores per base (log-odds,
    :func:`seqcnn.jaspar.log_odds`). A window's score is the sum of its bases' entries (N
    adds 0); the result is the maximum over windows and, with ``both_strands``, over the reverse
    complement too (the matrix flipped on both axes, scanned on the forward strand).
    Computed with ``torch.nn.functional.conv1d``, ``batch_size`` sequences at a time.
    """
    import torch

    X_shape = np.shape(X)
    if len(X_shape) != 3 or X_shape[1] != 4:
        raise ValueError(f"X must be one-hot (N, 4, L), got shape {X_shape}")
    mats = [np.asarray(m, dtype=np.float32) for m in matrices]
    for i, m in enumerate(mats):
        if m.ndim != 2 or m.shape[0] != 4:
            raise ValueError(f"matrix {i} must be (4, width), got {m.shape}")
        if m.shape[1] > X_shape[2]:
            raise ValueError(f"matrix {i} is {m.shape[1]} wide, longer than the sequences "
                             f"({X_shape[2]})")
    out = np.empty((X_shape[0], len(mats)), dtype=np.float32)
    groups: dict[int, list[int]] = {}
    for i, m in enumerate(mats):
        groups.setdefault(m.shape[1], []).append(i)
    kernels = {}
    for w, idx in groups.items():
        fwd = np.stack([mats[i] for i in idx])
        both = np.concatenate([fwd, fwd[:, ::-1, ::-1]]) if both_strands else fwd
        kernels[w] = torch.from_numpy(np.ascontiguousarray(both))
    with torch.no_grad():
        for a in range(0, X_shape[0], batch_size):
            x = torch.from_numpy(np.asarray(X[a:a + batch_size], dtype=np.float32))
            for w, idx in groups.items():
                best = torch.nn.functional.conv1d(x, kernels[w]).amax(dim=-1)
                if both_strands:
                    best = torch.maximum(best[:, :len(idx)], best[:, len(idx):])
                out[a:a + len(x), idx] = best.numpy()
    return out


# --------------------------------------------------------------------------- models


def _fit_tasks(F_train, y_train: np.ndarray, F_valid, y_valid: np.ndarray,
               Cs: Sequence[float], seed: int, max_iter: int, tasks: list[str],
               stop_early: bool):
    """One logistic regression per task, ``C`` chosen on validation auROC.

    ``Cs`` are tried in increasing order, each fit starting from the previous solution
    (warm start); with ``stop_early`` the search ends at the first ``C`` whose validation
    auROC is below the best so far (validation auROC is unimodal in ``C`` in practice, and
    large ``C`` costs the most iterations). Ties go to the smaller ``C``. Each task sees
    only its labelled rows (label != 255) of both splits. Returns per task the fitted model
    (or a float: the training prevalence, when training holds one class), the chosen ``C``
    and its validation auROC (NaN if not computable).
    """
    models, chosen, scores = [], [], []
    for j, task in enumerate(tasks):
        (Ft, yt), (Fv, yv) = (_labelled(F_train, y_train[:, j]),
                              _labelled(F_valid, y_valid[:, j]))
        if len(np.unique(yt)) < 2:
            warnings.warn(f"task {task}: one class in the training split; it predicts the "
                          "training prevalence", UserWarning, stacklevel=3)
            models.append(float(yt.mean()) if len(yt) else 0.5)
            chosen.append(np.nan)
            scores.append(np.nan)
            continue
        two_valid = len(np.unique(yv)) == 2
        grid = sorted(Cs)
        if not two_valid:
            warnings.warn(f"task {task}: one class in the validation split; C is not "
                          "selected, the middle of the grid is used", UserWarning, stacklevel=3)
            grid = [grid[len(grid) // 2]]
        lr = LogisticRegression(max_iter=max_iter, random_state=seed, warm_start=True)
        best_auc, best_model, best_C = -np.inf, None, np.nan
        for C in grid:
            lr.set_params(C=C)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*max_iter.*")
                lr.fit(Ft, yt)
            auc = roc_auc_score(yv, lr.decision_function(Fv)) if two_valid else np.nan
            if best_model is None or auc > best_auc:
                best_auc, best_model, best_C = auc, copy.deepcopy(lr), C
            elif stop_early:
                break
        scores.append(best_auc if two_valid else np.nan)
        models.append(best_model)
        chosen.append(best_C)
    return models, chosen, scores


def _labelled(F, y: np.ndarray) -> tuple[object, np.ndarray]:
    """Rows of features ``F`` (dense or sparse, ``(N, features)``) and labels ``y`` ``(N,)``
    whose label is not ambiguous (255); ``F`` itself when every row is labelled."""
    y = np.asarray(y)
    keep = y != AMBIGUOUS
    if keep.all():
        return F, y
    return F[np.flatnonzero(keep)], y[keep]


def _ambiguous(y: np.ndarray) -> np.ndarray:
    """Ambiguous (255) labels per task ``(tasks,)`` of labels ``(N, tasks)``."""
    return (np.asarray(y) == AMBIGUOUS).sum(axis=0)


def _check_xy(X, y, name: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2 or len(y) != len(X):
        raise ValueError(f"{name}: labels {y.shape} do not match {len(X)} sequences")
    return y


@dataclass
class _LogisticBaseline:
    """Shared fit/predict: features → standardised → one logistic regression per task."""

    Cs: tuple[float, ...] = (0.0001, 0.001, 0.01, 0.1, 1.0)
    seed: int = 0
    max_iter: int = 1000
    stop_early: bool = True
    tasks_: list[str] = field(default_factory=list, init=False, repr=False)
    models_: list = field(default_factory=list, init=False, repr=False)
    C_: list[float] = field(default_factory=list, init=False, repr=False)
    valid_auroc_: list[float] = field(default_factory=list, init=False, repr=False)
    n_ambiguous_: list[tuple[int, int]] = field(default_factory=list, init=False, repr=False)
    scaler_: StandardScaler | None = field(default=None, init=False, repr=False)

    def features(self, X: np.ndarray):
        raise NotImplementedError

    def _prepare(self) -> None:
        """Anything to set up before features are computed (e.g. fetching motifs)."""

    def fit(self, X_train: np.ndarray, y_train: np.ndarray, X_valid: np.ndarray,
            y_valid: np.ndarray, tasks: Sequence[str] | None = None):
        """Fit on ``(N, 4, L)`` / ``(N, tasks)`` training data, choose ``C`` on validation.

        Returns ``self``. ``tasks`` names the label columns (for warnings and
        :meth:`describe`). Labels are 0/1, or 255 (ambiguous): left out of that task's fit
        and ``C`` selection; ``n_ambiguous_`` holds ``(train, valid)`` counts per task.
        """
        y_train = _check_xy(X_train, y_train, "train")
        y_valid = _check_xy(X_valid, y_valid, "valid")
        if y_train.shape[1] != y_valid.shape[1]:
            raise ValueError(f"train has {y_train.shape[1]} tasks, valid {y_valid.shape[1]}")
        self.tasks_ = list(tasks) if tasks is not None else [
            f"task{j}" for j in range(y_train.shape[1])]
        self._prepare()
        self.n_ambiguous_ = [(int(a), int(b)) for a, b in zip(
            _ambiguous(y_train), _ambiguous(y_valid), strict=True)]
        self.scaler_ = StandardScaler(with_mean=False, copy=False)  # scales sparse in place
        F_train = self.features(X_train)
        some = np.flatnonzero((y_train != AMBIGUOUS).any(axis=1))  # labelled for some task
        if len(some) == len(y_train):
            F_train = self.scaler_.fit_transform(F_train)
        else:
            self.scaler_.fit(F_train[some])
            F_train = self.scaler_.transform(F_train)
        F_valid = self.scaler_.transform(self.features(X_valid))
        self.models_, self.C_, self.valid_auroc_ = _fit_tasks(
            F_train, y_train, F_valid, y_valid, self.Cs, self.seed, self.max_iter, self.tasks_,
            self.stop_early)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Probabilities ``(N, tasks)`` for one-hot ``(N, 4, L)``."""
        if self.scaler_ is None:
            raise RuntimeError("fit the baseline before predicting")
        F = self.scaler_.transform(self.features(X))
        out = np.empty((F.shape[0], len(self.models_)), dtype=np.float64)
        for j, m in enumerate(self.models_):
            out[:, j] = m if isinstance(m, float) else m.predict_proba(F)[:, 1]
        return out

    def coefficients(self) -> np.ndarray:
        """Standardised coefficients ``(tasks, features)`` (0 for a one-class task)."""
        rows = [np.zeros(len(self.feature_names())) if isinstance(m, float) else m.coef_[0]
                for m in self.models_]
        return np.array(rows)

    def feature_names(self) -> list[str]:
        raise NotImplementedError

    def _selection(self) -> str:
        parts = []
        amb = self.n_ambiguous_ or [(0, 0)] * len(self.tasks_)
        for t, c, a, (n_tr, n_va) in zip(self.tasks_, self.C_, self.valid_auroc_, amb,
                                         strict=True):
            part = f"{t} C={c:g} (valid auROC {a:.3f})" if np.isfinite(a) else f"{t} C={c:g}"
            if n_tr or n_va:
                part += f", {n_tr} train / {n_va} valid ambiguous rows left out"
            parts.append(part)
        return "; ".join(parts)


@dataclass
class KmerBaseline(_LogisticBaseline):
    """Logistic regression on canonical k-mer frequencies (:func:`kmer_counts`).

    ``ks``: k-mer lengths, default every k from 1 to 6 (2,772 canonical features). Features
    are per-sequence frequencies per k, scaled to unit variance on the training split.
    """

    ks: tuple[int, ...] = (1, 2, 3, 4, 5, 6)
    canonical: bool = True

    def features(self, X: np.ndarray) -> sp.csr_matrix:
        """k-mer frequencies ``(N, features)``, sparse."""
        return kmer_counts(X, self.ks, canonical=self.canonical, normalize=True)

    def feature_names(self) -> list[str]:
        return kmer_names(sorted(set(self.ks)), self.canonical)

    def describe(self, top: int = 5) -> str:
        """A short paragraph for the report: features, selection, top k-mers per task."""
        ks = sorted(set(self.ks))
        krange = f"{ks[0]}–{ks[-1]}" if ks == list(range(ks[0], ks[-1] + 1)) else \
            ",".join(map(str, ks))
        names = np.array(self.feature_names())
        text = (f"k-mer spectrum baseline: {'canonical ' if self.canonical else ''}k-mer "
                f"frequencies for k = {krange} ({len(names):,} features, N-containing k-mers "
                f"skipped, unit variance on train), one L2 logistic regression per task; C "
                f"from {{{', '.join(f'{c:g}' for c in sorted(self.Cs))}}} chosen on "
                f"validation auROC: {self._selection()}.")
        if self.models_:
            coef = self.coefficients()
            tops = [f"{t}: {', '.join(names[np.argsort(-c)[:top]])}"
                    for t, c in zip(self.tasks_, coef, strict=True) if c.any()]
            if tops:
                text += f" Top positive k-mers — {'; '.join(tops)}."
        return text


@dataclass
class OrientedKmerBaseline(KmerBaseline):
    """:class:`KmerBaseline` on oriented k-mer frequencies: a k-mer and its reverse
    complement are separate features (5,460 for k = 1..6), so the fit can use the strand a
    motif sits on. Fitted beside the canonical one on oriented datasets (stranded regions:
    promoters read in the gene's direction), where orientation is signal."""

    canonical: bool = False

    def describe(self, top: int = 5) -> str:
        """:meth:`KmerBaseline.describe`, saying the k-mers are oriented."""
        return super().describe(top).replace(
            "k-mer spectrum baseline: k-mer frequencies",
            "oriented k-mer spectrum baseline: strand-specific k-mer frequencies (a k-mer "
            "and its reverse complement are separate features)", 1)


#: Names of the k-mer baselines in eval/metrics.tsv: canonical, oriented.
KMER_BASELINES = ("kmer_lr", "kmer_oriented_lr")


def kmer_baselines(oriented: bool, seed: int = 0) -> dict[str, KmerBaseline]:
    """The k-mer baselines of a dataset, by their metrics.tsv name: the canonical one, and
    for ``oriented`` data the oriented one beside it (:data:`KMER_BASELINES`)."""
    out: dict[str, KmerBaseline] = {KMER_BASELINES[0]: KmerBaseline(seed=seed)}
    if oriented:
        out[KMER_BASELINES[1]] = OrientedKmerBaseline(seed=seed)
    return out


@dataclass
class MotifScanBaseline(_LogisticBaseline):
    """Logistic regression on each known motif's best log-odds score (both strands).

    ``motifs``: JASPAR ids (fetched offline from pyjaspar's ``release``) and/or
    :class:`seqcnn.jaspar.Motif` objects. Probabilities use ``pseudocount`` (total per
    column) and log-odds the ACGT ``background`` (default uniform).
    """

    motifs: Sequence[str | Motif] = ()
    release: str = "JASPAR2024"
    pseudocount: float = 0.8
    background: tuple[float, float, float, float] | None = None
    motifs_: list[Motif] = field(default_factory=list, init=False, repr=False)

    def _prepare(self) -> None:
        from seqcnn.jaspar import fetch

        if not len(self.motifs):
            raise ValueError("MotifScanBaseline needs at least one motif (JASPAR id or Motif)")
        ids = [m for m in self.motifs if isinstance(m, str)]
        fetched = dict(zip(ids, fetch(ids, self.release), strict=True)) if ids else {}
        self.motifs_ = [fetched[m] if isinstance(m, str) else m for m in self.motifs]

    def matrices(self) -> list[np.ndarray]:
        """Log-odds matrices ``(4, w)`` of the motifs, in bits."""
        return [log_odds(m.probabilities(self.pseudocount), self.background)
                for m in self.motifs_]

    def features(self, X: np.ndarray) -> np.ndarray:
        """Best log-odds score per motif ``(N, motifs)``, both strands."""
        if not self.motifs_:
            self._prepare()
        return motif_max_scores(X, self.matrices())

    def feature_names(self) -> list[str]:
        return [f"{m.matrix_id} {m.name}" for m in self.motifs_]

    def describe(self) -> str:
        """A short paragraph for the report: motifs, scoring, selection."""
        motifs = ", ".join(self.feature_names()) or ", ".join(map(str, self.motifs))
        bg = "uniform" if self.background is None else \
            "/".join(f"{b:.2f}" for b in self.background)
        return (f"known-motif baseline: best log-odds score (bits, {bg} background, "
                f"pseudocount {self.pseudocount:g}) over both strands for {motifs} "
                f"({self.release}); one L2 logistic regression per task on the standardised "
                f"scores; C from {{{', '.join(f'{c:g}' for c in sorted(self.Cs))}}} chosen on "
                f"validation auROC: {self._selection()}.")


# --------------------------------------------------------------------------- regression


@dataclass
class KmerRidge:
    """Ridge regression on k-mer frequencies: the baseline of regression targets.

    The features of :class:`KmerBaseline` (:func:`kmer_counts`, canonical or not, scaled to
    unit variance on the training split); one ``sklearn.linear_model.Ridge`` per task,
    fitted on the task's labelled (non-NaN) training rows, its ``alpha`` chosen from
    ``alphas`` by the highest Pearson r on the labelled validation rows (ties to the larger
    alpha). Labels ``(N, tasks)`` real values; predictions ``(N, tasks)`` in label units.
    """

    ks: tuple[int, ...] = (1, 2, 3, 4, 5, 6)
    canonical: bool = True
    alphas: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0)
    tasks_: list[str] = field(default_factory=list, init=False, repr=False)
    models_: list = field(default_factory=list, init=False, repr=False)
    alpha_: list[float] = field(default_factory=list, init=False, repr=False)
    valid_r_: list[float] = field(default_factory=list, init=False, repr=False)
    n_missing_: list[tuple[int, int]] = field(default_factory=list, init=False, repr=False)
    scaler_: StandardScaler | None = field(default=None, init=False, repr=False)

    def features(self, X: np.ndarray) -> sp.csr_matrix:
        """k-mer frequencies ``(N, features)``, sparse."""
        return kmer_counts(X, self.ks, canonical=self.canonical, normalize=True)

    def fit(self, X_train: np.ndarray, y_train: np.ndarray, X_valid: np.ndarray,
            y_valid: np.ndarray, tasks: Sequence[str] | None = None) -> KmerRidge:
        """Fit on one-hot ``(N, 4, L)`` / values ``(N, tasks)``; choose alpha on validation.
        ``n_missing_`` holds the (train, valid) NaN rows left out per task."""
        from sklearn.linear_model import Ridge

        from seqcnn.evaluate.metrics import pearson

        y_train = np.asarray(y_train, dtype=np.float64).reshape(len(y_train), -1)
        y_valid = np.asarray(y_valid, dtype=np.float64).reshape(len(y_valid), -1)
        if y_train.shape[1] != y_valid.shape[1]:
            raise ValueError(f"train has {y_train.shape[1]} tasks, valid {y_valid.shape[1]}")
        self.tasks_ = list(tasks) if tasks is not None else [
            f"task{j}" for j in range(y_train.shape[1])]
        self.scaler_ = StandardScaler(with_mean=False, copy=False)
        F_train = self.scaler_.fit_transform(self.features(X_train))
        F_valid = self.scaler_.transform(self.features(X_valid))
        self.models_, self.alpha_, self.valid_r_, self.n_missing_ = [], [], [], []
        for j in range(y_train.shape[1]):
            tr, va = ~np.isnan(y_train[:, j]), ~np.isnan(y_valid[:, j])
            self.n_missing_.append((int((~tr).sum()), int((~va).sum())))
            best = (-np.inf, None, np.nan)
            for alpha in sorted(self.alphas):
                model = Ridge(alpha=alpha).fit(F_train[tr], y_train[tr, j])
                r = float(pearson(y_valid[va, j], model.predict(F_valid[va])))
                if np.isfinite(r) and r >= best[0]:
                    best = (r, model, alpha)
            if best[1] is None:  # constant predictions at every alpha: keep the largest
                best = (np.nan, model, alpha)
            self.valid_r_.append(best[0])
            self.models_.append(best[1])
            self.alpha_.append(best[2])
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions ``float64`` ``(N, tasks)`` for one-hot ``(N, 4, L)``."""
        if self.scaler_ is None:
            raise RuntimeError("fit the baseline before predicting")
        F = self.scaler_.transform(self.features(X))
        return np.stack([m.predict(F) for m in self.models_], axis=1)

    def describe(self) -> str:
        """A short paragraph for the report: features, the alpha chosen per task."""
        ks = sorted(set(self.ks))
        chosen = "; ".join(f"{t} alpha={a:g} (valid r {r:.3f})" for t, a, r in zip(
            self.tasks_, self.alpha_, self.valid_r_, strict=True))
        return (f"k-mer ridge baseline: {'canonical ' if self.canonical else ''}k-mer "
                f"frequencies for k = {ks[0]}–{ks[-1]} (unit variance on train), one ridge "
                f"regression per task; alpha from {{{', '.join(f'{a:g}' for a in self.alphas)}}} "
                f"chosen on validation Pearson r: {chosen}.")


#: Name of the k-mer ridge baseline in eval/metrics.tsv.
KMER_RIDGE = "kmer_ridge"
