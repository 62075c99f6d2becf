"""Public market data rendered exactly as Kalshi's current REST API shapes it (reference §4, §5.1).

Pure functions from engine records to JSON-ready dicts. Only current fixed-point fields are
emitted (the integer-cent and integer-count fields were removed from Kalshi's responses in 2026);
deprecated-but-still-returned fields are kept because clients in the wild still read them.

Top of book comes from the bids-only book: YES bid = best YES bid, YES ask = 1 - best NO bid.
An empty side shows bid ``"0.0000"`` and ask ``"1.0000"`` with size ``"0.00"``, which is what
Kalshi shows for a market nobody quotes.
"""

from __future__ import annotations

from collections.abc import Iterable

from kalshiflow.domain.units import PRICE_SCALE
from kalshiflow.sim import wire
from kalshiflow.sim.book import Book, Ladder
from kalshiflow.sim.state import SimEvent, SimMarket, SimSeries, Trade
from kalshiflow.sim.wire import JsonObject

DAY_MS = 86_400_000
LATEST_EXPIRATION_AFTER_CLOSE_MS = 7 * DAY_MS


def top_of_book(book: Book) -> JsonObject:
    yes_bid = book.yes.best()
    no_bid = book.no.best()
    return {
        "yes_bid_dollars": wire.price(yes_bid or 0),
        "yes_bid_size_fp": wire.count(book.yes.size_at(yes_bid) if yes_bid is not None else 0),
        "yes_ask_dollars": wire.price(PRICE_SCALE - no_bid if no_bid is not None else PRICE_SCALE),
        "yes_ask_size_fp": wire.count(book.no.size_at(no_bid) if no_bid is not None else 0),
        "no_bid_dollars": wire.price(no_bid or 0),
        "no_ask_dollars": wire.price(PRICE_SCALE - yes_bid if yes_bid is not None else PRICE_SCALE),
    }


def market(m: SimMarket, book: Book, now_ms: int) -> JsonObject:
    volume_24h = sum(n for t, n in m.volume_window if t > now_ms - DAY_MS)
    settled = m.settled_ms is not None
    return {
        "ticker": m.ticker,
        "event_ticker": m.event_ticker,
        "market_type": "binary",
        "title": m.title,
        "subtitle": "",
        "yes_sub_title": m.yes_sub_title,
        "no_sub_title": m.no_sub_title,
        "created_time": wire.ts(m.created_ms),
        "updated_time": wire.ts(m.updated_ms or m.created_ms),
        "open_time": wire.ts(m.open_ms),
        "close_time": wire.ts(m.close_ms),
        "expected_expiration_time": wire.ts(m.close_ms),
        "expiration_time": wire.ts(m.close_ms + LATEST_EXPIRATION_AFTER_CLOSE_MS),
        "latest_expiration_time": wire.ts(m.close_ms + LATEST_EXPIRATION_AFTER_CLOSE_MS),
        "settlement_timer_seconds": m.settlement_timer_s,
        "status": m.status.value,
        **top_of_book(book),
        "last_price_dollars": wire.price(m.last_price),
        "previous_yes_bid_dollars": wire.price(m.previous_yes_bid),
        "previous_yes_ask_dollars": wire.price(m.previous_yes_ask),
        "previous_price_dollars": wire.price(m.previous_price),
        "volume_fp": wire.count(m.volume),
        "volume_24h_fp": wire.count(volume_24h),
        "open_interest_fp": wire.count(m.open_interest),
        "notional_value_dollars": wire.price(PRICE_SCALE),
        "result": _market_result(m),
        "can_close_early": m.can_close_early,
        "settlement_value_dollars": None if m.settlement_value is None else wire.price(m.settlement_value),
        "settlement_ts": wire.ts(m.settled_ms) if settled and m.settled_ms is not None else None,
        "settlement_bounds_type": "default",
        "expiration_value": "",
        "strike_type": m.strike_type,
        "floor_strike": m.floor_strike,
        "cap_strike": None,
        "rules_primary": m.rules_primary,
        "rules_secondary": "",
        "price_level_structure": m.grid.structure,
        "price_ranges": m.grid.to_wire(),
        "is_provisional": False,
        "exchange_index": 0,
    }


