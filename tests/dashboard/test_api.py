"""The dashboard's HTTP and WebSocket API against a real trader on the embedded simulator.

Every endpoint is exercised; the controls with a good token, without one, with a wrong one, from a
foreign Origin and with bad input (a refused control changes nothing); the WebSocket sends a
snapshot then events that validate against the served JSON Schemas; a client that never reads
costs a bounded queue and is resynced with a snapshot while the trader and other clients carry on;
``/metrics`` parses with prometheus-client's own parser.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families
from tests.dashboard.dashboard_kit import QUEUE_AHEAD_ACCOUNT, TOKEN, Trader, running_trader
from tests.waiting import until

from kalshiflow.dashboard.hub import HubConfig
from kalshiflow.domain.units import Count
from kalshiflow.events.trader import TraderState
from kalshiflow.trader.lifecycle.init_tracker import InitStep

pytestmark = pytest.mark.timeout(120)

CONTROL_HEADERS = {"x-kalshiflow-token": TOKEN, "x-kalshiflow-client": "pytest"}


@pytest.fixture
async def trader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Trader]:
    async with running_trader(tmp_path, monkeypatch, hub=HubConfig(tick_s=0.2, client_queue=20)) as t:
        await t.wait_trading()
        yield t


@pytest.fixture
async def http(trader: Trader) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=trader.url, timeout=30) as client:
        yield client


async def test_read_endpoints_answer_with_the_trader_state(trader: Trader, http: httpx.AsyncClient) -> None:
    ticker = await trader.wait_position()
    status = (await http.get("/api/status")).json()
    assert status["state"] in {s.value for s in TraderState}
    assert isinstance(status["since"], int)
    assert status["cash_dollars"].startswith("$")
    assert status["portfolio_value_dollars"].startswith("$")
    positions = (await http.get("/api/positions")).json()
    assert [p["ticker"] for p in positions] == [ticker]
    assert positions[0]["position_fp"] == "1.00"  # signed, as Kalshi writes it
    assert isinstance((await http.get("/api/orders")).json(), list)
    fills = (await http.get("/api/fills")).json()
    assert fills
    assert fills[-1]["ticker"] == ticker
    history = (await http.get("/api/history")).json()
    assert history[-1]["status"] == "initializing"  # newest first: the first entry is last
    calibrations = (await http.get("/api/calibrations")).json()
    assert calibrations
    assert calibrations[0]["reason"] == "startup"
    assert calibrations[0]["ok"] is True
    health = await http.get("/healthz")
    assert health.status_code == 200
    assert health.json()["ok"] is True
    schemas = (await http.get("/api/schemas")).json()
    assert {"trader_action", "position_update", "portfolio", "market", "snapshot"} <= set(schemas)
    page = await http.get("/")
    assert page.status_code == 200
    assert "<html" in page.text
    vendor = await http.get("/static/vendor/uPlot.iife.min.js")
    assert vendor.status_code == 200
    for body in (status, positions, history):
        assert TOKEN not in json.dumps(body)


async def test_metrics_parse_with_prometheus_client(trader: Trader, http: httpx.AsyncClient) -> None:
    await trader.wait_position()
    await until(lambda: trader.dashboard.hub.results.get("placed", 0) >= 1, 10, "a placed decision counted")
    response = await http.get("/metrics")
    assert response.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    for name in (
        "kalshiflow_state",
        "kalshiflow_cash_dollars",
        "kalshiflow_realized_pnl_dollars",
        "kalshiflow_open_positions",
        "kalshiflow_calibration_duration_seconds",
        "kalshiflow_calibrations",
        "kalshiflow_decision_lag_seconds",
        "kalshiflow_deltas_applied",
        "kalshiflow_stream_gaps",
        "kalshiflow_stream_resyncs",
        "kalshiflow_risk_denials",
        "kalshiflow_orders",
    ):
        assert name in families, name
    states = {s.labels["state"]: s.value for s in families["kalshiflow_state"].samples}
    assert sum(states.values()) == 1.0
    placed = [s for s in families["kalshiflow_orders"].samples if s.labels.get("result") == "placed"]
    assert placed
    assert placed[0].value >= 1
    assert [s.value for s in families["kalshiflow_open_positions"].samples] == [1.0]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"x-kalshiflow-token": "wrong"}, 401),
        ({"x-kalshiflow-token": TOKEN, "origin": "http://evil.example"}, 403),
        ({"origin": "http://evil.example"}, 403),
    ],
)
async def test_refused_controls_change_nothing(
    trader: Trader, http: httpx.AsyncClient, headers: dict[str, str], status: int
) -> None:
    history_before = len(trader.state.lifecycle.history)
    state_before = trader.state.lifecycle.state
    for action in ("pause", "flatten", "kill_on", "calibrate"):
        response = await http.post(f"/api/control/{action}", headers=headers)
        assert response.status_code == status, (action, response.text)
    # the token in a query string or a cookie is not a token
    response = await http.post(
        f"/api/control/pause?token={TOKEN}", headers={"cookie": f"x-kalshiflow-token={TOKEN}"}
    )
    assert response.status_code == 401
    assert trader.state.lifecycle.state is state_before
    assert trader.state.core is not None
    assert trader.state.core.manual_kill_switch is None
    assert trader.state.recal is not None
    assert not trader.state.recal.operator_requested
    assert not [e for e in list(trader.state.lifecycle.history)[history_before:] if "pytest" in e.result_text]


async def test_bad_input_is_refused(trader: Trader, http: httpx.AsyncClient) -> None:
    assert (await http.post("/api/control/explode", headers=CONTROL_HEADERS)).status_code == 404
    bad = await http.post("/api/control/close", headers=CONTROL_HEADERS, content=b"{not json")
    assert bad.status_code == 400
    assert (await http.post("/api/control/close", headers=CONTROL_HEADERS, json=[1])).status_code == 400
    assert (
        await http.post("/api/control/close", headers=CONTROL_HEADERS, json={"ticker": 7})
    ).status_code == 400
    missing = await http.post("/api/control/close", headers=CONTROL_HEADERS, json={})
    assert missing.status_code == 400
    assert "ticker" in missing.json()["error"]
    huge = await http.post("/api/control/close", headers=CONTROL_HEADERS, content=b"x" * 10_000)
    assert huge.status_code == 413
    assert (await http.get("/api/control/pause", headers=CONTROL_HEADERS)).status_code == 405


async def test_close_without_a_position_is_declined_not_refused(
    trader: Trader, http: httpx.AsyncClient
) -> None:
    nobody = await http.post("/api/control/close", headers=CONTROL_HEADERS, json={"ticker": "NO-SUCH"})
    assert nobody.status_code == 409  # well-formed request the trader declines, like resume under a kill
    assert nobody.json()["ok"] is False
    assert "no open position in NO-SUCH" in nobody.json()["detail"]


async def test_pause_resume_kill_and_calibrate_are_recorded_with_who_asked(
    trader: Trader, http: httpx.AsyncClient
) -> None:
    life = trader.state.lifecycle
    await until(lambda: life.state is TraderState.TRADING, 30, "trading")
    paused = await http.post("/api/control/pause", headers=CONTROL_HEADERS)
    assert paused.status_code == 200, paused.text
    assert life.state is TraderState.PAUSED
    assert "paused by pytest (127.0.0.1)" in life.history[-1].result_text
    assert trader.state.recal is not None
    assert trader.state.recal.next_resume_ms is None

    calibrate = await http.post("/api/control/calibrate", headers=CONTROL_HEADERS)
    assert calibrate.status_code == 200
    runs = trader.state.recal.stats.runs
    await until(
        lambda: trader.state.recal is not None and trader.state.recal.stats.runs > runs, 30, "calibration"
    )
    await until(lambda: life.state is TraderState.PAUSED, 10, "still paused after the calibration")
    assert any("requested by pytest" in e.result_text for e in life.history)

    kill = await http.post("/api/control/kill_on", headers=CONTROL_HEADERS)
    assert kill.status_code == 200
    refused = await http.post("/api/control/resume", headers=CONTROL_HEADERS)
    assert refused.status_code == 409
    assert "kill switch" in refused.json()["detail"]
    assert life.state is TraderState.PAUSED
    assert (await http.post("/api/control/kill_off", headers=CONTROL_HEADERS)).status_code == 200
    resumed = await http.post("/api/control/resume", headers=CONTROL_HEADERS)
    assert resumed.status_code == 200, resumed.text
    assert life.state is TraderState.TRADING
    texts = [e.result_text for e in life.history]
    assert any("kill switch engaged by pytest (127.0.0.1)" in t for t in texts)
    assert any("resumed by pytest (127.0.0.1)" in t for t in texts)


async def test_close_and_flatten_go_through_the_closer(trader: Trader, http: httpx.AsyncClient) -> None:
    ticker = await trader.wait_position()
    closed = await http.post("/api/control/close", headers=CONTROL_HEADERS, json={"ticker": ticker})
    assert closed.status_code in (200, 409), closed.text
    core = trader.state.core
    assert core is not None
    closes = [o for o in core.ledger.orders.values() if o.close_reason == "operator"]
    assert closes
    assert closes[0].ticker == ticker
    assert closes[0].reduce_only
    flatten = await http.post("/api/control/flatten", headers=CONTROL_HEADERS)
    assert flatten.status_code == 200
    assert any(f"close {ticker} requested by pytest" in e.result_text for e in trader.state.lifecycle.history)


async def test_an_unknown_api_path_says_what_the_api_has(http: httpx.AsyncClient) -> None:
    """A guessed endpoint (/api/portfolio) answered "Not Found" in plain text."""
    answer = await http.get("/api/portfolio")
    assert answer.status_code == 404
    error = answer.json()["error"]
    assert error.startswith("no endpoint /api/portfolio; the API has /api/status, /api/positions")
    for path in ("/api/status", "/api/positions", "/api/orders", "/api/fills", "/api/calibrations"):
        assert (await http.get(path)).status_code == 200, path


async def test_flatten_of_one_position_says_position_not_positions(
    trader: Trader, http: httpx.AsyncClient
) -> None:
    """The Controls tab wrote the outcome of Flatten all with one position as "closing 1 of 1 positions"."""
    await trader.wait_position()
    flatten = await http.post("/api/control/flatten", headers=CONTROL_HEADERS)
    assert flatten.status_code == 200, flatten.text
    assert flatten.json()["detail"] == "closing 1 of 1 position"


async def _messages(url: str, count: int) -> list[dict[str, Any]]:
    """The first ``count`` messages (a frame is one message or an array of them)."""
    messages: list[dict[str, Any]] = []
    async with websockets.connect(url.replace("http", "ws") + "/ws") as ws:
        while len(messages) < count:
            frame = json.loads(await ws.recv())
            messages.extend(frame if isinstance(frame, list) else [frame])
    return messages


async def test_websocket_sends_a_snapshot_then_messages_valid_against_the_schemas(
    trader: Trader, http: httpx.AsyncClient
) -> None:
    await trader.wait_position()
    schemas = (await http.get("/api/schemas")).json()
    messages = await _messages(trader.url, 12)
    assert messages[0]["type"] == "snapshot"
    snapshot = messages[0]["data"]
    assert snapshot["status"]["console"].splitlines()[-1].endswith("starting")
    assert len(snapshot["positions"]) == 1
    for message in messages:
        jsonschema.validate(message["data"], schemas[message["type"]])
    assert {"portfolio", "positions", "systems"} <= {m["type"] for m in messages}


async def test_websocket_from_a_foreign_origin_is_refused(trader: Trader) -> None:
    url = trader.url.replace("http", "ws") + "/ws"
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(url, origin=websockets.Origin("http://evil.example")):
            pass


def _stuck_websocket(url: str) -> socket.socket:
    """A WebSocket client with a tiny receive buffer that never reads after the handshake."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.connect((host, int(port)))
    sock.sendall(
        (
            f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    return sock


async def test_a_client_that_never_reads_is_bounded_and_resynced(trader: Trader) -> None:
    hub = trader.dashboard.hub
    stuck = _stuck_websocket(trader.url)
    try:
        await until(lambda: len(hub.clients) == 1, 10, "stuck client connected")
        [channel] = hub.clients
        life = trader.state.lifecycle
        for i in range(3_000):  # far more than the socket and the queue (20) can hold
            life.note(f"note {i}")
        await until(lambda: channel.resyncs >= 1, 20, "the stuck client marked for a fresh snapshot")
        assert len(channel) <= hub.config.client_queue
        # the trader and a well-behaved client carry on
        messages = await _messages(trader.url, 3)
        assert messages[0]["type"] == "snapshot"
        assert life.state is not TraderState.STOPPING
    finally:
        stuck.close()


async def test_a_resting_order_carries_its_queue_position_in_rest_and_websocket(
    trader: Trader, http: httpx.AsyncClient
) -> None:
    """``/api/orders`` and the snapshot carry the tracker's answer; a change arrives as a
    ``queue_position`` message valid against its schema."""
    await trader.wait_position()
    core = trader.state.core
    assert core is not None
    _, cid = await trader.rest_behind(7)
    ahead = core.queue.ahead_of(cid)
    assert ahead is not None
    assert ahead >= Count.contracts(7)  # the other account's order rests there first

    [item] = [o for o in (await http.get("/api/orders")).json() if o["client_order_id"] == cid]
    assert (item["queue_ahead"], item["queue_ahead_fp"]) == (int(ahead), ahead.fp_str())
    assert item["state"] == "resting"

    schemas = (await http.get("/api/schemas")).json()
    assert schemas["queue_position"]["properties"]["ahead"]["type"] == "integer"
    [snapshot] = await _messages(trader.url, 1)
    jsonschema.validate(snapshot["data"], schemas["snapshot"])
    [row] = [q for q in snapshot["data"]["queue"] if q["client_order_id"] == cid]
    assert row["ahead"] == int(ahead)

    # The order ahead is cancelled: the tracker reads again and the page is told.
    engine = trader.sim.sim.engine
    async with websockets.connect(trader.url.replace("http", "ws") + "/ws") as ws:
        for order_id in list(engine.account(QUEUE_AHEAD_ACCOUNT).order_ids):
            engine.cancel_order(QUEUE_AHEAD_ACCOUNT, order_id)
        while True:
            frame = json.loads(await ws.recv())
            updates = [
                m for m in (frame if isinstance(frame, list) else [frame]) if m["type"] == "queue_position"
            ]
            if any(m["data"]["client_order_id"] == cid for m in updates):
                break
    [update] = [m for m in updates if m["data"]["client_order_id"] == cid]
    jsonschema.validate(update["data"], schemas["queue_position"])
    assert update["data"]["ahead"] < int(ahead)


async def test_a_request_naming_another_host_is_refused(trader: Trader, http: httpx.AsyncClient) -> None:
    """DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1 sends
    ``Host: evil.example:PORT`` and the matching Origin, so the Origin check passes; on loopback the
    dashboard must not answer it -- not the reads (positions, orders, cash), not the WebSocket."""
    port = trader.url.rsplit(":", 1)[1]
    foreign = {"host": f"evil.example:{port}", "origin": f"http://evil.example:{port}"}
    for path in ("/api/status", "/api/positions", "/api/orders", "/metrics", "/"):
        response = await http.get(path, headers=foreign)
        assert response.status_code == 421, (path, response.text)
        assert "cash" not in response.text
    response = await http.post("/api/control/pause", headers={**foreign, **CONTROL_HEADERS})
    assert response.status_code == 421
    assert trader.state.lifecycle.state is not TraderState.PAUSED
    assert await _handshake_status(trader.url, f"evil.example:{port}") != 101
    assert await _handshake_status(trader.url, f"localhost:{port}") == 101  # the same handshake, named right
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "localhost"):
        assert (await http.get("/api/status", headers={"host": host})).status_code == 200, host


async def _handshake_status(url: str, host: str) -> int:
    """The HTTP status of a WebSocket handshake to ``/ws`` naming ``host`` (and its own Origin)."""
    address, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(address, int(port))
    try:
        writer.write(
            (
                f"GET /ws HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()
    return int(status_line.split()[1])


async def test_the_startup_sync_steps_each_say_what_they_synced(trader: Trader) -> None:
    """Systems' checklist showed the one calibration summary on each of sync balance, positions,
    orders and settlements, as if four steps had produced the same result: the balance step keeps
    the summary, the others say what they synced and that it was the same pass."""
    await trader.wait_trading()
    steps = trader.state.tracker.steps
    balance = steps[InitStep.SYNC_BALANCE].detail
    assert balance.startswith("cash $"), balance
    assert steps[InitStep.SYNC_POSITIONS].detail.endswith(
        "open positions (in the startup calibration's pass, as sync balance)"
    )
    assert steps[InitStep.SYNC_ORDERS].detail.endswith(
        "resting orders (in the startup calibration's pass, as sync balance)"
    )
    assert (
        steps[InitStep.SYNC_SETTLEMENTS].detail
        == "settlements read (in the startup calibration's pass, as sync balance)"
    )


async def test_the_token_check_answers_and_changes_nothing(trader: Trader, http: httpx.AsyncClient) -> None:
    """POST /api/token: 204 for the trader's token, 401 for another or none, 403 from another page."""
    assert (await http.post("/api/token", headers=CONTROL_HEADERS)).status_code == 204
    wrong = {**CONTROL_HEADERS, "x-kalshiflow-token": TOKEN + "x"}
    refused = await http.post("/api/token", headers=wrong)
    assert refused.status_code == 401
    assert TOKEN not in refused.text
    assert (await http.post("/api/token")).status_code == 401
    foreign = {**CONTROL_HEADERS, "origin": "https://evil.example"}
    assert (await http.post("/api/token", headers=foreign)).status_code == 403
    assert trader.state.lifecycle.state is TraderState.TRADING


async def test_kill_switch_off_says_whether_the_trader_resumes_by_itself(
    trader: Trader, http: httpx.AsyncClient
) -> None:
    """ "kill switch off (resume to trade)" while the next passing calibration resumed trading by
    itself: the answer now says which of the two it is."""
    life = trader.state.lifecycle

    async def control(action: str) -> dict[str, Any]:
        response = await http.post(f"/api/control/{action}", headers=CONTROL_HEADERS)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    await control("kill_on")
    await until(lambda: life.state is TraderState.PAUSED, 30, "paused by the kill switch")
    off = await control("kill_off")
    assert (
        off["detail"]
        == "kill switch off (trading resumes after the next calibration that passes, or resume now)"
    )
    await control("calibrate")
    await until(lambda: life.state is TraderState.TRADING, 30, "trading again after a calibration")

    await control("pause")
    await control("kill_on")
    off = await control("kill_off")
    assert off["detail"] == "kill switch off (still paused by pytest (127.0.0.1): resume to trade)"
