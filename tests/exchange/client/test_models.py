"""Wire models: exact fixed-point round trips, errors that name the field, unknown fields ignored."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kalshiflow.domain.orders import BookSide, OrderStatus, OutcomeSide
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.exchange.models import (
    Balance,
    Fill,
    Market,
    MarketPosition,
    MarketStatus,
    Order,
    Orderbook,
    Settlement,
    WireFormatError,
    parse_rfc3339_ms,
)

ORDER: dict[str, Any] = {
    "order_id": "o-1",
    "user_id": "u",
    "client_order_id": "c-1",
    "ticker": "T-1",
    "side": "yes",
    "action": "buy",
    "outcome_side": "yes",
    "book_side": "bid",
    "type": "limit",
    "status": "resting",
    "yes_price_dollars": "0.5600",
    "no_price_dollars": "0.4400",
    "fill_count_fp": "0.00",
    "remaining_count_fp": "10.00",
    "initial_count_fp": "10.00",
    "taker_fill_cost_dollars": "0.000000",
    "maker_fill_cost_dollars": "0.000000",
    "taker_fees_dollars": "0.000000",
    "maker_fees_dollars": "0.000000",
    "created_time": "2026-08-20T14:03:11.250Z",
    "expiration_time": None,
    "order_group_id": None,
}

MARKET: dict[str, Any] = {
    "ticker": "T-1",
    "event_ticker": "E-1",
    "status": "active",
    "open_time": "2026-08-20T00:00:00Z",
    "close_time": "2026-08-21T00:00:00Z",
    "price_level_structure": "tapered_deci_cent",
    "price_ranges": [
        {"start": "0.0000", "end": "0.1000", "step": "0.0010"},
        {"start": "0.1000", "end": "0.9000", "step": "0.0100"},
        {"start": "0.9000", "end": "1.0000", "step": "0.0010"},
    ],
    "yes_bid_dollars": "0.0450",
    "yes_ask_dollars": "0.0470",
    "no_bid_dollars": "0.9530",
    "no_ask_dollars": "0.9550",
    "yes_bid_size_fp": "12.50",
    "yes_ask_size_fp": "3.00",
    "last_price_dollars": "0.0460",
    "volume_fp": "100.00",
    "volume_24h_fp": "10.00",
    "open_interest_fp": "50.00",
}

prices = st.integers(0, 10_000)
counts = st.integers(-(10**9), 10**9)
money = st.integers(-(10**12), 10**12)


@given(yes=prices, remaining=st.integers(0, 10**9), fees=st.integers(0, 10**9))
def test_order_prices_counts_and_money_round_trip_exactly(yes: int, remaining: int, fees: int) -> None:
    raw = {
        **ORDER,
        "yes_price_dollars": Price(yes).dollars_str(),
        "remaining_count_fp": Count(remaining).fp_str(),
        "taker_fees_dollars": Money(fees).dollars_str(6),
    }
    order = Order.from_wire(raw)
    assert order.yes_price == yes
    assert order.no_price == 10_000 - yes
    assert order.remaining_count == remaining
    assert order.taker_fees == fees
    assert isinstance(order.taker_fees, Money)


@given(position=counts, exposure=money)
def test_signed_positions_round_trip(position: int, exposure: int) -> None:
    raw = {
        "ticker": "T-1",
        "position_fp": Count(position).fp_str(),
        "market_exposure_dollars": Money(exposure).dollars_str(),
        "total_traded_dollars": "1.5",
        "realized_pnl_dollars": "-0.25",
        "fees_paid_dollars": "0.010000",
        "last_updated_ts": "2026-08-20T14:03:11Z",
        "exchange_index": 0,
    }
    parsed = MarketPosition.from_wire(raw)
    assert (parsed.position, parsed.market_exposure) == (position, exposure)
    assert parsed.realized_pnl == Money(-250_000)


@given(balance=st.integers(0, 10**13))
def test_balance_dollars_is_exact(balance: int) -> None:
    parsed = Balance.from_wire(
        {"balance": 0, "balance_dollars": Money(balance).dollars_str(), "portfolio_value": 7}
    )
    assert parsed.balance == balance
    assert parsed.portfolio_value == Money.from_cents(7)


def test_balance_falls_back_to_integer_cents() -> None:
    assert Balance.from_wire({"balance": 53207, "portfolio_value": 0}).balance == Money.parse("532.07")


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("yes_price_dollars", None, "Order.yes_price_dollars: required field is null"),
        ("yes_price_dollars", 0.56, "Order.yes_price_dollars: expected a decimal string, got a number"),
        ("yes_price_dollars", "0.56001", "Order.yes_price_dollars"),
        ("remaining_count_fp", "1.001", "Order.remaining_count_fp"),
        ("status", "pending", "Order.status: 'pending' is not one of"),
        ("book_side", "ask", "contradicts"),
        ("created_time", "yesterday", "Order.created_time: 'yesterday' is not an RFC 3339 time"),
        ("order_id", 7, "Order.order_id: expected a string, got a number"),
    ],
)
def test_bad_fields_are_named(field: str, value: object, needle: str) -> None:
    raw = {**ORDER, field: value}
    with pytest.raises(WireFormatError) as excinfo:
        Order.from_wire(raw)
    assert needle in str(excinfo.value)


def test_missing_required_field_is_an_error() -> None:
    raw = copy.deepcopy(ORDER)
    del raw["initial_count_fp"]
    with pytest.raises(WireFormatError, match=r"^Order.initial_count_fp: missing required field$"):
        Order.from_wire(raw)
    with pytest.raises(WireFormatError, match="expected an object"):
        Order.from_wire(["not", "an", "object"])


def test_unknown_fields_are_ignored() -> None:
    raw = {**ORDER, "brand_new_field": {"x": 1}, "queue_position": 0}
    assert Order.from_wire(raw) == Order.from_wire(ORDER)


@pytest.mark.parametrize(
    ("outcome", "book"), [(OutcomeSide.YES, BookSide.BID), (OutcomeSide.NO, BookSide.ASK)]
)
def test_direction_is_read_from_either_canonical_field(outcome: OutcomeSide, book: BookSide) -> None:
    only_outcome = {k: v for k, v in ORDER.items() if k != "book_side"} | {"outcome_side": outcome.value}
    only_book = {k: v for k, v in ORDER.items() if k != "outcome_side"} | {"book_side": book.value}
    for raw in (only_outcome, only_book):
        order = Order.from_wire(raw)
        assert (order.outcome_side, order.book_side, order.status) == (outcome, book, OrderStatus.RESTING)


def test_market_parses_grid_top_of_book_and_times() -> None:
    market = Market.from_wire(MARKET)
    assert market.grid.is_valid(Price.parse("0.045"))
    assert not market.grid.is_valid(Price.parse("0.455"))
    assert market.yes_bid == Price(450)
    assert market.yes_bid_size == Count(1250)
    assert market.close_time_ms - market.open_time_ms == 86_400_000
    assert Market.from_wire({**MARKET, "status": "brand_new_status"}).status is MarketStatus.UNKNOWN
    with pytest.raises(WireFormatError, match=r"Market\.price_ranges"):
        Market.from_wire({**MARKET, "price_ranges": [{"start": "0.5", "end": "0.1", "step": "0.01"}]})


def test_a_grid_read_again_is_the_grid_parsed_before_and_a_changed_grid_is_parsed_anew() -> None:
    first = Market.from_wire(MARKET)
    again = Market.from_wire(copy.deepcopy({**MARKET, "ticker": "T-2", "yes_bid_dollars": "0.0440"}))
    assert again.grid is first.grid  # same wire text: the grid parsed once, shared
    cent = [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}]
    changed = Market.from_wire({**MARKET, "price_level_structure": "linear_cent", "price_ranges": cent})
    assert changed.grid is not first.grid
    assert changed.grid.is_valid(Price.parse("0.45"))
    assert not changed.grid.is_valid(Price.parse("0.045"))
    assert changed.grid.structure == "linear_cent"
    # A grid that no longer parses is refused even when its structure name was read before.
    bad = [{"start": "0.0000", "end": "1.0000", "step": "0.0300"}]
    with pytest.raises(WireFormatError, match=r"Market\.price_ranges"):
        Market.from_wire({**MARKET, "price_ranges": bad})
    with pytest.raises(WireFormatError, match=r"Market\.price_ranges"):
        Market.from_wire({**MARKET, "price_ranges": [{"start": 0, "end": "1.0000", "step": "0.0100"}]})


@pytest.mark.parametrize("side", ["yes", "no"])
def test_orderbook_best_prices_use_the_complement(side: str) -> None:
    other = "no" if side == "yes" else "yes"
    raw = {f"{side}_dollars": [["0.4200", "13.00"], ["0.4100", "10.00"]], f"{other}_dollars": []}
    book = Orderbook.from_wire("T-1", raw)
    levels = book.yes if side == "yes" else book.no
    assert levels == ((Price(4100), Count(1000)), (Price(4200), Count(1300)))  # ascending
    if side == "yes":
        assert (book.best_yes_bid, book.best_no_ask, book.best_yes_ask) == (Price(4200), Price(5800), None)
    else:
        assert (book.best_no_bid, book.best_yes_ask, book.best_yes_bid) == (Price(4200), Price(5800), None)
    with pytest.raises(WireFormatError, match=r"yes_dollars\[0\]"):
        Orderbook.from_wire("T-1", {"yes_dollars": [["0.42"]]})


def test_fill_and_settlement_parse_legacy_aliases_and_cents() -> None:
    fill = Fill.from_wire(
        {
            "fill_id": "f-1",
            "order_id": "o-1",
            "market_ticker": "T-1",
            "outcome_side": "no",
            "book_side": "ask",
            "count_fp": "2.00",
            "yes_price_dollars": "0.3000",
            "is_taker": False,
            "fee_cost": "0.010000",
            "ts": 1_790_000_000,
        }
    )
    assert (fill.trade_id, fill.ticker, fill.ts_ms, fill.fee) == (
        "f-1",
        "T-1",
        1_790_000_000_000,
        Money(10_000),
    )
    settlement = Settlement.from_wire(
        {
            "ticker": "T-1",
            "market_result": "no",
            "yes_count_fp": "0.00",
            "no_count_fp": "3.00",
            "revenue": 300,
            "value": 0,
            "settled_time": "2026-08-21T15:00:05Z",
        }
    )
    assert settlement.revenue == Money.dollars(3)
    assert settlement.value == Price(0)


@given(ms=st.integers(0, 4_102_444_800_000))
def test_rfc3339_times_are_exact_to_the_millisecond(ms: int) -> None:
    from datetime import UTC, datetime

    whole = datetime.fromtimestamp(ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    assert parse_rfc3339_ms(f"{whole}.{ms % 1000:03d}Z") == ms
    assert parse_rfc3339_ms(f"{whole}.{ms % 1000:03d}+00:00") == ms


def test_a_text_read_again_parses_the_same_and_a_bad_text_stays_refused() -> None:
    first = Market.from_wire(MARKET)
    again = Market.from_wire(copy.deepcopy(MARKET))
    assert again == first
    assert again.yes_bid == Price(450)
    assert again.yes_bid_size == Count(1250)
    assert again.open_time_ms == first.open_time_ms
    # Refused texts are refused every time, also after a good text of the same field was read.
    for _ in range(2):
        with pytest.raises(WireFormatError, match=r"Market\.yes_bid_dollars"):
            Market.from_wire({**MARKET, "yes_bid_dollars": "0.04501"})
        with pytest.raises(WireFormatError, match=r"Market\.open_time"):
            Market.from_wire({**MARKET, "open_time": "yesterday"})
    # The same text in another unit parses in that unit.
    market = Market.from_wire({**MARKET, "yes_bid_size_fp": "0.45", "yes_bid_dollars": "0.45"})
    assert market.yes_bid_size == Count(45)
    assert market.yes_bid == Price(4500)
