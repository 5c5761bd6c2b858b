"""Synthetic genomes with planted JASPAR motifs, their peaks and a truth table.

The embedded default dataset is built here, deterministically from a seed:

- background from order-2 Markov chains (three GC regimes, CpG-depleted, like isochores),
- runs of N (assembly gaps) and soft-masked lowercase repeat copies,
- for every task, peaks whose centres carry one or more instances of that task's motifs,
  sampled from the JASPAR position frequency matrices, on either strand; a set of
  *shared* peaks carries the motifs of every task (multi-task overlap),
- a few deliberate edge cases in the peak files (a contig absent from the genome, summits
  at chromosome ends, peaks inside N gaps, a duplicated line) so the validation and drop
  logs have something to show;
- variants with a known effect on the test chromosomes (:mod:`seqcnn.simulate.variants`),
  from a random stream of their own: the genome does not depend on them.

:func:`write_genome_dataset` is the ``genome`` kind of :func:`seqcnn.simulate.simulate`:
parameters (as under ``simulations.<name>`` in the config) checked, files written.
"""

from __future__ import annotations

import gzip
import logging
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqcnn import jaspar
from seqcnn.data.fasta import write_fasta
from seqcnn.errors import ConfigError, InputError
from seqcnn.simulate import variants as simvar

DNA = np.frombuffer(b"ACGT", dtype=np.uint8)
_GC_REGIMES = (0.36, 0.42, 0.50)


def _transition_tables(rng: np.random.Generator) -> np.ndarray:
    """Cumulative transition probabilities ``(regimes * 16, 4)`` of order-2 chains."""
    tables = []
    for gc in _GC_REGIMES:
        base = np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])
        p = base[None, :] * rng.dirichlet(np.full(4, 40.0), size=16) * 4
        p[np.arange(16) % 4 == 1, 2] *= 0.25  # previous base C: CpG depletion
        p /= p.sum(axis=1, keepdims=True)
        tables.append(np.cumsum(p, axis=1))
    return np.concatenate(tables)


