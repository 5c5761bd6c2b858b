"""Config validation with plain messages: one line per problem, naming the key (dotted
path), the value, and what is allowed; and the schema's defaults.

:func:`check_config` replaces Snakemake's own ``validate``, whose jsonschema messages dump
the schema and say "is not valid under any of the given schemas" without the allowed
values; :func:`fill_defaults` fills the defaults as ``validate`` does. Standard library,
``jsonschema`` and ``yaml`` only (both come with Snakemake): no torch at start-up.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from typing import Any

import jsonschema
import yaml

from seqcnn.errors import ConfigError

#: At most this many problems are listed (the first ones by key).
MAX_ERRORS = 8


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _key(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(top level)"


def _explain(error: jsonschema.ValidationError) -> str:
    """What is wrong with the value, and what is allowed."""
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    hint = schema.get("description")
    if "propertyNames" in error.absolute_schema_path:
        return (f"the name {_short(error.instance)} is not allowed: names use "
                f"{hint or 'letters, digits, _ . -'}")
    if error.validator == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        return f"{_short(error.instance)} is not one of: {allowed}"
    if error.validator in ("anyOf", "oneOf", "pattern"):
        why = _reason(error)
        text = f"{_short(error.instance)} is not allowed" + (f" ({why})" if why else "")
        return text + (f"; expected {hint}" if hint else "")
    return error.message


def _reason(error: jsonschema.ValidationError) -> str:
    """Why no branch of an ``anyOf``/``oneOf`` fits: a missing or unexpected key, if that is
    what the branches say (their type and enum mismatches say nothing new)."""
    reasons = [e.message for e in error.context or []
               if e.validator in ("required", "additionalProperties", "minItems")]
    return "; ".join(dict.fromkeys(reasons))


def load_schema(schema: str | os.PathLike) -> dict[str, Any]:
    """The YAML (or JSON) schema file, parsed."""
    with open(schema) as fh:
        return yaml.safe_load(fh)


def config_errors(config: Mapping[str, Any],
                  schema: str | os.PathLike | Mapping[str, Any]) -> list[str]:
    """One plain line per problem of ``config`` against the YAML ``schema`` file (or a schema
    already parsed)."""
    spec = schema if isinstance(schema, Mapping) else load_schema(schema)
    validator = jsonschema.validators.validator_for(spec)(spec)
    errors = sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.path])
    return [f"config key {_key(e)}: {_explain(e)}" for e in errors]


def check_config(config: Mapping[str, Any], schema: str | os.PathLike) -> None:
    """Raise :class:`ConfigError` listing ``config``'s problems (see :func:`config_errors`)."""
    problems = config_errors(config, schema)
    if not problems:
        return
    more = len(problems) - MAX_ERRORS
    lines = problems[:MAX_ERRORS] + ([f"... and {more} more"] if more > 0 else [])
    raise ConfigError(
        "the config does not match config/config.schema.yaml (config/README.md explains "
        "every key); fix:\n  " + "\n  ".join(lines))


def fill_defaults(config: dict[str, Any], schema: str | os.PathLike) -> dict[str, Any]:
    """Fill ``config`` in place with the schema's ``default`` values, as Snakemake's
    ``validate`` does: every ``properties`` entry missing from an object the validator
    visits (objects a default creates included) gets a copy of its default. Returns
    ``config``; call :func:`check_config` first, as problems are not reported here."""
    spec = load_schema(schema)
    base = jsonschema.validators.validator_for(spec)
    validate_properties = base.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, subschema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, subschema)

    filler = jsonschema.validators.extend(base, {"properties": set_defaults})
    for _ in filler(spec).iter_errors(config):
        pass
    return config


__all__ = ["MAX_ERRORS", "check_config", "config_errors", "fill_defaults", "load_schema"]
