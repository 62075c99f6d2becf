"""What a failed exchange call means, written down as data.

The trader's safety rests on one distinction: was a request *definitively refused* (nothing
happened, act on it) or is its outcome *unknown* (it may have taken effect, resolve it by reading)?
This module is the one place that answers it. ``STATUS_KINDS`` and ``CODE_KINDS`` map an HTTP status
and Kalshi's ``error.code`` to an ``ErrorKind``; ``TRANSPORT_KINDS`` does the same for transport
failures. Everything else (retries, order resolution, pausing) reads the kind, never a status.

Policy (STYLE.md "Ambiguity is policy"):

* 4xx with a venue answer is ``REJECTED`` (401/403 ``AUTH``, 404 ``NOT_FOUND``, 429 ``RATE_LIMITED``).
* 5xx, timeouts, resets and responses lost after sending are ``AMBIGUOUS``: the exchange may have
  acted. A write is never assumed rejected on these.
* A status nobody expects (1xx/3xx, unknown 5xx) is ``AMBIGUOUS``; an unknown 4xx is ``REJECTED``.
* A connection that was never established is still ``AMBIGUOUS`` as a kind (the caller's policy
  stays simple), but carries ``request_sent=False`` so a caller may know nothing reached the venue
  (``never_sent``: the executor rejects such a create at once and leaves such a cancel's order be).
* The message of an ``AMBIGUOUS`` error says what happened: "nothing was sent" for a connection
  never established, "a read changes nothing" for a GET; only a sent write "may have taken effect".

Messages name the request (method and path) and what to check; they never contain headers or keys.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final

import httpx


class ErrorKind(StrEnum):
    REJECTED = "rejected"  # definitive: the venue refused, nothing happened
    AMBIGUOUS = "ambiguous"  # unknown: the request may have taken effect
    RATE_LIMITED = "rate_limited"  # 429: refused before processing; retry after a pause
    AUTH = "auth"  # 401/403: credentials or permissions are wrong
    NOT_FOUND = "not_found"  # 404: unknown market, order or group


# (status) -> kind. Statuses not listed fall back to _fallback_kind.
STATUS_KINDS: Final[Mapping[int, ErrorKind]] = MappingProxyType(
    {
        400: ErrorKind.REJECTED,
        401: ErrorKind.AUTH,
        403: ErrorKind.AUTH,
        404: ErrorKind.NOT_FOUND,
        405: ErrorKind.REJECTED,
        409: ErrorKind.REJECTED,
        410: ErrorKind.REJECTED,
        422: ErrorKind.REJECTED,
        429: ErrorKind.RATE_LIMITED,
        500: ErrorKind.AMBIGUOUS,
        502: ErrorKind.AMBIGUOUS,
        503: ErrorKind.AMBIGUOUS,
        504: ErrorKind.AMBIGUOUS,
    }
)

# (status, error.code) -> kind for the venue codes the trader meets (reference §9). They agree with
# their status today; listing them pins the policy, so a change of status mapping is a visible edit.
CODE_KINDS: Final[Mapping[tuple[int, str], ErrorKind]] = MappingProxyType(
    {
        (400, "invalid_price"): ErrorKind.REJECTED,
        (400, "invalid_order_size"): ErrorKind.REJECTED,
        (400, "insufficient_balance"): ErrorKind.REJECTED,
        (409, "order_already_exists"): ErrorKind.REJECTED,  # duplicate client_order_id: it exists
        (409, "market_closed"): ErrorKind.REJECTED,
        (410, "deprecated_v1_order_endpoint"): ErrorKind.REJECTED,
        # Right after a WS "created" event a market may 404 for a moment (read lag); still "not
        # found now": the caller decides after several misses.
        (404, "not_found"): ErrorKind.NOT_FOUND,
        (404, "market_not_found"): ErrorKind.NOT_FOUND,
    }
)

# Transport failures -> (kind, whether the request may have reached the venue).
TRANSPORT_KINDS: Final[tuple[tuple[type[BaseException], ErrorKind, bool], ...]] = (
    (httpx.ConnectError, ErrorKind.AMBIGUOUS, False),
    (httpx.ConnectTimeout, ErrorKind.AMBIGUOUS, False),
    (httpx.PoolTimeout, ErrorKind.AMBIGUOUS, False),
    (httpx.TimeoutException, ErrorKind.AMBIGUOUS, True),  # read/write timeout: sent, answer unknown
    (httpx.TransportError, ErrorKind.AMBIGUOUS, True),  # reset, protocol error, lost response
    (asyncio.TimeoutError, ErrorKind.AMBIGUOUS, True),
    (OSError, ErrorKind.AMBIGUOUS, True),
)

_HINTS: Final[Mapping[ErrorKind, str]] = MappingProxyType(
    {
        ErrorKind.AUTH: (
            "check the key id (--key-id / KALSHIFLOW_KEY_ID) and the private key; demo and "
            "production keys are separate, and the clock must be right"
        ),
        ErrorKind.RATE_LIMITED: "rate limited; slow down or raise the configured tier",
        ErrorKind.AMBIGUOUS: "outcome unknown; the request may have taken effect",
    }
)

# Ambiguous failures where "may have taken effect" would be false: the request never left, or it
# was a read, which changes nothing on the venue whatever happened to it.
_NOT_SENT_HINT: Final = "nothing was sent: the connection was never established"
_READ_HINT: Final = "a read changes nothing on the exchange"
_READ_METHODS: Final = frozenset({"GET", "HEAD"})


def kind_for_status(status: int, code: str | None = None) -> ErrorKind:
    """The kind of an HTTP error answer: ``CODE_KINDS`` first, then ``STATUS_KINDS``, then the class."""
    if code is not None and (status, code) in CODE_KINDS:
        return CODE_KINDS[(status, code)]
    if status in STATUS_KINDS:
        return STATUS_KINDS[status]
    if 200 <= status < 300:
        raise ValueError(f"status {status} is a success, not an error")
    return ErrorKind.REJECTED if 400 <= status < 500 else ErrorKind.AMBIGUOUS


def transport_kind(exc: BaseException) -> tuple[ErrorKind, bool]:
    """(kind, request_sent) of a transport failure, by the first matching row of ``TRANSPORT_KINDS``."""
    for exc_type, kind, sent in TRANSPORT_KINDS:
        if isinstance(exc, exc_type):
            return kind, sent
    raise TypeError(f"{type(exc).__name__} is not a transport failure")


class ExchangeError(Exception):
    """A failed exchange call: its kind, and what was asked (never headers or key material)."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        method: str = "",
        path: str = "",
        details: str = "",
    ) -> None:
        self.kind = kind
        self.status = status
        self.code = code
        self.message = message
        self.method = method
        self.path = path
        self.details = details
        super().__init__(self._render())

    def _render(self) -> str:
        where = f"{self.method} {self.path}".strip()
        answer = " ".join(str(p) for p in (self.status, self.code) if p is not None)
        text = f"{where}: {answer}: {self.message}" if answer else f"{where}: {self.message}"
        hint = self._hint()
        return f"{text} ({hint})" if hint else text

    def _hint(self) -> str | None:
        return _HINTS.get(self.kind)


