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
estimate it feeds is corrected by the next calibration either way. Fee changes the exchange
schedules later (``/series/fee_changes``, ``event_fee_update``) are not followed: a cached entry
stays until the process restarts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from fractions import Fraction
from typing import Final, Protocol

from kalshiflow.domain.fees import FeeType
from kalshiflow.exchange.errors import ExchangeError
from kalshiflow.exchange.models_market import EventData, Market, Series

log = logging.getLogger(__name__)

FeeTerms = tuple[FeeType, Fraction]
DEFAULT_FEE_TERMS: Final[FeeTerms] = (FeeType.QUADRATIC, Fraction(1))


class FeeSource(Protocol):
    """The two reads the schedule needs (``KalshiRestClient`` has both)."""

    async def event(self, event_ticker: str, with_nested_markets: bool = True) -> EventData: ...

    async def series(self, series_ticker: str) -> Series: ...


class FeeSchedule:
    """``schedule(ticker)`` -> the market's ``(FeeType, multiplier)``; the default until resolved."""

    def __init__(self, default: FeeTerms = DEFAULT_FEE_TERMS) -> None:
        self.default = default
        self._by_ticker: dict[str, FeeTerms] = {}
        self._by_event: dict[str, FeeTerms] = {}
        self._series: dict[str, Series] = {}
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
            resolved += len(tickers)
        return resolved

    async def _event_terms(self, rest: FeeSource, event_ticker: str) -> FeeTerms:
        known = self._by_event.get(event_ticker)
        if known is not None:
            return known
        event = await rest.event(event_ticker, with_nested_markets=False)
        type_override = None if event.fee_type_override is None else FeeType(event.fee_type_override)
        mult_override = event.fee_multiplier_override
        if type_override is not None and mult_override is not None:
            terms = (type_override, mult_override)
        else:
            series = self._series.get(event.series_ticker)
            if series is None:
                series = await rest.series(event.series_ticker)
                self._series[event.series_ticker] = series
            terms = (
                series.fee_type if type_override is None else type_override,
                series.fee_multiplier if mult_override is None else mult_override,
            )
        self._by_event[event_ticker] = terms
        return terms
