"""Signing for httpx: every request carries Kalshi's three ``KALSHI-ACCESS-*`` headers.

The signed path is the URL path (which includes ``/trade-api/v2``) without the query string, and the
timestamp comes from the injected clock so that a simulator on a virtual clock accepts it.
"""

from __future__ import annotations

from collections.abc import Generator

import httpx

from kalshiflow.clock import Clock, SystemClock
from kalshiflow.exchange.auth import RequestSigner


class KalshiAuth(httpx.Auth):
    def __init__(self, signer: RequestSigner, clock: Clock | None = None) -> None:
        self._signer = signer
        self._clock = clock or SystemClock()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        headers = self._signer.headers(request.method, request.url.path, self._clock.now_ms())
        request.headers.update(headers)
        yield request

    def __repr__(self) -> str:
        return f"KalshiAuth(key_id={self._signer.key_id!r})"
