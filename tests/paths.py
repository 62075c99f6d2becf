"""Where the repository and the shared folder beside it are, wherever a test file sits."""

from __future__ import annotations

from pathlib import Path


def _repo_root() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here, *here.parents):
        if (candidate / "pyproject.toml").is_file():
            return candidate
    raise RuntimeError(f"no pyproject.toml above {here}")


REPO = _repo_root()
SHARED = REPO.parent / "shared"  # the specs and real-market data, beside the checkout
