"""``bash scripts/run.sh ARGS`` is ``kalshiflow run ARGS`` typed where the caller stands.

The script runs from a copy of the repository's scripts in ``tmp_path`` whose ``.venv`` hands every
call to this interpreter (its install is already current), so nothing is written into the repository.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.commands.cli_kit import FAST_SIM, clean_env

REPO = Path(__file__).resolve().parents[2]


def _repo_copy(root: Path) -> Path:
    (root / "scripts").mkdir(parents=True)
    for name in ("run.sh", "lib.sh"):
        shutil.copy(REPO / "scripts" / name, root / "scripts" / name)
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    wrappers = {
        "python": f'exec {sys.executable} "$@"',
        "kalshiflow": f'exec {sys.executable} -c "from kalshiflow.cli import app; app()" "$@"',
    }
    for name, body in wrappers.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    digest = hashlib.sha256((root / "pyproject.toml").read_bytes()).hexdigest()
    (root / ".venv" / ".kalshiflow-install-").write_text(f" {digest}\n")  # installed: nothing to do
    (root / ".venv" / ".gitignore").write_text("*\n")
    return root


@pytest.mark.skipif(shutil.which("bash") is None or shutil.which("sha256sum") is None, reason="needs bash")
def test_run_sh_reads_relative_paths_from_the_callers_directory(tmp_path: Path) -> None:
    repo = _repo_copy(tmp_path / "repo")
    work = tmp_path / "work"
    work.mkdir()
    (work / "mine.toml").write_text('[run]\npolicy = "hold"\n')
    result = subprocess.run(
        [
            "bash",
            str(repo / "scripts" / "run.sh"),
            "--config",
            "mine.toml",
            "--data-dir",
            "data",
            *FAST_SIM,
            "--duration",
            "0",
        ],
        cwd=work,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (work / "data" / "kalshiflow.db").is_file()  # --data-dir data: here, not in the repository
    assert not (repo / "data").exists()
    assert not (repo / ".kalshiflow").exists()
