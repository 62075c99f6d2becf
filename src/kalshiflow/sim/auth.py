"""Server-side verification of Kalshi signed requests for the simulator (reference §2, §14.1).

The simulator must *verify* signatures (RSA-PSS is randomized, so two signatures of one message
differ) against a registered public key and answer failures with a 401 in Kalshi's REST error
envelope. The signed message is rebuilt here independently of the client signer, so a bug in one is
caught by tests of the other.

Invariants:

* Header names are matched case-insensitively.
* Checks run cheapest first: headers present → timestamp well-formed → key known → timestamp within
  ``max_skew_ms`` (either direction) → signature valid. Each failure is an ``AuthError`` with a
  stable snake_case ``code``.
* Public keys are parsed once, at registration; verification does no PEM parsing.
* PSS salt length must equal the digest length (32 bytes), as Kalshi requires.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

AUTH_ERROR_STATUS: Final = 401
DEFAULT_MAX_SKEW_MS: Final = 30_000

_HEADER_KEY: Final = "kalshi-access-key"
_HEADER_TIMESTAMP: Final = "kalshi-access-timestamp"
_HEADER_SIGNATURE: Final = "kalshi-access-signature"
_REQUIRED_HEADERS: Final = (_HEADER_KEY, _HEADER_TIMESTAMP, _HEADER_SIGNATURE)

_PSS: Final = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)

# Error codes (stable; clients and tests branch on them).
MISSING_AUTHENTICATION: Final = "missing_authentication"
INVALID_TIMESTAMP: Final = "invalid_timestamp"
STALE_TIMESTAMP: Final = "stale_timestamp"
INVALID_API_KEY: Final = "invalid_api_key"
INVALID_SIGNATURE: Final = "invalid_signature"


class AuthError(Exception):
    """A request failed authentication; answered with HTTP 401 and ``auth_error_body``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def auth_error_body(err: AuthError) -> dict[str, dict[str, str]]:
    """Kalshi's REST error envelope (no deprecated ``service`` key)."""
    return {"error": {"code": err.code, "message": err.message, "details": ""}}


@dataclass(frozen=True, slots=True)
class RegisteredKey:
    key_id: str
    account_id: str
    public_key: RSAPublicKey


class KeyRegistry:
    """API key id → (account, parsed public key)."""

    def __init__(self) -> None:
        self._keys: dict[str, RegisteredKey] = {}

    def register(self, key_id: str, public_key_pem: bytes | str, account_id: str) -> RegisteredKey:
        """Add a key. Re-registering the same key id for another account is an error."""
        if not key_id:
            raise ValueError("key_id must not be empty")
        pem = public_key_pem.encode() if isinstance(public_key_pem, str) else public_key_pem
        try:
            public_key = serialization.load_pem_public_key(pem)
        except (ValueError, UnsupportedAlgorithm):
            raise ValueError(f"key {key_id!r}: not a PEM public key") from None
        if not isinstance(public_key, RSAPublicKey):
            raise ValueError(f"key {key_id!r}: not an RSA public key")
        existing = self._keys.get(key_id)
        if existing is not None and existing.account_id != account_id:
            raise ValueError(f"key {key_id!r} is already registered to another account")
        entry = RegisteredKey(key_id=key_id, account_id=account_id, public_key=public_key)
        self._keys[key_id] = entry
        return entry

    def lookup(self, key_id: str) -> RegisteredKey | None:
        return self._keys.get(key_id)

    def unregister(self, key_id: str) -> None:
        self._keys.pop(key_id, None)

    def keys_of(self, account_id: str) -> list[str]:
        """Key ids registered to ``account_id``, in registration order."""
        return [k for k, entry in self._keys.items() if entry.account_id == account_id]

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys

    def __len__(self) -> int:
        return len(self._keys)


def _signed_message(timestamp: str, method: str, path: str) -> bytes:
    return (timestamp + method.upper() + path.split("?", 1)[0]).encode()


def _shorten(text: str, limit: int = 64) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def verify_request(
    registry: KeyRegistry,
    headers: Mapping[str, str],
    method: str,
    path: str,
    now_ms: int,
    max_skew_ms: int = DEFAULT_MAX_SKEW_MS,
) -> str:
    """Return the account id of a correctly signed request, or raise ``AuthError``.

    ``path`` is the full request path (``/trade-api/v2/...`` or ``/trade-api/ws/v2``); a query
    string, if present, is ignored.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    missing = [name.upper() for name in _REQUIRED_HEADERS if not lowered.get(name)]
    if missing:
        raise AuthError(MISSING_AUTHENTICATION, f"missing header(s): {', '.join(missing)}")
    key_id = lowered[_HEADER_KEY]
    timestamp = lowered[_HEADER_TIMESTAMP].strip()
    signature_b64 = lowered[_HEADER_SIGNATURE].strip()

    if not (timestamp.isascii() and timestamp.isdigit()):
        raise AuthError(INVALID_TIMESTAMP, "KALSHI-ACCESS-TIMESTAMP must be Unix time in milliseconds")

    entry = registry.lookup(key_id)
    if entry is None:
        raise AuthError(INVALID_API_KEY, f"unknown API key {_shorten(key_id)!r}")

    skew_ms = int(timestamp) - now_ms
    if abs(skew_ms) > max_skew_ms:
        direction = "ahead of" if skew_ms > 0 else "behind"
        raise AuthError(
            STALE_TIMESTAMP,
            f"timestamp is {abs(skew_ms)} ms {direction} server time (allowed ±{max_skew_ms} ms)",
        )

    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        raise AuthError(INVALID_SIGNATURE, "signature is not valid base64") from None
    try:
        entry.public_key.verify(signature, _signed_message(timestamp, method, path), _PSS, hashes.SHA256())
    except InvalidSignature:
        raise AuthError(INVALID_SIGNATURE, "signature does not match the request") from None
    return entry.account_id