class RejectedError(ExchangeError):
    """The venue refused the request; nothing happened."""


class AmbiguousError(ExchangeError):
    """The outcome is unknown: the request may or may not have taken effect."""

    def __init__(
        self,
        message: str,
        *,
        request_sent: bool = True,
        status: int | None = None,
        code: str | None = None,
        method: str = "",
        path: str = "",
        details: str = "",
    ) -> None:
        self.request_sent = request_sent
        super().__init__(
            ErrorKind.AMBIGUOUS,
            message,
            status=status,
            code=code,
            method=method,
            path=path,
            details=details,
        )

    def _hint(self) -> str | None:
        """Only the wording differs: the kind stays ``AMBIGUOUS`` so callers' order safety is unchanged."""
        if not self.request_sent:
            return _NOT_SENT_HINT
        if self.method.upper() in _READ_METHODS:
            return _READ_HINT
        return super()._hint()


class RateLimitedError(ExchangeError):
    """429: refused before processing."""


class AuthError(ExchangeError):
    """401/403: the key, signature, clock or permissions are wrong."""


class NotFoundError(ExchangeError):
    """404: the market, order or group does not exist (or is not visible yet)."""


class AmbiguousOrderError(AmbiguousError):
    """A create whose outcome is unknown. Resolve it by ``client_order_id``; never re-send it."""

    def __init__(self, client_order_id: str, ticker: str, cause: ExchangeError) -> None:
        self.client_order_id = client_order_id
        self.ticker = ticker
        sent = cause.request_sent if isinstance(cause, AmbiguousError) else True
        super().__init__(
            f"order {client_order_id!r} on {ticker}: {cause.message}",
            request_sent=sent,
            status=cause.status,
            code=cause.code,
            method=cause.method,
            path=cause.path,
        )


