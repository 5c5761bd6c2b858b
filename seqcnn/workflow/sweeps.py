"""Hyper-parameter sweeps: a named grid of model options expands into named model variants.

A config's ``sweeps:`` block, e.g.::

    sweeps:
      cnn: {model: koo_eddy, grid: {pool_size: [1, 4, 25]}}

makes the models ``cnn-pool_size1``, ``cnn-pool_size4`` and ``cnn-pool_size25``: each is the
base model's options updated with one point of the grid (the Cartesian product of the value
lists, in the order the options are written). A dataset that lists ``cnn`` among its models
trains every variant, as independent jobs.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from seqcnn.errors import ConfigError

_TOKEN = re.compile(r"[^A-Za-z0-9_.]+")


def variant_name(sweep: str, options: Mapping[str, Any]) -> str:
    """``sweep-key1value1-key2value2``: a name the model wildcard accepts."""
    parts = [sweep]
    for key, value in options.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        parts.append(f"{key}{_TOKEN.sub('_', text)}")
    return "-".join(parts)


def expand_sweeps(
    models: Mapping[str, Mapping[str, Any]], sweeps: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    """Models plus every sweep variant, and ``{sweep: [variant names]}``.

    ``models`` maps names to model options (``arch`` + options); each sweep has ``model`` (a
    name in ``models``) and ``grid`` (option → list of values). Raises :class:`ConfigError`
    naming the sweep when its base model is missing, a name clashes, or a grid list is empty.
    """
    out = {name: dict(opts) for name, opts in models.items()}
    variants: dict[str, list[str]] = {}
    for sweep, spec in sweeps.items():
        base = spec["model"]
        if base not in models:
            raise ConfigError(f"config key sweeps.{sweep}.model is {base!r}, which is not "
                              f"defined under models: (defined: {', '.join(models) or 'none'})")
        if sweep in models:
            raise ConfigError(f"config key sweeps.{sweep}: a model of the same name exists; "
                              "rename one")
        keys = list(spec["grid"])
        empty = [k for k in keys if not spec["grid"][k]]
        if empty:
            raise ConfigError(f"config key sweeps.{sweep}.grid.{empty[0]} is an empty list")
        names = []
        for values in itertools.product(*(spec["grid"][k] for k in keys)):
            point = dict(zip(keys, values, strict=True))
            name = variant_name(sweep, point)
            if name in out:
                raise ConfigError(f"config key sweeps.{sweep}: variant {name!r} clashes with "
                                  "another model")
            out[name] = {**models[base], **point}
            names.append(name)
        variants[sweep] = names
    return out, variants


def expand_model_list(names: Sequence[str], variants: Mapping[str, Sequence[str]]) -> list[str]:
    """A dataset's ``models`` list with each sweep name replaced by its variants (order kept,
    duplicates dropped)."""
    out: list[str] = []
    for name in names:
        for v in variants.get(name, [name]):
            if v not in out:
                out.append(v)
    return out


__all__ = ["expand_model_list", "expand_sweeps", "variant_name"]
