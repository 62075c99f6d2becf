"""Per-market one-minute candles recorded from the engine's events, aggregated on request.

Kalshi serves OHLC candlesticks of the YES bid, the YES ask and the traded price (``GET
.../candlesticks``). The simulator keeps no quote history otherwise, so ``CandleRecorder`` listens
to the engine and folds every book change and trade into the current minute of its market; a
request aggregates those minutes into 1-minute, 1-hour or 1-day periods.

Invariants and choices:

* A period is ``(end - length, end]`` in Unix seconds with ``end`` on a multiple of its length
  (``end_period_ts``), as Kalshi labels candles by their inclusive end.
* Only minutes in which something happened are kept (a quiet market costs nothing); a period with
  no recorded minute has no candle.
* A minute opens at the previous minute's close (bid, ask), so OHLC series chain; a market's first
  minute opens at the empty book (the recorder is created with the exchange, before any listing).
* Prices are exact integers ($0.0001); the mean traded price is the volume-weighted mean, floored
  to $0.0001. An empty YES bid is 0 and an empty YES ask is $1, as in the ``ticker`` channel.
* At most ``MAX_MINUTES_PER_MARKET`` minutes are kept per market (oldest dropped).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Final

from kalshiflow.domain.units import PRICE_SCALE
from kalshiflow.sim.events import BookDelta, EngineEvent, TradeEvent

if TYPE_CHECKING:
    from kalshiflow.sim.engine import Engine

MINUTE_S: Final = 60
PERIODS_MIN: Final = frozenset({1, 60, 1440})
MAX_MINUTES_PER_MARKET: Final = 7 * 1440


@dataclass(frozen=True, slots=True)
class Ohlc:
    open: int
    high: int
    low: int
    close: int

    def merge(self, later: Ohlc) -> Ohlc:
        return Ohlc(self.open, max(self.high, later.high), min(self.low, later.low), later.close)


@dataclass(frozen=True, slots=True)
class Candle:
    """One period of one market. ``price`` is None when nothing traded in the period."""

    end_s: int
    yes_bid: Ohlc
    yes_ask: Ohlc
    price: Ohlc | None
    notional: int  # sum of price x count (Money units) of the period's trades
    volume: int  # 0.01 contracts traded
    open_interest: int  # at the end of the period
    previous_price: int | None  # last traded price before the period

    @property
    def mean_price(self) -> int | None:
        return None if self.volume == 0 else self.notional // self.volume

    def merge(self, later: Candle, end_s: int) -> Candle:
        if self.price is None:
            price = later.price
        elif later.price is None:
            price = self.price
        else:
            price = self.price.merge(later.price)
        return Candle(
            end_s,
            self.yes_bid.merge(later.yes_bid),
            self.yes_ask.merge(later.yes_ask),
            price,
            self.notional + later.notional,
            self.volume + later.volume,
            later.open_interest,
            self.previous_price,
        )


class _Minute:
    """The minute being recorded, updated in place (the engine's hot path pays for this)."""

    __slots__ = (
        "ask_c", "ask_h", "ask_l", "ask_o", "bid_c", "bid_h", "bid_l", "bid_o", "end_s",
        "notional", "open_interest", "previous", "px_c", "px_h", "px_l", "px_o", "volume",
    )  # fmt: skip

    def __init__(self, end_s: int, bid_open: int, ask_open: int, previous: int | None) -> None:
        self.end_s = end_s
        self.bid_o = self.bid_h = self.bid_l = self.bid_c = bid_open
        self.ask_o = self.ask_h = self.ask_l = self.ask_c = ask_open
        self.px_o = self.px_h = self.px_l = self.px_c = -1  # -1: nothing traded yet
        self.notional = self.volume = self.open_interest = 0
        self.previous = previous

    def observe(self, bid: int, ask: int, open_interest: int) -> None:
        self.bid_c, self.ask_c, self.open_interest = bid, ask, open_interest
        if bid > self.bid_h:
            self.bid_h = bid
        elif bid < self.bid_l:
            self.bid_l = bid
        if ask > self.ask_h:
            self.ask_h = ask
        elif ask < self.ask_l:
            self.ask_l = ask

    def trade(self, price: int, count: int) -> None:
        if self.px_o < 0:
            self.px_o = self.px_h = self.px_l = price
        else:
            self.px_h, self.px_l = max(self.px_h, price), min(self.px_l, price)
        self.px_c = price
        self.notional += price * count
        self.volume += count

    def candle(self) -> Candle:
        traded = self.px_o >= 0
        return Candle(
            self.end_s,
            Ohlc(self.bid_o, self.bid_h, self.bid_l, self.bid_c),
            Ohlc(self.ask_o, self.ask_h, self.ask_l, self.ask_c),
            Ohlc(self.px_o, self.px_h, self.px_l, self.px_c) if traded else None,
            self.notional,
            self.volume,
            self.open_interest,
            self.previous,
        )


@dataclass(slots=True)
class _MarketCandles:
    minutes: deque[_Minute] = field(default_factory=lambda: deque(maxlen=MAX_MINUTES_PER_MARKET))
    last_price: int | None = None  # last traded price, for ``previous_price``


class CandleRecorder:
    """Listens to one engine; ``candles`` answers a period query for one market."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._markets: dict[str, _MarketCandles] = {}
        engine.add_listener(self.on_event)

    def on_event(self, event: EngineEvent) -> None:
        if isinstance(event, BookDelta):
            self._touch(event.ticker, event.ts_ms, None, 0)
        elif isinstance(event, TradeEvent):
            self._touch(event.ticker, event.ts_ms, event.yes_price, event.count)

    def _touch(self, ticker: str, ts_ms: int, trade_price: int | None, count: int) -> None:
        book = self.engine.books.get(ticker)
        if book is None:
            return
        state = self._markets.get(ticker)
        if state is None:
            state = self._markets[ticker] = _MarketCandles()
        end_s = (ts_ms // 60_000 + 1) * MINUTE_S
        minutes = state.minutes
        current = minutes[-1] if minutes else None
        if current is None or current.end_s != end_s:
            # Books start empty and the recorder sees every change, so a first minute opens empty.
            bid_open = current.bid_c if current else 0
            ask_open = current.ask_c if current else PRICE_SCALE
            current = _Minute(end_s, bid_open, ask_open, state.last_price)
            minutes.append(current)
        best_no = book.no.best()
        current.observe(
            book.yes.best() or 0,
            PRICE_SCALE if best_no is None else PRICE_SCALE - best_no,
            self.engine.markets[ticker].open_interest,
        )
        if trade_price is not None:
            current.trade(trade_price, count)
            state.last_price = trade_price

    def candles(self, ticker: str, start_s: int, end_s: int, period_min: int) -> list[Candle]:
        """Candles of ``period_min`` minutes whose end lies in ``[start_s, end_s]``, oldest first."""
        state = self._markets.get(ticker)
        if state is None:
            return []
        length = period_min * MINUTE_S
        out: list[Candle] = []
        for recorded in state.minutes:
            period_end = -(-recorded.end_s // length) * length
            if period_end < start_s:
                continue
            if period_end > end_s:
                break
            minute = recorded.candle()
            if out and out[-1].end_s == period_end:
                out[-1] = out[-1].merge(minute, period_end)
            else:
                out.append(replace(minute, end_s=period_end))
        return out
