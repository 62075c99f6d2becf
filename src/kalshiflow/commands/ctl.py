"""``kalshiflow ctl``: the dashboard's controls from a terminal, against a running trader.

It speaks the dashboard's REST API (``POST /api/control/...`` with the token in the header), so a
control asked here is refused, accepted and recorded exactly as one asked from the page; the status
history names it ``ctl (address)``. Sends no Origin, as any non-browser client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import httpx

from kalshiflow.dashboard.controls import CLIENT_HEADER, TOKEN_HEADER
from kalshiflow.dashboard.messages import ControlAction

DEFAULT_URL = "http://127.0.0.1:8000"


class CtlCommand(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    FLATTEN = "flatten"
    KILL = "kill"
    UNKILL = "unkill"
    CALIBRATE = "calibrate"
    CLOSE = "close"


ACTIONS: Mapping[CtlCommand, ControlAction] = {
    CtlCommand.PAUSE: ControlAction.PAUSE,
    CtlCommand.RESUME: ControlAction.RESUME,
    CtlCommand.FLATTEN: ControlAction.FLATTEN,
    CtlCommand.KILL: ControlAction.KILL_ON,
    CtlCommand.UNKILL: ControlAction.KILL_OFF,
    CtlCommand.CALIBRATE: ControlAction.CALIBRATE,
    CtlCommand.CLOSE: ControlAction.CLOSE,
}


class CtlError(Exception):
    """The control could not be delivered or was refused; the message says why."""


@dataclass(frozen=True)
class CtlReply:
    ok: bool
    detail: str


def send_control(
    command: CtlCommand,
    url: str,
    token: str | None,
    ticker: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> CtlReply:
    if not token:
        raise CtlError("no token: pass --token or set KALSHIFLOW_DASHBOARD_TOKEN (printed by kalshiflow run)")
    if command is CtlCommand.CLOSE and not ticker:
        raise CtlError("close needs a ticker: kalshiflow ctl close TICKER")
    if command is not CtlCommand.CLOSE and ticker:
        # Every other control acts on the whole trader: a ticker would read as "only this market".
        raise CtlError(
            f"{command.value} takes no ticker ({ticker!r}): it acts on every market; only close takes one"
        )
    if "://" not in url:
        raise CtlError(f"--url {url}: give the dashboard's address with its scheme: http://{url.lstrip('/')}")
    action = ACTIONS[command]
    endpoint = f"{url.rstrip('/')}/api/control/{action.value}"
    body = {"ticker": ticker} if ticker else {}
    try:
        with httpx.Client(timeout=30, transport=transport) as http:
            response = http.post(endpoint, json=body, headers={TOKEN_HEADER: token, CLIENT_HEADER: "ctl"})
    except httpx.HTTPError as exc:
        raise CtlError(
            f"cannot reach the dashboard at {url} ({type(exc).__name__}); is kalshiflow run up?"
        ) from None
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    if response.status_code == 404 and not isinstance(payload.get("error"), str):
        # The dashboard answers a control path with {"error": "..."}; anything else is another server
        # (the simulator's address, printed beside the dashboard's, answers Kalshi's error object).
        raise CtlError(
            f"{url} is not a kalshiflow dashboard (404 for /api/control/{action.value}): give the address "
            "kalshiflow run printed as 'dashboard http://...'"
        )
    if response.status_code == 401:
        raise CtlError("the trader refused the token (401)")
    if response.status_code in (400, 403, 404, 413):
        raise CtlError(f"refused ({response.status_code}): {payload.get('error', response.text[:200])}")
    if response.status_code not in (200, 409):
        raise CtlError(f"unexpected answer {response.status_code} from {endpoint}")
    return CtlReply(bool(payload.get("ok")), str(payload.get("detail", "")))
