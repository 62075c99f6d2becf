"""Loopback host names: which addresses reach only this machine, and whether a ``Host`` names one.

Why here: both local HTTP servers -- the dashboard and the simulator (whose ``/sim/admin`` API has no
auth) -- listen on loopback by default and must refuse requests naming another host (DNS
rebinding: a page of evil.example whose name was re-pointed at 127.0.0.1 sends its own name as
``Host`` and as ``Origin``, so an Origin check alone passes). ``sim`` imports ``domain`` only, so
the one definition lives at the bottom layer. Pure string and address checks, no I/O.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping


def is_loopback(host: str) -> bool:
    """``localhost``, ``127.x.x.x`` or ``::1`` (a name or an address, without a port); any other
    name may resolve to anything."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(value: str) -> str:
    """The name in a ``Host`` header: ``127.0.0.1:8000`` -> ``127.0.0.1``, ``[::1]:8000`` -> ``::1``."""
    if value.startswith("["):
        return value[1:].partition("]")[0]
    return value.partition(":")[0] if value.count(":") == 1 else value


def loopback_host_ok(headers: Mapping[str, str]) -> bool:
    """For a server listening on loopback: the request names a loopback host (``Host`` header)."""
    host = headers.get("host")
    return host is not None and is_loopback(host_name(host))