def markov_background(length: int, rng: np.random.Generator, segment: int = 2000
                      ) -> np.ndarray:
    """Background DNA: ``uint8`` codes 0..3 ``(length,)`` from order-2 Markov chains.

    The sequence is made of ``segment``-bp pieces, each from one of three GC regimes,
    generated in parallel (vectorised over pieces); half the pieces are reverse-complemented
    so that the CpG depletion does not make C and G unequal.
    """
    cum = _transition_tables(rng)
    n_chains = -(-length // segment)
    regime = rng.integers(len(_GC_REGIMES), size=n_chains) * 16
    out = np.empty((n_chains, segment), dtype=np.uint8)
    p2 = rng.integers(4, size=n_chains)
    p1 = rng.integers(4, size=n_chains)
    u = rng.random((segment, n_chains))
    for t in range(segment):
        c = cum[regime + p2 * 4 + p1]
        nxt = (u[t][:, None] > c[:, :3]).sum(axis=1)
        out[:, t] = nxt
        p2, p1 = p1, nxt
    flip = rng.random(n_chains) < 0.5  # reverse-complement half the pieces: C = G overall
    out[flip] = (3 - out[flip])[:, ::-1]
    return out.ravel()[:length]


def sample_instance(pwm: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One motif instance ``(width,)`` of codes 0..3 sampled column by column from a
    probability matrix ``(4, width)``."""
    cum = np.cumsum(pwm, axis=0)
    u = rng.random(pwm.shape[1])
    return (u[None, :] > cum[:3]).sum(axis=0).astype(np.uint8)


@dataclass
class SimulatedGenome:
    """Chromosomes as ASCII ``uint8`` arrays (lowercase = soft-masked, N = gap)."""

    chroms: dict[str, np.ndarray]
    gaps: pd.DataFrame  # chrom, start, end of N runs


def simulate_genome(
    n_chroms: int, chrom_length: int, rng: np.random.Generator, gaps_per_chrom: int = 2,
    gap_length: int = 5000, repeat_fraction: float = 0.05, repeat_length: int = 300,
) -> SimulatedGenome:
    """Chromosomes ``chr1..chrN`` of ``chrom_length`` bp with N runs (a 1-kb run at each
    end, ``gaps_per_chrom`` internal gaps of ``gap_length``) and lowercase copies of three
    repeat consensus sequences (10 % mutated) covering about ``repeat_fraction``."""
    consensus = [markov_background(repeat_length, rng) for _ in range(3)]
    chroms, gaps = {}, []
    for k in range(1, n_chroms + 1):
        name = f"chr{k}"
        codes = markov_background(chrom_length, rng)
        seq = DNA[codes].copy()
        n_rep = int(repeat_fraction * chrom_length / repeat_length)
        for pos in rng.integers(0, chrom_length - repeat_length, size=n_rep):
            rep = consensus[rng.integers(3)].copy()
            mut = rng.random(repeat_length) < 0.1
            rep[mut] = rng.integers(4, size=int(mut.sum()))
            seq[pos:pos + repeat_length] = DNA[rep] + 32  # lowercase
        telomere = min(1000, chrom_length // 20)
        runs = [(0, telomere), (chrom_length - telomere, chrom_length)]
        for g in range(gaps_per_chrom):
            centre = int(chrom_length * (g + 1) / (gaps_per_chrom + 1))
            runs.append((centre - gap_length // 2, centre + gap_length // 2))
        for s, e in runs:
            seq[s:e] = ord("N")
            gaps.append((name, s, e))
        chroms[name] = seq
    return SimulatedGenome(chroms, pd.DataFrame(gaps, columns=["chrom", "start", "end"]))


def _free_positions(genome: SimulatedGenome, n: int, rng: np.random.Generator,
                    spacing: int, margin: int) -> list[tuple[str, int]]:
    """``n`` summit positions away from gaps, chromosome ends and each other."""
    names = list(genome.chroms)
    lengths = np.array([len(genome.chroms[c]) for c in names])
    taken: dict[str, list[int]] = {c: [] for c in names}
    out: list[tuple[str, int]] = []
    gaps = genome.gaps
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > 200 * n + 1000:
            raise ValueError(f"cannot place {n} peaks {spacing} bp apart; use a larger genome")
        k = int(rng.choice(len(names), p=lengths / lengths.sum()))
        c = names[k]
        pos = int(rng.integers(margin, lengths[k] - margin))
        g = gaps[gaps["chrom"] == c]
        if ((g["start"] - margin < pos) & (pos < g["end"] + margin)).any():
            continue
        if any(abs(pos - q) < spacing for q in taken[c]):
            continue
        taken[c].append(pos)
        out.append((c, pos))
    return out


def _plant(seq: np.ndarray, pos: int, motif_codes: np.ndarray) -> None:
    seq[pos:pos + len(motif_codes)] = DNA[motif_codes]


def simulate_dataset(
    motifs: Mapping[str, list[tuple[str, str, np.ndarray]]],
    n_peaks: Mapping[str, int],
    shared_peaks: int,
    n_chroms: int = 6,
    chrom_length: int = 500_000,
    sites_per_peak: tuple[int, int] = (1, 2),
    seed: int = 1,
    edge_cases: bool = True,
) -> tuple[SimulatedGenome, pd.DataFrame, pd.DataFrame]:
    """Build a genome, narrowPeak-like peaks and the truth table of planted instances.

    ``motifs`` maps task → list of ``(matrix_id, name, pwm (4, w))``. Each task gets
    ``n_peaks[task]`` peaks of its own plus ``shared_peaks`` that carry every task's motifs
    (listed in every task's file with the same summit).

    Returns ``(genome, peaks, truth)``: ``peaks`` has columns task, chrom, start, end,
    name, score, strand, signal, p, q, summit (narrowPeak order after ``task``);
    ``truth`` has chrom, start, end, strand, motif_id, motif_name, task, peak.
    """
    rng = np.random.default_rng(seed)
    genome = simulate_genome(n_chroms, chrom_length, rng)
    tasks = list(motifs)
    total = sum(n_peaks[t] for t in tasks) + shared_peaks
    positions = _free_positions(genome, total, rng, spacing=1000, margin=1500)
    owners: list[list[str]] = []
    for t in tasks:
        owners += [[t]] * n_peaks[t]
    owners += [tasks] * shared_peaks
    peaks, truth = [], []
    for i, ((chrom, summit), owner) in enumerate(zip(positions, owners, strict=True)):
        seq = genome.chroms[chrom]
        peak = f"peak{i + 1}"
        # instances near the summit, spread over -60..+60 without overlapping each other
        planned = []
        for t in owner:
            k = int(rng.integers(sites_per_peak[0], sites_per_peak[1] + 1))
            for _ in range(k):
                planned.append((t, motifs[t][int(rng.integers(len(motifs[t])))]))
        cursor = summit - 60
        rng.shuffle(planned)
        for t, (mid, mname, pwm) in planned:
            inst = sample_instance(pwm, rng)
            strand = "+" if rng.random() < 0.5 else "-"
            if strand == "-":
                inst = (3 - inst)[::-1]
            start = cursor + int(rng.integers(0, 15))
            _plant(seq, start, inst)
            truth.append((chrom, start, start + len(inst), strand, mid, mname, t, peak))
            cursor = start + len(inst) + 2
        for t in owner:
            left, right = int(rng.integers(60, 300)), int(rng.integers(60, 300))
            score = int(rng.integers(100, 1000))
            peaks.append((t, chrom, summit - left, summit + right, peak, score, ".",
                          round(float(rng.gamma(4, 5)), 3), round(float(rng.gamma(6, 3)), 3),
                          round(float(rng.gamma(5, 2)), 3), left))
    cols = ["task", "chrom", "start", "end", "name", "score", "strand", "signal", "p", "q",
            "summit"]
    peaks_df = pd.DataFrame(peaks, columns=cols)
    if edge_cases:
        peaks_df = pd.concat([peaks_df, _edge_cases(genome, tasks, cols)], ignore_index=True)
    truth_df = pd.DataFrame(truth, columns=["chrom", "start", "end", "strand", "motif_id",
                                            "motif_name", "task", "peak"])
    return genome, peaks_df, truth_df.sort_values(["chrom", "start"]).reset_index(drop=True)


def _edge_cases(genome: SimulatedGenome, tasks: list[str], cols: list[str]) -> pd.DataFrame:
    rows = []
    first = next(iter(genome.chroms))
    length = len(genome.chroms[first])
    gap = genome.gaps.iloc[2]  # first internal gap of chr1
    for t in tasks:
        rows += [
            (t, "chrUn_absent", 1000 + k * 500, 1200 + k * 500, f"edge_absent{k}", 0, ".",
             1.0, 1.0, 1.0, 100) for k in range(3)
        ]
        rows += [
            (t, first, 0, 30, "edge_start", 0, ".", 1.0, 1.0, 1.0, 10),
            (t, first, length - 40, length, "edge_end", 0, ".", 1.0, 1.0, 1.0, 30),
            (t, gap["chrom"], int(gap["start"]) + 1000, int(gap["start"]) + 1200, "edge_gap",
             0, ".", 1.0, 1.0, 1.0, 100),
        ]
    return pd.DataFrame(rows, columns=cols)


def write_narrowpeak(peaks: pd.DataFrame, path: str | os.PathLike, duplicate_first: bool = True
                     ) -> None:
    """Write one task's peaks (columns as from :func:`simulate_dataset`, without ``task``)
    as gzipped narrowPeak with a ``track`` line; the first line is repeated once when
    ``duplicate_first`` (a duplicate, as real peak files sometimes have)."""
    cols = ["chrom", "start", "end", "name", "score", "strand", "signal", "p", "q", "summit"]
    body = peaks[cols].to_csv(sep="\t", header=False, index=False)
    lines = body.splitlines(keepends=True)
    if duplicate_first and lines:
        lines.insert(1, lines[0])
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    text = 'track type=narrowPeak name="simulated"\n' + "".join(lines)
    with open(path, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb",
                                                mtime=0) as fh:  # mtime=0: same bytes each run
        fh.write(text.encode())


# --------------------------------------------------------------------------- the genome kind

#: Files the ``genome`` kind writes: output name → file name in its folder.
GENOME_FILES = {
    "genome": "genome.fa", "peaks": "peaks.tsv.gz", "truth": "truth.tsv", "gaps": "gaps.bed",
    "variants": "variants.vcf.gz", "variants_index": "variants.vcf.gz.tbi",
}
#: Parameters of the ``genome`` kind and their defaults (``tasks`` is required).
GENOME_DEFAULTS: dict[str, Any] = {
    "release": "JASPAR2024", "chromosomes": 8, "chrom_length": 1_000_000, "tasks": None,
    "shared_peaks": 0, "sites_per_peak": [1, 2], "edge_cases": True, "variants": {},
}
#: ``variants:`` of the ``genome`` kind: counts per class, longest indel, and the regions
#: (chromosomes or ``chrom:start-end``) they lie on (``None``: every chromosome).
VARIANT_DEFAULTS: dict[str, Any] = {**simvar.DEFAULT_COUNTS,
                                    "max_indel": simvar.DEFAULT_MAX_INDEL, "regions": None}


def _int(value: Any, key: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"config key {key} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _known(params: Mapping[str, Any], allowed: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``params`` over ``allowed``'s defaults; :class:`ConfigError` for an unknown name."""
    if not isinstance(params, Mapping):
        raise ConfigError(f"config key {key} must be a mapping, got {params!r}")
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ConfigError(f"config key {key}: unknown key(s) {', '.join(map(repr, unknown))}; "
                          f"allowed: {', '.join(allowed)}")
    return {**allowed, **params}


def check_genome_params(params: Mapping[str, Any], key: str = "simulation") -> dict[str, Any]:
    """The ``genome`` kind's parameters with defaults filled (:data:`GENOME_DEFAULTS`,
    :data:`VARIANT_DEFAULTS`), checked; :class:`ConfigError` names the key (``key.name``)."""
    p = _known(params, GENOME_DEFAULTS, key)
    for name, low in (("chromosomes", 1), ("chrom_length", 20_000), ("shared_peaks", 0)):
        p[name] = _int(p[name], f"{key}.{name}", low)
    if not isinstance(p["release"], str):
        raise ConfigError(f"config key {key}.release must be a JASPAR release name such as "
                          f"JASPAR2024, got {p['release']!r}")
    if not isinstance(p["edge_cases"], bool):
        raise ConfigError(f"config key {key}.edge_cases must be true or false, "
                          f"got {p['edge_cases']!r}")
    sites = p["sites_per_peak"]
    if (not isinstance(sites, (list, tuple)) or len(sites) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in sites)
            or not 1 <= sites[0] <= sites[1]):
        raise ConfigError(f"config key {key}.sites_per_peak must be [lo, hi] with "
                          f"1 <= lo <= hi, got {sites!r}")
    tasks = p["tasks"]
    if not isinstance(tasks, Mapping) or not tasks:
        raise ConfigError(f"config key {key}.tasks must name at least one task, e.g. "
                          f"tasks: {{CTCF: {{motifs: [MA0139.2], peaks: 1000}}}}; got {tasks!r}")
    checked = {}
    for task, spec in tasks.items():
        spec = _known(spec, {"motifs": None, "peaks": 1000}, f"{key}.tasks.{task}")
        ids = spec["motifs"]
        if (not isinstance(ids, (list, tuple)) or not ids
                or not all(isinstance(m, str) for m in ids)):
            raise ConfigError(f"config key {key}.tasks.{task}.motifs must list JASPAR matrix "
                              f"ids such as [MA0139.2], got {ids!r}")
        checked[task] = {"motifs": list(ids),
                         "peaks": _int(spec["peaks"], f"{key}.tasks.{task}.peaks", 1)}
    p["tasks"] = checked
    v = _known(p["variants"] or {}, VARIANT_DEFAULTS, f"{key}.variants")
    for name in simvar.CLASSES:
        v[name] = _int(v[name], f"{key}.variants.{name}", 0)
    v["max_indel"] = _int(v["max_indel"], f"{key}.variants.max_indel", 1)
    regions = v["regions"]
    if regions is not None and (not isinstance(regions, (list, tuple))
                                or not all(isinstance(r, str) for r in regions)):
        raise ConfigError(f"config key {key}.variants.regions must be null or a list of "
                          f"chromosomes / chrom:start-end ranges, got {regions!r}")
    p["variants"] = v
    return p


def load_task_motifs(tasks: Mapping[str, Mapping[str, Any]], release: str,
                     key: str = "simulation") -> dict[str, list[tuple[str, str, np.ndarray]]]:
    """Task → ``[(matrix_id, name, probabilities (4, w))]`` from pyjaspar (offline);
    :class:`ConfigError` naming ``key.tasks.<task>.motifs`` for an id not in ``release``."""
    out = {}
    for task, spec in tasks.items():
        try:
            with warnings.catch_warnings():  # pyjaspar warns before failing
                warnings.simplefilter("ignore")
                found = jaspar.fetch(list(spec["motifs"]), release)
        except Exception as err:  # KeyError for an unknown id, others for a bad release
            raise ConfigError(
                f"config key {key}.tasks.{task}.motifs: cannot load {spec['motifs']} from "
                f"JASPAR release {release!r} (pyjaspar, offline): {err}; check the ids and "
                f"{key}.release") from err
        out[task] = [(m.matrix_id, m.name, m.probabilities()) for m in found]
    return out


def write_genome_dataset(params: Mapping[str, Any], out_dir: str | os.PathLike, seed: int,
                         key: str = "simulation", log: logging.Logger | None = None
                         ) -> dict[str, Path]:
    """The ``genome`` kind: check ``params`` (:func:`check_genome_params`), build the genome,
    peaks and truth (:func:`simulate_dataset`) and the variants
    (:func:`seqcnn.simulate.variants.simulate_variants` on ``variants.regions``, from
    :func:`~seqcnn.simulate.variants.variant_rng`), write :data:`GENOME_FILES` into
    ``out_dir`` and return their paths. The same parameters and seed give the same bytes."""
    log = log or logging.getLogger("seqcnn.simulate")
    p = check_genome_params(params, key)
    out = {name: Path(out_dir) / file for name, file in GENOME_FILES.items()}
    motifs = load_task_motifs(p["tasks"], p["release"], key)
    for task, found in motifs.items():
        log.info("task %s: motifs %s", task, ", ".join(f"{m} {n}" for m, n, _ in found))
    genome, peaks, truth = simulate_dataset(
        motifs, n_peaks={t: spec["peaks"] for t, spec in p["tasks"].items()},
        shared_peaks=p["shared_peaks"], n_chroms=p["chromosomes"],
        chrom_length=p["chrom_length"], sites_per_peak=tuple(p["sites_per_peak"]),
        seed=int(seed), edge_cases=p["edge_cases"])
    write_fasta(out["genome"], genome.chroms)
    peaks.to_csv(out["peaks"], sep="\t", index=False,
                 compression={"method": "gzip", "mtime": 0})
    truth.to_csv(out["truth"], sep="\t", index=False)
    genome.gaps.to_csv(out["gaps"], sep="\t", index=False, header=False)
    log.info(
        "genome: %d chromosomes x %d bp; %d N runs; %d peaks (%d shared by all tasks, "
        "%d deliberate edge cases); %d planted motif instances",
        len(genome.chroms), p["chrom_length"], len(genome.gaps), len(peaks),
        p["shared_peaks"], int(peaks["name"].str.startswith("edge_").sum()), len(truth))
    _write_variants(genome, peaks, truth, motifs, p["variants"], seed, out, key, log)
    return out


def _write_variants(genome: SimulatedGenome, peaks: pd.DataFrame, truth: pd.DataFrame,
                    motifs: Mapping[str, list[tuple[str, str, np.ndarray]]],
                    spec: Mapping[str, Any], seed: int, out: Mapping[str, Path], key: str,
                    log: logging.Logger) -> None:
    """Simulate the variants of ``spec`` (:data:`VARIANT_DEFAULTS`), write the VCF, log
    the count per class and what limited a class that fell short."""
    sizes = {c: len(s) for c, s in genome.chroms.items()}
    spans = simvar.parse_regions(spec["regions"], sizes, f"{key}.variants.regions")
    where = ("every chromosome (no test split known: set "
             f"{key}.variants.regions or give the dataset a split)"
             if spec["regions"] is None else ", ".join(spec["regions"]))
    (log.warning if spec["regions"] is None else log.info)("variants on %s", where)
    table, report = simvar.simulate_variants(
        genome.chroms, truth, peaks, {t: {m: pwm for m, _, pwm in ms} for t, ms in motifs.items()},
        spans, simvar.variant_rng(seed), counts={c: spec[c] for c in simvar.CLASSES},
        max_indel=spec["max_indel"])
    simvar.write_vcf(table, sizes, out["variants"])
    places = {"break": "planted instances on those regions with the consensus base at the "
                       "motif's most informative column",
              "create": f"positions where one SNV lifts a window to the motif's mean instance "
                        f"log-odds, >= {simvar.PEAK_MARGIN} bp from peaks"}
    for cls in simvar.CLASSES:
        r = report[cls]
        short = r["written"] < r["asked"]
        if cls in places:
            found = table[table["truth"] == cls]["task"].value_counts()
            avail = r["instances" if cls == "break" else "candidates"]
            detail = "; per task, written of " + places[cls] + ": " + ", ".join(
                f"{t} {int(found.get(t, 0))} of {n}" for t, n in avail.items())
        elif cls == "random":
            detail = f" (free positions: {r['positions']})" if short else ""
        else:
            detail = (f" ({r['rejected_draws']} draws rejected: off the regions or touching "
                      "another variant)")
        (log.warning if short else log.info)("variants %s: %d of %d asked%s%s", cls,
                                             r["written"], r["asked"],
                                             " (too few places)" if short else "", detail)
    log.info("variants: %d written to %s (%d overlap a planted instance)", len(table),
             out["variants"], int(table["site"].sum()))


def write_task_peaks(peaks: str | os.PathLike, task: str, path: str | os.PathLike) -> int:
    """Write the peaks of ``task`` from a simulation's ``peaks.tsv.gz`` as gzipped
    narrowPeak (:func:`write_narrowpeak`); returns how many. :class:`InputError` when the
    table has no such task."""
    table = pd.read_csv(peaks, sep="\t", dtype={"chrom": str})
    mine = table[table["task"] == task]
    if mine.empty:
        raise InputError(f"{peaks}: task {task!r} has no peaks (tasks there: "
                         f"{', '.join(map(str, table['task'].unique()))}); ask for one of "
                         "those, or add the task to the simulation's tasks")
    write_narrowpeak(mine, path)
    return len(mine)
