"""Helpers of the two-hour session test: the whole ``TraderApp`` against its embedded simulator.

The app runs exactly as ``kalshiflow run`` runs it (``RunOptions(connection=None)``: the embedded
simulator on loopback with synthetic participants, sharing the app's clock, here the test's
``ManualClock`` driven by ``tests.idle_clock.IdleClockDriver``). The only test seams are:

* ``capture_simulator``: wraps the app's ``embedded_simulator`` call to add fault injection to the
  simulator's config and to keep the handle, so the test can read the engine (the exchange's truth)
  and construct events on it;
* ``SessionProbe``: attached in ``on_ready`` (before the actor and the calibration timer start). It
  records every lifecycle entry (the in-memory history is bounded), every calibration cycle, the
  trader's state at the moment each order is sent (the independent check of "zero stale
  decisions"), and the largest position the exchange ever showed per market.

Constructions (``arm_stuck_close``, ``SimAdmin``) use the simulator's admin API or the engine's own
operations; each is described where it is defined.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

import kalshiflow.commands.run_app as app_module
from kalshiflow.commands import startup
from kalshiflow.commands.run_app import AppState
from kalshiflow.domain.orders import BookSide
from kalshiflow.events.bus import Missed, Subscription
from kalshiflow.exchange.environments import ExchangeConnection
from kalshiflow.sim.engine import Engine, OrderRequest, OrderResult
from kalshiflow.sim.faults import FaultConfig
from kalshiflow.sim.market.profile import MarketProfile
from kalshiflow.sim.runner import SimHandle, SimulatorConfig
from kalshiflow.trader.core import CalibrationCycle, TraderCore
from kalshiflow.trader.execution.closing import CloseResult
from kalshiflow.trader.execution.in_flight import ExecutionResult, OrderIntent
from kalshiflow.trader.lifecycle.recalibration import Recalibrator
from kalshiflow.trader.lifecycle.states import TRANSITIONS, StatusEntry, TraderState
from kalshiflow.trader.state.ledger import Ledger
from kalshiflow.trader.state.orders import OrderPurpose

STATES = {s.value: s for s in TraderState}
STEP_PREFIX = f"{TraderState.CALIBRATING.value} -> "


# ---------------------------------------------------------------------------------- the simulator
@contextlib.contextmanager
def capture_simulator(
    monkeypatch: pytest.MonkeyPatch, faults: FaultConfig, profile: MarketProfile | None = None
) -> Iterator[list[SimHandle]]:
    """The app's embedded simulator, started with ``faults`` on (and the market ``profile``, when
    given); yields a list that gets its handle."""
    handles: list[SimHandle] = []
    real = startup.embedded_simulator  # what the app module imported

    async def embedded(
        stack: contextlib.AsyncExitStack, config: SimulatorConfig, clock: Any = None
    ) -> tuple[SimHandle, ExchangeConnection]:
        changed = dataclasses.replace(config, faults=faults, profile=profile or config.profile)
        handle, connection = await real(stack, changed, clock)
        handles.append(handle)
        return handle, connection

    monkeypatch.setattr(app_module, "embedded_simulator", embedded)
    yield handles


class SimAdmin:
    """The simulator's ``/sim/admin`` API (no Kalshi auth, no injected faults)."""

    def __init__(self, handle: SimHandle) -> None:
        address = handle.address
        self.client = httpx.AsyncClient(base_url=f"http://{address.host}:{address.port}/sim/admin")

    async def post(self, path: str, body: dict[str, object] | None = None) -> dict[str, Any]:
        reply = await self.client.post(path, json=body or {})
        assert reply.status_code == 200, (path, reply.status_code, reply.text)
        data: dict[str, Any] = reply.json()
        return data

    async def set_balance(self, account_id: str, dollars: str) -> None:
        await self.post(f"/accounts/{account_id}/balance", {"balance_dollars": dollars})

    async def move_close(self, ticker: str, close_s: int) -> None:
        await self.post(f"/markets/{ticker}/close_time", {"close_ts": close_s})

    async def reset_faults(self) -> None:
        await self.post("/faults/reset")

    async def ws_disconnect(self) -> None:
        await self.post("/faults/ws_disconnect")

    async def aclose(self) -> None:
        await self.client.aclose()


