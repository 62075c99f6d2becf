"""`pip install -e .` without extras must give a working `kalshiflow` command (`scripts/run.sh`
installs no extra): no module the CLI imports may need an optional package at import time.

Found the hard way: `kalshiflow run` on a fresh clone failed with `No module named 'gymnasium'`
because the train command's module imported the training environment at the top. The child
process blocks every optional package (an entry of None in ``sys.modules`` makes its import fail)
and imports the CLI and every command module.
"""

from __future__ import annotations

import subprocess
import sys

from tests.paths import REPO

OPTIONAL = (
    "gymnasium",
    "torch",
    "stable_baselines3",
    "tensorboard",
    "tqdm",
    "psycopg",
    "playwright",
    "hypothesis",
)

CHILD = """
import importlib, pkgutil, sys
for name in {optional!r}:
    sys.modules[name] = None
import kalshiflow.cli
import kalshiflow.commands as commands
for info in pkgutil.walk_packages(commands.__path__, "kalshiflow.commands."):
    importlib.import_module(info.name)
print("ok")
"""


def test_the_cli_and_every_command_import_without_the_optional_packages() -> None:
    child = subprocess.run(
        [sys.executable, "-c", CHILD.format(optional=OPTIONAL)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr.strip().splitlines()[-1:]
    assert child.stdout.strip() == "ok"
