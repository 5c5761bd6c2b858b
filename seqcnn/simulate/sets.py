"""Simulated sequence sets for published and textbook CNN experiments.

Each ``simulate_*`` function is keyword-only, takes an explicit ``seed`` (through
``np.random.default_rng``; same seed, same output) and returns a :class:`Simulation`:

- ``table``: DataFrame ``id, sequence, <label columns>`` (+ ``split`` or ``group`` where the
  design fixes them);
- ``truth``: planted motif instances, one row each, ``id, motif_id, motif_name, start, end,
  strand`` (0-based, end exclusive, on the sequence as written; ``strand`` ``-`` means the
  reverse complement of the motif was written), plus design columns; ``None`` when there is
  nothing planted;
- ``label_columns``: the label column names.

Sequences are DNA on a uniform i.i.d. background. Motifs come from pyjaspar (offline) as
probability matrices (:meth:`seqcnn.jaspar.Motif.probabilities`, default pseudocount) and
instances are sampled column by column (:func:`seqcnn.simulate.genome.sample_instance`).

:func:`simulate_set` runs one kind from :data:`SIMULATIONS` with a parameter mapping (e.g.
from the workflow config) and checks the parameter names; :func:`write_sequence_set` also
writes the files (:data:`SET_FILES`): it is every kind here of
:func:`seqcnn.simulate.simulate`. Bad parameters raise :class:`~seqcnn.errors.ConfigError`
(a ``ValueError``).
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from seqcnn import jaspar
from seqcnn.data import SPLITS, seqsets
from seqcnn.errors import ConfigError
from seqcnn.simulate.genome import DNA, sample_instance
from seqcnn.simulate.proteins import simulate_secondary_structure, write_seqset_files

#: The 12 JASPAR CORE vertebrate motifs of Koo & Eddy (2019), ``(name, matrix id)``.
KOO_EDDY_MOTIFS: tuple[tuple[str, str], ...] = (
    ("Arid3a", "MA0151.1"), ("CEBPB", "MA0466.2"), ("FOSL1", "MA0477.1"),
    ("Gabpa", "MA0062.2"), ("MAFK", "MA0496.1"), ("MAX", "MA0058.3"),
    ("MEF2A", "MA0052.3"), ("NFYB", "MA0502.1"), ("SP1", "MA0079.3"),
    ("SRF", "MA0083.3"), ("STAT1", "MA0137.3"), ("YY1", "MA0095.2"),
)
KOO_EDDY_RELEASE = "JASPAR2016"
#: Probabilities of 1, 2, 3, 4, 5 motif instances per sequence (Koo & Eddy 2019).
KOO_EDDY_INSTANCE_PROBS = (0.50, 0.25, 0.17, 0.05, 0.03)
#: Default train/valid/test fractions where a design fixes the split.
SPLIT_FRACTIONS = (0.7, 0.1, 0.2)
TRUTH_COLUMNS = ["id", "motif_id", "motif_name", "start", "end", "strand"]
#: Kinds whose label column is per position (``load_seqset(position_label=...)``).
POSITION_LABEL_KINDS = frozenset({"secondary_structure"})


class Simulation(NamedTuple):
    """A simulated set: ``(table, truth, label_columns)``."""

    table: pd.DataFrame
    truth: pd.DataFrame | None
    label_columns: list[str]


# --------------------------------------------------------------------------- helpers


@functools.lru_cache(maxsize=64)
def _fetch(matrix_id: str, release: str) -> jaspar.Motif:
    return jaspar.fetch([matrix_id], release)[0]


def load_motif(matrix_id: str, release: str, param: str = "motif") -> tuple[str, np.ndarray]:
    """``(name, probability matrix (4, width))`` of a JASPAR id; ``ValueError`` naming
    ``param`` when the id or release is not available offline."""
    import pyjaspar

    releases = sorted(getattr(pyjaspar, "jaspar_releases", {}))
    if releases and str(release) not in releases:
        raise ConfigError(f"release: JASPAR release {release!r} is not in pyjaspar; "
                         f"allowed: {', '.join(releases)}")
    try:
        with warnings.catch_warnings():  # pyjaspar warns before failing; the error says it all
            warnings.simplefilter("ignore")
            motif = _fetch(str(matrix_id), str(release))
    except Exception as err:  # pyjaspar raises KeyError / AttributeError for bad ids / releases
        raise ConfigError(f"{param}: cannot load JASPAR matrix {matrix_id!r} from release "
                         f"{release!r} (pyjaspar, offline): {err}") from err
    return motif.name, motif.probabilities()


def koo_eddy_pwms(release: str = KOO_EDDY_RELEASE) -> list[tuple[str, str, str, np.ndarray]]:
    """The 24 Koo & Eddy PWMs ``(name, motif_id, strand, pwm (4, width))``: each of the 12
    motifs (strand ``+``) followed by its reverse complement (strand ``-``)."""
    out = []
    for name, mid in KOO_EDDY_MOTIFS:
        _, pwm = load_motif(mid, release, "release")
        out.append((name, mid, "+", pwm))
        out.append((name, mid, "-", np.ascontiguousarray(pwm[::-1, ::-1])))
    return out


def _ids(prefix: str, n: int) -> list[str]:
    width = len(str(max(n - 1, 1)))
    return [f"{prefix}{i:0{width}d}" for i in range(n)]


def _decode(codes: np.ndarray) -> str:
    """Codes 0..3 ``(L,)`` → ``ACGT`` string."""
    return DNA[codes].tobytes().decode()


def _background(length: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform i.i.d. DNA codes ``uint8`` ``(length,)``."""
    return rng.integers(0, 4, size=length, dtype=np.uint8)