def _market_result(m: SimMarket) -> str:
    """``Market.result`` has no ``void`` value; a voided market shows an empty result."""
    if m.result is None or m.result.value == "void":
        return ""
    return m.result.value


def event(e: SimEvent, series: SimSeries | None, markets: list[JsonObject] | None) -> JsonObject:
    body: JsonObject = {
        "event_ticker": e.event_ticker,
        "series_ticker": e.series_ticker,
        "sub_title": e.sub_title,
        "title": e.title,
        "collateral_return_type": "",
        "mutually_exclusive": e.mutually_exclusive,
        "category": series.category if series is not None else "",
        "strike_date": None,
        "strike_period": None,
        "product_metadata": None,
        "settlement_sources": [],
        "last_updated_ts": wire.ts(e.updated_ms or e.created_ms),
        "fee_type_override": None if e.fee_type_override is None else e.fee_type_override.value,
        "fee_multiplier_override": (
            None if e.fee_multiplier_override is None else float(e.fee_multiplier_override)
        ),
        "exchange_index": 0,
    }
    if markets is not None:
        body["markets"] = markets
    return body


def series(s: SimSeries, volume: int, updated_ms: int) -> JsonObject:
    return {
        "ticker": s.ticker,
        "frequency": s.frequency,
        "title": s.title,
        "category": s.category,
        "categories": [s.category],
        "tags": [],
        "settlement_sources": [],
        "contract_url": "",
        "contract_terms_url": "",
        "product_metadata": None,
        "fee_type": s.fee_type.value,
        "fee_multiplier": float(s.fee_multiplier),
        "additional_prohibitions": [],
        "volume_fp": wire.count(volume),
        "last_updated_ts": wire.ts(updated_ms),
        "exchange_index": 0,
    }


def _levels(ladder: Ladder, depth: int) -> list[list[str]]:
    """Ascending ``[price, size]`` levels; ``depth`` > 0 keeps the best ``depth`` (the last ones)."""
    levels = ladder.ascending()
    if depth > 0:
        levels = levels[-depth:]
    return [[wire.price(p), wire.count(n)] for p, n in levels]


def orderbook(book: Book, depth: int = 0) -> JsonObject:
    return {"yes_dollars": _levels(book.yes, depth), "no_dollars": _levels(book.no, depth)}


def trade(t: Trade) -> JsonObject:
    taker_outcome = t.taker_side.outcome_side.value
    return {
        "trade_id": t.trade_id,
        "ticker": t.ticker,
        "count_fp": wire.count(t.count),
        "yes_price_dollars": wire.price(t.yes_price),
        "no_price_dollars": wire.price(PRICE_SCALE - t.yes_price),
        "taker_side": taker_outcome,
        "taker_outcome_side": taker_outcome,
        "taker_book_side": t.taker_side.value,
        "created_time": wire.ts(t.ts_ms),
        "is_block_trade": False,
    }


def exchange_status(exchange_active: bool, trading_active: bool) -> JsonObject:
    return {
        "exchange_active": exchange_active,
        "trading_active": trading_active,
        "intra_exchange_transfers_active": exchange_active,
        "exchange_estimated_resume_time": None,
        "exchange_index_statuses": [
            {
                "exchange_index": 0,
                "description": "Kalshi simulator",
                "exchange_active": exchange_active,
                "trading_active": trading_active,
                "intra_exchange_transfers_active": exchange_active,
            }
        ],
    }


_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def exchange_schedule() -> JsonObject:
    """The simulator trades around the clock: one all-day session every day, no maintenance."""
    session = [{"open_time": "00:00", "close_time": "23:59"}]
    week: JsonObject = {"start_time": "2020-01-01T00:00:00Z", "end_time": "2100-01-01T00:00:00Z"}
    week.update({day: list(session) for day in _DAYS})
    return {"schedule": {"standard_hours": [week], "maintenance_windows": []}}


def total_volume(markets: Iterable[SimMarket]) -> int:
    return sum(m.volume for m in markets)
