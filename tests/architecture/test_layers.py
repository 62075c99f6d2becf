"""Imports point inward only (ARCHITECTURE §1): a test walks every import of ``src/kalshiflow``.

Layers, innermost first: ``clock``, ``domain`` and ``textfmt`` (texts for people); ``events`` (the bus and the event vocabulary);
``exchange``; ``store``; ``marketdata``; ``features``; ``policy``; ``trader``; ``train`` and
``dashboard``; then the composition layer (``cli``, ``config``, ``logs``, ``commands``) that wires
the parts together. A package may import its own layer and the layers inside it. ``sim`` is an
exchange, not a client: it imports ``domain`` and ``clock`` only; only the composition layer and
``train`` (whose environment steps the simulator in-process) import ``sim``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from tests.paths import REPO

SRC = REPO / "src" / "kalshiflow"

LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"clock", "domain", "textfmt"}),
    frozenset({"events"}),
    frozenset({"exchange"}),
    frozenset({"store"}),
    frozenset({"marketdata"}),
    frozenset({"features"}),
    frozenset({"policy"}),
    frozenset({"trader"}),
    frozenset({"train", "dashboard"}),
    frozenset({"cli", "config", "logs", "commands", "__init__", "__main__"}),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
SIM_MAY_IMPORT = frozenset({"sim", "domain", "clock"})
# Who may run the simulator in-process: the command bodies, and training (its environment steps it).
SIM_USERS = LAYERS[-1] | {"train"}


def top_level(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "kalshiflow" and len(parts) > 1 else None


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every absolute ``kalshiflow`` import (type-checking ones included) with its line."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                raise AssertionError(f"{path}:{node.lineno}: relative import; use absolute imports")
            if node.module:
                found.append((node.lineno, node.module))
                found.extend(
                    (node.lineno, f"{node.module}.{a.name}")
                    for a in node.names
                    if node.module == "kalshiflow"
                )
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


def violations() -> list[str]:
    bad: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        package = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        for line, module in imports_of(path):
            target = top_level(module)
            if target is None or target == package:
                continue
            where = f"{rel}:{line}: {package} imports {module}"
            if package == "sim":
                if target not in SIM_MAY_IMPORT:
                    bad.append(f"{where} (sim imports domain and clock only)")
            elif target == "sim":
                if package not in SIM_USERS:
                    bad.append(f"{where} (only the composition layer and train run a simulator)")
            elif package not in RANK or target not in RANK:
                bad.append(f"{where} (a package missing from the layer table)")
            elif RANK[target] > RANK[package]:
                bad.append(f"{where} (an outer layer)")
    return bad


def test_every_import_points_inward() -> None:
    assert violations() == []


@pytest.mark.parametrize(
    ("package", "module", "allowed"),
    [
        ("features", "kalshiflow.trader.state.orders", False),
        ("trader", "kalshiflow.features.valuation", True),
        ("store", "kalshiflow.events.ledger", True),
        ("store", "kalshiflow.trader.state.ledger", False),
        ("domain", "kalshiflow.exchange.errors", False),
    ],
)
def test_the_rank_table_orders_layers_as_the_architecture_says(
    package: str, module: str, allowed: bool
) -> None:
    target = top_level(module)
    assert target is not None
    assert (RANK[target] <= RANK[package]) is allowed
