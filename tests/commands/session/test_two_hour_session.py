"""Two simulated hours of ``kalshiflow run`` (rule-based policy) against a faulty simulator.

The whole ``TraderApp`` runs in-process on its embedded simulator (synthetic makers, noise and
informed traders; 5xx, latency, lost responses, WebSocket drops/duplicates/gaps and a forced
disconnect), over real sockets on loopback, sharing one ``ManualClock`` that the test's
``IdleClockDriver`` advances only when nothing is left to do at the current simulated time (see
tests/idle_clock.py): every request is answered, every frame read and every store job finished
before the market's next event happens. Work therefore takes no simulated time, and how loaded the
machine is changes how long the test takes, not what it sees. The bounds below are simulated
seconds; the only wall-time bound is the pytest timeout, a hang guard.

Exits that the market produces by itself (stop loss, take profit, max hold) are left to it; the
others are constructed during the run:

* ``stuck``: the next closing order after 30 minutes is stranded above the market (the bids it
  would hit are pulled and the market's fair value jumps against the position) so the trader must
  re-price it and finally cross;
* ``market_closing``: the exchange moves a held market's close time into the closing window;
* ``cash_recovery``: the exchange's balance is edited below the reserve while positions are held
  (it is restored once recovery is done, so trading goes on).

At the end (after the trader stopped): the trader traded; a calibration ran on every interval of its
timer; every exit reason acted at least once; the ledger equals the exchange and the store kept
every calibration and status entry; no client_order_id was used twice; no risk limit was exceeded;
no opening order was sent while reduce-only or on an invalid book (and the actor counted no stale
decision); every state transition is legal; and the trader never ended with available cash below
the reserve while it held a position it could close.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.commands.session.session_kit import (
    SessionProbe,
    SimAdmin,
    StuckArm,
    admin_for,
    capture_simulator,
    duplicate_client_order_ids,
    illegal_transitions,
    ledger_vs_engine,
)
from tests.idle_clock import IdleClockDriver
from tests.sim.market.sim_harness import liquid_profile
from tests.waiting import until

from kalshiflow.clock import ManualClock
from kalshiflow.commands.decider import build_decider
from kalshiflow.commands.run_app import AppState, RunOptions, TraderApp
from kalshiflow.config import Settings, load_settings
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Money
from kalshiflow.exchange.ws_status import ConnectionState
from kalshiflow.sim.faults import FaultConfig
from kalshiflow.sim.runner import SimHandle
from kalshiflow.store.trader_repo import TraderStore
from kalshiflow.trader.core import TraderCore
from kalshiflow.trader.exit_rules.base import ExitReason
from kalshiflow.trader.lifecycle.states import TraderState
from kalshiflow.trader.state.orders import OrderPurpose

START_MS = 1_790_000_000_000  # a fixed start: the same listings, tickers and close times every run
SIM_TICK_SPEED = 10.0  # the simulator's idle tick is tick_ms x this = 1 s of simulated time
SESSION_S = 2 * 3600
MARKETS = 8
SEED = 7
FAULTS = FaultConfig(
    latency_ms=1,
    latency_jitter_ms=3,
    http_5xx_rate=0.02,
    lost_response_rate=0.005,
    ws_drop_rate=0.002,
    ws_duplicate_rate=0.003,
    ws_seq_gap_rate=0.002,
)
RESERVE = Money.dollars(100)
ATTEMPTS = 8
WALL_HANG_GUARD_S = 60.0  # for waits on the sockets alone (the clock held still): a hang guard


def session_settings(tmp_path: Path) -> Settings:
    return load_settings(
        environ={},
        overrides={
            "run": {
                "db": f"sqlite:///{tmp_path / 'trader.db'}",
                "policy": "rules:signal",
                "paper": False,
                "resume_backoff_s": 10,
            },
            "markets": {"top_n": MARKETS},
            "calibration": {"interval_s": 60},
            "exit_rules": {
                "price_exit_metric": "pct",  # this session's expectations were set for the pnl% rule
                "take_profit_pct": "6",
                "stop_loss_pct": "12",
                "max_hold_s": 240,
                "market_closing_s": 300,
                "cash_reserve_dollars": "100",
                "cash_recovery_buffer_dollars": "0.25",
                "stuck_close_after_s": 30,
                "stuck_cross_after_s": 150,
            },
            "risk": {
                "max_order_contracts": 2,
                "max_position_contracts_per_market": 3,
                "max_total_position_contracts": 15,
                "per_market_min_interval_s": 20,
                "stop_loss_cooldown_s": 0,  # this session's exits need re-entries, as before the cooldown
            },
            # Opening orders rest as they did when this session was written (expiry has its own tests).
            "open_orders": {"ttl_s": 3600, "max_behind_ticks": 100},
        },
    )


class Session:
    """The running app, its simulator, the probe and the driver of the shared manual clock."""

    def __init__(
        self, app: TraderApp, handle: SimHandle, probe: SessionProbe, admin: SimAdmin, driver: IdleClockDriver
    ) -> None:
        self.app, self.handle, self.probe, self.admin, self.driver = app, handle, probe, admin, driver
        self.clock = driver.clock
        self.engine = handle.sim.engine
        self.account_id = handle.accounts[0].account_id
        self.t0_ms = self.clock.now_ms()
        core = app.state.core
        assert core is not None
        self.core: TraderCore = core
        self.max_total = 0  # largest sum of |position| the exchange showed
        driver.on_step.append(self.sample)

    def sim_s(self) -> float:
        return (self.clock.now_ms() - self.t0_ms) / 1000

    def sample(self) -> None:
        """Positions as the exchange sees them, at every idle point (largest per market and in total)."""
        self.probe.record_positions(self.engine, self.account_id)
        total = sum(abs(p.position) for p in self.engine.account(self.account_id).positions.values())
        self.max_total = max(self.max_total, total)

    async def at(self, sim_second: float) -> None:
        await self.driver.run_until(
            lambda: self.sim_s() >= sim_second, sim_second - self.sim_s() + 1, "clock"
        )

    async def acted(self, reason: ExitReason, within_sim_s: float) -> None:
        await self.driver.run_until(
            lambda: self.probe.acted_reasons()[reason.value] > 0, within_sim_s, f"a {reason.value} close"
        )

    def _last_calibration_start_ms(self) -> int:
        """The calibration timer runs from start to start (a slow pass does not stretch it)."""
        return max(
            e.ts_ms
            for e in self.probe.entries
            if e.status == TraderState.CALIBRATING.value and e.previous_status_ms is not None
        )

    async def just_before_calibration(self, ready: Callable[[], bool], margin_s: float = 3.0) -> None:
        """Run until the next scheduled calibration is ``margin_s`` away while ``ready()`` holds."""
        interval_ms = self.app.settings.calibration.interval_s * 1000

        def close_to_it() -> bool:
            due = self._last_calibration_start_ms() + interval_ms
            now = self.clock.now_ms()
            trading = self.app.state.lifecycle.state is TraderState.TRADING
            return trading and due - margin_s * 1000 <= now < due and ready()

        await self.driver.run_until(close_to_it, 30 * 60, "a moment just before a calibration")

    async def next_cycle(self) -> None:
        """Run until the calibration after now has finished."""
        n = len(self.probe.cycles)
        await self.driver.run_until(lambda: len(self.probe.cycles) > n, 10 * 60, "the next calibration")

    async def forced_disconnect(self) -> None:
        """The admin's disconnect, and the stream back (the clock held still while it reconnects)."""
        feed = self.app.state.feed
        assert feed is not None
        before = feed.stream.metrics.reconnects
        await self.admin.ws_disconnect()
        await until(
            lambda: (
                feed.stream.metrics.reconnects > before and feed.stream.status().state is ConnectionState.LIVE
            ),
            WALL_HANG_GUARD_S,
            "the stream reconnected after the forced disconnect",
        )

    def closable(self, min_to_close_s: int = 3600) -> list[str]:
        """Held positions with no closing order, a valid book with a bid, far from their close."""
        core, now = self.core, self.clock.now_ms()
        found = []
        for pos in core.ledger.open_positions():
            market = core.markets.get(pos.ticker)
            book = core.books.book(pos.ticker)
            if market is None or book is None or not book.valid or core.closer.is_closing(pos.ticker):
                continue
            bid = book.best_bid(OutcomeSide.YES if pos.position > 0 else OutcomeSide.NO)
            if bid is not None and market.close_time_ms - now > min_to_close_s * 1000:
                found.append(pos.ticker)
        return found

    def cash_stuck(self) -> bool:
        """Available cash below the reserve while a position could still be closed."""
        return self.core.ledger.cash < RESERVE and bool(self.closable(min_to_close_s=0))


