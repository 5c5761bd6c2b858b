"""The conda environments in envs/ hold every package the rule scripts import.

Each rule's script is followed through the seqcnn modules it imports (transitively, imports
inside functions included); every third-party import must be provided by the rule's conda
environment. Every entry of an environment is pinned to one exact version (``==``): the
one requirements.txt pins (what CI installs) where it pins one, inside the range
pyproject.toml accepts, and the same in every environment. Conda is not needed: the files
are read, not built.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from conftest import ROOT

#: import name → package name (conda or pip) when they differ
PACKAGE = {"torch": ("pytorch", "torch"), "sklearn": ("scikit-learn",),
           "modiscolite": ("modisco-lite",), "yaml": ("pyyaml",),
           "pyBigWig": ("pybigwig",)}


def rules() -> list[tuple[str, str, str]]:
    """(rule, env file, script) for every rule with a script."""
    out = []
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        for block in re.split(r"\n(?=rule )", smk.read_text()):
            name = re.match(r"rule (\w+):", block)
            env = re.search(r'conda:\s*\n\s*"\.\./(envs/[\w.]+)"', block)
            script = re.search(r'script:\s*\n\s*"\.\./(scripts/[\w.]+)"', block)
            if name and script:
                out.append((name.group(1), env.group(1) if env else "", script.group(1)))
    return out


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def module_file(name: str) -> Path | None:
    base = ROOT / Path(*name.split("."))
    for p in (base.with_suffix(".py"), base / "__init__.py"):
        if p.exists():
            return p
    return None


def third_party(script: Path) -> set[str]:
    """Top-level third-party packages imported by ``script`` and the seqcnn code it uses."""
    seen, todo, found = set(), [script], set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imports(path):
            top = name.split(".")[0]
            if top == "seqcnn":
                parts = name.split(".")
                for k in range(1, len(parts) + 1):  # the package __init__s run too
                    f = module_file(".".join(parts[:k]))
                    if f:
                        todo.append(f)
            elif top not in sys.stdlib_module_names and top != "__future__":
                found.add(top)
    return found


def env_entries(env: str) -> list[tuple[str, str]]:
    """(name, version spec as written) of every conda and pip entry of ``env``."""
    spec = yaml.safe_load((ROOT / env).read_text())
    out = []
    for dep in spec["dependencies"]:
        for item in dep["pip"] if isinstance(dep, dict) else [dep]:
            m = re.match(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(.*)", item)
            out.append((m.group(1).lower(), m.group(2).strip()))
    return out


def env_packages(env: str) -> dict[str, str]:
    return dict(env_entries(env))


@pytest.mark.parametrize("rule, env, script", rules(), ids=[r[0] for r in rules()])
def test_every_import_is_in_the_rule_environment(rule, env, script):
    assert env, f"rule {rule} has no conda environment"
    provided = set(env_packages(env))
    missing = sorted(p for p in third_party(ROOT / script)
                     if not provided & set(PACKAGE.get(p, (p,))))
    assert not missing, f"{env} lacks {missing} (imported by {script} through seqcnn)"


ENVS = sorted(p.name for p in (ROOT / "envs").glob("*.yaml"))

#: conda package name → PyPI name, where they differ
PYPI = {"pytorch": "torch"}
#: conda-only entries: nothing in requirements.txt or pyproject.toml to compare with
CONDA_ONLY = {"pip", "bedtools"}


def requirement_pins() -> dict[str, str | None]:
    """requirements.txt: canonical name → its ``==`` version (None where it is unpinned)."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            exact = [s.version for s in req.specifier if s.operator == "=="]
            pins[canonicalize_name(req.name)] = exact[0] if exact else None
    return pins


def metadata_ranges() -> dict[str, SpecifierSet]:
    """pyproject.toml: canonical name → accepted versions (``python``: requires-python)."""
    import tomllib  # Python 3.11+

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        deps += extra
    ranges = {canonicalize_name(r.name): r.specifier for r in map(Requirement, deps)}
    ranges["python"] = SpecifierSet(project["requires-python"])
    return ranges


@pytest.mark.parametrize("env", ENVS)
def test_every_environment_entry_is_pinned_exactly(env):
    loose = [f"{name}{spec}" for name, spec in env_entries(f"envs/{env}")
             if not re.fullmatch(r"==\s*\d+(\.\d+)*", spec)]
    assert not loose, f"envs/{env}: pin these with ==<exact version>: {loose}"


@pytest.mark.parametrize("env", ENVS)
def test_pins_equal_requirements_and_lie_in_the_metadata_ranges(env):
    pins, ranges = requirement_pins(), metadata_ranges()
    for name, spec in env_entries(f"envs/{env}"):
        version = spec.removeprefix("==").strip()
        if name in CONDA_ONLY:
            continue
        pypi = canonicalize_name(PYPI.get(name, name))
        assert pypi in pins or pypi in ranges, \
            f"envs/{env}: {name} is neither in requirements.txt nor in pyproject.toml"
        if pins.get(pypi) is not None:
            assert version == pins[pypi], \
                f"envs/{env}: {name}=={version} but requirements.txt pins {pypi}=={pins[pypi]}"
        if pypi in ranges:
            assert Version(version) in ranges[pypi], \
                f"envs/{env}: {name}=={version} is outside pyproject.toml's {pypi}{ranges[pypi]}"


def test_a_package_has_one_version_across_environments():
    seen: dict[str, set[str]] = {}
    for env in ENVS:
        for name, spec in env_entries(f"envs/{env}"):
            seen.setdefault(PYPI.get(name, name), set()).add(spec)
    differ = {name: sorted(specs) for name, specs in seen.items() if len(specs) > 1}
    assert not differ, f"pinned to different versions in different envs: {differ}"


def test_requirements_pins_lie_in_the_metadata_ranges():
    ranges = metadata_ranges()
    outside = [f"{name}=={v} vs {ranges[name]}" for name, v in requirement_pins().items()
               if v is not None and name in ranges and Version(v) not in ranges[name]]
    assert not outside, f"requirements.txt pins outside pyproject.toml's ranges: {outside}"
