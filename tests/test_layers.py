"""Imports run one way, and never in a circle (lazy imports inside functions included).

    handler, model.code  <-  devstack  <-  bench
    model.code, model.digest  <-  model.source  <-  model.training  <-  model.packaging  <-  bench

Measurement (bench/) may use everything, and nothing but the tests imports it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.unit

PACKAGES = {"handler": ROOT / "src" / "handler", "devstack": ROOT / "src" / "devstack", "model": ROOT / "model"}
PACKAGES["bench"] = ROOT / "bench"
# What each layer may import (by module-name prefix), itself included.
ALLOWED = {
    "handler": {"handler"},
    "model.code": {"model.code"},
    "model.digest": set(),
    "model.source": {"model.code", "model.digest"},
    "model.training": {"model.code", "model.digest", "model.source", "model.training"},
    "model.packaging": {"model.code", "model.digest", "model.source", "model.training", "model.packaging"},
    "devstack": {"handler", "model.code", "model.source", "devstack"},
    "bench": {"handler", "devstack", "model", "bench"},
}


def modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            name = ".".join((package, *parts)).removesuffix(".__init__")
            found[name] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``path`` imports anywhere in it (a package's name stands for its __init__)."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x / from .x import y
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def layer(name: str) -> str:
    return max((key for key in ALLOWED if name == key or name.startswith(key + ".")), key=len)


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, set(found)) for name, path in found.items()}


def test_every_import_runs_down_the_layers() -> None:
    wrong = []
    for name, targets in graph().items():
        for target in targets:
            if not any(target == a or target.startswith(a + ".") for a in ALLOWED[layer(name)] | {name}):
                wrong.append(f"{name} -> {target}")
    assert wrong == []


def test_no_import_circles() -> None:
    edges = graph()
    circles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                circles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    # A package's __init__ importing its own modules is how Python packages work, not a circle.
    real = [c for c in circles if not any(m.endswith("__init__") for m in c)]
    assert real == []


def test_the_checker_sees_what_it_must() -> None:
    edges = graph()
    assert "model.code.inference" in edges["devstack.server"]
    assert "devstack.stack" in edges["bench.load"]
    assert "model.code.backends" in edges["model.code.inference"]  # relative imports resolved
    assert layer("model.packaging.parity") == "model.packaging" and layer("bench.knee") == "bench"
