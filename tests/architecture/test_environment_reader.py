"""One place reads the process environment (issue 8): ``kalshiflow.config.process_environ``.

Library layers (exchange, store, sim, ...) receive the values they need as parameters, so a test
or an embedding program decides what they see. The walk is over the AST, so a docstring that
mentions ``os.environ`` does not count.
"""

from __future__ import annotations

import ast

from tests.paths import REPO

SRC = REPO / "src" / "kalshiflow"
READER = SRC / "config.py"


def reads_environment(tree: ast.AST) -> list[int]:
    """Lines with ``os.environ``, ``os.getenv`` or ``os.putenv`` (attribute access on ``os``)."""
    return sorted(
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in {"environ", "getenv", "putenv", "environb"}
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def test_only_config_reads_the_environment() -> None:
    found = {
        f"{path.relative_to(SRC)}:{line}"
        for path in SRC.rglob("*.py")
        if path != READER
        for line in reads_environment(ast.parse(path.read_text(), str(path)))
    }
    assert found == set(), f"read the environment through kalshiflow.config.process_environ: {sorted(found)}"


def test_the_check_sees_a_read() -> None:
    assert reads_environment(ast.parse("import os\nx = os.environ.get('A')\ny = os.getenv('B')")) == [2, 3]
