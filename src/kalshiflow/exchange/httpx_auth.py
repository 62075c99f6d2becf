"""Signing for httpx: every request carries Kalshi's three ``KALSHI-ACCESS-*`` headers.

The signed path is the URL path (which includes ``/trade-api/v2``) without the query string, and the
timestamp comes from the injected clock so that a simulator on a virtual clock accepts it -- the
local (wall) clock when that is a ``FollowingClock`` of an exchange's market time (``signing_clock``).
"""

from __future__ import annotations

from collections.abc import Generator

import httpx

from kalshiflow.clock import Clock, SystemClock, signing_clock
from kalshiflow.exchange.auth import RequestSigner


class KalshiAuth(httpx.Auth):
    def __init__(self, signer: RequestSigner, clock: Clock | None = None) -> None:
        self._signer = signer
        self._clock = signing_clock(clock or SystemClock())  # the wall clock behind a market clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        headers = self._signer.headers(request.method, request.url.path, self._clock.now_ms())
        request.headers.update(headers)
        yield request

    def __repr__(self) -> str:
        return f"KalshiAuth(key_id={self._signer.key_id!r})"