def _instance(pwm: np.ndarray, strand: str, rng: np.random.Generator) -> np.ndarray:
    """One sampled instance ``(width,)``, reverse-complemented when ``strand == '-'``."""
    inst = sample_instance(pwm, rng)
    return (3 - inst)[::-1] if strand == "-" else inst


def _strand(rng: np.random.Generator, both: bool) -> str:
    return ("+", "-")[int(rng.integers(2))] if both else "+"


def _balanced_labels(n: int, rng: np.random.Generator) -> np.ndarray:
    """``int64`` ``(n,)``: ``n // 2`` ones in random order."""
    return rng.permutation((np.arange(n) < n // 2).astype(np.int64))


def assign_split(n: int, rng: np.random.Generator,
                 fractions: Sequence[float] = SPLIT_FRACTIONS,
                 strata: np.ndarray | None = None) -> np.ndarray:
    """Split names ``object`` ``(n,)``: each stratum permuted and cut at ``fractions``
    (train, valid, test; rounded to whole sequences)."""
    f = seqsets._fractions(list(fractions))
    strata = np.zeros(n, dtype=np.int64) if strata is None else np.asarray(strata)
    out = np.empty(n, dtype=object)
    for value in np.unique(strata):
        idx = rng.permutation(np.flatnonzero(strata == value))
        cuts = np.round(np.cumsum(f)[:-1] * len(idx)).astype(int)
        for name, part in zip(SPLITS, np.split(idx, cuts), strict=True):
            out[part] = name
    return out


def _place(widths: Sequence[int], length: int, rng: np.random.Generator) -> list[int]:
    """Starts of non-overlapping windows of ``widths`` in ``[0, length)``, each uniform over
    the starts still free when it is placed (in the given order)."""
    taken = np.zeros(length + 1, dtype=np.int64)  # taken[i]: occupied positions before i
    busy = np.zeros(length, dtype=bool)
    starts = []
    for w in widths:
        np.cumsum(busy, out=taken[1:])
        free = np.flatnonzero(taken[w:] - taken[:length - w + 1] == 0)
        if not len(free):
            raise ConfigError(f"cannot place {len(widths)} motifs of widths {list(widths)} "
                             f"without overlap in {length} bp")
        s = int(free[rng.integers(len(free))])
        busy[s:s + w] = True
        starts.append(s)
    return starts


def _pair(value: Any, name: str, low: int = 0) -> tuple[int, int]:
    """``(lo, hi)`` integers with ``low <= lo <= hi``."""
    try:
        lo, hi = (int(v) for v in value)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{name} must be two integers [lo, hi], got {value!r}") from err
    if not low <= lo <= hi:
        raise ConfigError(f"{name} must satisfy {low} <= lo <= hi, got {[lo, hi]}")
    return lo, hi


def _positive(value: Any, name: str, minimum: int = 1) -> int:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or int(value) < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _probability(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ConfigError(f"{name} must be in [0, 1], got {value!r}")
    return float(value)


def _truth(rows: list[tuple], extra: Sequence[str] = ()) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[*TRUTH_COLUMNS, *extra])


# --------------------------------------------------------------------------- Koo & Eddy


def simulate_koo_eddy(
    *, seed: int, n: int = 25_000, length: int = 200,
    instance_probs: Sequence[float] = KOO_EDDY_INSTANCE_PROBS,
    fractions: Sequence[float] = SPLIT_FRACTIONS, release: str = KOO_EDDY_RELEASE,
) -> Simulation:
    """Koo & Eddy (2019, PLoS Comput Biol) multi-task motif set.

    ``n`` sequences of ``length`` nt, uniform background; each holds ``k`` motif instances,
    ``k = 1..len(instance_probs)`` with those probabilities, each drawn with replacement from
    the 24 PWMs (:func:`koo_eddy_pwms`: 12 motifs and their reverse complements), sampled
    from it and placed uniformly without overlap. Labels: 12 binary columns named by TF
    (1 when the TF has an instance on either strand). ``split``: seeded, ``fractions``.
    """
    rng = np.random.default_rng(seed)
    n, length = _positive(n, "n"), _positive(length, "length")
    probs = np.asarray(list(instance_probs), dtype=np.float64)
    if probs.ndim != 1 or not len(probs) or (probs < 0).any() or not np.isclose(probs.sum(), 1):
        raise ConfigError(f"instance_probs must be probabilities of 1, 2, … instances summing "
                         f"to 1, got {list(instance_probs)}")
    pwms = koo_eddy_pwms(release)
    names = [name for name, _ in KOO_EDDY_MOTIFS]
    ids = _ids("koo", n)
    labels = np.zeros((n, len(names)), dtype=np.int64)
    seqs, rows = [], []
    counts = rng.choice(np.arange(1, len(probs) + 1), size=n, p=probs / probs.sum())
    for i in range(n):
        seq = _background(length, rng)
        chosen = [pwms[int(j)] for j in rng.integers(len(pwms), size=int(counts[i]))]
        starts = _place([p.shape[1] for *_, p in chosen], length, rng)
        for (name, mid, strand, pwm), s in zip(chosen, starts, strict=True):
            seq[s:s + pwm.shape[1]] = sample_instance(pwm, rng)
            labels[i, names.index(name)] = 1
            rows.append((ids[i], mid, name, s, s + pwm.shape[1], strand))
        seqs.append(_decode(seq))
    table = pd.DataFrame({"id": ids, "sequence": seqs})
    for j, name in enumerate(names):
        table[name] = labels[:, j]
    table["split"] = assign_split(n, rng, fractions)
    truth = _truth(rows).sort_values(["id", "start"], kind="stable").reset_index(drop=True)
    return Simulation(table, truth, names)


# --------------------------------------------------------------------------- stride


def simulate_stride(
    *, seed: int, n: int = 2000, length: int = 200, motif: str = "MA0139.2",
    release: str = "JASPAR2024", both_strands: bool = False, consensus: bool = False,
) -> Simulation:
    """One motif planted once at a uniform random offset in positives, none in negatives.

    Balanced binary ``label`` (``n // 2`` positives). The start is uniform over
    ``0..length - width``; the strand is ``+`` unless ``both_strands``. The instance is
    sampled from the PWM, or is its consensus (column argmax) with ``consensus``. For stride
    experiments: a filter scanned with stride ``s`` sees only offsets that are multiples of
    ``s`` (:func:`stride_detection`).
    """
    rng = np.random.default_rng(seed)
    n, length = _positive(n, "n", 2), _positive(length, "length")
    name, pwm = load_motif(motif, release, "motif")
    width = pwm.shape[1]
    if length < width:
        raise ConfigError(f"length {length} is shorter than motif {motif} ({width} bp)")
    ids, labels = _ids("stride", n), _balanced_labels(n, rng)
    seqs, rows = [], []
    for i in range(n):
        seq = _background(length, rng)
        if labels[i]:
            s, strand = int(rng.integers(length - width + 1)), _strand(rng, both_strands)
            inst = _instance(pwm, strand, rng)
            if consensus:
                inst = _consensus(pwm, strand)
            seq[s:s + width] = inst
            rows.append((ids[i], motif, name, s, s + width, strand))
        seqs.append(_decode(seq))
    table = pd.DataFrame({"id": ids, "sequence": seqs, "label": labels})
    return Simulation(table, _truth(rows), ["label"])


def _consensus(pwm: np.ndarray, strand: str) -> np.ndarray:
    """Consensus codes ``(width,)`` (column argmax), reverse-complemented on ``-``."""
    codes = pwm.argmax(axis=0).astype(np.uint8)
    return (3 - codes)[::-1] if strand == "-" else codes


def strided_scores(onehot: np.ndarray, weights: np.ndarray, stride: int) -> np.ndarray:
    """Filter scores ``(N, W)`` of weights ``(4, k)`` on one-hot ``(N, 4, L)`` at window
    starts ``0, stride, 2·stride, …`` (valid windows only, like ``Conv1d(stride=s)``)."""
    x = np.asarray(onehot, dtype=np.float64)
    k, length = weights.shape[1], x.shape[2]
    if length < k:
        raise ValueError(f"sequences ({length} bp) are shorter than the filter ({k})")
    n_win = (length - k) // int(stride) + 1
    span = (n_win - 1) * int(stride) + 1
    out = np.zeros((x.shape[0], n_win))
    for j in range(k):
        out += np.einsum("naw,a->nw", x[:, :, j:j + span:stride], weights[:, j])
    return out


def stride_hits(onehot: np.ndarray, pwm: np.ndarray, stride: int, threshold: float = 0.5
                ) -> np.ndarray:
    """Per-sequence detection ``bool`` ``(N,)`` by a fixed PWM filter scanned with ``stride``.

    The filter is the log-odds of ``pwm`` (probabilities ``(4, k)``) against a uniform
    background; a hit is a strided window scoring at least ``threshold`` × the filter's best
    possible score (sum of column maxima).
    """
    _positive(stride, "stride")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    w = jaspar.log_odds(pwm)
    best = float(w.max(axis=0).sum())
    return strided_scores(onehot, w, stride).max(axis=1) >= threshold * best


def stride_detection(onehot: np.ndarray, pwm: np.ndarray, stride: int, threshold: float = 0.5
                     ) -> float:
    """Fraction of sequences ``(N, 4, L)`` (e.g. the positives of :func:`simulate_stride`)
    whose planted instance a strided PWM filter detects (:func:`stride_hits`); for
    instances at uniform offsets the expectation is about ``1 / stride``."""
    return float(stride_hits(onehot, pwm, stride, threshold).mean())


# --------------------------------------------------------------------------- motif pairs


def _plant_pair(
    length: int, first: tuple[str, str, str, np.ndarray], second: tuple[str, str, str, np.ndarray],
    gap: int, strands: tuple[str, str], rng: np.random.Generator,
) -> tuple[np.ndarray, list[tuple[str, str, int, int, str, str]]]:
    """Background of ``length`` with ``first`` then ``second`` (``(role, id, name, pwm)``)
    ``gap`` bp apart (bases between them), the block at a uniform offset.

    Returns codes ``(length,)`` and ``(motif_id, motif_name, start, end, strand, role)`` rows.
    """
    seq = _background(length, rng)
    w1, w2 = first[3].shape[1], second[3].shape[1]
    s1 = int(rng.integers(length - (w1 + gap + w2) + 1))
    s2 = s1 + w1 + gap
    rows = []
    for (role, mid, name, pwm), s, strand in zip((first, second), (s1, s2), strands,
                                                 strict=True):
        seq[s:s + pwm.shape[1]] = _instance(pwm, strand, rng)
        rows.append((mid, name, s, s + pwm.shape[1], strand, role))
    return seq, rows


def _flip(seq: np.ndarray, rows: list[tuple]) -> tuple[np.ndarray, list[tuple]]:
    """Reverse-complement a whole sequence and its truth rows."""
    length = len(seq)
    flipped = [(mid, name, length - e, length - s, "-" if st == "+" else "+", role)
               for mid, name, s, e, st, role in rows]
    return (3 - seq)[::-1].copy(), flipped


def _two_motifs(motif_a: str, motif_b: str, release: str
                ) -> tuple[tuple[str, str, str, np.ndarray], tuple[str, str, str, np.ndarray]]:
    name_a, pwm_a = load_motif(motif_a, release, "motif_a")
    name_b, pwm_b = load_motif(motif_b, release, "motif_b")
    return ("A", str(motif_a), name_a, pwm_a), ("B", str(motif_b), name_b, pwm_b)


def simulate_grammar(
    *, seed: int, n: int = 2000, length: int = 200, motif_a: str = "MA0139.2",
    motif_b: str = "MA0080.7", release: str = "JASPAR2024", spacing: Sequence[int] = (20, 40),
    far_min: int = 81, far_fraction: float = 0.5, both_strands: bool = True,
) -> Simulation:
    """Motif grammar: order and spacing of two motifs, each present in every sequence.

    Every sequence holds one instance of A and one of B on the same strand. Positives: A
    upstream of B with a gap (bases between A's end and B's start, read on the motifs'
    strand) uniform in ``spacing``. Negatives: a fraction ``far_fraction`` have A upstream
    of B with a gap ``>= far_min`` (arrangement ``far``: right order, wrong distance), the
    rest B upstream of A with a gap in ``spacing`` (``swapped``: right distance, wrong
    order). With ``both_strands`` half the sequences are written reverse-complemented (then
    A lies downstream of B on ``+``). ``truth`` adds ``role`` (A/B) and ``arrangement``.
    """
    rng = np.random.default_rng(seed)
    n, length = _positive(n, "n", 2), _positive(length, "length")
    near = _pair(spacing, "spacing")
    far_fraction = _probability(far_fraction, "far_fraction")
    a, b = _two_motifs(motif_a, motif_b, release)
    room = length - a[3].shape[1] - b[3].shape[1]
    far_min = _positive(far_min, "far_min", 0)
    if room < max(near[1], far_min if far_fraction > 0 else 0):
        raise ConfigError(f"length {length} leaves {room} bp between the motifs; spacing "
                         f"{list(near)} and far_min {far_min} need more")
    ids, labels = _ids("grammar", n), _balanced_labels(n, rng)
    seqs, rows = [], []
    for i in range(n):
        if labels[i]:
            arrangement = "grammar"
        else:
            arrangement = "far" if rng.random() < far_fraction else "swapped"
        lo, hi = (far_min, room) if arrangement == "far" else near
        gap = int(rng.integers(lo, hi + 1))
        first, second = (b, a) if arrangement == "swapped" else (a, b)
        seq, planted = _plant_pair(length, first, second, gap, ("+", "+"), rng)
        if both_strands and rng.random() < 0.5:
            seq, planted = _flip(seq, planted)
        seqs.append(_decode(seq))
        rows += [(ids[i], *r, arrangement, gap) for r in planted]
    table = pd.DataFrame({"id": ids, "sequence": seqs, "label": labels})
    return Simulation(table, _truth(rows, ["role", "arrangement", "gap"]), ["label"])


def simulate_distance(
    *, seed: int, n: int = 2000, length: int = 4000, motif_a: str = "MA0139.2",
    motif_b: str = "MA0080.7", release: str = "JASPAR2024",
    positive_gap: Sequence[int] = (1000, 2000), near_gap: Sequence[int] = (0, 999),
    far_min: int | None = 2001, far_fraction: float = 0.5, single_fraction: float = 0.0,
) -> Simulation:
    """Long-range dependence (dilation, receptive field): the label is the A–B distance only.

    Every sequence (``length`` nt) holds exactly one A and one B, in random order, each on a
    random strand, so either motif alone (and order, strand) carries no information. The gap
    (bases between the end of the first motif and the start of the second, on ``+``) is
    uniform in ``positive_gap`` for positives; for negatives it is uniform in ``near_gap``
    or, with probability ``far_fraction``, in ``far_min .. length - width_A - width_B``
    (``far_min = None`` or ``far_fraction = 0``: near negatives only). A model must measure
    a distance of 1–2 kb: its receptive field must span it. (Far negatives push both motifs
    towards the ends, so positions are weakly informative; use ``far_fraction = 0`` to
    remove that.) With ``single_fraction`` that fraction of the negatives instead hold only
    one of the two motifs (A or B at random; arrangement ``single``, gap -1): motif presence
    then carries signal that lets the motif detectors be learnt, and a model blind to the
    distance ranks positives above those negatives only (auROC ``single_fraction + (1 -
    single_fraction) / 2``). ``truth`` adds ``role``, ``arrangement`` (positive/near/far/
    single) and ``gap``.
    """
    rng = np.random.default_rng(seed)
    n, length = _positive(n, "n", 2), _positive(length, "length")
    pos_gap, near = _pair(positive_gap, "positive_gap"), _pair(near_gap, "near_gap")
    far_fraction = _probability(far_fraction, "far_fraction") if far_min is not None else 0.0
    a, b = _two_motifs(motif_a, motif_b, release)
    room = length - a[3].shape[1] - b[3].shape[1]
    far = (_positive(far_min, "far_min", 0), room) if far_fraction > 0 else None
    ranges = {"positive": pos_gap, "near": near} | ({"far": far} if far else {})
    for key, (lo, hi) in ranges.items():
        if hi > room or (key == "far" and lo > hi):
            raise ConfigError(f"length {length} leaves {room} bp between the motifs, too "
                             f"little for the {key} gap range {[lo, hi]}")
    if near[1] >= pos_gap[0] or (far and far[0] <= pos_gap[1]):
        raise ConfigError(f"negative gaps (near_gap {list(near)}, far_min {far_min}) must lie "
                         f"outside positive_gap {list(pos_gap)}")
    single_fraction = _probability(single_fraction, "single_fraction")
    ids, labels = _ids("distance", n), _balanced_labels(n, rng)
    seqs, rows = [], []
    for i in range(n):
        if labels[i]:
            arrangement = "positive"
        elif single_fraction and rng.random() < single_fraction:
            role, mid, name, pwm = a if rng.random() < 0.5 else b
            seq, strand = _background(length, rng), _strand(rng, True)
            s = int(rng.integers(length - pwm.shape[1] + 1))
            seq[s:s + pwm.shape[1]] = _instance(pwm, strand, rng)
            seqs.append(_decode(seq))
            rows.append((ids[i], mid, name, s, s + pwm.shape[1], strand, role, "single", -1))
            continue
        else:
            arrangement = "far" if rng.random() < far_fraction else "near"
        lo, hi = ranges[arrangement]
        gap = int(rng.integers(lo, hi + 1))
        first, second = (a, b) if rng.random() < 0.5 else (b, a)
        strands = (_strand(rng, True), _strand(rng, True))
        seq, planted = _plant_pair(length, first, second, gap, strands, rng)
        seqs.append(_decode(seq))
        rows += [(ids[i], *r, arrangement, gap) for r in planted]
    table = pd.DataFrame({"id": ids, "sequence": seqs, "label": labels})
    return Simulation(table, _truth(rows, ["role", "arrangement", "gap"]), ["label"])


# --------------------------------------------------------------------------- padding


def simulate_padding(
    *, seed: int, n: int = 2000, min_len: int = 100, max_len: int = 300, bias: float = 0.9,
    motif: str = "MA0139.2", release: str = "JASPAR2024", both_strands: bool = True,
    fractions: Sequence[float] = SPLIT_FRACTIONS,
) -> Simulation:
    """Zero-padding artifact: length predicts the label in train/valid, not in test.

    Balanced binary ``label``; positives hold one motif instance (uniform offset, strand
    random with ``both_strands``), negatives none: the motif alone determines the label.
    ``split`` (stratified on the label, ``fractions``) is drawn first. Lengths (nt): in
    train and valid, with probability ``bias``, positives are uniform in
    ``[mid, max_len]`` and negatives in ``[min_len, mid)`` (``mid = (min_len + max_len + 1)
    // 2``), otherwise uniform in ``[min_len, max_len]``; in test every length is uniform in
    ``[min_len, max_len]`` for both classes. A model padded with zeros to ``max_len`` can
    learn "more padding → negative", which fails on test.
    """
    rng = np.random.default_rng(seed)
    n = _positive(n, "n", 2)
    lo, hi = _pair((min_len, max_len), "min_len, max_len", 1)
    if hi - lo < 1:
        raise ConfigError(f"need min_len < max_len, got {lo}, {hi}")
    bias = _probability(bias, "bias")
    name, pwm = load_motif(motif, release, "motif")
    width = pwm.shape[1]
    if lo < width:
        raise ConfigError(f"min_len {lo} is shorter than motif {motif} ({width} bp)")
    ids, labels = _ids("padding", n), _balanced_labels(n, rng)
    split = assign_split(n, rng, fractions, strata=labels)
    mid = (lo + hi + 1) // 2
    seqs, rows = [], []
    for i in range(n):
        if split[i] != "test" and rng.random() < bias:
            length = int(rng.integers(mid, hi + 1) if labels[i] else rng.integers(lo, mid))
        else:
            length = int(rng.integers(lo, hi + 1))
        seq = _background(length, rng)
        if labels[i]:
            s, strand = int(rng.integers(length - width + 1)), _strand(rng, both_strands)
            seq[s:s + width] = _instance(pwm, strand, rng)
            rows.append((ids[i], motif, name, s, s + width, strand))
        seqs.append(_decode(seq))
    table = pd.DataFrame({"id": ids, "sequence": seqs, "label": labels, "split": split})
    return Simulation(table, _truth(rows), ["label"])


# --------------------------------------------------------------------------- proteins


def simulate_secondary_structure_set(
    *, seed: int, n: int = 1000, min_len: int = 60, max_len: int = 200,
    helix_len: Sequence[int] = (10, 22), strand_len: Sequence[int] = (4, 10),
    coil_len: Sequence[int] = (3, 10), helix_fraction: float = 0.5, noise: float = 0.1,
    family_size: int = 1, mutation: float = 0.15, shared_residues: bool = False,
) -> Simulation:
    """Proteins with per-residue ``structure`` (H/E/C) and ``group`` (family):
    :func:`seqcnn.simulate.proteins.simulate_secondary_structure` with ``rng = default_rng(seed)``.
    The label column is per position (load with ``position_label="structure"``)."""
    table = simulate_secondary_structure(
        _positive(n, "n"), np.random.default_rng(seed), min_len=min_len, max_len=max_len,
        helix_len=_pair(helix_len, "helix_len", 1), strand_len=_pair(strand_len, "strand_len", 1),
        coil_len=_pair(coil_len, "coil_len", 1), helix_fraction=helix_fraction, noise=noise,
        family_size=family_size, mutation=mutation, shared_residues=bool(shared_residues))
    return Simulation(table, None, ["structure"])


# --------------------------------------------------------------------------- MPRA


#: The MPRA-like library's default motifs (JASPAR2024): CTCF, Spi1, GATA1.
MPRA_MOTIFS = ("MA0139.2", "MA0080.7", "MA0035.5")


def mpra_activity(counts: np.ndarray, effects: Sequence[float], interaction: float,
                  baseline: float = 0.0) -> np.ndarray:
    """Noise-free activity of an MPRA-like library: ``baseline + counts @ effects +
    interaction * [counts[:, 0] > 0 and counts[:, 1] > 0]``.

    ``counts`` ``(N, M)``: planted instances of each motif per sequence; ``effects``
    ``(M,)`` the additive effect of one instance; ``interaction`` the extra effect of the
    first two motifs together. Returns ``float64`` ``(N,)``."""
    counts = np.asarray(counts, dtype=np.float64)
    both = (counts[:, 0] > 0) & (counts[:, 1] > 0) if counts.shape[1] > 1 else 0.0
    return baseline + counts @ np.asarray(effects, dtype=np.float64) + interaction * both


def simulate_mpra(
    *, seed: int, n: int = 5000, length: int = 200, motifs: Sequence[str] = MPRA_MOTIFS,
    effects: Sequence[float] = (1.0, 0.7, -0.6), interaction: float = 0.8,
    max_instances: int = 3, noise: float = 0.3, baseline: float = 0.0,
    release: str = "JASPAR2024", both_strands: bool = True,
) -> Simulation:
    """An MPRA-like library: random DNA of ``length`` bp with a real-valued ``activity``.

    Each sequence gets ``k`` instances (uniform in ``0 .. max_instances``), each of a motif
    drawn uniformly from ``motifs`` (JASPAR ids, 2 or 3), sampled from its matrix, strand
    random with ``both_strands``, at non-overlapping uniform offsets. ``activity`` is
    :func:`mpra_activity` of the instance counts (additive ``effects`` per instance, plus
    ``interaction`` when the first two motifs are both present) plus Gaussian noise of sd
    ``noise``, written with 4 decimals (non-integer numbers: read as a regression target).
    ``truth``: one row per instance with its motif's ``effect``, and ``activity_true`` (the
    noise-free activity) per sequence. No split column: the dataset splits at random.
    """
    rng = np.random.default_rng(seed)
    n = _positive(n, "n", 2)
    length = _positive(length, "length", 10)
    max_instances = _positive(max_instances, "max_instances", 0)
    motifs = [str(m) for m in motifs]
    if not 2 <= len(motifs) <= 3:
        raise ConfigError(f"motifs must list 2 or 3 JASPAR ids, got {motifs!r}")
    if len(effects) != len(motifs):
        raise ConfigError(f"effects needs one value per motif ({len(motifs)}), got "
                         f"{list(effects)!r}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or noise < 0:
        raise ConfigError(f"noise must be a number >= 0, got {noise!r}")
    loaded = [load_motif(m, release, "motifs") for m in motifs]
    ids = _ids("mpra", n)
    counts = np.zeros((n, len(motifs)), dtype=np.int64)
    seqs, rows = [], []
    for i in range(n):
        k = int(rng.integers(0, max_instances + 1))
        which = rng.integers(0, len(motifs), size=k)
        seq = _background(length, rng)
        starts = _place([loaded[m][1].shape[1] for m in which], length, rng)
        for m, s in zip(which, starts, strict=True):
            name, pwm = loaded[m]
            strand = _strand(rng, both_strands)
            seq[s:s + pwm.shape[1]] = _instance(pwm, strand, rng)
            counts[i, m] += 1
            rows.append((ids[i], motifs[m], name, s, s + pwm.shape[1], strand,
                         float(effects[m])))
        seqs.append(_decode(seq))
    true = mpra_activity(counts, effects, float(interaction), float(baseline))
    activity = true + rng.normal(0.0, float(noise), size=n)
    table = pd.DataFrame({"id": ids, "sequence": seqs,
                          "activity": [f"{v:.4f}" for v in activity]})
    truth = _truth(rows, ["effect"])
    truth["activity_true"] = truth["id"].map(dict(zip(ids, true, strict=True)))
    return Simulation(table, truth, ["activity"])


# --------------------------------------------------------------------------- registry

SIMULATIONS: dict[str, Callable[..., Simulation]] = {
    "koo_eddy": simulate_koo_eddy,
    "stride": simulate_stride,
    "grammar": simulate_grammar,
    "distance": simulate_distance,
    "padding": simulate_padding,
    "secondary_structure": simulate_secondary_structure_set,
    "mpra": simulate_mpra,
}


def simulation_params(kind: str) -> dict[str, Any]:
    """Parameter names of ``kind`` and their defaults (``seed`` excluded)."""
    if kind not in SIMULATIONS:
        raise ConfigError(f"unknown simulation kind {kind!r}; allowed: "
                         f"{', '.join(sorted(SIMULATIONS))}")
    sig = inspect.signature(SIMULATIONS[kind])
    return {k: p.default for k, p in sig.parameters.items() if k != "seed"}


def simulate_set(kind: str, params: Mapping[str, Any] | None, seed: int
                 ) -> tuple[pd.DataFrame, pd.DataFrame | None, list[str]]:
    """Run simulation ``kind`` with ``params`` (names checked) and ``seed``.

    Returns ``(table, truth, label_columns)`` (a :class:`Simulation`).
    :class:`~seqcnn.errors.ConfigError` names an unknown kind or parameter and lists the
    allowed ones, or the parameter whose value cannot work.
    """
    allowed = simulation_params(kind)
    params = dict(params or {})
    if "seed" in params:
        raise ConfigError(f"simulation {kind!r}: give seed as its own argument, not in params")
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ConfigError(f"simulation {kind!r}: unknown parameter(s) "
                         f"{', '.join(map(repr, unknown))}; allowed: {', '.join(allowed)}")
    if isinstance(seed, bool) or int(seed) != seed:
        raise ConfigError(f"seed must be an integer, got {seed!r}")
    return SIMULATIONS[kind](seed=int(seed), **params)


#: Files a sequence-set kind writes: output name → file name in its folder.
SET_FILES = {"sequences": "sequences.fa.gz", "labels": "labels.tsv", "truth": "truth.tsv"}


def write_sequence_set(kind: str, params: Mapping[str, Any] | None,
                       out_dir: str | os.PathLike, seed: int, key: str = "simulation",
                       log: logging.Logger | None = None) -> dict[str, Path]:
    """Run ``kind`` (:func:`simulate_set`) and write :data:`SET_FILES` into ``out_dir``:
    the sequences as gzipped FASTA, ``id`` + label columns (+ ``split``/``group`` where the
    design fixes them) as TSV, the planted instances as TSV (only ``id`` when none).
    Returns their paths. A bad parameter raises :class:`ConfigError` naming
    ``key.params`` (``key.seed`` for the seed)."""
    log = log or logging.getLogger("seqcnn.simulate")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ConfigError(f"config key {key}.seed must be an integer, got {seed!r}")
    try:
        table, truth, label_columns = simulate_set(kind, params, seed)
    except ConfigError as err:
        raise ConfigError(f"config key {key}.params: {err}") from err
    out = {name: Path(out_dir) / file for name, file in SET_FILES.items()}
    extra = [c for c in ("split", "group") if c in table.columns]
    write_seqset_files(table, out["sequences"], out["labels"],
                       label_columns=[*label_columns, *extra])
    (truth if truth is not None else pd.DataFrame(columns=["id"])).to_csv(
        out["truth"], sep="\t", index=False)
    lengths = table["sequence"].str.len()
    log.info("%s: %d sequences of %d-%d residues; label columns %s%s; %d planted instances",
             kind, len(table), lengths.min(), lengths.max(), ", ".join(label_columns),
             f" (+ {', '.join(extra)})" if extra else "", 0 if truth is None else len(truth))
    return out


__all__ = [
    "KOO_EDDY_INSTANCE_PROBS",
    "KOO_EDDY_MOTIFS",
    "KOO_EDDY_RELEASE",
    "MPRA_MOTIFS",
    "POSITION_LABEL_KINDS",
    "SIMULATIONS",
    "SET_FILES",
    "SPLIT_FRACTIONS",
    "TRUTH_COLUMNS",
    "Simulation",
    "assign_split",
    "koo_eddy_pwms",
    "load_motif",
    "mpra_activity",
    "simulate_distance",
    "simulate_grammar",
    "simulate_koo_eddy",
    "simulate_mpra",
    "simulate_padding",
    "simulate_secondary_structure_set",
    "simulate_set",
    "simulation_params",
    "stride_detection",
    "stride_hits",
    "strided_scores",
    "write_sequence_set",
]
