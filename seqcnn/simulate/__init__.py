"""Simulated datasets: genomes with planted motifs (+ variants) and labelled sequence sets.

One entry point, :func:`simulate`: a ``kind``, its parameters (as under
``simulations.<name>`` in the config), an output folder and a seed; it checks the
parameters (:class:`~seqcnn.errors.ConfigError` naming the key), writes the kind's files
and returns them by output name. The same parameters and seed give the same bytes.

- ``genome`` (:mod:`seqcnn.simulate.genome`, :mod:`seqcnn.simulate.variants`): genome,
  peaks, truth, gaps, variants, variants_index;
- ``koo_eddy``, ``stride``, ``grammar``, ``distance``, ``padding``, ``secondary_structure``,
  ``mpra`` (:mod:`seqcnn.simulate.sets`, :mod:`seqcnn.simulate.proteins`): sequences,
  labels, truth;
- the ``tracks`` option of a ``genome`` simulation (:func:`write_task_tracks`,
  :mod:`seqcnn.simulate.tracks`): a bigWig per task, footprints at the planted sites.

Each kind is a function ``(params, out_dir, seed, key, log) -> {name: Path}``
(:data:`Simulator`), imported when it runs.
"""

from __future__ import annotations

import functools
import importlib
import logging
import numbers
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from seqcnn.errors import ConfigError

#: ``(params, out_dir, seed, key, log) -> {output name: path}``: one kind of simulation.
Simulator = Callable[[Mapping[str, Any], "str | os.PathLike", int, str, logging.Logger],
                     dict[str, Path]]

#: kind → ``(module, function)``; the sequence-set function takes the kind first.
_KINDS: dict[str, tuple[str, str]] = {
    "genome": ("seqcnn.simulate.genome", "write_genome_dataset"),
    **{kind: ("seqcnn.simulate.sets", "write_sequence_set")
       for kind in ("koo_eddy", "stride", "grammar", "distance", "padding",
                    "secondary_structure", "mpra")},
}
_FILES = {"genome": ("seqcnn.simulate.genome", "GENOME_FILES")}
_SET_FILES = ("seqcnn.simulate.sets", "SET_FILES")


def kinds() -> list[str]:
    """The simulation kinds, ``genome`` first."""
    return list(_KINDS)


def _check_kind(kind: str, key: str) -> None:
    if kind not in _KINDS:
        raise ConfigError(f"config key {key}.kind: unknown simulation kind {kind!r}; "
                          f"allowed: {', '.join(_KINDS)}")


def simulator(kind: str, key: str = "simulation") -> Simulator:
    """The function that runs ``kind`` (:data:`Simulator`)."""
    _check_kind(kind, key)
    module, name = _KINDS[kind]
    fn = getattr(importlib.import_module(module), name)
    return fn if kind == "genome" else functools.partial(fn, kind)


def outputs(kind: str) -> dict[str, str]:
    """Output name → file name (in the output folder) of what ``kind`` writes."""
    _check_kind(kind, "simulation")
    module, name = _FILES.get(kind, _SET_FILES)
    return dict(getattr(importlib.import_module(module), name))


def simulate(kind: str, params: Mapping[str, Any] | None, out_dir: str | os.PathLike,
             seed: int, key: str = "simulation", log: logging.Logger | None = None
             ) -> dict[str, Path]:
    """Run simulation ``kind`` with ``params`` and ``seed``; write its files (:func:`outputs`)
    into ``out_dir``; return ``{output name: path}``.

    ``key`` is where the settings sit in the config (``simulations.demo``): errors name
    ``key.<parameter>``. ``log`` gets what was made and what fell short (counts per reason).
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ConfigError(f"config key {key}.seed must be an integer, got {seed!r}")
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return simulator(kind, key)(params or {}, out_dir, int(seed), key,
                                log or logging.getLogger("seqcnn.simulate"))


def write_task_peaks(peaks: str | os.PathLike, task: str, path: str | os.PathLike) -> int:
    """One task's peaks of a ``genome`` simulation's ``peaks`` table as gzipped narrowPeak
    (:func:`seqcnn.simulate.genome.write_task_peaks`); returns how many."""
    from seqcnn.simulate.genome import write_task_peaks as write

    return write(peaks, task, path)


def write_task_tracks(genome: str | os.PathLike, truth: str | os.PathLike,
                      out: Mapping[str, str | os.PathLike], params: Mapping[str, Any] | None,
                      seed: int, key: str = "tracks", log: logging.Logger | None = None
                      ) -> dict[str, Path]:
    """The ``tracks`` option of a ``genome`` simulation: one bigWig per task (``out``: task →
    path) with footprints at the planted sites of its ``truth`` table
    (:func:`seqcnn.simulate.tracks.write_task_tracks`); returns task → path."""
    from seqcnn.simulate.tracks import write_task_tracks as write

    return write(genome, truth, out, params, seed, key, log)


__all__ = ["Simulator", "kinds", "outputs", "simulate", "simulator", "write_task_peaks",
           "write_task_tracks"]
