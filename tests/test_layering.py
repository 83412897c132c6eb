"""The three packages' one direction of dependency, read from the source with ``ast``.

``boothcore`` (protocol, roster, ID numbers, names, privacy, durable writes, db, config, CLI runner)
imports neither program; ``appliance`` (the booth) and ``central`` (the office) import the core and
never each other; ``fleetdemo`` (the demo, both programs on one machine) may import all three.
Every import counts, at module level or inside a function.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "boothcore": {"appliance", "central", "fleetdemo"},
    "appliance": {"central", "fleetdemo"},
    "central": {"appliance", "fleetdemo"},
}


def imported_packages(path: Path) -> set[tuple[int, str]]:
    """(line, top-level package) of every absolute import in ``path``."""
    found: set[tuple[int, str]] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.lineno, node.module.split(".")[0]))
    return found


def violations(package: str) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{line} imports {top}"
            for path in sorted((ROOT / package).rglob("*.py"))
            for line, top in sorted(imported_packages(path)) if top in FORBIDDEN[package]]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_downwards(package: str) -> None:
    assert violations(package) == []


def test_the_walk_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "lazy.py"
    module.write_text("def f():\n    from central.store import open_store\n    import appliance.hardware\n")
    assert imported_packages(module) == {(2, "central"), (3, "appliance")}


def test_core_and_central_import_without_the_booths_libraries() -> None:
    """What ``pip install '.[central]'`` relies on: no pygame, OpenCV or LiteRT is loaded. (NumPy is left
    out: fpdf2 imports it when it happens to be installed, and the central extra does not install it.)"""
    modules = sorted(".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                     for package in ("boothcore", "central") for path in (ROOT / package).rglob("*.py"))
    heavy = ("pygame", "cv2", "ai_edge_litert")
    script = ("import importlib, sys\n"
              f"for name in {modules!r}: importlib.import_module(name)\n"
              "import central.cli; central.cli.build_parser()\n"
              f"print(' '.join(sorted(m for m in {heavy!r} if m in sys.modules)))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
