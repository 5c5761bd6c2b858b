"""Simulated signal tracks over a simulated genome: one bigWig per task, footprints at the
planted sites.

Every planted instance of a task (the genome simulation's truth table: chrom, start, end,
strand, motif) adds reads around itself, as ChIP-nexus/ChIP-exo footprints look:

- two peaks ``shift`` bp either side of the motif's centre (Gaussian, s.d. ``sigma`` bp):
  the 5' flank of the motif (in the motif's orientation) gets ``asymmetry`` of the reads
  and the 3' flank the rest, so the shape flips with the motif's strand;
- a dip over the motif itself (``dip``: the fraction of reads removed there);
- ``depth * strength`` expected reads per site, where ``strength`` is the instance's
  log-odds under its motif over the motif's best log-odds (:func:`site_strengths`,
  clipped to ``[0.1, 1]``),

on top of ``background`` reads per bp (none in N runs); the counts per bp are Poisson
draws from that rate. The same parameters, truth and seed give the same values.
:func:`write_task_tracks` writes the bigWigs (pyBigWig; the header holds the genome's
chromosome sizes).
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqcnn.errors import ConfigError

#: Parameters of a simulated track and their defaults (reads, bp).
TRACK_DEFAULTS: dict[str, Any] = {
    "depth": 200.0, "background": 0.05, "shift": 20, "sigma": 5.0, "dip": 0.9,
    "asymmetry": 0.7, "release": "JASPAR2024",
}
_CODES = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate(b"ACGT"):
    _CODES[_b] = _i
    _CODES[_b + 32] = _i


def check_track_params(params: Mapping[str, Any] | None, key: str = "tracks") -> dict[str, Any]:
    """``params`` over :data:`TRACK_DEFAULTS`, checked; :class:`ConfigError` names
    ``key.<name>``."""
    params = dict(params or {})
    unknown = sorted(set(params) - set(TRACK_DEFAULTS))
    if unknown:
        raise ConfigError(f"config key {key}: unknown key(s) {', '.join(map(repr, unknown))}; "
                          f"allowed: {', '.join(TRACK_DEFAULTS)}")
    p = {**TRACK_DEFAULTS, **params}
    for name, low, high in (("depth", 0, None), ("background", 0, None), ("shift", 0, None),
                            ("sigma", 0.5, None), ("dip", 0, 1), ("asymmetry", 0, 1)):
        v = p[name]
        if (isinstance(v, bool) or not isinstance(v, (int, float)) or v < low
                or (high is not None and v > high)):
            rng = f">= {low}" + (f" and <= {high}" if high is not None else "")
            raise ConfigError(f"config key {key}.{name} must be a number {rng}, got {v!r}")
    return p


def site_strengths(chroms: Mapping[str, np.ndarray], sites: pd.DataFrame,
                   pwms: Mapping[str, np.ndarray]) -> np.ndarray:
    """Strength of each planted instance ``(N,)`` in ``[0.1, 1]``: its log-odds under its
    motif (``pwms``: motif_id → probabilities ``(4, w)``; uniform background), read on its
    strand from ``chroms`` (ASCII ``uint8``), over the motif's best log-odds."""
    out = np.empty(len(sites), dtype=np.float64)
    for i, row in enumerate(sites.itertuples(index=False)):
        pwm = np.asarray(pwms[row.motif_id], dtype=np.float64)
        logodds = np.log2(np.maximum(pwm, 1e-3) / 0.25)
        codes = _CODES[chroms[row.chrom][row.start:row.end]].astype(np.int64)
        if row.strand == "-":
            codes = np.where(codes < 4, 3 - codes, 4)[::-1]
        score = sum(logodds[c, j] for j, c in enumerate(codes) if c < 4)
        out[i] = score / logodds.max(axis=0).sum()
    return np.clip(out, 0.1, 1.0)


def footprint(width: int, strand: str, p: Mapping[str, Any]) -> tuple[np.ndarray, int]:
    """Expected reads of one site of strength 1 → ``(shape (K,), offset)``: ``shape[k]`` is
    the rate ``offset + k`` bp from the motif's start; it sums to ``depth`` before the dip
    over the motif (``width`` bp)."""
    sigma, shift = float(p["sigma"]), float(p["shift"])
    reach = int(np.ceil(shift + 4 * sigma + width / 2))
    centre = (width - 1) / 2
    x = np.arange(-reach, width + reach, dtype=np.float64)
    five, three = (centre - shift, centre + shift) if strand != "-" else \
        (centre + shift, centre - shift)
    shape = (p["asymmetry"] * np.exp(-0.5 * ((x - five) / sigma) ** 2)
             + (1 - p["asymmetry"]) * np.exp(-0.5 * ((x - three) / sigma) ** 2))
    shape *= p["depth"] / shape.sum()
    shape[(x >= 0) & (x < width)] *= 1 - p["dip"]
    return shape, -reach


