"""``kalshiflow sim`` and the simulator runner: flags, key generation, startup and clean shutdown."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from tests.paths import REPO
from typer.testing import CliRunner

from kalshiflow.cli import app
from kalshiflow.domain.units import Money
from kalshiflow.exchange.auth import generate_key_pair
from kalshiflow.sim.runner import (
    AccountSpec,
    SimulatorConfig,
    ensure_generated_key,
    start_simulator,
)


def _server_modules_present() -> bool:
    try:
        from kalshiflow.sim.server import app as _app  # noqa: F401
    except ImportError:
        return False
    return True


needs_server = pytest.mark.skipif(
    not _server_modules_present(),
    reason="sim/server/{rest,ws,admin}.py are not in the tree yet; build_app cannot be imported",
)


@pytest.fixture(scope="module")
def rsa_public_pem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "key.pub.pem"
    path.write_bytes(generate_key_pair()[1])
    return path


@pytest.fixture(scope="module")
def ec_public_pem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    path = tmp_path_factory.mktemp("keys") / "ec.pub.pem"
    path.write_bytes(
        key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return path


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["sim", *args])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("account", "expected"),
    [
        ("no-colons-here", "expected KEY_ID:PUBLIC_KEY_PEM_PATH:BALANCE_DOLLARS"),
        ("key::100", "expected KEY_ID"),
        ("key:{pem}:", "expected KEY_ID"),
        ("key:{pem}:ten", "is not a dollar amount"),
        ("key:{pem}:1.0000001", "is not a dollar amount"),
        ("key:{pem}:-5", "must not be negative"),
        ("key:/nonexistent/key.pem:100", "cannot read public key file"),
        ("key:{notpem}:100", "is not a PEM public key"),
        ("key:{ec}:100", "is not an RSA public key"),
    ],
)
def test_bad_account_flag_is_a_one_line_usage_error(
    account: str, expected: str, rsa_public_pem: Path, ec_public_pem: Path, tmp_path: Path
) -> None:
    not_pem = tmp_path / "notes.txt"
    not_pem.write_text("hello")
    flag = account.format(pem=rsa_public_pem, ec=ec_public_pem, notpem=not_pem)
    code, output = _invoke("--account", flag, "--data-dir", str(tmp_path))
    assert code == 2
    assert "--account" in output
    assert expected in output
    assert "Traceback" not in output


def test_port_in_use_is_a_usage_error(tmp_path: Path, rsa_public_pem: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output = _invoke("--port", str(port), "--account", f"k:{rsa_public_pem}:100")
    assert code == 2
    assert "choose another --port" in output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("host", "said"), [("999.1.1.1", "check --host"), ("no-such-host.invalid", "check --host")]
)
def test_a_host_that_cannot_be_bound_names_host_not_port(
    tmp_path: Path, rsa_public_pem: Path, host: str, said: str
) -> None:
    code, output = _invoke("--host", host, "--port", "0", "--account", f"k:{rsa_public_pem}:100")
    assert code == 2
    assert said in output
    assert "--port" not in output
    assert "reachable from other machines" not in output  # no exposure warning for what never listened
    assert "Traceback" not in output


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
async def test_the_simulator_listens_on_ipv6_loopback_and_writes_its_urls_with_brackets() -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from kalshiflow.sim.server.serve import running_server

    async def hello(_request: object) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async with running_server(Starlette(routes=[Route("/", hello)]), host="::1") as address:
        assert address.base_url.startswith("http://[::1]:")
        assert address.rest_url.startswith("http://[::1]:")
        assert address.ws_url.startswith("ws://[::1]:")
        async with httpx.AsyncClient() as client:
            answer = await client.get(address.base_url + "/")
        assert answer.text == "ok"


def test_version_flag_prints_the_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert re.match(r"kalshiflow \S+", result.output)


def test_generated_key_is_private_and_reused_on_the_next_start(tmp_path: Path) -> None:
    key_id, private_path, public_path = ensure_generated_key(tmp_path / "data")
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    pem = private_path.read_bytes()
    again_id, again_private, again_public = ensure_generated_key(tmp_path / "data")
    assert (again_id, again_private, again_public) == (key_id, private_path, public_path)
    assert again_private.read_bytes() == pem


@needs_server
async def test_start_simulator_serves_markets_and_registers_accounts(
    tmp_path: Path, rsa_public_pem: Path
) -> None:
    config = SimulatorConfig(
        port=0,
        n_markets=5,
        data_dir=tmp_path,
        accounts=(AccountSpec("trader-1", rsa_public_pem, Money.parse("2500.50")),),
    )
    async with start_simulator(config) as handle:
        assert handle.accounts[0].key_id == "trader-1"
        assert handle.sim.engine.accounts[handle.accounts[0].account_id].balance == Money.parse("2500.50")
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{handle.address.rest_url}/markets")
        assert response.status_code == 200
        assert len(response.json()["markets"]) == 5
        assert handle.scheduler.steps >= 1
        books = handle.sim.engine.books.values()
        assert any(b.best_yes_bid() is not None for b in books), "makers quote before the server answers"
    assert handle.scheduler_task.done()


@needs_server
async def test_generated_account_keeps_its_key_id_across_restarts(tmp_path: Path) -> None:
    config = SimulatorConfig(port=0, n_markets=2, data_dir=tmp_path)
    async with start_simulator(config) as first:
        info = first.accounts[0]
    async with start_simulator(config) as second:
        assert second.accounts[0].key_id == info.key_id
    assert info.generated
    assert info.private_key_path is not None
    assert stat.S_IMODE(info.private_key_path.stat().st_mode) == 0o600
    assert info.balance == Money.dollars(10_000)


def _command() -> list[str]:
    script = Path(sys.executable).parent / "kalshiflow"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from kalshiflow.cli import app; app()"]


@needs_server
def test_sim_command_serves_until_sigint_and_exits_zero(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen(
        [*_command(), "sim", "--port", "0", "--data-dir", str(tmp_path), "--markets", "4", "--seed", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    stdout = proc.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    try:
        seen: list[str] = []
        rest_url = None
        while rest_url is None:
            try:
                line = lines.get(timeout=30)
            except queue.Empty:
                pytest.fail(f"no REST URL printed within 30 s; got {seen!r}")
            seen.append(line)
            match = re.search(r"REST\s+(http://\S+/trade-api/v2)", line)
            rest_url = match.group(1) if match else None
        assert not rest_url.endswith(":0/trade-api/v2"), "the printed URL carries the real port"
        # The trader's command for this simulator is printed whole (the README's documented way), so
        # a new user does not have to assemble --url, --key-id and --key-file from three lines.
        while not seen[-1].startswith("press Ctrl-C"):
            seen.append(lines.get(timeout=30))
        [key_line] = [line for line in seen if line.startswith("account  key id ")]
        key_id = key_line.split()[3]
        [trade] = [line.strip() for line in seen if line.startswith("trade it: ")]
        assert trade == (
            f"trade it: kalshiflow run --exchange sim --url {rest_url} --key-id {key_id} "
            f"--key-file {tmp_path / 'sim-api-key.pem'}"
        )
        response = httpx.get(f"{rest_url}/markets", timeout=10)
        assert response.status_code == 200
        assert len(response.json()["markets"]) == 4
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (tmp_path / "sim-api-key.pem").exists()
