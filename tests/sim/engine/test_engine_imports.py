"""The engine's modules form no import circle (a circle hides which module owns what)."""

from __future__ import annotations

import ast
from pathlib import Path

import kalshiflow.sim

SIM_DIR = Path(kalshiflow.sim.__file__).parent


def _imports(path: Path) -> set[str]:
    """Modules of ``kalshiflow.sim`` that ``path`` imports, wherever the statement sits: a
    function-local import or one under ``TYPE_CHECKING`` is still a dependency."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kalshiflow.sim"):
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("kalshiflow.sim")}
    return found


def test_engine_modules_import_each_other_in_one_direction_only() -> None:
    modules = {f"kalshiflow.sim.{p.stem}": p for p in SIM_DIR.glob("*.py") if p.stem != "__init__"}
    graph = {name: _imports(path) & modules.keys() for name, path in modules.items()}
    circles = sorted((a, b) for a, deps in graph.items() for b in deps if a < b and a in graph.get(b, set()))
    assert circles == []
