"""Which markets to watch: selection from the market list, and the subscription diff on refresh.

Pure functions over typed markets and a time, so the rules are testable without an exchange:

* the *pool* is the explicitly named tickers plus every market of the named series and events;
  with nothing named, the pool is every market given;
* a market is *eligible* when its status is tradable (``active`` by default) and it does not close
  within ``closing_window_s`` of now (a market about to close is no place to open a position; the
  exit rules handle what is already held);
* explicitly named tickers that are eligible are always selected; the rest of the pool is ranked by
  volume (ties by ticker, so the choice is deterministic) and the best ``top_n`` are added;
* ``pinned`` tickers (markets where we hold a position or a resting order) stay selected whatever
  their status or close time, so the books the exit rules need are never unsubscribed.

Every market left out is reported with a reason code: decisions are data.

``MarketInfo`` states the few fields this module reads; ``exchange.models_market.Market`` and any
adapter with them fit. A market's series is its ``series_ticker`` attribute when the object has one,
otherwise the event ticker's prefix before the first ``-`` (Kalshi's naming: event ``KXHIGHNY-24JAN01``
belongs to series ``KXHIGHNY``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.units import Count


class MarketInfo(Protocol):
    """The market fields discovery needs (read-only)."""

    @property
    def ticker(self) -> str: ...

    @property
    def event_ticker(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def close_time_ms(self) -> int: ...

    @property
    def volume(self) -> Count: ...

    @property
    def grid(self) -> PriceGrid: ...


@dataclass(frozen=True, slots=True)
class DiscoveryConfig:
    """How markets are chosen.

    ``tickers`` (default none): markets always watched while eligible.
    ``series_tickers`` / ``event_tickers`` (default none): restrict the ranked pool to these series
    and events. With no tickers, series or events the pool is every market.
    ``top_n`` (default 20): how many markets of the pool to add, by volume; ``None`` means all.
    ``closing_window_s`` (default 300 s): skip markets closing within this many seconds.
    ``tradable_statuses`` (default ``("active",)``): market statuses that can be selected.
    """

    tickers: tuple[str, ...] = ()
    series_tickers: tuple[str, ...] = ()
    event_tickers: tuple[str, ...] = ()
    top_n: int | None = 20
    closing_window_s: int = 300
    tradable_statuses: tuple[str, ...] = ("active",)

    def __post_init__(self) -> None:
        if self.top_n is not None and self.top_n < 0:
            raise ValueError("top_n must be >= 0 or None")
        if self.closing_window_s < 0:
            raise ValueError("closing_window_s must be >= 0")


class SkipReason(StrEnum):
    NOT_TRADABLE = "not_tradable"  # status outside tradable_statuses
    CLOSING_SOON = "closing_soon"  # closes within closing_window_s
    BELOW_TOP_N = "below_top_n"  # eligible but outranked by volume


@dataclass(frozen=True, slots=True)
class SkippedMarket:
    ticker: str
    reason: SkipReason


@dataclass(frozen=True, slots=True)
class MarketSelection:
    """The chosen markets (explicit and pinned first, then by volume) and why others were left out.

    ``missing`` lists explicitly named or pinned tickers that were not in the market list at all.
    """

    markets: tuple[MarketInfo, ...]
    skipped: tuple[SkippedMarket, ...]
    missing: tuple[str, ...]

    @property
    def tickers(self) -> tuple[str, ...]:
        return tuple(m.ticker for m in self.markets)

    def grids(self) -> dict[str, PriceGrid]:
        """Ticker -> price grid, what ``BookStore.register`` needs for each subscription."""
        return {m.ticker: m.grid for m in self.markets}


@dataclass(frozen=True, slots=True)
class DiscoveryPlan:
    """Subscription changes that turn the current selection into the new one (sorted tickers)."""

    to_subscribe: tuple[str, ...]
    to_unsubscribe: tuple[str, ...]
    unchanged: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        return not self.to_subscribe and not self.to_unsubscribe


def skip_reason(market: MarketInfo, config: DiscoveryConfig, now_ms: int) -> SkipReason | None:
    """Why ``market`` may not be selected now (None when it is eligible)."""
    if market.status not in config.tradable_statuses:
        return SkipReason.NOT_TRADABLE
    if market.close_time_ms - now_ms <= config.closing_window_s * 1000:
        return SkipReason.CLOSING_SOON
    return None


def series_of(market: MarketInfo) -> str:
    """The market's series ticker: its own field when present, else the event ticker's prefix."""
    series = getattr(market, "series_ticker", None)
    if isinstance(series, str) and series:
        return series
    return market.event_ticker.split("-", 1)[0]


def _in_pool(market: MarketInfo, config: DiscoveryConfig) -> bool:
    if not (config.tickers or config.series_tickers or config.event_tickers):
        return True
    return (
        market.event_ticker in config.event_tickers
        or market.ticker in config.tickers
        or (bool(config.series_tickers) and series_of(market) in config.series_tickers)
    )


def select_markets(
    markets: Iterable[MarketInfo],
    config: DiscoveryConfig,
    now_ms: int,
    pinned: Iterable[str] = (),
) -> MarketSelection:
    """Choose the markets to watch from ``markets`` at clock time ``now_ms`` (see module docstring)."""
    by_ticker: dict[str, MarketInfo] = {}
    for market in markets:
        by_ticker.setdefault(market.ticker, market)
    pinned_set = set(pinned)
    explicit = set(config.tickers)
    chosen: dict[str, MarketInfo] = {}
    skipped: list[SkippedMarket] = []

    named = list(dict.fromkeys([*sorted(pinned_set), *config.tickers]))
    for ticker in named:
        wanted = by_ticker.get(ticker)
        if wanted is None:
            continue
        reason = None if ticker in pinned_set else skip_reason(wanted, config, now_ms)
        if reason is None:
            chosen[ticker] = wanted
        else:
            skipped.append(SkippedMarket(ticker, reason))

    ranked: list[MarketInfo] = []
    for ticker, market in by_ticker.items():
        if ticker in chosen or ticker in explicit or not _in_pool(market, config):
            continue
        reason = skip_reason(market, config, now_ms)
        if reason is None:
            ranked.append(market)
        else:
            skipped.append(SkippedMarket(ticker, reason))
    ranked.sort(key=lambda m: (-int(m.volume), m.ticker))
    limit = len(ranked) if config.top_n is None else config.top_n
    for market in ranked[:limit]:
        chosen[market.ticker] = market
    skipped.extend(SkippedMarket(m.ticker, SkipReason.BELOW_TOP_N) for m in ranked[limit:])

    missing = tuple(t for t in named if t not in by_ticker)
    return MarketSelection(tuple(chosen.values()), tuple(skipped), missing)


def plan_refresh(current: Iterable[str], selected: Sequence[str] | MarketSelection) -> DiscoveryPlan:
    """The diff between the tickers subscribed now and a new selection."""
    new = set(selected.tickers if isinstance(selected, MarketSelection) else selected)
    old = set(current)
    return DiscoveryPlan(
        to_subscribe=tuple(sorted(new - old)),
        to_unsubscribe=tuple(sorted(old - new)),
        unchanged=tuple(sorted(old & new)),
    )
