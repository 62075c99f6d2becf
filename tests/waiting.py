"""The one bounded wait of the suite: poll a condition the test cannot await directly.

Things a server pushes (a fill over the WebSocket, a cleanup on disconnect) have no event a test
could await, so tests poll with short awaits. The bound only turns a hang into a failure with a
message; it is never what a test measures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(condition: Callable[[], bool], within_s: float = 10.0, what: str = "condition") -> None:
    """Return once ``condition()`` holds; fail naming ``what`` if it does not within ``within_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached within {within_s}s")
        await asyncio.sleep(0.005)
