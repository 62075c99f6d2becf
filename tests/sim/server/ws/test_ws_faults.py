"""WS fault injection seen from a client: seq anomalies, forced disconnects, cleanup."""

from __future__ import annotations

import asyncio
from itertools import pairwise

import pytest
from tests.sim.server.ws.conftest import Connect
from tests.sim.server.ws.ws_helpers import Account, gtc, place
from tests.waiting import until
from websockets.exceptions import ConnectionClosed

from kalshiflow.domain.orders import BookSide
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.server.ws_frames import FORCED_CLOSE_CODE
from kalshiflow.sim.server.ws_hub import WsHub


@pytest.mark.parametrize(
    ("fault", "expected_seqs"),
    [
        ("ws_drop_rate", []),
        ("ws_duplicate_rate", [2, 2, 3, 3, 4, 4]),
        ("ws_seq_gap_rate", [3, 5, 7]),
    ],
)
async def test_each_ws_fault_shows_as_a_seq_anomaly(
    sim: SimExchange, alice: Account, connect: Connect, cent_ticker: str, fault: str, expected_seqs: list[int]
) -> None:
    client = await connect(alice)
    sid = (await client.subscribe(["orderbook_delta"], market_ticker=cent_ticker))["orderbook_delta"]
    assert (await client.recv())["seq"] == 1
    sim.faults.update({fault: 1.0})
    for cents in (10, 11, 12):
        place(sim, alice, gtc(cent_ticker, BookSide.BID, cents, 1))
    sim.faults.update({fault: 0.0})
    seqs = [m["seq"] for m in await client.drain() if m.get("sid") == sid]
    assert seqs == expected_seqs
    place(sim, alice, gtc(cent_ticker, BookSide.BID, 13, 1))
    (after,) = [m for m in await client.drain() if m.get("sid") == sid]
    assert after["seq"] == expected_seqs[-1] + 1 if expected_seqs else after["seq"] == 5


async def test_mixed_fault_rates_produce_gaps_and_duplicates_in_order(
    sim: SimExchange, alice: Account, connect: Connect, cent_ticker: str
) -> None:
    client = await connect(alice)
    await client.subscribe(["orderbook_delta"], market_ticker=cent_ticker)
    await client.recv()
    sim.faults.update({"ws_drop_rate": 0.2, "ws_duplicate_rate": 0.2, "ws_seq_gap_rate": 0.2})
    for cents in range(10, 50):
        place(sim, alice, gtc(cent_ticker, BookSide.BID, cents, 1))
    seqs = [m["seq"] for m in await client.drain() if m["type"] == "orderbook_delta"]
    assert any(b == a for a, b in pairwise(seqs)), "no duplicate seen"
    assert any(b > a + 1 for a, b in pairwise(seqs)), "no gap seen"
    assert seqs == sorted(seqs)


async def test_disconnect_after_n_messages_closes_the_socket(
    sim: SimExchange, alice: Account, connect: Connect, cent_ticker: str, hub: WsHub
) -> None:
    sim.faults.update({"ws_disconnect_after_messages": 3})
    client = await connect(alice)
    await client.subscribe(["orderbook_delta"], market_ticker=cent_ticker)
    for cents in (10, 11, 12, 13):
        place(sim, alice, gtc(cent_ticker, BookSide.BID, cents, 1))
    seqs = [(await client.recv())["seq"] for _ in range(3)]
    assert seqs == [1, 2, 3]
    with pytest.raises(ConnectionClosed):
        await client.recv()
    assert client.conn.close_code == FORCED_CLOSE_CODE
    await until(lambda: not hub.sessions)


async def test_admin_disconnect_trigger_closes_idle_sockets(
    sim: SimExchange, alice: Account, bob: Account, connect: Connect, hub: WsHub
) -> None:
    first, second = await connect(alice), await connect(bob)
    await first.subscribe(["ticker"])
    sim.faults.trigger_ws_disconnect()
    for client in (first, second):
        await asyncio.wait_for(client.conn.wait_closed(), 5)
        assert client.conn.close_code == FORCED_CLOSE_CODE
    await until(lambda: not hub.sessions)
    assert not hub._index.all_markets.get("ticker")
    again = await connect(alice)  # a new connection after the trigger is not closed by it
    assert (await again.subscribe(["trade"])) == {"trade": 1}
