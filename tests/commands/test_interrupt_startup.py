"""Ctrl-C while ``run`` or ``record`` is still reaching the exchange ends it at once.

Against an exchange that accepts connections and never answers, the startup's status read is
retried for about a minute; before the trader can send anything, Ctrl-C must not wait for that.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import time
from pathlib import Path

import pytest
from tests.commands.cli_kit import kf, kf_background

from kalshiflow.exchange.auth import generate_key_pair

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("command", ["run", "record"])
def test_ctrl_c_while_the_exchange_does_not_answer_stops_at_once(tmp_path: Path, command: str) -> None:
    key = tmp_path / "key.pem"
    key.write_bytes(generate_key_pair()[0])
    silent = socket.socket()  # accepts, never answers: each read times out and is retried
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    silent.settimeout(0.05)
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/trade-api/v2"
    db = f"sqlite:///{tmp_path / 'trader.db'}"
    args = [command, "--url", url, "--key-id", "k", "--key-file", str(key), "--db", db]
    process = kf_background([*args, *(["--no-view", "--no-dashboard"] if command == "run" else [])], tmp_path)
    held: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 60
        while not held:  # the command is asking the exchange: its startup is under way
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the command never connected"
            with contextlib.suppress(TimeoutError):
                held.append(silent.accept()[0])
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)  # the retries alone would take 20 s to a minute
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        for connection in held:
            connection.close()
        silent.close()
    assert process.returncode == 0, err[-2000:]
    if command == "record":
        assert "stopped during startup: nothing recorded" in out
        return
    assert "stopped during startup: no order was sent" in out
    status = kf(["status", "--db", db], tmp_path)
    assert "stopped at" in status.stdout, status.stdout + status.stderr
    assert "crashed" not in status.stdout
