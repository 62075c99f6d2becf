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

Fee changes are followed live, at their effective time. Kalshi announces them ahead of time
(``/series/fee_changes`` lists the pending series changes, ``/events/fee_changes`` the event
override changes, each with its ``scheduled_ts``); only event overrides are also pushed
(``event_fee_update`` on ``market_lifecycle_v2``, §11), and a push arrives after the fact, so the
scheduled lists are the one source that covers both and lets the switch happen on time.
``follow_changes`` (called at every calibration) reads both lists, applies what is due and keeps
the rest as pending (a change no longer listed is withdrawn; a listed one's latest time and terms
are kept), with the series it will need already read; the pending changes then take
effect when the trader's clock reaches their ``scheduled_ts``: the first lookup at or after that
time applies them (synchronously, no read on that path), so the ledger's reservations, the risk
checks and the policies' fee estimates switch at that moment, not at the next calibration. A
pushed ``event_fee_update`` goes to ``apply_override`` and is in force at once: it covers an
override set without notice, or announced after the last calibration.
``version`` moves whenever any market's terms change, so a cache of terms (the core's market
views) knows to rebuild. Each change is applied once (by id, in scheduled order); a change of a
fee type this client does not know is skipped (the old terms stay, the failure is recorded).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from fractions import Fraction
from typing import Final, Protocol

from kalshiflow.clock import Clock
from kalshiflow.domain.fees import FeeType
from kalshiflow.exchange.errors import ExchangeError, poll_log_level
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
FeeChange = SeriesFeeChange | EventFeeChange


