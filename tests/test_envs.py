"""The conda environments in envs/ hold every package the rule scripts import.

Each rule's script is followed through the seqcnn modules it imports (transitively, imports
inside functions included); every third-party import must be provided by the rule's conda
environment, and every environment must agree with the package metadata's ranges.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

#: import name → package name (conda or pip) when they differ
PACKAGE = {"torch": ("pytorch", "torch"), "sklearn": ("scikit-learn",),
           "modiscolite": ("modisco-lite",), "yaml": ("pyyaml",)}


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


def env_packages(env: str) -> dict[str, str]:
    spec = yaml.safe_load((ROOT / env).read_text())
    out = {}
    for dep in spec["dependencies"]:
        items = dep["pip"] if isinstance(dep, dict) else [dep]
        for item in items:
            m = re.match(r"([A-Za-z0-9_.\-]+)\s*(.*)", item)
            out[m.group(1).lower()] = m.group(2).replace("=", "==", 1) if m.group(2).startswith(
                "=") and not m.group(2).startswith("==") else m.group(2)
    return out


@pytest.mark.parametrize("rule, env, script", rules(), ids=[r[0] for r in rules()])
def test_every_import_is_in_the_rule_environment(rule, env, script):
    assert env, f"rule {rule} has no conda environment"
    provided = set(env_packages(env))
    missing = sorted(p for p in third_party(ROOT / script)
                     if not provided & set(PACKAGE.get(p, (p,))))
    assert not missing, f"{env} lacks {missing} (imported by {script} through seqcnn)"


def test_environments_agree_with_the_package_metadata():
    """A lower bound in an env must equal the one in pyproject.toml's dependencies."""
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    bounds = {}
    for dep in meta:
        m = re.match(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(.*)", dep)
        bounds[m.group(1).lower()] = m.group(2)
    for env in sorted((ROOT / "envs").glob("*.yaml")):
        for pkg, spec in env_packages(str(env.relative_to(ROOT))).items():
            name = {"pytorch": "torch"}.get(pkg, pkg)
            if name in bounds and spec:
                lower = re.search(r">=\s*([\d.]+)", spec)
                meta_lower = re.search(r">=\s*([\d.]+)", bounds[name])
                assert lower and meta_lower and lower.group(1) == meta_lower.group(1), \
                    f"{env.name}: {pkg} {spec} vs pyproject {name} {bounds[name]}"
