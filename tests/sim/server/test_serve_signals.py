"""The embedded simulator leaves the process's signals to the process.

``run`` starts the simulator in its own event loop; Ctrl-C must reach the trader's handler first so
the trader stops (cancelling its orders) while the exchange still answers. uvicorn's default is to
take SIGINT/SIGTERM for the server while it serves, which stopped the simulator first.
"""

from __future__ import annotations

import signal

from starlette.applications import Starlette

from kalshiflow.sim.server.serve import running_server


async def test_serving_keeps_the_process_signal_handlers() -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    async with running_server(Starlette()):
        during = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    assert during == before
    assert {sig: signal.getsignal(sig) for sig in before} == before