class FeeSchedule:
    """``schedule(ticker)`` -> the market's ``(FeeType, multiplier)``; the default until resolved.

    With a ``clock``, pending fee changes take effect at their scheduled time on it (without one,
    at the next ``advance`` or ``follow_changes`` call).
    """

    def __init__(self, default: FeeTerms = DEFAULT_FEE_TERMS, clock: Clock | None = None) -> None:
        self.default = default
        self.clock = clock
        self._version = 0  # moves whenever a market's terms change
        self._pending: list[FeeChange] = []  # known, not due yet, by scheduled time
        self._by_ticker: dict[str, FeeTerms] = {}
        self._by_event: dict[str, FeeTerms] = {}
        self._series: dict[str, Series] = {}
        self._event_series: dict[str, str] = {}  # event_ticker -> series_ticker
        self._ticker_events: dict[str, str] = {}  # ticker -> event_ticker, of resolved markets
        self._overrides: dict[str, Overrides] = {}  # event_ticker -> (type, multiplier) overrides
        self._applied: set[str] = set()  # ids of fee changes already applied
        self.failures: dict[str, str] = {}  # event_ticker -> why its fees could not be read (last try)

    def __call__(self, ticker: str) -> FeeTerms:
        self._catch_up()
        return self._by_ticker.get(ticker, self.default)

    @property
    def version(self) -> int:
        """Changes whenever any market's terms change (pending changes that fell due included)."""
        self._catch_up()
        return self._version

    @property
    def pending(self) -> tuple[FeeChange, ...]:
        """The known changes not in force yet, by scheduled time."""
        return tuple(self._pending)

    def _catch_up(self) -> None:
        pending = self._pending
        if pending and self.clock is not None:
            now_ms = self.clock.now_ms()
            if pending[0].scheduled_ms <= now_ms:
                self.advance(now_ms)

    def knows(self, ticker: str) -> bool:
        return ticker in self._by_ticker

    def set(self, ticker: str, fee_type: FeeType, multiplier: Fraction = Fraction(1)) -> None:
        """Fix a market's fees by hand (tests, or a caller that already knows them)."""
        self._by_ticker[ticker] = (fee_type, Fraction(multiplier))
        self._version += 1

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
        if resolved:
            self._version += 1
        return resolved

    async def follow_changes(self, rest: FeeChangeSource, now_ms: int) -> int:
        """Learn the scheduled fee changes, apply those due by ``now_ms`` and keep the others
        pending (they apply at their time); returns how many markets got new terms now. A failed
        read changes nothing (it is logged; the next call retries)."""
        try:
            series_changes = await rest.series_fee_changes(show_historical=True)
            event_changes = await rest.event_fee_changes()
            every: list[FeeChange] = [*series_changes, *event_changes]
            listed = {c.change_id: c for c in every}
            waiting = [listed[c.change_id] for c in self._pending if c.change_id in listed]
            known = self._applied | {c.change_id for c in waiting}
            fresh = [c for c in listed.values() if c.change_id not in known]
            await self._read_series_for(rest, [*waiting, *fresh])
        except (ExchangeError, ValueError, OSError, TimeoutError) as exc:
            log.log(poll_log_level(exc), "fees.changes_unread: %s", exc)
            return 0
        self._pending = sorted([*waiting, *fresh], key=lambda c: c.scheduled_ms)  # stable
        return self.advance(now_ms)

    async def _read_series_for(self, rest: FeeSource, changes: list[FeeChange]) -> None:
        """Read now the series a future switch will need, so the switch itself reads nothing: the
        series of an event whose override change may hand its terms back to the series."""
        for change in changes:
            if isinstance(change, EventFeeChange) and change.event_ticker in self._event_series:
                series_ticker = self._event_series[change.event_ticker]
                if series_ticker not in self._series:
                    self._series[series_ticker] = await rest.series(series_ticker)

    def advance(self, now_ms: int) -> int:
        """Put in force every pending change due by ``now_ms``; returns how many markets changed."""
        pending = self._pending
        touched: set[str] = set()
        while pending and pending[0].scheduled_ms <= now_ms:
            change = pending.pop(0)
            if change.change_id in self._applied:
                continue
            self._applied.add(change.change_id)
            if isinstance(change, SeriesFeeChange):
                touched |= self._apply_series_change(change)
            else:
                touched |= self._apply_event_change(change)
        changed = self._recompute(touched)
        if changed:
            log.info("fees.changed %d markets at %d", changed, now_ms)
        return changed

    def _recompute(self, touched: Iterable[str]) -> int:
        """New terms for the markets of the events in ``touched``; returns how many changed."""
        changed = 0
        for event_ticker in sorted(touched):
            terms = self._combine_known(event_ticker)
            tickers = [t for t, e in self._ticker_events.items() if e == event_ticker]
            if terms is None:  # its series was never read: resolved afresh by the next ``load``
                self._by_event.pop(event_ticker, None)
                for ticker in tickers:
                    self._by_ticker.pop(ticker, None)
                changed += len(tickers)
                continue
            self._by_event[event_ticker] = terms
            for ticker in tickers:
                if self._by_ticker.get(ticker) != terms:
                    self._by_ticker[ticker] = terms
                    changed += 1
        if changed:
            self._version += 1
        return changed

    def apply_override(
        self, event_ticker: str, fee_type_override: str | None, multiplier_override: Fraction | None
    ) -> int:
        """An event's overrides as the exchange pushed them (``event_fee_update``): in force now,
        for the markets of the event if it is traded; returns how many markets changed. It may
        repeat a scheduled change already applied (nothing changes then) or bring one this
        schedule did not know of yet."""
        if event_ticker not in self._event_series:
            return 0
        try:
            fee_type = None if fee_type_override is None else FeeType(fee_type_override)
        except ValueError:
            self.failures[event_ticker] = f"event_fee_update: unknown fee type {fee_type_override!r}"
            return 0
        self._overrides[event_ticker] = (fee_type, multiplier_override)
        return self._recompute({event_ticker})

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

    def _combine_known(self, event_ticker: str) -> FeeTerms | None:
        """``_combine`` without reading: None when the series is needed and was never read."""
        type_override, mult_override = self._overrides.get(event_ticker, (None, None))
        if type_override is not None and mult_override is not None:
            return type_override, mult_override
        series = self._series.get(self._event_series[event_ticker])
        if series is None:
            return None
        return (
            series.fee_type if type_override is None else type_override,
            series.fee_multiplier if mult_override is None else mult_override,
        )

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
