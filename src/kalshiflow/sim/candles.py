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

    def step(self, value: int) -> Ohlc:
        return Ohlc(self.open, max(self.high, value), min(self.low, value), value)

    def merge(self, later: Ohlc) -> Ohlc:
        return Ohlc(self.open, max(self.high, later.high), min(self.low, later.low), later.close)

    @classmethod
    def flat(cls, value: int) -> Ohlc:
        return cls(value, value, value, value)


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


@dataclass(slots=True)
class _MarketCandles:
    minutes: deque[Candle] = field(default_factory=lambda: deque(maxlen=MAX_MINUTES_PER_MARKET))
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
        market = self.engine.markets.get(ticker)
        if book is None or market is None:
            return
        bid = book.best_yes_bid() or 0
        ask = book.best_yes_ask()
        ask = PRICE_SCALE if ask is None else ask
        state = self._markets.get(ticker)
        if state is None:
            state = self._markets[ticker] = _MarketCandles()
        end_s = (ts_ms // 1000 // MINUTE_S + 1) * MINUTE_S
        minutes = state.minutes
        if minutes and minutes[-1].end_s == end_s:
            current = minutes.pop()
            price = current.price
            if trade_price is not None:
                price = Ohlc.flat(trade_price) if price is None else price.step(trade_price)
            current = replace(
                current,
                yes_bid=current.yes_bid.step(bid),
                yes_ask=current.yes_ask.step(ask),
                price=price,
                notional=current.notional + (trade_price or 0) * count,
                volume=current.volume + count,
                open_interest=market.open_interest,
            )
        else:
            prev = minutes[-1] if minutes else None
            # Books start empty and the recorder sees every change, so a first minute opens empty.
            bid_open = prev.yes_bid.close if prev else 0
            ask_open = prev.yes_ask.close if prev else PRICE_SCALE
            current = Candle(
                end_s,
                Ohlc(bid_open, max(bid_open, bid), min(bid_open, bid), bid),
                Ohlc(ask_open, max(ask_open, ask), min(ask_open, ask), ask),
                None if trade_price is None else Ohlc.flat(trade_price),
                (trade_price or 0) * count,
                count,
                market.open_interest,
                state.last_price,
            )
        minutes.append(current)
        if trade_price is not None:
            state.last_price = trade_price

    def candles(self, ticker: str, start_s: int, end_s: int, period_min: int) -> list[Candle]:
        """Candles of ``period_min`` minutes whose end lies in ``[start_s, end_s]``, oldest first."""
        state = self._markets.get(ticker)
        if state is None:
            return []
        length = period_min * MINUTE_S
        out: list[Candle] = []
        for minute in state.minutes:
            period_end = -(-minute.end_s // length) * length
            if period_end < start_s:
                continue
            if period_end > end_s:
                break
            if out and out[-1].end_s == period_end:
                out[-1] = out[-1].merge(minute, period_end)
            else:
                out.append(replace(minute, end_s=period_end))
        return out
