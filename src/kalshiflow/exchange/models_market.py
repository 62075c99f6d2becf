"""Public market data as typed, frozen values: exchange status, markets, order books, events, series.

Parsed once from Kalshi's JSON (reference §4, §5.1) into exact domain units. A market carries its
``PriceGrid`` so order prices can be checked before they are sent. Order books keep Kalshi's
bids-only convention: ``yes`` are YES bids, ``no`` are NO bids in NO-leg prices, both ascending, so
the best bid is the last level and the best YES ask is ``1 - best NO bid``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction
from typing import Final

from kalshiflow.domain.fees import FeeType
from kalshiflow.domain.grid import GridError, PriceGrid
from kalshiflow.domain.units import Count, Price
from kalshiflow.exchange.models_wire import Fields, WireFormatError
from kalshiflow.exchange.ws_models import Level


class MarketStatus(StrEnum):
    """``Market.status`` (reference §5.1). ``UNKNOWN`` stands for a value added after this client."""

    INITIALIZED = "initialized"
    INACTIVE = "inactive"
    ACTIVE = "active"
    CLOSED = "closed"
    DETERMINED = "determined"
    DISPUTED = "disputed"
    AMENDED = "amended"
    FINALIZED = "finalized"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class ExchangeStatus:
    exchange_active: bool
    trading_active: bool
    estimated_resume_ms: int | None = None

    @classmethod
    def from_wire(cls, raw: object) -> ExchangeStatus:
        f = Fields(raw, "ExchangeStatus")
        return cls(
            exchange_active=f.flag("exchange_active"),
            trading_active=f.flag("trading_active"),
            estimated_resume_ms=f.opt_time_ms("exchange_estimated_resume_time"),
        )


# Parsed grids by their wire text. Why: calibration re-reads every watched market every 60 s (and a
# training episode calibrates a thousand times), and parsing the grid was ~40 % of a market's parse
# while a market's grid almost never changes; equal grids are also shared as one object, so the
# grid's expansions (``levels``, ``tradable``) are computed once per grid, not once per read.
_GRIDS: dict[tuple[str, ...], PriceGrid] = {}
_GRIDS_MAX: Final = 4_096  # distinct grids kept; Kalshi documents three structures, so never reached


def _grid_key(raw: Mapping[str, object]) -> tuple[str, ...] | None:
    """The grid's wire text (structure, then start, end, step of each band) when every part of it
    is a string, else None (a malformed grid is parsed in full, to be refused with its reason)."""
    structure, ranges = raw.get("price_level_structure"), raw.get("price_ranges")
    if type(structure) is not str or type(ranges) is not list:
        return None
    key = [structure]
    for band in ranges:
        if type(band) is not dict:
            return None
        start, end, step = band.get("start"), band.get("end"), band.get("step")
        if type(start) is not str or type(end) is not str or type(step) is not str:
            return None
        key += (start, end, step)
    return tuple(key)


def _grid(f: Fields) -> PriceGrid:
    """The market's grid: a grid with the same wire text as one parsed before is that grid (the
    parse depends on nothing else), so only new grid texts are parsed and validated."""
    key = _grid_key(f.raw)
    if key is not None:
        known = _GRIDS.get(key)
        if known is not None:
            return known
    grid = _parse_grid(f)
    if key is not None:
        if len(_GRIDS) >= _GRIDS_MAX:
            _GRIDS.clear()
        _GRIDS[key] = grid
    return grid


def _parse_grid(f: Fields) -> PriceGrid:
    structure = f.text("price_level_structure")
    ranges = []
    for i, item in enumerate(f.array("price_ranges")):
        band = Fields(item, f"{f.what}.price_ranges[{i}]")
        ranges.append({k: band.text(k) for k in ("start", "end", "step")})
    try:
        return PriceGrid.from_wire(structure, ranges)
    except (GridError, ValueError) as exc:
        raise WireFormatError(f"{f.what}.price_ranges: {exc}") from None


@dataclass(frozen=True, slots=True)
class Market:
    """One market: identity, lifecycle times (Unix ms), status, price grid and top of book."""

    ticker: str
    event_ticker: str
    status: MarketStatus
    open_time_ms: int
    close_time_ms: int
    grid: PriceGrid
    yes_bid: Price
    yes_ask: Price
    no_bid: Price
    no_ask: Price
    yes_bid_size: Count
    yes_ask_size: Count
    last_price: Price
    volume: Count
    volume_24h: Count
    open_interest: Count
    title: str = ""
    yes_sub_title: str = ""
    no_sub_title: str = ""
    market_type: str = "binary"
    result: str = ""
    can_close_early: bool = False
    latest_expiration_time_ms: int | None = None
    settlement_value: Price | None = None
    settlement_ts_ms: int | None = None
    settlement_timer_seconds: int | None = None
    exchange_index: int = 0

    @property
    def is_active(self) -> bool:
        return self.status is MarketStatus.ACTIVE

    @classmethod
    def from_wire(cls, raw: object) -> Market:
        f = Fields(raw, "Market")
        status_text = f.text("status")
        try:
            status = MarketStatus(status_text)
        except ValueError:
            status = MarketStatus.UNKNOWN
        return cls(
            ticker=f.text("ticker"),
            event_ticker=f.text("event_ticker"),
            status=status,
            open_time_ms=f.time_ms("open_time"),
            close_time_ms=f.time_ms("close_time"),
            grid=_grid(f),
            yes_bid=f.price("yes_bid_dollars"),
            yes_ask=f.price("yes_ask_dollars"),
            no_bid=f.price("no_bid_dollars"),
            no_ask=f.price("no_ask_dollars"),
            yes_bid_size=f.count("yes_bid_size_fp"),
            yes_ask_size=f.count("yes_ask_size_fp"),
            last_price=f.price("last_price_dollars"),
            volume=f.count("volume_fp"),
            volume_24h=f.opt_count("volume_24h_fp") or Count(0),
            open_interest=f.count("open_interest_fp"),
            title=f.opt_text("title", "") or "",
            yes_sub_title=f.opt_text("yes_sub_title", "") or "",
            no_sub_title=f.opt_text("no_sub_title", "") or "",
            market_type=f.opt_text("market_type", "binary") or "binary",
            result=f.opt_text("result", "") or "",
            can_close_early=f.opt_flag("can_close_early"),
            latest_expiration_time_ms=f.opt_time_ms("latest_expiration_time"),
            settlement_value=f.opt_price("settlement_value_dollars"),
            settlement_ts_ms=f.opt_time_ms("settlement_ts"),
            settlement_timer_seconds=f.opt_integer("settlement_timer_seconds"),
            exchange_index=f.opt_integer("exchange_index", 0) or 0,
        )


def _levels(f: Fields, name: str) -> tuple[Level, ...]:
    levels: list[Level] = []
    for i, item in enumerate(f.opt_array(name)):
        where = f"{f.what}.{name}[{i}]"
        if not isinstance(item, list) or len(item) != 2:
            raise WireFormatError(f"{where}: expected [price, count]")
        pair = Fields({"price": item[0], "count": item[1]}, where)
        levels.append((pair.price("price"), pair.count("count")))
    return tuple(sorted(levels))


@dataclass(frozen=True, slots=True)
class Orderbook:
    """Aggregated bids of one market: YES bids and NO bids (NO-leg prices), ascending."""

    ticker: str
    yes: tuple[Level, ...]
    no: tuple[Level, ...]

    @property
    def best_yes_bid(self) -> Price | None:
        return self.yes[-1][0] if self.yes else None

    @property
    def best_no_bid(self) -> Price | None:
        return self.no[-1][0] if self.no else None

    @property
    def best_yes_ask(self) -> Price | None:
        """The YES price one can buy at: 1 - best NO bid."""
        return self.no[-1][0].complement() if self.no else None

    @property
    def best_no_ask(self) -> Price | None:
        return self.yes[-1][0].complement() if self.yes else None

    @classmethod
    def from_wire(cls, ticker: str, raw: object) -> Orderbook:
        """``raw`` is the ``orderbook_fp`` object: ``{"yes_dollars": [...], "no_dollars": [...]}``."""
        f = Fields(raw, f"Orderbook[{ticker}]")
        return cls(ticker, _levels(f, "yes_dollars"), _levels(f, "no_dollars"))


def exact_number(f: Fields, name: str) -> Fraction:
    """A JSON number (``fee_multiplier``) as an exact ``Fraction``, read from its decimal text.

    ``json`` hands over a float; its ``repr`` is the shortest decimal text that reads back as the
    same float, which is the text Kalshi sent for any number of up to 15 significant digits
    (``1.5`` -> ``"1.5"`` -> 3/2, ``0.1`` -> 1/10, never 0.1000000000000000055...). An integer is
    taken as is and a decimal string is accepted too; booleans, NaN and infinities are errors.
    """
    value = f.raw.get(name)
    if value is None:
        raise WireFormatError(f"{f.what}.{name}: missing required field")
    if isinstance(value, bool):
        raise WireFormatError(f"{f.what}.{name}: expected a number, got a boolean")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        text = repr(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise WireFormatError(f"{f.what}.{name}: expected a number, got {type(value).__name__}")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise WireFormatError(f"{f.what}.{name}: {text!r} is not a decimal number") from None
    if not number.is_finite():
        raise WireFormatError(f"{f.what}.{name}: {text!r} is not a finite number")
    return Fraction(number)


def opt_exact_number(f: Fields, name: str) -> Fraction | None:
    return exact_number(f, name) if f.has(name) else None


@dataclass(frozen=True, slots=True)
class Series:
    """A series (reference §4.7): the fee schedule every market of its events trades under."""

    ticker: str
    fee_type: FeeType
    fee_multiplier: Fraction
    title: str = ""
    frequency: str = ""
    category: str = ""

    @classmethod
    def from_wire(cls, raw: object) -> Series:
        f = Fields(raw, "Series")
        return cls(
            ticker=f.text("ticker"),
            fee_type=f.enum("fee_type", FeeType),
            fee_multiplier=exact_number(f, "fee_multiplier"),
            title=f.opt_text("title", "") or "",
            frequency=f.opt_text("frequency", "") or "",
            category=f.opt_text("category", "") or "",
        )


@dataclass(frozen=True, slots=True)
class EventData:
    """An event. ``fee_type_override`` stays the wire text (a value this client does not know must
    not break event listings); ``None`` for both overrides means the series' fees apply."""

    event_ticker: str
    series_ticker: str
    title: str = ""
    sub_title: str = ""
    mutually_exclusive: bool = False
    markets: tuple[Market, ...] = ()
    exchange_index: int = 0
    fee_type_override: str | None = None
    fee_multiplier_override: Fraction | None = None

    @classmethod
    def from_wire(cls, raw: object, markets: tuple[Market, ...] | None = None) -> EventData:
        """``markets`` overrides the nested ``markets`` field (``GET /events/{t}`` lists them apart)."""
        f = Fields(raw, "EventData")
        nested = tuple(Market.from_wire(m) for m in f.opt_array("markets"))
        return cls(
            event_ticker=f.text("event_ticker"),
            series_ticker=f.text("series_ticker"),
            title=f.opt_text("title", "") or "",
            sub_title=f.opt_text("sub_title", "") or "",
            mutually_exclusive=f.opt_flag("mutually_exclusive"),
            markets=markets if markets is not None and not nested else nested,
            exchange_index=f.opt_integer("exchange_index", 0) or 0,
            fee_type_override=f.opt_text("fee_type_override"),
            fee_multiplier_override=opt_exact_number(f, "fee_multiplier_override"),
        )


def orderbooks_from_wire(raw: object) -> dict[str, Orderbook]:
    """``GET /markets/orderbooks``: ``{"orderbooks": [{"ticker", "orderbook_fp"}]}`` by ticker."""
    f = Fields(raw, "GetMultipleOrderbooksResponse")
    books: dict[str, Orderbook] = {}
    for i, item in enumerate(f.array("orderbooks")):
        entry = Fields(item, f"orderbooks[{i}]")
        ticker = entry.text("ticker")
        books[ticker] = Orderbook.from_wire(ticker, entry.obj("orderbook_fp").raw)
    return books
