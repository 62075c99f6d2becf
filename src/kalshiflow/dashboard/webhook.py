"""Webhook notifications: a JSON POST when something a person must know about happens.

Sent when the trader pauses, resumes, the kill switch trips (or an operator turns it on or off), a
market's circuit breaker opens, or a calibration fails. It is a bus subscriber like any other, and
delivery runs in its own task with a bounded queue of pending notices, a timeout per attempt and a
bounded number of retries with backoff, so a slow or dead endpoint never delays trading; what cannot
be delivered is logged (with the endpoint's host only: webhook URLs often carry a secret) and
dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from kalshiflow.dashboard.views import TraderParts
from kalshiflow.events.bus import EventBus, Missed, Subscription
from kalshiflow.events.trader import CalibrationCompleted, RiskDenied, StatusEntry, TraderState

log = logging.getLogger(__name__)

BREAKER_REASON = "circuit_breaker_open"


@dataclass(frozen=True)
class WebhookConfig:
    """``attempts`` (4): tries per notice; ``backoff_s`` (1.0): first retry delay, doubled each
    time; ``timeout_s`` (5.0) per attempt; ``max_pending`` (100) notices queued before the oldest
    is dropped; ``breaker_repeat_ms`` (300,000): one breaker notice per market per this long."""

    attempts: int = 4
    backoff_s: float = 1.0
    timeout_s: float = 5.0
    max_pending: int = 100
    breaker_repeat_ms: int = 300_000


def notice_for(event: object) -> dict[str, Any] | None:
    """The notice an event deserves, or None (most events deserve none)."""
    if isinstance(event, StatusEntry):
        text = event.result_text
        if event.state is TraderState.PAUSED and event.previous_state is not None:
            kind = "kill_switch" if "kill switch" in text else "paused"
            return {"event": kind, "ts_ms": event.ts_ms, "text": text}
        if event.state is TraderState.TRADING and event.previous_state is TraderState.PAUSED:
            return {"event": "resumed", "ts_ms": event.ts_ms, "text": text}
        if text.startswith("kill switch"):
            return {"event": "kill_switch", "ts_ms": event.ts_ms, "text": text}
        return None
    if isinstance(event, CalibrationCompleted) and not event.ok:
        return {"event": "calibration_failed", "ts_ms": event.started_ms, "text": event.failure_reason}
    if isinstance(event, RiskDenied) and event.reason == BREAKER_REASON:
        return {"event": "circuit_breaker", "ts_ms": event.ts_ms, "text": f"{event.ticker}: {event.detail}"}
    return None


class WebhookNotifier:
    def __init__(
        self,
        url: str,
        bus: EventBus,
        parts: TraderParts | None = None,
        config: WebhookConfig | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self.host = urlsplit(url).hostname or "?"
        self.bus = bus
        self.config = config or WebhookConfig()
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._pending: deque[dict[str, Any]] = deque()
        self._wake = asyncio.Event()
        self._breaker_sent_ms: dict[str, int] = {}
        self._subscription: Subscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._transport = transport

    def start(self) -> None:
        self._subscription = self.bus.subscribe(
            "webhook", (StatusEntry, CalibrationCompleted, RiskDenied), 1_000, on_ready=self._on_ready
        )
        self._task = asyncio.get_running_loop().create_task(self._deliver(), name="webhook")

    async def stop(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _on_ready(self) -> None:
        if self._subscription is None:
            return
        for item in self._subscription.drain():
            if isinstance(item, Missed):
                continue
            notice = notice_for(item)
            if notice is None:
                continue
            if isinstance(item, RiskDenied):
                last = self._breaker_sent_ms.get(item.ticker)
                if last is not None and item.ts_ms - last < self.config.breaker_repeat_ms:
                    continue
                self._breaker_sent_ms[item.ticker] = item.ts_ms
            if len(self._pending) >= self.config.max_pending:
                self._pending.popleft()
                self.dropped += 1
            self._pending.append(notice)
            self._wake.set()

    async def _deliver(self) -> None:
        async with httpx.AsyncClient(timeout=self.config.timeout_s, transport=self._transport) as http:
            while True:
                while not self._pending:
                    self._wake.clear()
                    await self._wake.wait()
                notice = self._pending.popleft()
                await self._post(http, notice)

    async def _post(self, http: httpx.AsyncClient, notice: dict[str, Any]) -> None:
        delay = self.config.backoff_s
        for attempt in range(1, self.config.attempts + 1):
            try:
                response = await http.post(self.url, json={"source": "kalshiflow", **notice})
                if response.status_code < 300:
                    self.sent += 1
                    return
                problem = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
            log.warning(
                "webhook.failed",
                extra={"host": self.host, "attempt": attempt, "problem": problem, "notice": notice["event"]},
            )
            if attempt < self.config.attempts:
                await asyncio.sleep(delay)
                delay *= 2
        self.failed += 1
