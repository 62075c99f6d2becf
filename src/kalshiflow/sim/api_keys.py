"""API keys an account manages itself (``/api_keys``): names, scopes and sub-account restriction.

Signature verification only needs key id -> (account, public key), which ``sim.auth.KeyRegistry``
keeps; this module keeps what the key-management endpoints add on top (key pairs for
``POST /api_keys/generate`` come from ``sim.keys.new_key_pair``). A key created or generated here is registered with the same registry
as the keys given at start-up, so it signs requests at once; a deleted key stops at once.

Scopes are enforced by ``allows``: a read needs ``read`` (or ``read::portfolio_balance`` for the
balance), a mutation ``write`` or the child scope of its group (``write::trade`` for orders and
order groups, ``write::transfer`` for sub-accounts).

Choices where the simulator models less than Kalshi (deliberate, documented in the README):

* A key's sub-account restriction is recorded and listed, not enforced.
* Only RSA keys (Ed25519 ones are refused with 400), as the simulator verifies RSA-PSS only.
* Keys given at start-up (``--account`` or the admin API) are listed with the name ``"startup"``
  and full scopes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

SCOPES: Final = frozenset(
    {
        "read",
        "write",
        "read::block_trade_accept",
        "read::portfolio_balance",
        "write::trade",
        "write::transfer",
        "write::fcm_risk",
        "write::block_trade_accept",
    }
)
FULL_ACCESS: Final = ("read", "write")
STARTUP_KEY_NAME: Final = "startup"


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    key_id: str
    name: str
    scopes: tuple[str, ...] = FULL_ACCESS
    subaccount: int | None = None


@dataclass(slots=True)
class ApiKeyBook:
    """Metadata of keys made through the API, by key id."""

    infos: dict[str, ApiKeyInfo] = field(default_factory=dict)

    def info(self, key_id: str) -> ApiKeyInfo:
        return self.infos.get(key_id) or ApiKeyInfo(key_id, STARTUP_KEY_NAME)


_MUTATIONS: Final = frozenset({"POST", "PUT", "DELETE", "PATCH"})
_CHILD_WRITE_SCOPES: Final = (
    ("/portfolio/events/orders", "write::trade"),
    ("/portfolio/orders", "write::trade"),
    ("/portfolio/order_groups", "write::trade"),
    ("/portfolio/subaccounts", "write::transfer"),
)


def allows(scopes: tuple[str, ...], method: str, path: str) -> bool:
    """Whether a key with ``scopes`` may make this request (``path`` under ``/trade-api/v2``)."""
    if method.upper() not in _MUTATIONS:
        return "read" in scopes or (path == "/portfolio/balance" and "read::portfolio_balance" in scopes)
    if "write" in scopes:
        return True
    return any(path.startswith(prefix) and child in scopes for prefix, child in _CHILD_WRITE_SCOPES)


def check_scopes(scopes: tuple[str, ...]) -> str | None:
    """Why ``scopes`` is not a valid grant, or None. ``write`` needs ``read`` (Kalshi's rule)."""
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        return f"unknown scope {unknown[0]!r}"
    if "write" in scopes and "read" not in scopes:
        return "the write scope requires the read scope"
    return None
