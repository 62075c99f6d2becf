"""The dashboard's bus subscriber and its fan-out to browsers.

Why it is shaped like this: the trader must never wait for a browser (ARCHITECTURE §1). The hub
reads the bus through one bounded subscription, drained on the event loop when events arrive; each
event is serialized once and offered to every connected client's own bounded queue, and a client
task writes to its socket at whatever pace the socket allows, everything queued in one frame (a
JSON array of messages), so a burst costs one write per client, not one per message. A client whose queue overflows loses
what it had queued and is sent a fresh snapshot instead, so a stuck tab costs a bounded amount of
memory and nothing else. Book changes (thousands a second) are never forwarded one by one: once per
tick the hub reads the top of book of every traded market and sends those that changed, with the
portfolio, the valued positions and the counts of decisions (holds are counted, never listed;
decisions go out without their observation vector, which the page does not show).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

from kalshiflow.clock import Clock
from kalshiflow.dashboard import views
from kalshiflow.dashboard.messages import (
    MESSAGE_NAMES,
    ActionCounts,
    EquityPoint,
    MarketTop,
    Positions,
    Snapshot,
)
from kalshiflow.dashboard.metrics import DashboardMetrics
from kalshiflow.dashboard.views import TraderParts
from kalshiflow.events.bus import EventBus, Missed, Subscription
from kalshiflow.events.ledger import (
    CashChanged,
    FillBooked,
    FillData,
    OrderChanged,
    PositionChanged,
    SettlementBooked,
)
from kalshiflow.events.schema import EVENT_NAMES, jsonable
from kalshiflow.events.trader import (
    ActionResult,
    CalibrationCompleted,
    InitializationStep,
    QueuePositionChanged,
    RiskDenied,
    StatusEntry,
    StreamHealth,
    TraderAction,
)

log = logging.getLogger(__name__)

# Bus events the page receives as they are (trader actions other than holds, without observation).
FORWARDED: tuple[type, ...] = (
    TraderAction,
    PositionChanged,
    OrderChanged,
    FillBooked,
    CashChanged,
    SettlementBooked,
    StatusEntry,
    CalibrationCompleted,
    InitializationStep,
    StreamHealth,
    QueuePositionChanged,
)
COUNTED: tuple[type, ...] = (RiskDenied,)  # metrics only: the denied decision itself is forwarded


@dataclass(frozen=True)
class HubConfig:
    """``tick_s`` (1.0 s wall time): how often derived views go out; ``client_queue`` (500
    messages): a client's bound before it is resynced with a snapshot; ``bus_queue`` (50,000
    events): the hub's own subscription bound; ``recent`` (200): fills, actions and calibrations
    kept for the snapshot; ``series`` (3,600): equity and price points kept for the charts."""

    tick_s: float = 1.0
    client_queue: int = 500
    bus_queue: int = 50_000
    recent: int = 200
    series: int = 3_600


def encode(name: str, value: object) -> str:
    """One message as the JSON text sent to every client (serialized once, shared)."""
    data = jsonable(value)
    try:
        return json.dumps({"type": name, "data": data}, separators=(",", ":"), allow_nan=False)
    except ValueError:  # a NaN in an observation: the message goes out without it
        if isinstance(data, dict) and "observation" in data:
            data["observation"] = None
        return json.dumps({"type": name, "data": data}, separators=(",", ":"), default=str)


def message_name(value: object) -> str:
    cls = type(value)
    return EVENT_NAMES.get(cls) or MESSAGE_NAMES[cls]


class ClientChannel:
    """One browser's bounded queue of encoded messages; overflow means "send a snapshot next"."""

    def __init__(self, max_queue: int, label: str) -> None:
        self.label = label
        self.max_queue = max_queue
        self.needs_snapshot = True  # the first thing a client gets
        self.resyncs = 0  # snapshots sent because the client fell behind
        self._queue: deque[str] = deque()
        self._ready = asyncio.Event()
        self._ready.set()
        self.closed = False

    def __len__(self) -> int:
        return len(self._queue)

    def offer(self, text: str) -> None:
        if self.needs_snapshot:
            return  # the snapshot it is about to get includes this
        if len(self._queue) >= self.max_queue:
            self._queue.clear()
            self.needs_snapshot = True
            self.resyncs += 1
        else:
            self._queue.append(text)
        self._ready.set()

    def resync(self) -> None:
        self._queue.clear()
        self.needs_snapshot = True
        self._ready.set()

    async def next(self) -> list[str] | None:
        """Everything queued (sent as one frame), or None when a snapshot must be sent instead."""
        while True:
            if self.needs_snapshot:
                self.needs_snapshot = False
                self._queue.clear()
                return None
            if self._queue:
                batch = list(self._queue)
                self._queue.clear()
                return batch
            if self.closed:
                raise ConnectionError("channel closed")
            self._ready.clear()
            await self._ready.wait()

    def close(self) -> None:
        self.closed = True
        self._ready.set()


