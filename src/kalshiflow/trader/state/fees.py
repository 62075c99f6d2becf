"""Which fee schedule each market trades under: ticker -> (``FeeType``, exact multiplier).

Kalshi sets fees per *series* (``fee_type``, ``fee_multiplier``; reference §4.7, §12.1) and an
event may override either (``fee_type_override``, ``fee_multiplier_override``; §4.6). The ledger
needs them to estimate what a resting order holds back, the exit rules to estimate closing fees.

Resolution, per market: ``GET /events/{event_ticker}`` (without nested markets) gives the event's
``series_ticker`` and its overrides; ``GET /series/{series_ticker}`` gives the series' fees. The
series ticker is taken from the event, not guessed from the event ticker's prefix: the prefix rule
holds for most of Kalshi's tickers but is a naming convention, not a contract, and the event is
needed anyway for its overrides. Each distinct event and series is fetched once and cached, so
resolving many markets of one event costs two reads, and markets added later cost nothing when
their event or series is already known.

A market whose fees could not be read (an exchange error, a malformed answer, a fee type this client
does not know) keeps the default (``quadratic``, x1) and is retried on the next ``load``; the
estimate it feeds is corrected by the next calibration either way.

Fee changes the exchange schedules (``/series/fee_changes``, ``/events/fee_changes``) are followed
by ``follow_changes``, which the trader calls on every calibration: each change whose time has
come is applied once (by id, in scheduled order) to the cached series or event, and the markets of
the events it touches get their new terms. A change of a fee type this client does not know is
skipped (the old terms stay, the failure is recorded).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from fractions import Fraction
from typing import Final, Protocol

from kalshiflow.domain.fees import FeeType
from kalshiflow.exchange.errors import ExchangeError
from kalshiflow.exchange.models_account import EventFeeChange, SeriesFeeChange
from kalshiflow.exchange.models_market import EventData, Market, Series

log = logging.getLogger(__name__)

FeeTerms = tuple[FeeType, Fraction]
DEFAULT_FEE_TERMS: Final[FeeTerms] = (FeeType.QUADRATIC, Fraction(1))


class FeeSource(Protocol):
    """The two reads the schedule needs (``KalshiRestClient`` has both)."""

    async def event(self, event_ticker: str, with_nested_markets: bool = True) -> EventData: ...

    async def series(self, series_ticker: str) -> Series: ...


class FeeChangeSource(FeeSource, Protocol):
    """The reads ``follow_changes`` needs (``KalshiRestClient`` has them all)."""

    async def series_fee_changes(
        self, *, series_ticker: str | None = None, show_historical: bool = False
    ) -> list[SeriesFeeChange]: ...

    async def event_fee_changes(self, *, event_ticker: str | None = None) -> list[EventFeeChange]: ...


Overrides = tuple[FeeType | None, Fraction | None]


class FeeSchedule:
    """``schedule(ticker)`` -> the market's ``(FeeType, multiplier)``; the default until resolved."""

    def __init__(self, default: FeeTerms = DEFAULT_FEE_TERMS) -> None:
        self.default = default
        self._by_ticker: dict[str, FeeTerms] = {}
        self._by_event: dict[str, FeeTerms] = {}
        self._series: dict[str, Series] = {}
        self._event_series: dict[str, str] = {}  # event_ticker -> series_ticker
        self._ticker_events: dict[str, str] = {}  # ticker -> event_ticker, of resolved markets
        self._overrides: dict[str, Overrides] = {}  # event_ticker -> (type, multiplier) overrides
        self._applied: set[str] = set()  # ids of fee changes already applied
        self.failures: dict[str, str] = {}  # event_ticker -> why its fees could not be read (last try)

    def __call__(self, ticker: str) -> FeeTerms:
        return self._by_ticker.get(ticker, self.default)

    def knows(self, ticker: str) -> bool:
        return ticker in self._by_ticker

    def set(self, ticker: str, fee_type: FeeType, multiplier: Fraction = Fraction(1)) -> None:
        """Fix a market's fees by hand (tests, or a caller that already knows them)."""
        self._by_ticker[ticker] = (fee_type, Fraction(multiplier))

    async def load(self, rest: FeeSource, markets: Iterable[Market]) -> int:
        """Resolve the markets not known yet; returns how many were resolved by this call."""
        pending: dict[str, list[str]] = {}
        for market in markets:
            if market.ticker not in self._by_ticker:
                pending.setdefault(market.event_ticker, []).append(market.ticker)
        resolved = 0
        for event_ticker, tickers in pending.items():
            try:
                terms = await self._event_terms(rest, event_ticker)
            except (ExchangeError, ValueError, OSError, TimeoutError) as exc:
                self.failures[event_ticker] = str(exc)
                log.warning(
                    "fees.unresolved event %s (%d markets keep %s x%s): %s",
                    event_ticker,
                    len(tickers),
                    self.default[0].value,
                    self.default[1],
                    exc,
                )
                continue
            self.failures.pop(event_ticker, None)
            for ticker in tickers:
                self._by_ticker[ticker] = terms
                self._ticker_events[ticker] = event_ticker
            resolved += len(tickers)
        return resolved

    async def follow_changes(self, rest: FeeChangeSource, now_ms: int) -> int:
        """Apply every scheduled fee change due by ``now_ms`` and not applied yet, for the series
        and events already resolved; returns how many markets got new terms. A failed read changes
        nothing (it is logged; the next call retries)."""
        try:
            series_changes = await rest.series_fee_changes(show_historical=True)
            event_changes = await rest.event_fee_changes()
            return await self._follow(rest, [*series_changes, *event_changes], now_ms)
        except (ExchangeError, ValueError, OSError, TimeoutError) as exc:
            log.warning("fees.changes_unread: %s", exc)
            return 0

    async def _follow(
        self, rest: FeeChangeSource, every: list[SeriesFeeChange | EventFeeChange], now_ms: int
    ) -> int:
        due = [c for c in every if c.scheduled_ms <= now_ms and c.change_id not in self._applied]
        touched: set[str] = set()
        for change in sorted(due, key=lambda c: c.scheduled_ms):
            self._applied.add(change.change_id)
            if isinstance(change, SeriesFeeChange):
                touched |= self._apply_series_change(change)
            else:
                touched |= self._apply_event_change(change)
        changed = 0
        for event_ticker in touched:
            terms = await self._combine(rest, event_ticker)
            self._by_event[event_ticker] = terms
            for ticker, event_of_ticker in self._ticker_events.items():
                if event_of_ticker == event_ticker and self._by_ticker.get(ticker) != terms:
                    self._by_ticker[ticker] = terms
                    changed += 1
        return changed

    def _apply_series_change(self, change: SeriesFeeChange) -> frozenset[str]:
        series = self._series.get(change.series_ticker)
        if series is None:
            return frozenset()  # no market of this series is traded: nothing cached to correct
        if change.fee_type is None:
            self.failures[change.series_ticker] = f"fee change {change.change_id}: unknown fee type"
            return frozenset()
        self._series[change.series_ticker] = replace(
            series, fee_type=change.fee_type, fee_multiplier=change.fee_multiplier
        )
        return frozenset(e for e, s in self._event_series.items() if s == change.series_ticker)

    def _apply_event_change(self, change: EventFeeChange) -> frozenset[str]:
        if change.event_ticker not in self._event_series:
            return frozenset()
        try:
            fee_type = None if change.fee_type_override is None else FeeType(change.fee_type_override)
        except ValueError:
            self.failures[change.event_ticker] = f"fee change {change.change_id}: unknown fee type"
            return frozenset()
        self._overrides[change.event_ticker] = (fee_type, change.fee_multiplier_override)
        return frozenset({change.event_ticker})

    async def _combine(self, rest: FeeSource, event_ticker: str) -> FeeTerms:
        """The event's overrides over its series' fees; the series is read (once) only if needed."""
        type_override, mult_override = self._overrides.get(event_ticker, (None, None))
        if type_override is not None and mult_override is not None:
            return type_override, mult_override
        series_ticker = self._event_series[event_ticker]
        series = self._series.get(series_ticker)
        if series is None:
            series = self._series[series_ticker] = await rest.series(series_ticker)
        return (
            series.fee_type if type_override is None else type_override,
            series.fee_multiplier if mult_override is None else mult_override,
        )

    async def _event_terms(self, rest: FeeSource, event_ticker: str) -> FeeTerms:
        known = self._by_event.get(event_ticker)
        if known is not None:
            return known
        event = await rest.event(event_ticker, with_nested_markets=False)
        type_override = None if event.fee_type_override is None else FeeType(event.fee_type_override)
        self._event_series[event_ticker] = event.series_ticker
        self._overrides[event_ticker] = (type_override, event.fee_multiplier_override)
        terms = await self._combine(rest, event_ticker)
        self._by_event[event_ticker] = terms
        return terms
