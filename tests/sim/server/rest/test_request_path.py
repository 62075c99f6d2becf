"""``request_path`` (the rate limit's and the batch limit's path) is ``request.url.path`` for every
path a request can carry: read from the scope where that is the same text, from the URL where
Starlette escapes or rewrites it -- with and without a Host header or a server address."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from kalshiflow.sim.server.rest_pipeline import request_path

PATHS = [
    "/trade-api/v2/portfolio/orders",
    "/trade-api/v2/markets/KXTEST-26JAN01-T1/orderbook",
    "/trade-api/v2/markets/KX 1",
    "/a%3Fb",
    "/ä/ü",
    "/a?b",
    "/a#b",
    "/a\\b",
    "//twice/led",
    "//",
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("host", [None, b"example.com:8080"], ids=["no-host", "host"])
@pytest.mark.parametrize("server", [None, ("venue.invalid", 80)], ids=["no-server", "server"])
def test_the_request_path_is_the_urls_path(
    path: str, host: bytes | None, server: tuple[str, int] | None
) -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "root_path": "",
        "query_string": b"status=open",
        "headers": [] if host is None else [(b"host", host)],
        "scheme": "http",
        "server": server,
    }
    assert request_path(Request(dict(scope))) == Request(dict(scope)).url.path
