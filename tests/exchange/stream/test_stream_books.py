"""The stream keeps local books equal to the simulator's, through every injected WS fault."""

from __future__ import annotations

import httpx
import pytest
from tests.exchange.stream.conftest import MakeStream
from tests.exchange.stream.stream_kit import OrderScript, ReferenceSink

from kalshiflow.exchange.ws_status import ConnectionState
from kalshiflow.exchange.ws_stream import KalshiStream
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.server.serve import ServerAddress

CHECKPOINT_S = 10.0


async def _books_equal(
    stream: KalshiStream, sink: ReferenceSink, sim: SimExchange, tickers: list[str]
) -> None:
    def equal() -> bool:
        return all(stream.book_valid(t) and sink.matches(t, sim.engine.books[t]) for t in tickers)

    await stream.wait_for(equal, CHECKPOINT_S)


async def test_local_books_follow_scripted_orders(
    sim: SimExchange, make_stream: MakeStream, tickers: list[str], other_account: str
) -> None:
    stream, sink = await make_stream()
    await stream.wait_live()
    await stream.subscribe(["orderbook_delta"], tickers)
    script = OrderScript(sim, ["alice", other_account], tickers, seed=11)
    for _ in range(5):
        script.step(200)
        await _books_equal(stream, sink, sim, tickers)
    metrics = stream.status().metrics
    assert metrics.deltas_applied > 500
    assert metrics.gaps == metrics.stale_messages == metrics.deltas_skipped == 0


@pytest.mark.parametrize(
    ("fault", "rate", "seed"),
    [
        ("ws_seq_gap_rate", 0.02, 1),
        ("ws_drop_rate", 0.02, 2),
        ("ws_duplicate_rate", 0.02, 3),
        ("ws_seq_gap_rate", 0.1, 4),
    ],
)
async def test_books_recover_after_seq_faults(
    sim: SimExchange,
    make_stream: MakeStream,
    tickers: list[str],
    other_account: str,
    fault: str,
    rate: float,
    seed: int,
) -> None:
    stream, sink = await make_stream()
    await stream.subscribe(["orderbook_delta"], tickers)
    await stream.wait_books_valid(tickers)
    script = OrderScript(sim, ["alice", other_account], tickers, seed=seed)
    for _ in range(4):
        sim.faults.update({fault: rate})
        script.step(150)
        sim.faults.update({fault: 0.0})
        script.step(5)  # fault-free traffic lets a lost last message show as a gap (or hit the deadline)
        await _books_equal(stream, sink, sim, tickers)
    metrics = stream.status().metrics
    assert metrics.gaps + metrics.stale_messages > 0, "the fault never showed"
    assert metrics.resyncs > 0
    assert sink.invalidations, "an anomaly must invalidate books before they are refreshed"


async def test_disconnect_after_n_messages_reconnects_and_restores(
    sim: SimExchange, make_stream: MakeStream, tickers: list[str], other_account: str
) -> None:
    stream, sink = await make_stream()
    await stream.subscribe(["orderbook_delta"], tickers)
    await stream.subscribe(["ticker", "trade"])
    await stream.wait_books_valid(tickers)
    script = OrderScript(sim, ["alice", other_account], tickers, seed=5)
    sim.faults.update({"ws_disconnect_after_messages": 150})
    for _ in range(4):
        script.step(100)
        await _books_equal(stream, sink, sim, tickers)
    sim.faults.update({"ws_disconnect_after_messages": 0})
    script.step(50)
    await _books_equal(stream, sink, sim, tickers)
    assert stream.status().metrics.reconnects >= 1
    assert any(reason == "disconnected" for _, reason in sink.invalidations)
    await stream.wait_live()
    channels = sorted(s.channel for s in await stream.list_subscriptions())
    assert channels == ["orderbook_delta", "ticker", "trade"]


async def test_admin_disconnect_trigger_invalidates_then_recovers(
    sim: SimExchange, server: ServerAddress, make_stream: MakeStream, tickers: list[str], other_account: str
) -> None:
    stream, sink = await make_stream()
    await stream.subscribe(["orderbook_delta"], tickers)
    await stream.wait_books_valid(tickers)
    script = OrderScript(sim, ["alice", other_account], tickers, seed=9)
    async with httpx.AsyncClient(base_url=server.base_url) as admin:
        for round_no in range(3):
            response = await admin.post("/sim/admin/faults/ws_disconnect", json={})
            assert response.status_code == 200, response.text
            await stream.wait_for(lambda n=round_no: stream.status().metrics.reconnects > n, CHECKPOINT_S)
            script.step(100)
            await _books_equal(stream, sink, sim, tickers)
    assert stream.state is ConnectionState.LIVE


async def test_books_are_invalid_until_their_snapshot_after_reconnect(
    sim: SimExchange, make_stream: MakeStream, tickers: list[str]
) -> None:
    stream, sink = await make_stream()
    await stream.subscribe(["orderbook_delta"], tickers)
    await stream.wait_books_valid(tickers)
    seen_invalid: list[bool] = []
    original = sink.on_invalid

    def record(tickers_now: object, reason: str) -> None:
        original(tickers_now, reason)  # type: ignore[arg-type]
        seen_invalid.append(all(not stream.book_valid(t) for t in tickers))

    sink.on_invalid = record  # type: ignore[method-assign]
    sim.faults.trigger_ws_disconnect()
    await stream.wait_for(lambda: stream.status().metrics.reconnects == 1, CHECKPOINT_S)
    await stream.wait_books_valid(tickers)
    assert seen_invalid
    assert seen_invalid[0]


async def test_add_and_delete_markets_change_the_followed_books(
    sim: SimExchange, make_stream: MakeStream, tickers: list[str], other_account: str
) -> None:
    stream, sink = await make_stream()
    await stream.wait_live()
    await stream.subscribe(["orderbook_delta"], tickers[:1])
    await stream.add_markets("orderbook_delta", tickers[1:])
    await stream.wait_books_valid(tickers)
    await stream.delete_markets("orderbook_delta", tickers[:1])
    assert not stream.book_valid(tickers[0])
    script = OrderScript(sim, ["alice", other_account], tickers[1:], seed=3)
    script.step(100)
    await _books_equal(stream, sink, sim, tickers[1:])
    stream.request_snapshots(tickers[1:], "test")
    assert not stream.book_valid(tickers[1])
    await stream.wait_books_valid(tickers[1:])