@contextlib.asynccontextmanager
async def admin_for(handle: SimHandle) -> AsyncIterator[SimAdmin]:
    admin = SimAdmin(handle)
    try:
        yield admin
    finally:
        await admin.aclose()


# ---------------------------------------------------------------------------------- the probe
@dataclass(frozen=True)
class SentOrder:
    """An order as it left the trader, with the trader's state at that moment."""

    ticker: str
    purpose: OrderPurpose
    close_reason: str | None
    state: TraderState
    reduce_only_mode: bool
    book_valid: bool
    result: str = ""


@dataclass
class SessionProbe:
    startup_entries: list[StatusEntry] = field(default_factory=list)
    recal: Recalibrator | None = None
    watching: Subscription | None = None
    closing: Subscription | None = None
    close_results: list[CloseResult] = field(default_factory=list)
    sent: list[SentOrder] = field(default_factory=list)
    max_abs_position: dict[str, int] = field(default_factory=dict)

    def attach(self, state: AppState) -> None:
        """Called from ``on_ready``: before the actor and the calibration timer run."""
        lifecycle, recal, core = state.lifecycle, state.recal, state.core
        assert recal is not None
        assert core is not None
        self.startup_entries.extend(lifecycle.history)  # the deque still holds all of them
        assert self.startup_entries[0].status == TraderState.INITIALIZING.value
        self.watching = lifecycle.bus.subscribe("session-probe", [StatusEntry], max_queue=1_000_000)
        self.closing = core.bus.subscribe("session-probe-closes", [CloseResult], max_queue=1_000_000)
        self.recal = recal
        self._watch_sends(state, core)

    @property
    def entries(self) -> list[StatusEntry]:
        """Every status entry so far, startup included (read from the bus subscription)."""
        if self.watching is not None:
            drained = self.watching.drain()
            assert not any(isinstance(e, Missed) for e in drained), "the probe lost status entries"
            self.startup_entries.extend(e for e in drained if isinstance(e, StatusEntry))
        return self.startup_entries

    @property
    def cycles(self) -> list[CalibrationCycle]:
        return [] if self.recal is None else list(self.recal.cycles)

    def _watch_sends(self, state: AppState, core: TraderCore) -> None:
        place = core.executor.place

        async def watched(intent: OrderIntent) -> ExecutionResult:
            book = core.books.book(intent.ticker)
            record = SentOrder(
                intent.ticker,
                intent.purpose,
                intent.close_reason,
                state.lifecycle.state,
                core.reduce_only,
                book is not None and book.valid,
            )
            result = await place(intent)
            self.sent.append(dataclasses.replace(record, result=result.outcome.value))
            return result

        core.executor.place = watched  # type: ignore[method-assign]

    # -------------------------------------------------------------- views
    def closes(self) -> list[tuple[str, str]]:
        """(reason, outcome) of every close attempt: at calibrations, on book changes and on the timer."""
        if self.closing is not None:
            drained = self.closing.drain()
            assert not any(isinstance(e, Missed) for e in drained), "the probe lost close results"
            self.close_results.extend(e for e in drained if isinstance(e, CloseResult))
        return [(c.reason, c.outcome) for c in self.close_results]

    def acted_reasons(self) -> Counter[str]:
        """Reasons whose close was placed (or, for stuck, whose closing order was re-priced)."""
        return Counter(r for r, outcome in self.closes() if outcome in ("placed", "repriced"))

    def stale_sends(self) -> list[SentOrder]:
        """Opening orders sent while the trader could not take new exposure, or on an invalid book."""
        return [
            s
            for s in self.sent
            if s.purpose is OrderPurpose.OPEN
            and (s.state is not TraderState.TRADING or s.reduce_only_mode or not s.book_valid)
        ]

    def record_positions(self, engine: Engine, account_id: str) -> None:
        for ticker, pos in engine.account(account_id).positions.items():
            size = abs(pos.position)
            if size > self.max_abs_position.get(ticker, 0):
                self.max_abs_position[ticker] = size


