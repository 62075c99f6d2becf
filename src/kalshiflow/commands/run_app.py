"""The composition root of ``kalshiflow run``: start every part, supervise the tasks, stop cleanly.

Order of startup (each step on the initialization checklist): the store; the connection (an
embedded simulator when none is given); exchange status; credentials (a balance read); the market
feed (discovery, books, stream live, private channels subscribed); the core (with the orders a
previous run left in flight restored from the store, purpose and close reason intact) and its startup
calibration (no trading unless it passes: the trader waits in ``paused`` and retries with backoff);
the policy. Then three tasks run until a stop request: the actor (decisions on changed markets),
the calibration timer (every ``interval_s`` and on triggers) and the view. Stopping cancels resting
orders, optionally flattens, deletes or keeps order groups per config, flushes the store, exit 0.

The calibration timer (``calibration_timer.py``) and the stream-health monitor (``stream_health.py``)
are their own modules; ``AppState`` (``app_state.py``) is what all of them and the view share.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from kalshiflow.clock import Clock, FollowingClock, ScaledClock, SystemClock
from kalshiflow.commands.action_log import ActionLogger
from kalshiflow.commands.app_state import AppState
from kalshiflow.commands.calibration_timer import CalibrationTimer
from kalshiflow.commands.heartbeat import RunHeartbeat
from kalshiflow.commands.startup import (
    StartupError,
    StoppedDuringStartup,
    check_exchange,
    embedded_simulator,
    start_feed,
    unless_stopped,
    wait_live,
)
from kalshiflow.commands.stream_health import StreamHealthMonitor
from kalshiflow.commands.trader_startup import build_core, calibrate_at_startup, mode_note, trading_mode
from kalshiflow.config import Settings
from kalshiflow.dashboard.server import Dashboard
from kalshiflow.dashboard.webhook import WebhookNotifier
from kalshiflow.events.bus import EventBus, Missed, Subscription
from kalshiflow.events.trader import ActionResult
from kalshiflow.exchange.environments import ExchangeConnection
from kalshiflow.exchange.exchange_clock import SessionJump, follow_exchange
from kalshiflow.exchange.rest import KalshiRestClient
from kalshiflow.exchange.ws_connect import StreamConfig
from kalshiflow.exchange.ws_models import StreamEvent
from kalshiflow.features import SCHEMA_V1
from kalshiflow.marketdata.discovery import DiscoveryConfig
from kalshiflow.marketdata.feed import FeedConfig, MarketDataFeed
from kalshiflow.sim.runner import SimulatorConfig
from kalshiflow.store.trader_repo import TraderStore
from kalshiflow.textfmt import plural
from kalshiflow.trader.core import TraderCore
from kalshiflow.trader.decisions.actor import Actor, Observe, PolicyLike, TraderAction
from kalshiflow.trader.lifecycle.init_tracker import InitStep, InitTracker
from kalshiflow.trader.lifecycle.recalibration import Recalibrator
from kalshiflow.trader.lifecycle.shutdown import stop_trading
from kalshiflow.trader.lifecycle.states import Lifecycle, TraderState
from kalshiflow.trader.state.restore import forget_positions_gone, restore_orders

log = logging.getLogger(__name__)

__all__ = [
    "AppState",
    "DeciderFactory",
    "RunOptions",
    "TraderApp",
    "settle_startup_heap",
]  # AppState: its readers import it here

# With ``market_lifecycle_v2`` (all markets) for ``event_fee_update``: fee overrides pushed live.
PRIVATE_CHANNELS = ("fill", "user_orders", "market_positions", "order_group_updates", "market_lifecycle_v2")
STILL_RESTING_EXIT = 1  # exit code when a stop could not confirm every cancel
USAGE_EXIT = 2  # a setting the startup found wrong (``kalshiflow run`` exits with it)

DeciderFactory = Callable[[Settings, TraderCore, MarketDataFeed, Clock], tuple[PolicyLike, Observe]]


def settle_startup_heap() -> int:
    """Move everything startup built out of the collector's generations; returns how many objects.

    Why: the long-lived state built before trading (markets, books, fee schedules, the policy's
    weights, restored orders) would otherwise be walked again by every full collection, and the
    pauses of the decision path's tail grow with it. ``gc.freeze`` after a last collection leaves
    the collector only what trading allocates since (``bench_decision_path`` does the same after
    its setup, so its figures are this run's).
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


@dataclass(frozen=True)
class RunOptions:
    """What ``kalshiflow run`` was told beyond the settings file.

    ``connection`` None starts the embedded simulator (``sim_*`` options); ``duration_s`` None runs
    until a stop request.
    """

    settings: Settings
    connection: ExchangeConnection | None = None
    url_setting: str = "--url"
    tickers_setting: str = "--markets"  # where ``[markets] tickers`` came from, for error messages
    sim_seed: int = 0
    sim_markets: int = 20
    sim_speed: float = 1.0
    sim_data_dir: Path = Path(".kalshiflow") / "sim"
    duration_s: float | None = None
    db_url: str | None = None  # resolved by ``commands.paths.db_url``; None: the settings' ``[run] db``


_T = TypeVar("_T")


class TraderApp:
    def __init__(
        self, options: RunOptions, decider_factory: DeciderFactory, clock: Clock | None = None
    ) -> None:
        self.options = options
        self.settings = options.settings
        # --speed scales time only with the embedded simulator; against an external exchange (a
        # running simulator included) market time is the exchange's own (read from its timestamps,
        # the wall clock on Kalshi) and requests are signed with the wall clock behind it.
        if options.connection is not None:
            self.clock = clock or FollowingClock(SystemClock())
        else:
            speed = options.sim_speed
            self.clock = clock or (SystemClock() if speed == 1.0 else ScaledClock(speed))
        self.decider_factory = decider_factory
        self.bus = EventBus()  # the one bus every part publishes on and every observer reads
        lifecycle = Lifecycle(self.clock, bus=self.bus)
        self.state = AppState(lifecycle, InitTracker(self.clock, self.bus))
        self.health = StreamHealthMonitor(self.state, self.bus, self.clock)
        self.calibration = CalibrationTimer(self.settings, self.state, self.clock, self.health)
        self.store: TraderStore | None = None
        self.exit_code = 1  # until the run ends normally (what the heartbeat's stop stamp records)
        self.action_log = ActionLogger(self.settings.run.log_hold_sample_every)
        self.dashboard: Dashboard | None = (
            None  # bound by the caller (``build_dashboard``), served by ``run``
        )
        # Notifications without a dashboard (``--no-dashboard``); with one, the dashboard owns them.
        self.webhook: WebhookNotifier | None = None

    async def run(self, stop: asyncio.Event, on_ready: Callable[[AppState], None] | None = None) -> int:
        try:
            return await self._run(stop, on_ready)
        except StoppedDuringStartup:
            return self.exit_code

    def _record_startup_failure(
        self, _kind: type[BaseException] | None, error: BaseException | None, _tb: TracebackType | None
    ) -> None:
        """A startup that stops on a usage error (``StartupError``: an unknown ticker, a key the
        exchange refuses, ...) leaves the store saying so -- stopped, why, and the command's exit
        code 2 -- instead of a last state of "initializing" and exit code 1."""
        if not isinstance(error, StartupError):
            return
        self.exit_code = USAGE_EXIT
        lifecycle = self.state.lifecycle
        if lifecycle.can_move(TraderState.STOPPING):
            lifecycle.move(TraderState.STOPPING, "startup failed")
            lifecycle.move(TraderState.STOPPED, f"startup failed: {error}")

    async def _before_anything_is_sent(self, stop: asyncio.Event, step: Awaitable[_T]) -> _T:
        """A startup step that sends no order (starting the simulator, reaching the exchange, its
        stream) ends at once on Ctrl-C (``unless_stopped``). Later steps (calibration may close
        positions) finish first and the stop then runs its usual shutdown."""
        try:
            return await unless_stopped(stop, step)
        except StoppedDuringStartup:
            lifecycle = self.state.lifecycle
            lifecycle.move(TraderState.STOPPING, "stop requested during startup")
            lifecycle.move(TraderState.STOPPED, "stopped during startup: no order was sent")
            self.exit_code = 0
            raise

    async def _run(self, stop: asyncio.Event, on_ready: Callable[[AppState], None] | None) -> int:
        async with contextlib.AsyncExitStack() as stack:
            if self.dashboard is not None:  # first up, last down: the page sees startup and the stop
                await self.dashboard.start()
                stack.push_async_callback(self.dashboard.stop)
            if self.webhook is not None:
                self.webhook.start()
                stack.push_async_callback(self.webhook.stop)
            database = self.options.db_url or self.settings.run.db
            if database is None:
                raise ValueError("RunOptions needs db_url (or settings with [run] db)")
            self.store = TraderStore(database, self.clock)
            stack.callback(self.store.close)
            store = self.store
            store.attach(self.bus)
            for entry in self.state.lifecycle.history:
                store.save_status(entry)
            heartbeat = RunHeartbeat(store.engine)
            await heartbeat.start()
            stack.callback(lambda: heartbeat.finish(self.exit_code))  # runs before the store closes
            stack.push(self._record_startup_failure)  # runs before the heartbeat's stop stamp
            beating = asyncio.create_task(heartbeat.run(), name="heartbeat")
            stack.callback(beating.cancel)
            connection = self.options.connection
            if connection is None:
                config = SimulatorConfig(
                    port=0,
                    seed=self.options.sim_seed,
                    n_markets=self.options.sim_markets,
                    speed=self.options.sim_speed,
                    data_dir=self.options.sim_data_dir,
                )
                started = await self._before_anything_is_sent(
                    stop, embedded_simulator(stack, config, self.clock)
                )
                connection = started[1]
            self.state.rest_url = connection.rest_url
            rest = KalshiRestClient.from_connection(connection, clock=self.clock)
            stack.push_async_callback(rest.aclose)
            # The exchange answers and knows the key before anything else asks it (the clock
            # sampler included): a wrong URL or key is one line naming it, not a warning per retry.
            await self._before_anything_is_sent(
                stop, check_exchange(rest, self.state.tracker, self.state.rest_url, self.options.url_setting)
            )
            if isinstance(self.clock, FollowingClock):
                sync, sampler = await follow_exchange(
                    self.clock, rest.user_data_timestamp, on_new_session=self._on_new_exchange_session
                )
                stack.callback(sampler.cancel)
                self.calibration.before_pass = sync.sync_once
            feed = await self._before_anything_is_sent(stop, self._start_feed(stack, rest, connection, stop))
            core = self.state.core = build_core(self.settings, rest, feed, self.clock, self.bus)
            await core.load_fees()  # fee schedules of the selected markets, before any order reserves cash
            core.executor.journal = store.commit_order  # each order durable before its create is sent
            await restore_orders(core.ledger, store)
            recal = Recalibrator(
                core,
                self.state.lifecycle,
                self.clock,
                pause_after_errors=self.settings.run.pause_after_errors,
                resume_backoff_s=self.settings.run.resume_backoff_s,
                drift_recalibrate=self.settings.run.drift_recalibrate_dollars,
                market_data=self.health.missing_market_data,
            )
            self.state.recal = recal
            await calibrate_at_startup(self.state.tracker, core, recal)
            gone = await forget_positions_gone(core.ledger, store, self.clock.now_ms())
            if gone:  # a correction too: the console says so, not only the log
                self.state.lifecycle.note(
                    f"{plural(len(gone), 'stored position')} not on the exchange, written flat: {', '.join(gone)}"
                )
            policy, observe = self._load_policy(core, feed)
            mode = trading_mode(self.settings.run, self.options.connection, policy.name)
            log.info(
                "run.policy name=%s spec=%s exchange=%s paper=%s",
                mode.policy,
                self.settings.run.policy,
                mode.exchange,
                mode.paper,
            )
            actor = Actor(
                feed.books,
                core,
                policy,
                observe,
                self.settings.run.order_size_contracts,
                self.clock,
                # After a reconnect or a stream gap, no new exposure until a calibration resynced.
                may_trade=lambda: (
                    self.state.lifecycle.state is TraderState.TRADING and not core.live.needs_resync
                ),
                paper=mode.paper,
            )
            self.state.mode = mode
            self.state.lifecycle.note(mode_note(mode, self.settings.run.paper is None))
            self.state.actor = actor
            settle_startup_heap()
            actions = self.bus.subscribe("run.actions", [TraderAction], max_queue=1_000)
            if on_ready is not None:
                on_ready(self.state)
            tasks = [
                asyncio.create_task(actor.run(), name="actor"),
                asyncio.create_task(self.calibration.run(core, recal), name="calibration"),
                asyncio.create_task(self._watch_actions(actions), name="actions"),
                asyncio.create_task(core.exits.run_exit_timer(), name="exits"),
                asyncio.create_task(core.queue.run(), name="queue-positions"),
            ]
            if self.options.duration_s is not None:
                tasks.append(
                    asyncio.create_task(self._stop_after(stop, self.options.duration_s), name="duration")
                )
            try:
                await self._supervise(stop, tasks)
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
                await self._shutdown(core)
            report = self.state.stop_report
            self.exit_code = 0 if report is None or report.ok else STILL_RESTING_EXIT
        return self.exit_code

    # ------------------------------------------------------------------ startup
    async def _start_feed(
        self,
        stack: contextlib.AsyncExitStack,
        rest: KalshiRestClient,
        connection: ExchangeConnection,
        stop: asyncio.Event,
    ) -> MarketDataFeed:
        markets = self.settings.markets
        discovery = DiscoveryConfig(
            tickers=markets.tickers,
            series_tickers=markets.series,
            event_tickers=markets.events,
            top_n=markets.top_n,  # 0: only the named tickers
            closing_window_s=markets.closing_window_s,
        )
        feed = MarketDataFeed(
            rest,
            StreamConfig(url=connection.ws_url, max_auth_failures=3),
            connection.signer(),
            FeedConfig(
                discovery=discovery, refresh_s=markets.refresh_s, exchange=connection.environment.value
            ),
            clock=self.clock,
            on_event=self._on_stream_event,
            bus=self.bus,
        )
        stack.push_async_callback(feed.stop)
        self.state.feed = feed
        tracker = self.state.tracker
        tracker.begin(InitStep.STREAM_CONNECTED)
        selection = await start_feed(feed, connection, self.options.url_setting)
        if selection.missing:
            names = ", ".join(selection.missing)
            raise StartupError(
                f"{names}: not listed on the exchange at {connection.rest_url} "
                f"(from {self.options.tickers_setting})"
            )
        if not selection.tickers:
            skipped = ", ".join(
                f"{m.ticker} ({m.reason})" for m in selection.skipped if m.ticker in markets.tickers
            )
            raise StartupError("no markets to trade" + (f": {skipped}" if skipped else ""))
        await wait_live(feed, connection, stop)
        tracker.complete(InitStep.STREAM_CONNECTED, f"{plural(len(selection.tickers), 'market')} selected")
        tracker.begin(InitStep.SUBSCRIPTIONS)
        await feed.stream.subscribe(PRIVATE_CHANNELS)
        try:
            await feed.wait_books_valid(timeout_s=15.0)
        except TimeoutError:
            tracker.fail(InitStep.SUBSCRIPTIONS, "books did not become valid within 15 s")
            raise StartupError("order books did not arrive within 15 s (check the WebSocket URL)") from None
        tracker.complete(
            InitStep.SUBSCRIPTIONS,
            f"orderbook_delta for {plural(len(feed.tickers), 'market')} + private channels",
        )
        return feed

    def _load_policy(self, core: TraderCore, feed: MarketDataFeed) -> tuple[PolicyLike, Observe]:
        tracker = self.state.tracker
        tracker.begin(InitStep.POLICY_LOADED)
        try:
            policy, observe = self.decider_factory(self.settings, core, feed, self.clock)
        except Exception as exc:
            tracker.fail(InitStep.POLICY_LOADED, str(exc))
            raise StartupError(f"policy {self.settings.run.policy!r}: {exc}") from None
        tracker.complete(InitStep.POLICY_LOADED, policy.name)
        return policy, observe

    # ------------------------------------------------------------------ running
    async def _supervise(self, stop: asyncio.Event, tasks: list[asyncio.Task[None]]) -> None:
        stopper = asyncio.ensure_future(stop.wait())
        try:
            done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        for task in done:
            if task is not stopper and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]

    @staticmethod
    async def _stop_after(stop: asyncio.Event, seconds: float) -> None:
        await asyncio.sleep(seconds)
        stop.set()

    async def _shutdown(self, core: TraderCore) -> None:
        lifecycle = self.state.lifecycle
        if lifecycle.can_move(TraderState.STOPPING):
            lifecycle.move(TraderState.STOPPING, "stop requested")
        report = await stop_trading(core, flatten=self.settings.run.flatten_on_stop)
        self.state.stop_report = report
        await core.groups.stop()
        lifecycle.move(TraderState.STOPPED, report.summary())

    def resume(self) -> None:
        """The operator's resume (``kill -USR1 <pid>`` on ``kalshiflow run``)."""
        if self.state.recal is not None:
            self.state.recal.resume("operator")

    def _note_degraded(self, live: bool, state: str, error: str) -> None:
        """Kept for callers of the app (see ``StreamHealthMonitor.note_degraded``)."""
        self.health.note_degraded(live, state, error)

    def _on_new_exchange_session(self, jump: SessionJump) -> None:
        """The exchange's clock went back (a simulator started again): its orders and positions may
        not be the ones the trader knows. Said once, then nothing is sent until a calibration re-read them."""
        recal = self.state.recal
        if recal is None:  # still starting up: the startup calibration reads the new exchange
            log.warning("run.new_exchange_session %s; market time follows it", jump.describe())
            return
        log.warning(
            "run.new_exchange_session %s; market time follows it, no order is sent until a "
            "calibration has re-read orders and positions",
            jump.describe(),
        )
        recal.new_exchange_session(
            "new exchange session: recalibrating before any order", jump.to_ms - jump.from_ms
        )

    def _on_stream_event(self, event: StreamEvent) -> None:
        core = self.state.core
        if core is not None:
            core.live.handle(event)

    async def _watch_actions(self, actions: Subscription) -> None:
        """The decisions' subscriber: the view's recent actions, the status console, the log."""
        async for item in actions:
            if isinstance(item, Missed):
                log.warning("trader_action.missed", extra={"count": item.count})
            elif isinstance(item, TraderAction):
                self._on_action(item)

    def _on_action(self, action: TraderAction) -> None:
        self.state.actions.append(action)
        del self.state.actions[:-50]
        if action.result in (ActionResult.PLACED, ActionResult.REJECTED, ActionResult.UNKNOWN):
            self.state.lifecycle.note(f"last action: {action.action} {action.ticker} -> {action.result}")
        actor = self.state.actor
        observation = {} if actor is None else actor.named_observation(action, SCHEMA_V1.names)
        self.action_log(action, observation)