class AmbiguousBatchError(AmbiguousError):
    """A batch create whose outcome is unknown; every item must be resolved by its id."""

    def __init__(self, orders: tuple[tuple[str, str], ...], cause: ExchangeError) -> None:
        self.orders = orders  # (client_order_id, ticker) per item, in request order
        sent = cause.request_sent if isinstance(cause, AmbiguousError) else True
        super().__init__(
            f"batch of {len(orders)} orders: {cause.message}",
            request_sent=sent,
            status=cause.status,
            code=cause.code,
            method=cause.method,
            path=cause.path,
        )


_CLASSES: Final[Mapping[ErrorKind, type[ExchangeError]]] = MappingProxyType(
    {
        ErrorKind.REJECTED: RejectedError,
        ErrorKind.RATE_LIMITED: RateLimitedError,
        ErrorKind.AUTH: AuthError,
        ErrorKind.NOT_FOUND: NotFoundError,
    }
)


def _error_fields(body: object) -> tuple[str | None, str, str]:
    """(code, message, details) from Kalshi's envelope, the bare 429 form, or anything else."""
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict):
            code = inner.get("code")
            message = inner.get("message")
            details = inner.get("details")
            return (
                code if isinstance(code, str) and code else None,
                message if isinstance(message, str) and message else "no message",
                details if isinstance(details, str) else "",
            )
        if isinstance(inner, str) and inner:  # 429: {"error": "too many requests"}
            return None, inner, ""
        code, message = body.get("code"), body.get("message")  # a bare ErrorResponse
        if isinstance(code, str) or isinstance(message, str):
            return (
                code if isinstance(code, str) and code else None,
                message if isinstance(message, str) and message else "no message",
                "",
            )
    return None, "no error body", ""


def error_from_response(response: httpx.Response, method: str, path: str) -> ExchangeError:
    """The typed error for a non-2xx answer."""
    try:
        body: object = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        body = None
    code, message, details = _error_fields(body)
    if body is None and response.content:
        message = f"non-JSON body ({len(response.content)} bytes)"
    status = response.status_code
    kind = kind_for_status(status, code)
    if kind is ErrorKind.AMBIGUOUS:
        return AmbiguousError(message, status=status, code=code, method=method, path=path, details=details)
    return _CLASSES[kind](kind, message, status=status, code=code, method=method, path=path, details=details)


def error_from_transport(exc: BaseException, method: str, path: str, base_url: str = "") -> AmbiguousError:
    """The typed error for a request that got no HTTP answer."""
    _, sent = transport_kind(exc)
    reason = str(exc) or type(exc).__name__
    if not sent:
        target = base_url or "the exchange"
        message = f"cannot connect to {target} ({reason}); check --url / KALSHIFLOW_URL and the network"
    elif isinstance(exc, httpx.TimeoutException | asyncio.TimeoutError):
        message = f"timed out waiting for the answer ({type(exc).__name__})"
    else:
        message = f"connection failed after sending ({type(exc).__name__}: {reason})"
    return AmbiguousError(message, request_sent=sent, method=method, path=path)


def classify(exc_or_response: BaseException | httpx.Response) -> ErrorKind:
    """The ``ErrorKind`` of an exception (typed, HTTP or transport) or of a non-2xx response."""
    if isinstance(exc_or_response, ExchangeError):
        return exc_or_response.kind
    if isinstance(exc_or_response, httpx.Response):
        return error_from_response(exc_or_response, "", "").kind
    if isinstance(exc_or_response, httpx.HTTPStatusError):
        return error_from_response(exc_or_response.response, "", "").kind
    return transport_kind(exc_or_response)[0]


def never_sent(exc: BaseException) -> bool:
    """The request never reached the exchange (the connection was never established): whatever it
    asked for did not happen -- a known outcome, though the kind stays ``AMBIGUOUS`` (module doc)."""
    return isinstance(exc, AmbiguousError) and not exc.request_sent


def poll_log_level(exc: BaseException) -> int:
    """The level a background poller logs its failed read at: info when the exchange could not be
    reached at all (the REST transport warned once for the whole outage, ``rest.unreachable``), a
    warning otherwise -- each poller repeating the outage every few seconds buried everything else."""
    return logging.INFO if never_sent(exc) else logging.WARNING


def retry_log_level(retry: bool, unreachable: bool) -> int:
    """The level a failure of repeated work (a cancel tried again, a resume calibration) logs at:
    info when it is a retry and the exchange cannot be reached (``RestTransport.unreachable``:
    ``rest.unreachable`` warned once for the outage, ``rest.reachable`` warns when it answers); a
    warning for the first failure, and for any failure while the exchange answers (a refusal the
    operator must see). One outage was a screenful: a warning per cancel retry, per resume pass."""
    return logging.INFO if retry and unreachable else logging.WARNING
