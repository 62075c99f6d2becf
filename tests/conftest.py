"""Suite-wide test settings: Hypothesis profiles, and the rule that tests never write into the repository.

``ci`` (the default) is deterministic, so a red run can be reproduced by running it again;
``dev`` explores fresh random examples on each run: ``HYPOTHESIS_PROFILE=dev pytest``.
Fixtures live in conftest files next to the tests that use them (tests/sim/conftest.py, ...).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from tests.paths import REPO

pytest_plugins = ("tests.loopback_sim",)  # fixtures shared by several test packages

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=200,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# ------------------------------------------------------------------ tests never write into the repository
TOOL_DIRS = (
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    ".venv",
    ".egg-info",
)


def repository_listing(root: Path) -> set[str] | None:
    """What ``git status`` shows in the checkout (untracked and ignored entries included), minus the
    caches that tools keep there; None without git."""
    try:
        shown = subprocess.run(
            ["git", "status", "--porcelain", "--ignored"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {
        line
        for line in shown.splitlines()
        if not any(tool in line for tool in TOOL_DIRS) and not line.endswith(".py")  # a person's edits
    }


@pytest.fixture(scope="session", autouse=True)
def repository_untouched() -> Iterator[None]:
    """A test that writes into the repository fails the run (issue 8): files belong in tmp_path."""
    before = repository_listing(REPO)
    yield
    after = repository_listing(REPO)
    if before is not None and after is not None and after - before:
        pytest.fail(f"tests wrote into the repository: {sorted(after - before)}", pytrace=False)
