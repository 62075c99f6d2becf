"""The one path every REST call takes: pace, sign, send, classify, retry (reads only), paginate.

It exists so that cross-cutting policy is written once (STYLE.md) and the endpoint modules are a
list of small methods. Order of events for one attempt: the pacer waits for tokens -> httpx sends
the request signed by ``KalshiAuth`` on one keep-alive connection pool -> a non-2xx answer or a
transport failure becomes a typed ``ExchangeError`` (``errors.py`` decides its kind) -> a 429 is
reported to the pacer, which blocks the bucket for a backoff.

Retry policy is data (``RETRY_ON``): reads are retried on ``AMBIGUOUS`` and ``RATE_LIMITED``;
writes only on ``RATE_LIMITED`` (a 429 is refused before processing, so sending again cannot
duplicate anything). Writes whose outcome is unknown are never re-sent here; the order endpoints
turn them into ``AmbiguousOrderError`` for resolution by ``client_order_id``.

Logs carry method, path, status, code and timing; never headers, bodies or key material. An
exchange that cannot be reached is one outage, not one warning per request: the first failed
connection warns (``rest.unreachable``), the retries of every call during it stay at info, and the
first answer after it warns again (``rest.reachable``, with how long and how many attempts failed)
-- a calibration's eight concurrent reads against a stopped simulator printed a warning each per
attempt, a screenful a minute that hid everything else.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType, TracebackType
from typing import Final, Literal, Self

import httpx

from kalshiflow.clock import Clock, SystemClock
from kalshiflow.exchange.auth import RequestSigner
from kalshiflow.exchange.errors import (
    ErrorKind,
    ExchangeError,
    error_from_response,
    error_from_transport,
)
from kalshiflow.exchange.httpx_auth import KalshiAuth
from kalshiflow.exchange.models_wire import Fields, WireFormatError
from kalshiflow.exchange.ratelimit import Backoff, Pacer

log = logging.getLogger("kalshiflow.exchange.rest")

CallKind = Literal["read", "write"]
Query = Sequence[tuple[str, str]]

# Which error kinds a call of each kind is retried on.
RETRY_ON: Final[Mapping[CallKind, frozenset[ErrorKind]]] = MappingProxyType(
    {
        "read": frozenset({ErrorKind.AMBIGUOUS, ErrorKind.RATE_LIMITED}),
        "write": frozenset({ErrorKind.RATE_LIMITED}),
    }
)


@dataclass(frozen=True, slots=True)
class RestSettings:
    """Transport settings of the REST client.

    * ``timeout_s`` (10 s): read/write/pool timeout per request.
    * ``connect_timeout_s`` (5 s): TCP + TLS connect timeout.
    * ``max_connections`` (20): keep-alive pool size.
    * ``read_backoff``: retries of reads whose outcome was ambiguous (5 attempts, 0.25 s .. 8 s).
    * ``max_rate_limited_retries`` (8): retries after 429s (the pacer sets the pause).
    * ``resolve_backoff``: polling of ``resolve_order`` after an ambiguous create (6 polls).
    * ``seed`` (0): seeds retry jitter.
    """

    timeout_s: float = 10.0
    connect_timeout_s: float = 5.0
    max_connections: int = 20
    read_backoff: Backoff = field(default_factory=Backoff)
    max_rate_limited_retries: int = 8
    resolve_backoff: Backoff = field(default_factory=lambda: Backoff(base_s=0.5, cap_s=4.0, max_attempts=6))
    seed: int = 0


def query(**params: object) -> list[tuple[str, str]]:
    """Query parameters without the ``None`` ones; booleans as ``true``/``false``; lists comma-joined."""
    out: list[tuple[str, str]] = []
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out.append((name, "true" if value else "false"))
        elif isinstance(value, list | tuple | set | frozenset):
            if value:
                out.append((name, ",".join(str(v) for v in value)))
        else:
            out.append((name, str(value)))
    return out


class RestTransport:
    """Owns the HTTP connection pool, the pacer and the retry policy."""

    def __init__(
        self,
        rest_url: str,
        signer: RequestSigner | None = None,
        *,
        clock: Clock | None = None,
        pacer: Pacer | None = None,
        settings: RestSettings | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.rest_url = rest_url.rstrip("/")
        self.clock: Clock = clock or SystemClock()
        self.pacer = pacer or Pacer(self.clock)
        self.settings = settings or RestSettings()
        self._rng = random.Random(f"rest/{self.settings.seed}")
        self._unreachable_since: float | None = None  # perf_counter of the outage's first failure
        self._failed_in_outage = 0
        s = self.settings
        self._http = httpx.AsyncClient(
            base_url=self.rest_url,
            auth=KalshiAuth(signer, self.clock) if signer is not None else None,
            timeout=httpx.Timeout(s.timeout_s, connect=s.connect_timeout_s),
            limits=httpx.Limits(
                max_connections=s.max_connections, max_keepalive_connections=s.max_connections
            ),
            headers={"accept": "application/json"},
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------------------------ one attempt
    async def _send(
        self, method: str, path: str, params: Query | None, body: object | None, batch_items: int
    ) -> object | None:
        await self.pacer.acquire(method, path, batch_items)
        started = time.perf_counter()
        try:
            response = await self._http.request(
                method, path, params=list(params) if params else None, json=body
            )
        except (httpx.TransportError, OSError) as exc:
            lost = error_from_transport(exc, method, path, self.rest_url)
            if not lost.request_sent:
                self._note_unreachable(lost.message)
            # Info, not warning: a retry says it again as a warning with its attempt and delay, and a
            # call that gives up is reported by its caller; at warning every failed attempt printed
            # two identical lines on the console.
            log.info("rest.transport_error method=%s path=%s error=%s", method, path, lost.message)
            raise lost from None
        if self._unreachable_since is not None:
            self._note_reachable()
        elapsed_ms = (time.perf_counter() - started) * 1000
        if response.status_code == 429:
            pause = self.pacer.on_rate_limited(method, path)
            log.warning("rest.rate_limited method=%s path=%s pause_s=%.3f", method, path, pause)
        if response.is_error:
            err = error_from_response(response, method, path)
            log.info(
                "rest.error method=%s path=%s status=%s code=%s kind=%s ms=%.1f",
                method,
                path,
                err.status,
                err.code,
                err.kind,
                elapsed_ms,
            )
            raise err
        self.pacer.on_success(method, path)
        log.debug(
            "rest.ok method=%s path=%s status=%s ms=%.1f", method, path, response.status_code, elapsed_ms
        )
        if response.status_code == 204 or not response.content:
            return None
        try:
            answer: object = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
            raise WireFormatError(f"{method} {path}: the answer is not JSON") from None
        return answer

    def _note_unreachable(self, message: str) -> None:
        self._failed_in_outage += 1
        if self._unreachable_since is None:
            self._unreachable_since = time.perf_counter()
            log.warning(
                "rest.unreachable %s; retrying (further failed attempts are logged at info until it answers)",
                message,
            )

    def _note_reachable(self) -> None:
        assert self._unreachable_since is not None
        down_s = time.perf_counter() - self._unreachable_since
        log.warning(
            "rest.reachable %s answers again after %.1f s (%d failed attempts)",
            self.rest_url,
            down_s,
            self._failed_in_outage,
        )
        self._unreachable_since, self._failed_in_outage = None, 0

    @property
    def unreachable(self) -> bool:
        """The last attempt could not connect, and none has since."""
        return self._unreachable_since is not None

    # ------------------------------------------------------------------------------ retry policy
    async def _call(
        self,
        kind: CallKind,
        method: str,
        path: str,
        params: Query | None = None,
        body: object | None = None,
        batch_items: int = 0,
    ) -> object | None:
        """One logical call: attempts until success or a kind ``RETRY_ON[kind]`` does not cover."""
        retry_on = RETRY_ON[kind]
        backoff = self.settings.read_backoff
        ambiguous_retries = rate_limited_retries = 0
        while True:
            try:
                return await self._send(method, path, params, body, batch_items)
            except ExchangeError as err:
                if err.kind not in retry_on:
                    raise
                if err.kind is ErrorKind.RATE_LIMITED:
                    if rate_limited_retries >= self.settings.max_rate_limited_retries:
                        raise
                    rate_limited_retries += 1
                    continue  # the pacer now blocks this bucket for the backoff
                if ambiguous_retries + 1 >= backoff.max_attempts:
                    raise
                delay = backoff.delay_s(ambiguous_retries, self._rng)
                ambiguous_retries += 1
                # During an outage ``rest.unreachable`` said it once; each call's retries stay at info.
                log.log(
                    logging.INFO if self._unreachable_since is not None else logging.WARNING,
                    "rest.retry method=%s path=%s attempt=%d delay_s=%.3f error=%s",
                    method,
                    path,
                    ambiguous_retries,
                    delay,
                    err.message,
                )
                await self.clock.sleep(delay)

    async def _get(self, path: str, params: Query | None = None) -> object:
        """A read: retried on ambiguity and 429; an empty answer is a format error."""
        answer = await self._call("read", "GET", path, params)
        if answer is None:
            raise WireFormatError(f"GET {path}: empty answer")
        return answer

    async def _write(
        self,
        method: str,
        path: str,
        body: object | None = None,
        params: Query | None = None,
        batch_items: int = 0,
    ) -> object | None:
        """A mutation: retried only after a 429; any ambiguity is raised to the caller."""
        return await self._call("write", method, path, params, body, batch_items)

    async def _pages(self, path: str, key: str, params: Query, page_size: int) -> AsyncIterator[object]:
        """Every item under ``key`` across all pages (cursor until empty or absent)."""
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            page_params = [*params, ("limit", str(page_size))]
            if cursor:
                page_params.append(("cursor", cursor))
            page = Fields(await self._get(path, page_params), f"GET {path}")
            for item in page.opt_array(key):
                yield item
            cursor = page.opt_text("cursor")
            if not cursor:
                return
            if cursor in seen:
                raise WireFormatError(f"GET {path}: the exchange repeated cursor {cursor!r}")
            seen.add(cursor)
