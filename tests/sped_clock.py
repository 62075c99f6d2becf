"""A simulator's market clock under ``--speed``, driven by a test's manual wall clock.

``kalshiflow sim --speed N`` runs its market time N times the wall clock from the time it started
at; tests of a trader following such a simulator (and of one restarted, whose clock starts again
behind the old one's) need that clock without real time passing.
"""

from __future__ import annotations

from kalshiflow.clock import ManualClock


class SpedUpClock:
    """``speed`` times ``wall`` from the wall time it is made at; its market time starts at
    ``start_ms`` (default: that wall time, as a freshly started simulator's)."""

    def __init__(self, wall: ManualClock, speed: float, start_ms: int | None = None) -> None:
        self.wall = wall
        self.speed = speed
        self.wall_start_ms = wall.now_ms()
        self.start_ms = self.wall_start_ms if start_ms is None else start_ms

    def now_ms(self) -> int:
        return self.start_ms + int(self.speed * (self.wall.now_ms() - self.wall_start_ms))

    async def sleep(self, seconds: float) -> None:
        await self.wall.sleep(seconds / self.speed)