def expected_signal(chroms: Mapping[str, np.ndarray], sites: pd.DataFrame,
                    strengths: np.ndarray, p: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Read rate per bp, chromosome → ``float64 (length,)``: ``background`` off N runs plus
    each site's :func:`footprint` times its strength (clipped at chromosome ends)."""
    out = {}
    for c, seq in chroms.items():
        rate = np.where(_CODES[seq] < 4, float(p["background"]), 0.0)
        mine = np.flatnonzero((sites["chrom"] == c).to_numpy())
        for i in mine:
            row = sites.iloc[i]
            shape, off = footprint(int(row["end"] - row["start"]), row["strand"], p)
            a = int(row["start"]) + off
            lo, hi = max(a, 0), min(a + len(shape), len(rate))
            rate[lo:hi] += strengths[i] * shape[lo - a:hi - a]
        out[c] = rate
    return out


def write_bigwig(path: str | os.PathLike, values: Mapping[str, np.ndarray],
                 sizes: Mapping[str, int]) -> None:
    """Write per-bp values (chromosome → ``(length,)``, in ``sizes``' order) as a bigWig
    of constant-value runs (bedGraph-like entries); the header holds ``sizes``."""
    import pyBigWig

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = f"{path}.tmp"
    bw = pyBigWig.open(tmp, "w")
    try:
        bw.addHeader([(c, int(n)) for c, n in sizes.items()])
        for c in sizes:
            v = np.asarray(values[c], dtype=np.float64)
            if not len(v):
                continue
            change = np.flatnonzero(v[1:] != v[:-1]) + 1
            starts = np.concatenate([[0], change]).astype(np.int64)
            ends = np.concatenate([change, [len(v)]]).astype(np.int64)
            bw.addEntries([c] * len(starts), starts, ends=ends, values=v[starts])
    finally:
        bw.close()
    os.replace(tmp, path)


def simulate_task_track(chroms: Mapping[str, np.ndarray], sites: pd.DataFrame,
                        pwms: Mapping[str, np.ndarray], params: Mapping[str, Any],
                        rng: np.random.Generator) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Poisson read counts per bp for one task's ``sites`` (truth rows) → (chromosome →
    ``float32 (length,)``, strengths ``(N,)``)."""
    strengths = site_strengths(chroms, sites, pwms)
    rate = expected_signal(chroms, sites, strengths, params)
    return {c: rng.poisson(r).astype(np.float32) for c, r in rate.items()}, strengths


def task_rng(seed: int, task: str) -> np.random.Generator:
    """The random stream of one task's track: from the seed and the task's name."""
    return np.random.default_rng([int(seed), zlib.crc32(task.encode()), 19])


def write_task_tracks(genome: str | os.PathLike, truth: str | os.PathLike,
                      out: Mapping[str, str | os.PathLike], params: Mapping[str, Any] | None,
                      seed: int, key: str = "tracks", log: logging.Logger | None = None,
                      pwms: Mapping[str, np.ndarray] | None = None) -> dict[str, Path]:
    """Write one bigWig per task (``out``: task → path) from a simulated ``genome`` FASTA
    and its ``truth`` table; ``params`` as :data:`TRACK_DEFAULTS` (checked, errors name
    ``key``); motifs from pyjaspar (``release``, offline) unless ``pwms`` are given.
    Returns task → path."""
    from seqcnn.data.fasta import read_fasta

    log = log or logging.getLogger("seqcnn.simulate")
    p = check_track_params(params, key)
    fasta = read_fasta(genome)
    chroms = {c: np.frombuffer(seq.encode(), dtype=np.uint8)
              for c, seq in zip(fasta["id"], fasta["sequence"], strict=True)}
    table = pd.read_csv(truth, sep="\t", dtype={"chrom": str})
    if pwms is None:
        from seqcnn import jaspar

        ids = sorted(table["motif_id"].unique())
        pwms = {m.matrix_id: m.probabilities() for m in jaspar.fetch(ids, p["release"])}
    sizes = {c: len(s) for c, s in chroms.items()}
    written = {}
    for task, path in out.items():
        sites = table[table["task"] == task].reset_index(drop=True)
        if sites.empty:
            raise ConfigError(f"{truth}: task {task!r} has no planted sites (tasks there: "
                              f"{', '.join(map(str, table['task'].unique()))}); ask for a "
                              "track of one of those")
        counts, strengths = simulate_task_track(chroms, sites, pwms, p, task_rng(seed, task))
        write_bigwig(path, counts, sizes)
        total = sum(float(v.sum()) for v in counts.values())
        log.info("track %s: %d sites (strength %.2f-%.2f, mean %.2f), %.0f reads (%.0f "
                 "expected from background) -> %s", task, len(sites), strengths.min(),
                 strengths.max(), strengths.mean(), total,
                 p["background"] * sum(int((_CODES[s] < 4).sum()) for s in chroms.values()),
                 path)
        written[task] = Path(path)
    return written


__all__ = [
    "TRACK_DEFAULTS", "check_track_params", "expected_signal", "footprint", "simulate_task_track",
    "site_strengths", "task_rng", "write_bigwig", "write_task_tracks",
]
