"""``kalshiflow ctl --url`` pointed at the wrong thing says so in one line.

Pointed at the simulator (its address is on screen beside the dashboard's) it read "refused (404):
Not Found", as if the trader had refused the control; a URL without its scheme
(``--url 127.0.0.1:8000``) read "cannot reach the dashboard ... (UnsupportedProtocol)".
"""

from __future__ import annotations

import asyncio

import pytest
from tests.loopback_sim import LoopbackSim

from kalshiflow.commands.ctl import CtlCommand, CtlError, send_control


async def test_a_server_that_is_not_a_dashboard_is_named_as_such(loopback_sim: LoopbackSim) -> None:
    for url in (loopback_sim.address.base_url, loopback_sim.address.rest_url):
        with pytest.raises(CtlError) as raised:
            await asyncio.to_thread(send_control, CtlCommand.PAUSE, url, "token")
        message = str(raised.value)
        assert message.startswith(f"{url} is not a kalshiflow dashboard"), message
        assert "dashboard http://" in message, message  # where the right address is printed


def test_a_url_without_its_scheme_is_named_with_the_fix() -> None:
    with pytest.raises(CtlError) as raised:
        send_control(CtlCommand.PAUSE, "127.0.0.1:8000", "token")
    assert str(raised.value) == (
        "--url 127.0.0.1:8000: give the dashboard's address with its scheme: http://127.0.0.1:8000"
    )
