"""Helpers shared by the recording tests: replay, ladders, comparable store metrics, grids."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.marketdata.bookstore import BookStore
from kalshiflow.marketdata.replay import (
    ReplayItem,
    ReplayReader,
)

WS_URL = "wss://demo-api.kalshi.co/trade-api/ws/v2"
NEW_TABLES = {"recording_markets", "recording_invalidations"}
CENT = PriceGrid.named("linear_cent")
# A grid only the API's price_ranges describe (not one of the named structures), bands out of order.
ODD = PriceGrid.from_wire(
    "custom_test",
    [
        {"start": "0.9000", "end": "1.0000", "step": "0.0010"},
        {"start": "0.0000", "end": "0.1000", "step": "0.0010"},
        {"start": "0.1000", "end": "0.9000", "step": "0.0100"},
    ],
)


def replay(engine: Engine, session_id: int, chunk_size: int = 5_000) -> list[ReplayItem]:
    with ReplayReader(engine, session_id, chunk_size=chunk_size) as reader:
        return list(reader)


def ladders(store: BookStore) -> dict[str, Any]:
    """Every book: its ladders when valid, else None."""
    out: dict[str, Any] = {}
    for ticker in store.tickers:
        book = store.book(ticker)
        assert book is not None
        out[ticker] = (
            (tuple(book.ladder(OutcomeSide.YES)), tuple(book.ladder(OutcomeSide.NO))) if book.valid else None
        )
    return out


def comparable_metrics(store: BookStore) -> tuple[int, ...]:
    m = store.metrics()
    return (
        m.markets,
        m.valid_markets,
        m.deltas_applied,
        m.deltas_ignored,
        m.snapshots_applied,
        m.invalidations,
        m.integrity_errors,
        m.unknown_ticker_messages,
    )


# ------------------------------------------------------------------ migration 0003