class DashboardHub:
    def __init__(
        self,
        bus: EventBus,
        parts: TraderParts,
        clock: Clock,
        metrics: DashboardMetrics | None = None,
        config: HubConfig | None = None,
    ) -> None:
        self.bus = bus
        self.parts = parts
        self.clock = clock
        self.metrics = metrics
        self.config = config or HubConfig()
        self.started_ms = clock.now_ms()
        self.clients: list[ClientChannel] = []
        n = self.config.recent
        self.fills: deque[FillData] = deque(maxlen=n)
        self.actions: deque[TraderAction] = deque(maxlen=n)
        self.calibrations: deque[CalibrationCompleted] = deque(maxlen=n)
        self.equity: deque[EquityPoint] = deque(maxlen=self.config.series)
        self.prices: deque[MarketTop] = deque(maxlen=self.config.series)
        self.initialization: dict[str, InitializationStep] = {}
        self.stream: StreamHealth | None = None
        self.results: dict[str, int] = {}
        self.missed = 0
        self._tops: dict[str, MarketTop] = {}
        self._subscription: Subscription | None = None
        self._ticker: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._subscription = self.bus.subscribe(
            "dashboard", (*FORWARDED, *COUNTED), self.config.bus_queue, on_ready=self._on_ready
        )
        self._ticker = asyncio.get_running_loop().create_task(self._tick_loop(), name="dashboard-tick")

    async def stop(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        for client in self.clients:
            client.close()

    def connect(self, label: str) -> ClientChannel:
        client = ClientChannel(self.config.client_queue, label)
        self.clients.append(client)
        return client

    def disconnect(self, client: ClientChannel) -> None:
        client.close()
        if client in self.clients:
            self.clients.remove(client)

    # ------------------------------------------------------------------ views
    def snapshot(self) -> Snapshot:
        self._on_ready()  # fold in whatever is queued, so the snapshot and the stream agree
        now = self.clock.now_ms()
        core = self.parts.core
        rows = () if core is None else views.position_rows(core)
        return Snapshot(
            ts_ms=now,
            status=views.status_view(self.parts),
            portfolio=None if core is None else views.portfolio(core, rows, now),
            positions=rows,
            orders=() if core is None else views.live_orders(core),
            queue=() if core is None else views.queue_positions(core),
            fills=tuple(self.fills),
            actions=tuple(self.actions),
            counts=self.counts(now),
            calibrations=tuple(self.calibrations),
            systems=self.systems(),
            markets=()
            if core is None
            else tuple(views.market_top(core, t, now) for t in sorted(core.markets)),
            equity=tuple(self.equity),
            prices=tuple(self.prices),
        )

    def counts(self, now_ms: int) -> ActionCounts:
        holds = self.results.get(ActionResult.HOLD.value, 0)
        return ActionCounts(now_ms, holds, tuple(sorted(self.results.items())))

    def systems(self) -> Any:
        return views.systems(
            self.parts,
            self.clock,
            self.started_ms,
            tuple(self.initialization.values()),
            self.stream,
            sum(self.results.values()),
        )

    # ------------------------------------------------------------------ bus
    def _on_ready(self) -> None:
        subscription = self._subscription
        if subscription is None:
            return
        for item in subscription.drain():
            if isinstance(item, Missed):
                # The hub's own picture is rebuilt from the trader's state: every client resyncs.
                self.missed += item.count
                for client in self.clients:
                    client.resync()
                continue
            self._apply(item)

    def _apply(self, event: object) -> None:
        if self.metrics is not None:
            self.metrics.observe(event)
        if isinstance(event, RiskDenied):
            return
        if isinstance(event, TraderAction):
            self.results[event.result.value] = self.results.get(event.result.value, 0) + 1
            if event.result is ActionResult.HOLD:
                return  # counted, not listed
            event = replace(event, observation=None)
            self.actions.append(event)
        elif isinstance(event, FillBooked):
            self.fills.append(event.fill)
        elif isinstance(event, CalibrationCompleted):
            self.calibrations.append(event)
        elif isinstance(event, InitializationStep):
            self.initialization[event.step] = event
        elif isinstance(event, StreamHealth):
            self.stream = event
        self.broadcast(event)

    def broadcast(self, value: object) -> None:
        if not self.clients:
            return
        text = encode(message_name(value), value)
        for client in self.clients:
            client.offer(text)

    # ------------------------------------------------------------------ tick
    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.tick_s)
            try:
                self.tick()
            except Exception:  # a view that failed to build must not end the dashboard
                log.exception("dashboard.tick_failed")

    def tick(self) -> None:
        """Derived views: portfolio, positions, changed markets, counts, systems, chart points."""
        self._on_ready()
        core = self.parts.core
        now = self.clock.now_ms()
        if core is not None:
            rows = views.position_rows(core)
            summary = views.portfolio(core, rows, now)
            if self.parts.tracker.last_portfolio_sync_ms is not None:  # before the first sync cash is 0
                self.equity.append(
                    EquityPoint(now, summary.portfolio_value, summary.realized_pnl, summary.unrealized_pnl)
                )
            if self.metrics is not None:
                self.metrics.portfolio(summary)
            self.broadcast(summary)
            self.broadcast(Positions(now, rows))
            for ticker in sorted(core.markets):
                top = views.market_top(core, ticker, now)
                last = self._tops.get(ticker)
                if last is not None and (last.yes_bid, last.yes_ask, last.valid) == (
                    top.yes_bid,
                    top.yes_ask,
                    top.valid,
                ):
                    continue
                self._tops[ticker] = top
                self.prices.append(top)
                self.broadcast(top)
        self.broadcast(self.counts(now))
        self.broadcast(self.systems())
