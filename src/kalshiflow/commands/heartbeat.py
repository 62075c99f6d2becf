"""The run's heartbeat in the store, so ``kalshiflow status`` can tell running, stopped and crashed.

One row per ``kalshiflow run`` (``store.trader_runs``): written at start, its ``heartbeat_ms``
refreshed every ``HEARTBEAT_S`` wall seconds from a task (off the event loop, in a thread), and
stamped ``stopped_ms`` with the exit code when the run ends -- normally or not, as long as the
process lives to run its exit stack. ``kill -9`` leaves no stamp: that is how a crash shows.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from typing import Final

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from kalshiflow.store.trader_runs import beat, finish_run, start_run

log = logging.getLogger(__name__)

HEARTBEAT_S: Final = 2.0  # wall seconds between heartbeats
STALE_AFTER_S: Final = 15.0  # a heartbeat older than this, without a stop stamp: not running


def wall_ms() -> int:
    """Wall-clock epoch ms: the trader's clock may run faster than wall time in the simulator."""
    return time.time_ns() // 1_000_000


class RunHeartbeat:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.run_id: int | None = None

    async def start(self) -> None:
        self.run_id = await asyncio.to_thread(
            start_run, self._engine, os.getpid(), socket.gethostname(), wall_ms()
        )

    async def run(self) -> None:
        """Beat until cancelled; a failed write is logged, never fatal (the next one may succeed)."""
        while self.run_id is not None:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                await asyncio.to_thread(beat, self._engine, self.run_id, wall_ms())
            except SQLAlchemyError as exc:
                log.warning("heartbeat.failed", extra={"error": str(exc)})

    def finish(self, exit_code: int) -> None:
        """Stamp the clean stop (blocking: called from the exit stack, before the store closes)."""
        if self.run_id is None:
            return
        try:
            finish_run(self._engine, self.run_id, wall_ms(), exit_code)
        except SQLAlchemyError as exc:
            log.error("heartbeat.finish_failed", extra={"error": str(exc)})