# ---------------------------------------------------------------------------------- checks
def illegal_transitions(entries: list[StatusEntry]) -> list[str]:
    """Every state change must be in ``TRANSITIONS``; steps only while calibrating; notes in state.

    Entries are of three kinds: a state entered (``move``: status is a state, ``previous_status_ms``
    set), a note on the current state (status is the current state, no previous time), and a
    calibration sub-step (``calibrating -> <step>``, with a duration).
    """
    problems: list[str] = []
    current = TraderState.INITIALIZING
    for entry in entries[1:]:
        if entry.status.startswith(STEP_PREFIX):
            if current is not TraderState.CALIBRATING:
                problems.append(f"step {entry.status!r} while {current}")
            continue
        state = STATES.get(entry.status)
        if state is None:
            problems.append(f"unknown status {entry.status!r}")
            continue
        if entry.previous_status_ms is None:  # a note
            if state is not current:
                problems.append(f"note for {state} while {current}: {entry.result_text}")
            continue
        if state not in TRANSITIONS[current]:
            problems.append(f"{current} -> {state} ({entry.result_text})")
        current = state
    return problems


def ledger_vs_engine(engine: Engine, account_id: str, ledger: Ledger) -> list[str]:
    """Differences between the trader's ledger and the exchange: cash, positions, resting orders."""
    account = engine.account(account_id)
    problems: list[str] = []
    if ledger.cash != account.balance:
        problems.append(f"cash ledger {ledger.cash} != exchange {account.balance}")
    exchange_positions = {t: (p.position, p.cost) for t, p in account.positions.items() if p.position != 0}
    ledger_positions = {p.ticker: (int(p.position), int(p.exposure)) for p in ledger.open_positions()}
    if ledger_positions != exchange_positions:
        problems.append(f"positions ledger {ledger_positions} != exchange {exchange_positions}")
    resting = {oid for oid in account.order_ids if engine.orders[oid].is_resting}
    live = {o.order_id for o in ledger.live_orders()}
    if live != resting:
        problems.append(f"resting orders ledger {sorted(map(str, live))} != exchange {sorted(resting)}")
    for oid in resting & {o for o in live if o is not None}:
        local = ledger.order_by_exchange_id(oid)
        remote = engine.orders[oid]
        if local is None or (local.remaining, local.reserved) != (remote.remaining_count, remote.reserved):
            problems.append(f"order {oid}: ledger {local} != exchange {remote}")
    return problems


def duplicate_client_order_ids(engine: Engine, account_id: str) -> list[tuple[str, int]]:
    ids = Counter(engine.orders[oid].client_order_id for oid in engine.account(account_id).order_ids)
    return [(cid, n) for cid, n in ids.items() if n > 1]


# ---------------------------------------------------------------------------------- a stuck close
@dataclass
class StuckArm:
    """Makes the trader's next closing order rest above the market, so the stuck rule must act.

    When the trader's next reduce-only order reaches the engine, before it is matched: every other
    account's resting order it would trade against is cancelled, and the market's fair value jumps
    against the position (news), so the makers re-quote away from the close instead of into it. The
    close rests above the bid until the trader re-prices it (the ``stuck`` exit) and finally crosses.
    """

    engine: Engine
    account_id: str
    shock: Callable[[str, float], None]  # the market model's news hook (ticker, probit shift)
    ticker: str | None = None
    client_order_id: str | None = None
    cancelled: int = 0

    def install(self) -> None:
        create = self.engine.create_order

        def hooked(account_id: str, req: OrderRequest) -> OrderResult:
            if self.ticker is None and account_id == self.account_id and req.reduce_only:
                self._strand(req)
            return create(account_id, req)

        self.engine.create_order = hooked  # type: ignore[method-assign]

    def _strand(self, req: OrderRequest) -> None:
        self.ticker, self.client_order_id = req.ticker, req.client_order_id
        engine = self.engine
        crossing = [
            o
            for o in engine.orders.values()
            if o.ticker == req.ticker
            and o.is_resting
            and o.account_id != self.account_id
            and (
                (req.side is BookSide.ASK and o.side is BookSide.BID and o.yes_price >= req.yes_price)
                or (req.side is BookSide.BID and o.side is BookSide.ASK and o.yes_price <= req.yes_price)
            )
        ]
        for order in crossing:
            engine.cancel_order(order.account_id, order.order_id)
        self.cancelled = len(crossing)
        # Selling YES (an ask): the price falls; selling NO: it rises.
        self.shock(req.ticker, -1.0 if req.side is BookSide.ASK else 1.0)