async def construct_stuck(s: Session) -> StuckArm:
    arm = StuckArm(s.engine, s.account_id, s.handle.scheduler.shock)
    arm.install()
    await s.acted(ExitReason.STUCK, within_sim_s=15 * 60)
    return arm


async def construct_market_closing(s: Session) -> str:
    """Just before a calibration, the exchange moves a held market's close into the closing window.

    The policy may sell the position itself before the calibration looks at it; then another held
    market is tried at the next calibration.
    """
    for _ in range(ATTEMPTS):
        await s.just_before_calibration(lambda: bool(s.closable()))
        ticker = s.closable()[0]
        await s.admin.move_close(ticker, s.clock.now_ms() // 1000 + 240)  # inside the 300 s window
        await s.next_cycle()
        if s.probe.acted_reasons()[ExitReason.MARKET_CLOSING.value]:
            return ticker
    raise AssertionError(f"no market_closing close in {ATTEMPTS} attempts")


async def construct_cash_recovery(s: Session) -> None:
    """Just before a calibration, the exchange's balance drops below the reserve (then is restored)."""
    for _ in range(ATTEMPTS):
        await s.just_before_calibration(lambda: bool(s.closable(min_to_close_s=900)))
        before = s.engine.account(s.account_id).balance
        edited = Money.parse("98.00")  # $2.25 short of reserve + buffer
        await s.admin.set_balance(s.account_id, edited.dollars_str(6))
        await s.next_cycle()
        if s.probe.acted_reasons()[ExitReason.CASH_RECOVERY.value]:
            # Recovery is done once its closes no longer rest: then cash is back above the reserve,
            # or nothing closable is left.
            await s.driver.run_until(
                lambda: (
                    not any(
                        o.purpose is OrderPurpose.CLOSE and o.close_reason == ExitReason.CASH_RECOVERY.value
                        for o in s.core.ledger.live_orders()
                    )
                ),
                10 * 60,
                "cash-recovery closes done",
            )
            await s.driver.run_until(
                lambda: s.core.ledger.cash == s.engine.account(s.account_id).balance, 10, "ledger cash"
            )
            assert not s.cash_stuck(), (s.core.ledger.cash, s.closable(min_to_close_s=0))
        now_balance = s.engine.account(s.account_id).balance
        await s.admin.set_balance(s.account_id, Money(now_balance + before - edited).dollars_str(6))
        if s.probe.acted_reasons()[ExitReason.CASH_RECOVERY.value]:
            return
    raise AssertionError(f"no cash_recovery close in {ATTEMPTS} attempts")


async def quiesce_and_converge(s: Session) -> None:
    """Stop the synthetic traders and faults, then wait until the ledger equals the exchange."""
    s.handle.scheduler.participants_active = False
    await s.admin.reset_faults()
    try:
        await s.driver.run_until(
            lambda: not ledger_vs_engine(s.engine, s.account_id, s.core.ledger), 10 * 60, "ledger == exchange"
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {ledger_vs_engine(s.engine, s.account_id, s.core.ledger)}") from None


async def stop_app(driver: IdleClockDriver, app: TraderApp, runner: asyncio.Task[int]) -> None:
    """The stop's own work (cancels, reads back) runs on the clock; closing the sockets and the
    simulator's server waits on the wall: time keeps moving until the app returned."""
    await driver.run_until(
        lambda: runner.done() or app.state.lifecycle.state is TraderState.STOPPED,
        10 * 60,
        "the trader stopped",
    )
    await driver.wall_until(runner.done, WALL_HANG_GUARD_S, "the app closed")


def stream_reconnecting(app: TraderApp, stop: asyncio.Event) -> Callable[[], bool]:
    """Work the clock waits for: a stream reconnecting (its backoff is wall time) before the stop."""

    def busy() -> bool:
        feed = app.state.feed
        return (
            not stop.is_set() and feed is not None and feed.stream.status().state is not ConnectionState.LIVE
        )

    return busy


@pytest.mark.timeout(900)  # a hang guard: a quiet machine runs this in about a minute
async def test_two_simulated_hours_trade_calibrate_exit_and_stay_consistent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wall0 = time.monotonic()
    settings = session_settings(tmp_path)
    options = RunOptions(
        settings=settings,
        connection=None,
        sim_seed=SEED,
        sim_markets=MARKETS,
        sim_speed=SIM_TICK_SPEED,
        sim_data_dir=tmp_path / "sim",
    )
    probe = SessionProbe()
    stop, ready = asyncio.Event(), asyncio.Event()
    clock = ManualClock(START_MS)

    def on_ready(state: AppState) -> None:
        probe.attach(state)
        ready.set()

    with capture_simulator(monkeypatch, FAULTS, liquid_profile()) as handles:
        app = TraderApp(options, build_decider, clock=clock)
        driver = IdleClockDriver(clock, busy=stream_reconnecting(app, stop))
        runner = asyncio.create_task(app.run(stop, on_ready), name="trader-app")
        await driver.run_until(lambda: ready.is_set() or runner.done(), 5 * 60, "trader ready")
        if runner.done():
            runner.result()  # a startup failure surfaces here
        [handle] = handles
        async with admin_for(handle) as admin:
            s = Session(app, handle, probe, admin, driver)
            finished = False
            try:
                await s.at(20 * 60)
                await s.forced_disconnect()  # on top of the random WS faults
                await s.at(30 * 60)
                arm = await construct_stuck(s)
                await s.at(50 * 60)
                closing_ticker = await construct_market_closing(s)
                await s.at(70 * 60)
                await construct_cash_recovery(s)
                await s.at(SESSION_S)
                assert not runner.done(), runner
                await quiesce_and_converge(s)
                finished = True
            finally:
                stop.set()
                try:
                    await stop_app(driver, app, runner)
                except AssertionError:
                    if finished:  # else the failure that got here is the one to report
                        raise
            rc = runner.result()
        wall = time.monotonic() - wall0

    assert rc == 0
    state = app.state
    core, actor, recal = s.core, state.actor, state.recal
    assert actor is not None
    assert recal is not None
    engine, account = s.engine, s.engine.account(s.account_id)

    # it trades
    assert actor.metrics.decisions > 0, actor.metrics
    assert actor.metrics.orders_sent > 0, actor.metrics
    assert account.fills, "no fill on the exchange"
    # calibrations: on schedule, one per interval from start to start (a pass's own simulated time
    # is its pacing and retry waits), plus the triggered ones; pauses skip a few.
    cycles = list(recal.cycles)
    pass_ms = sum(c.report.duration_ms for c in cycles) / max(1, len(cycles))
    scheduled = SESSION_S * 1000 / (settings.calibration.interval_s * 1000 + pass_ms)
    assert recal.stats.runs >= int(0.9 * scheduled), (recal.stats.runs, scheduled)
    # every exit reason acted at least once
    acted = probe.acted_reasons()
    assert set(acted) >= {r.value for r in ExitReason}, acted
    assert ("stuck", "repriced") in probe.closes()
    assert arm.ticker is not None
    assert closing_ticker
    close_reasons = {o.close_reason for o in core.ledger.orders.values() if o.purpose is OrderPurpose.CLOSE}
    assert close_reasons >= {r.value for r in ExitReason} - {ExitReason.STUCK.value}, close_reasons
    # ledger == exchange after stop; nothing opening left resting
    assert ledger_vs_engine(engine, s.account_id, core.ledger) == []
    assert not [o for o in core.ledger.live_orders() if o.purpose is OrderPurpose.OPEN]
    # no duplicate client_order_id
    assert duplicate_client_order_ids(engine, s.account_id) == []
    # no limit exceeded
    limits = settings.risk
    probe.record_positions(engine, s.account_id)
    for oid in account.order_ids:
        order = engine.orders[oid]
        if not order.reduce_only:
            assert order.initial_count <= limits.max_order_contracts, order
    for ticker, most in probe.max_abs_position.items():
        assert most <= limits.max_position_contracts_per_market, (ticker, most)
    assert s.max_total <= limits.max_total_position_contracts
    # zero stale decisions
    assert actor.metrics.stale_decisions == 0
    assert probe.stale_sends() == [], probe.stale_sends()[:5]
    # faults were survived: the stream resyncs (gaps, the forced disconnect) triggered calibrations
    resyncs = [e for e in probe.entries if e.result_text == "starting recalibration (stream resync)"]
    assert resyncs, "no calibration was triggered by a stream resync"
    # the store kept every calibration and every status entry
    assert app.store is not None
    metrics = app.store.metrics()
    assert not metrics.dropped_by_kind, metrics
    assert metrics.listener_errors == 0, metrics
    reopened = TraderStore(settings.run.db, app.clock)
    try:
        assert reopened.count_rows("calibration_reports") == recal.stats.runs
        assert reopened.count_rows("trader_status_history") == len(probe.entries)
    finally:
        reopened.close()
    # every state transition legal
    assert illegal_transitions(probe.entries) == []
    assert probe.entries[-1].status == TraderState.STOPPED.value
    # never ends with cash stuck below the reserve while holding closable positions
    assert not s.cash_stuck()

    report(s, wall)


def report(s: Session, wall: float) -> None:
    recal, actor = s.app.state.recal, s.app.state.actor
    assert recal is not None
    assert actor is not None
    drift = [c.report.totals.cash for c in s.probe.cycles if c.report.totals.cash]
    print(
        f"\nwall {wall:.1f}s; sim {s.sim_s():.0f}s; clock steps {s.driver.steps}; calibrations {recal.stats.runs} "
        f"(failures {recal.stats.failures}, slow {recal.stats.slow_runs}); actor {actor.metrics}; "
        f"closes {sorted(s.probe.acted_reasons().items())}; cash drifts {[str(Money(d)) for d in drift]}; "
        f"transitions {s.app.state.lifecycle.transitions}; "
        f"orders resolved after an unknown outcome {sum(len(c.resolved) for c in s.probe.cycles)}"
    )
    print("failed calibrations:", [c.report.failure_reason for c in s.probe.cycles if not c.report.ok])
    print("pauses:", [e.result_text for e in s.probe.entries if e.status == TraderState.PAUSED.value])
