"""Webhook notices (bounded retries, never in the publisher's way) and ``kalshiflow ctl``.

The webhook receiver is a real HTTP server on loopback that fails the first attempts; ``ctl`` runs
as the command line does (in a worker thread, since it is a blocking client) against a real trader.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from tests.commands.cli_kit import KALSHIFLOW, clean_env
from tests.dashboard.dashboard_kit import TOKEN, running_trader
from tests.waiting import until
from typer.testing import CliRunner

from kalshiflow.cli import app as cli
from kalshiflow.dashboard.webhook import WebhookConfig, WebhookNotifier
from kalshiflow.events.bus import EventBus
from kalshiflow.events.trader import CalibrationCompleted, StatusEntry, TraderState
from kalshiflow.sim.lifecycle import set_trading_active
from kalshiflow.sim.runner import SimulatorConfig, start_simulator
from kalshiflow.sim.server.serve import running_server

pytestmark = pytest.mark.timeout(120)


@dataclass
class Receiver:
    fail_first: int
    attempts: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    state = Receiver(fail_first=2)

    async def hook(request: Request) -> JSONResponse:
        state.attempts += 1
        if state.attempts <= state.fail_first:
            return JSONResponse({"error": "try later"}, status_code=503)
        state.received.append(await request.json())
        return JSONResponse({"ok": True})

    async with running_server(
        Starlette(routes=[Route("/hook/secret-part", hook, methods=["POST"])])
    ) as address:
        yield state, f"{address.base_url}/hook/secret-part"


def _paused(ts_ms: int) -> StatusEntry:
    return StatusEntry(
        ts_ms,
        "paused",
        "kill switch engaged by ctl (127.0.0.1)",
        None,
        10,
        TraderState.PAUSED,
        TraderState.TRADING,
    )


def _failed_calibration() -> CalibrationCompleted:
    return CalibrationCompleted(1, 5, False, "exchange timeout", "", 3, 0, 0, (), ())  # type: ignore[arg-type]


async def test_webhook_retries_a_bounded_number_of_times_and_delivers(receiver: tuple[Receiver, str]) -> None:
    state, url = receiver
    bus = EventBus()
    notifier = WebhookNotifier(url, bus, config=WebhookConfig(attempts=3, backoff_s=0.01))
    notifier.start()
    try:
        bus.publish(StatusEntry(1, "trading", "last action: x", None, None, TraderState.TRADING))  # no notice
        bus.publish(_paused(2))
        bus.publish(_failed_calibration())
        await until(lambda: notifier.sent + notifier.failed == 2, 20, "both notices handled")
    finally:
        await notifier.stop()
    # the first notice used all 3 attempts (2 refused, the 3rd delivered); the second went at once
    assert state.attempts == 4
    assert [n["event"] for n in state.received] == ["kill_switch", "calibration_failed"]
    assert notifier.failed == 0


async def test_webhook_gives_up_after_its_attempts_and_never_blocks_publishing(
    receiver: tuple[Receiver, str],
) -> None:
    state, url = receiver
    state.fail_first = 1_000
    bus = EventBus()
    notifier = WebhookNotifier(url, bus, config=WebhookConfig(attempts=2, backoff_s=0.01, max_pending=3))
    notifier.start()
    try:
        for i in range(50):  # publishing returns at once; the pending queue stays bounded
            bus.publish(_paused(10 + i))
        await until(lambda: notifier.dropped == 47, 5, "the oldest notices dropped beyond the bound")
        await until(lambda: notifier.failed == 3, 20, "every kept notice tried and given up")
    finally:
        await notifier.stop()
    assert state.received == []
    assert state.attempts == 2 * notifier.failed


async def test_ctl_pauses_and_resumes_a_running_trader_and_needs_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_trader(tmp_path, monkeypatch) as trader:
        await trader.wait_trading()
        life = trader.state.lifecycle
        await until(lambda: life.state is TraderState.TRADING, 30, "trading")
        runner = CliRunner()

        def ctl(*args: str) -> Any:
            return runner.invoke(
                cli, ["ctl", *args, "--url", trader.url], env={"KALSHIFLOW_DASHBOARD_TOKEN": ""}
            )

        refused = await asyncio.to_thread(ctl, "pause", "--token", "wrong")
        assert refused.exit_code == 2
        assert "refused the token" in refused.output
        assert life.state is TraderState.TRADING
        # Only close takes a market: `ctl pause TICKER` would pause every market, not that one.
        one_market = await asyncio.to_thread(ctl, "pause", "SOME-TICKER", "--token", TOKEN)
        assert one_market.exit_code == 2, one_market.output
        assert "pause takes no ticker" in one_market.output
        assert life.state is TraderState.TRADING
        paused = await asyncio.to_thread(ctl, "pause", "--token", TOKEN)
        assert paused.exit_code == 0, paused.output
        assert life.state is TraderState.PAUSED
        assert "paused by ctl (127.0.0.1)" in life.history[-1].result_text
        again = await asyncio.to_thread(ctl, "pause", "--token", TOKEN)
        assert again.exit_code == 0, again.output
        assert "already paused; now held until resume" in again.output
        resumed = await asyncio.to_thread(ctl, "resume", "--token", TOKEN)
        assert resumed.exit_code == 0, resumed.output
        assert life.state is TraderState.TRADING
        unknown = await asyncio.to_thread(ctl, "explode", "--token", TOKEN)
        assert unknown.exit_code == 2
        nothing_to_close = await asyncio.to_thread(ctl, "close", "NO-SUCH", "--token", TOKEN)
        assert nothing_to_close.exit_code == 1, nothing_to_close.output  # declined, not a usage error
        assert "not done (no open position in NO-SUCH)" in nothing_to_close.output
        assert TOKEN not in paused.output + resumed.output


async def test_notices_are_sent_with_the_dashboard_off(
    receiver: tuple[Receiver, str], tmp_path: Path
) -> None:
    """The notifier lived inside the dashboard: ``run --no-dashboard`` (a headless service, where
    notices matter most) dropped KALSHIFLOW_WEBHOOK_URL without a word. Here the exchange is not
    trading, the startup calibration fails and the trader pauses: the receiver must hear of it."""
    state, url = receiver
    config = SimulatorConfig(port=0, seed=3, n_markets=4, data_dir=tmp_path / "sim")
    async with start_simulator(config) as handle:
        set_trading_active(handle.sim.engine, False)
        [account] = handle.accounts
        assert account.private_key_path is not None
        args = ["run", "--exchange", "sim", "--url", handle.address.rest_url, "--key-id", account.key_id]
        args += ["--key-file", str(account.private_key_path), "--data-dir", str(tmp_path / "d")]
        args += ["--no-view", "--no-dashboard", "--duration", "60"]
        trader = await asyncio.create_subprocess_exec(
            *KALSHIFLOW, *args, cwd=tmp_path, env=clean_env(KALSHIFLOW_WEBHOOK_URL=url),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            await until(lambda: bool(state.received), within_s=45, what="a webhook notice")
        finally:
            trader.terminate()
            await asyncio.wait_for(trader.communicate(), 60)
    assert state.received[0]["source"] == "kalshiflow"
    assert state.received[0]["event"] in {"calibration_failed", "paused"}


def test_a_webhook_url_that_cannot_work_stops_run_without_showing_it(tmp_path: Path) -> None:
    env = {"KALSHIFLOW_WEBHOOK_URL": "hooks.example.com/services/T0/B0/SECRET"}  # no scheme
    result = CliRunner().invoke(
        cli, ["run", "--data-dir", str(tmp_path), "--no-view", "--no-dashboard", "--duration", "5"], env=env
    )
    assert result.exit_code == 2, result.output
    assert "KALSHIFLOW_WEBHOOK_URL" in result.output
    assert "SECRET" not in result.output
    assert not (tmp_path / "kalshiflow.db").exists()
