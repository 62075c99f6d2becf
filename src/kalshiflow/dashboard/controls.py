"""The operator's controls: what they may ask, and who may ask it.

The dashboard does not steer the trader itself; it calls ``TraderControls``, a small protocol the
composition layer implements (it owns the parts). Every control needs the token: it travels in the
``X-Kalshiflow-Token`` header only (never a cookie, never a query string, so a link or another page
cannot carry it), is compared in constant time, and a request whose ``Origin`` is not the
dashboard's own is refused before the token is even looked at -- no other web page open in the same
browser can drive the trader. Refused requests change nothing. Each accepted control is recorded in
the status history with who asked (the client's name and address), by the implementation.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from typing import Protocol

from kalshiflow.dashboard.messages import ControlAction

TOKEN_HEADER = "x-kalshiflow-token"
CLIENT_HEADER = "x-kalshiflow-client"  # what the caller calls itself: "dashboard", "ctl", ...
TOKEN_BYTES = 24


class TraderControls(Protocol):
    """What the operator can ask of the running trader; each returns (done, detail)."""

    async def pause(self, by: str) -> tuple[bool, str]: ...

    async def resume(self, by: str) -> tuple[bool, str]: ...

    async def close_position(self, ticker: str, by: str) -> tuple[bool, str]: ...

    async def flatten(self, by: str) -> tuple[bool, str]: ...

    async def kill_switch(self, on: bool, by: str) -> tuple[bool, str]: ...

    async def calibrate(self, by: str) -> tuple[bool, str]: ...


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_ok(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def origin_ok(headers: Mapping[str, str], scheme: str) -> bool:
    """No Origin (a command-line client) or exactly this server's own origin."""
    origin = headers.get("origin")
    if origin is None:
        return True
    host = headers.get("host")
    return host is not None and origin in (f"{scheme}://{host}",)


def who(headers: Mapping[str, str], client_host: str | None) -> str:
    """ "dashboard (127.0.0.1)": the caller's own name, cut short and printable, and its address."""
    name = headers.get(CLIENT_HEADER, "api")
    name = "".join(ch for ch in name if ch.isalnum() or ch in "-_.")[:32] or "api"
    return f"{name} ({client_host or 'unknown'})"


async def apply(
    controls: TraderControls, action: ControlAction, by: str, ticker: str | None
) -> tuple[bool, str]:
    if action is ControlAction.PAUSE:
        return await controls.pause(by)
    if action is ControlAction.RESUME:
        return await controls.resume(by)
    if action is ControlAction.CLOSE:
        if not ticker:
            raise ValueError("close needs a ticker")
        return await controls.close_position(ticker, by)
    if action is ControlAction.FLATTEN:
        return await controls.flatten(by)
    if action is ControlAction.KILL_ON:
        return await controls.kill_switch(True, by)
    if action is ControlAction.KILL_OFF:
        return await controls.kill_switch(False, by)
    return await controls.calibrate(by)
