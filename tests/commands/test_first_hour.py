"""What a new user's first hour with the README turned up, each driven through the real command.

* a flag value that does not parse (``--duration abc``, ``--sim-markets -3``, an unknown option) is
  one line naming it and exit code 2, like every other wrong setting -- not click's framed usage
  box, and not a traceback (``--sim-markets -3`` was one, from deep inside the simulator);
* error text is printed as written: ``pip install -e '.[rl]'`` and a path with ``[run]`` in it lost
  their brackets to the terminal's markup, and ``status --help`` said "its  db" for "its [run] db";
* ``kalshiflow sim`` keeps its key in ``sim/`` of the data directory the environment names
  (``KALSHIFLOW_DATA_DIR``), as ``run`` does, instead of ``./.kalshiflow/sim`` in the working directory;
* a ``--db`` of an unsupported kind or a SQLite file in a missing directory stops ``run`` before the
  dashboard binds or the embedded simulator starts (it used to announce the dashboard and its token,
  start the simulator, then fail);
* ``run --exchange sim --url ... --key-id WRONG`` against a running simulator says the key is
  refused, in one line naming ``--key-id``: it used to warn about the clock sampler first and end
  with "(check --url)".
"""

from __future__ import annotations

import asyncio
import signal
import socket
import urllib.request
from pathlib import Path

import pytest
from tests.commands.cli_kit import FAST_SIM, KALSHIFLOW, clean_env, kf, kf_background, wait_for

from kalshiflow.sim.runner import SimulatorConfig, start_simulator

USAGE = 2


def _one_error_line(result: object) -> str:
    returncode = result.returncode  # type: ignore[attr-defined]
    stderr: str = result.stderr  # type: ignore[attr-defined]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert returncode == USAGE, stderr[-3000:]
    assert len(lines) == 1, stderr[-3000:]
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["run", "--duration", "abc"], "--duration"),
        (["run", "--sim-markets", "-3"], "--sim-markets"),
        (["run", "--no-such-flag"], "--no-such-flag"),
        (["backtest", "--hours", "soon"], "--hours"),
        (["status", "--json", "extra"], "extra"),
    ],
)
def test_a_flag_that_does_not_parse_is_one_line_naming_it(
    tmp_path: Path, args: list[str], named: str
) -> None:
    line = _one_error_line(
        kf([*args, "--data-dir", str(tmp_path / "d")] if args[0] == "run" else args, tmp_path)
    )
    assert named in line
    assert f"kalshiflow {args[0]} --help" in line
    assert not (tmp_path / "d").exists()  # nothing ran


def test_help_and_no_arguments_keep_their_exit_codes(tmp_path: Path) -> None:
    assert kf(["run", "--help"], tmp_path).returncode == 0
    assert kf(["--version"], tmp_path).returncode == 0
    bare = kf([], tmp_path)
    assert bare.returncode == USAGE
    assert "Usage" in bare.stdout + bare.stderr


def test_error_text_keeps_its_brackets(tmp_path: Path) -> None:
    config = tmp_path / "x[run].toml"  # does not exist: the one-line usage error names it
    line = _one_error_line(kf(["status", "--config", str(config)], tmp_path))
    assert "x[run].toml" in line
    missing = kf(["status", "--db", f"sqlite:///{tmp_path / 'a[run].db'}"], tmp_path)
    assert missing.returncode == 1
    assert "a[run].db" in missing.stderr


def test_status_help_names_the_settings_section(tmp_path: Path) -> None:
    result = kf(["status", "--help"], tmp_path, COLUMNS="200")
    assert result.returncode == 0
    assert "(its [run] db)" in result.stdout


def test_sim_keeps_its_key_in_the_data_directory_the_environment_names(tmp_path: Path) -> None:
    work, data = tmp_path / "work", tmp_path / "data"
    work.mkdir()
    with socket.socket() as probe:  # a free port, so the test can tell when the simulator serves
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sim = kf_background(["sim", "--port", str(port), "--markets", "2"], work, KALSHIFLOW_DATA_DIR=str(data))
    try:
        wait_for(lambda: _serves(port), "the simulator serving", sim)
    finally:
        sim.send_signal(signal.SIGINT)
        sim.communicate(timeout=60)
    assert sim.returncode == 0
    assert (data / "sim" / "sim-api-key.pem").exists()
    assert list(work.iterdir()) == []


def _serves(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/trade-api/v2/exchange/status", timeout=5):
            return True
    except OSError:
        return False


@pytest.mark.parametrize("kind", ["scheme", "missing directory"])
def test_a_bad_db_stops_run_before_the_dashboard_or_the_simulator_start(tmp_path: Path, kind: str) -> None:
    url = {"scheme": "nosuch://host/db", "missing directory": f"sqlite:///{tmp_path / 'no' / 'k.db'}"}[kind]
    data = tmp_path / "d"
    args = ["run", "--data-dir", str(data), *FAST_SIM, "--dashboard", "--dashboard-port", "0", "--db", url]
    result = kf([*args, "--duration", "1"], tmp_path)
    line = _one_error_line(result)
    assert "--db" in line
    assert "dashboard" not in result.stdout  # never bound, no token shown
    assert not (data / "sim").exists()  # the embedded simulator never started


async def test_a_wrong_key_id_against_a_running_simulator_is_one_line_naming_the_key(tmp_path: Path) -> None:
    config = SimulatorConfig(port=0, seed=3, n_markets=4, data_dir=tmp_path / "sim")
    async with start_simulator(config) as handle:
        [account] = handle.accounts
        assert account.private_key_path is not None
        args = ["run", "--exchange", "sim", "--url", handle.address.rest_url, "--key-id", "not-a-key"]
        args += ["--key-file", str(account.private_key_path), "--data-dir", str(tmp_path / "d")]
        args += ["--no-view", "--no-dashboard", "--duration", "5"]
        trader = await asyncio.create_subprocess_exec(
            *KALSHIFLOW, *args, cwd=tmp_path, env=clean_env(), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await asyncio.wait_for(trader.communicate(), 120)
    result = _Completed(trader.returncode, stdout.decode(), stderr.decode())
    line = _one_error_line(result)
    assert "--key-id" in line
    assert "check --url" not in line


class _Completed:
    def __init__(self, returncode: int | None, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr
