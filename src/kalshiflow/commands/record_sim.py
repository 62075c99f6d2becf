"""Record the in-process simulator's books into a recording database, in simulated time.

Why: ``kalshiflow record`` against the embedded simulator records in wall-clock time over sockets;
tests, the bench and quick experiments need a recording of a few simulated minutes in seconds, and
the same one every time. ``record_simulated_session`` runs a seeded ``HeadlessMarket``, subscribes
the simulator's own WebSocket hub to every listed market (as the feed does: register the market
with its grid, then its snapshot) and hands every ``orderbook_snapshot``/``orderbook_delta`` frame,
parsed by the client's code, to the same ``Recorder`` that ``record`` uses. Markets listed later are
added on a refresh every ``refresh_s``, as the feed's discovery does. ``received_ns`` is the
simulated time, so the recording (and everything replayed from it) is deterministic in the seed.

``invalidate_at_s`` (optional) makes the stream stop trusting one market at that time and
resubscribe it ``resync_after_s`` later (an invalidation row, then a new snapshot): the stretch a
replay must not trade on.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine as DbEngine

from kalshiflow.domain.ratelimits import Tier
from kalshiflow.exchange.ws_models import OrderbookDelta, OrderbookSnapshot
from kalshiflow.exchange.ws_parse import parse_frame
from kalshiflow.marketdata.recorder import Recorder
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.market.headless import HeadlessMarket
from kalshiflow.sim.ratelimit import AccountRateLimiters
from kalshiflow.sim.server.ws_frames import Close, as_text
from kalshiflow.sim.server.ws_hub import ORDERBOOK, Subscription, WsHub
from kalshiflow.sim.state import MarketStatus

RECORDER_ACCOUNT = "recorder"


@dataclass(frozen=True, slots=True)
class SimRecording:
    session_id: int
    markets: int
    messages: int
    invalidated: str | None  # the market invalidated mid-way (``invalidate_at_s``), if any


def record_simulated_session(
    database: str | DbEngine,
    seed: int,
    minutes: float,
    *,
    n_markets: int = 4,
    step_ms: int = 200,
    refresh_s: float = 60.0,
    invalidate_at_s: float | None = None,
    resync_after_s: float = 20.0,
) -> SimRecording:
    """Record ``minutes`` of the market of ``seed`` into ``database``; returns the session."""
    market = HeadlessMarket(seed, n_markets)
    engine = market.engine
    sim = SimExchange(
        engine=engine, clock=market.clock, limiters=AccountRateLimiters(market.clock, Tier.PRESTIGE)
    )
    engine.add_account(RECORDER_ACCOUNT, 0)
    hub = WsHub(sim)
    session = hub.open_session(RECORDER_ACCOUNT)
    recorder = Recorder(database, market.source)
    messages = 0

    def active() -> list[str]:
        return [t for t, m in engine.markets.items() if m.status is MarketStatus.ACTIVE]

    def drain() -> None:
        nonlocal messages
        items = session.outbox._items  # the socket writer's queue, read synchronously
        now_ns = market.now_ms() * 1_000_000
        while items:
            is_data, item = items.popleft()
            if is_data:
                session.outbox._data -= 1
            if isinstance(item, Close):
                raise RuntimeError(f"the simulator closed the recorder's stream: {item.reason}")
            message = parse_frame(as_text(item), received_ns=now_ns)
            if isinstance(message, OrderbookSnapshot | OrderbookDelta):
                recorder.record(message)
                messages += 1

    tickers = active()
    recorder.start_session(
        "sim", f"in-process://seed-{seed}", tickers, notes=f"record_simulated_session seed {seed}"
    )
    sub = Subscription(session.new_sid(), ORDERBOOK, session, set())

    def add(new: list[str]) -> None:
        for ticker in new:
            recorder.record_market(ticker, engine.markets[ticker].grid)
        hub.add_markets(sub, new)
        for ticker in new:
            hub.send_snapshot(sub, ticker)

    hub.subscribe(sub)
    add(tickers)
    drain()
    start = market.now_ms()
    end = start + round(minutes * 60_000)
    next_refresh = start + round(refresh_s * 1000)
    invalidated: str | None = None
    invalidate_ms = None if invalidate_at_s is None else start + round(invalidate_at_s * 1000)
    resync_ms: int | None = None
    try:
        while market.now_ms() < end:
            market.advance_to(min(end, market.now_ms() + step_ms))
            drain()
            now = market.now_ms()
            if refresh_s > 0 and now >= next_refresh:
                known = sub.tickers or set()
                add([t for t in active() if t not in known])
                drain()
                next_refresh = now + round(refresh_s * 1000)
            if invalidate_ms is not None and invalidated is None and now >= invalidate_ms:
                invalidated = sorted(sub.tickers or ())[0]
                recorder.record_invalidation([invalidated], "test: sequence gap")
                resync_ms = now + round(resync_after_s * 1000)
            if resync_ms is not None and invalidated is not None and now >= resync_ms:
                recorder.record_market(invalidated, engine.markets[invalidated].grid)
                hub.send_snapshot(sub, invalidated)
                drain()
                resync_ms = None
    finally:
        recorder.close()
    session_id = recorder.session_id
    assert session_id is not None
    return SimRecording(session_id, len(sub.tickers or ()), messages, invalidated)
