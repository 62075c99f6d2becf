"""Helpers for the store and recorder tests: a fresh database per test on each backend, and a
realistic order-book stream taken from the simulator's matching engine.

PostgreSQL runs when ``KALSHIFLOW_TEST_PG_URL`` is set (scripts/test.sh sets it when a server answers):
every test gets its own schema, pinned through the URL's ``options=-csearch_path=...`` so that every
engine opened from that URL (the recorder's, the replay reader's) sees only that schema, and the
schema is dropped afterwards even when the test fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count, Price
from kalshiflow.exchange.ws_models import OrderbookDelta, OrderbookSnapshot
from kalshiflow.sim.events import BookDelta, EngineEvent
from kalshiflow.sim.market.headless import HeadlessMarket

PG_URL_ENV = "KALSHIFLOW_TEST_PG_URL"
BACKENDS = ("sqlite", "postgresql")
START_MS = 1_790_000_000_000

Message = OrderbookSnapshot | OrderbookDelta


@contextmanager
def fresh_database_url(backend: str, tmp_dir: str) -> Iterator[str]:
    """A URL of an empty database of ``backend``; PostgreSQL schemas are dropped on the way out."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_dir}/kalshiflow-test.db"
        return
    base_url = os.environ.get(PG_URL_ENV)
    if not base_url:
        pytest.skip(f"PostgreSQL tests need {PG_URL_ENV} (scripts/test.sh sets it when PostgreSQL answers)")
    schema = f"kf_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
        try:
            yield url.render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


def snapshot(
    sid: int, seq: int, ticker: str, yes: list[tuple[int, int]], no: list[tuple[int, int]]
) -> OrderbookSnapshot:
    return OrderbookSnapshot(
        sid=sid,
        seq=seq,
        ticker=ticker,
        yes=tuple((Price(p), Count(c)) for p, c in yes),
        no=tuple((Price(p), Count(c)) for p, c in no),
        received_ns=seq * 1_000 + 7,
    )


def delta(
    seq: int, ticker: str = "KXTEST-26JAN01-T1", price: int = 5_600, change: int = 1_000
) -> OrderbookDelta:
    return OrderbookDelta(
        sid=1,
        seq=seq,
        ticker=ticker,
        side=OutcomeSide.YES if seq % 2 else OutcomeSide.NO,
        price=Price(price),
        delta=Count(change),
        ts_ms=START_MS + seq,
        received_ns=seq * 1_000 + 3,
    )


def synthetic_deltas(n: int) -> list[OrderbookDelta]:
    return [
        delta(seq, price=100 + seq % 9_800, change=(-1) ** seq * (seq % 500 + 1)) for seq in range(1, n + 1)
    ]


def simulated_stream(seed: int = 3, n_markets: int = 6, seconds: int = 600) -> list[Message]:
    """What one ``orderbook_delta`` subscription would deliver while the simulator's crowd trades:
    a snapshot per market, the engine's book changes as deltas (one sid, seq counting across all
    markets), and a fresh snapshot of every market half way through (as after a resubscribe)."""
    market = HeadlessMarket(seed, n_markets, start_ms=START_MS, keep_alive=False)
    engine = market.engine
    messages: list[Message] = []
    sid = 1

    def next_seq() -> int:
        return len(messages) + 1

    def snapshot_all() -> None:
        for ticker, book in sorted(engine.books.items()):
            messages.append(snapshot(sid, next_seq(), ticker, book.yes.ascending(), book.no.ascending()))

    def on_event(event: EngineEvent) -> None:
        if isinstance(event, BookDelta):
            messages.append(
                OrderbookDelta(
                    sid=sid,
                    seq=next_seq(),
                    ticker=event.ticker,
                    side=event.side,
                    price=Price(event.price),
                    delta=Count(event.delta),
                    ts_ms=event.ts_ms,
                    client_order_id=event.client_order_id,
                    received_ns=next_seq() * 1_000,
                )
            )

    snapshot_all()
    engine.add_listener(on_event)
    for second in range(seconds):
        market.advance(1.0)
        if second == seconds // 2:
            snapshot_all()
    return messages
