"""Small helpers shared by the REST contract tests."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import httpx
import jsonschema
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from kalshiflow.clock import ManualClock
from kalshiflow.exchange.auth import RequestSigner
from kalshiflow.sim.engine import Engine
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.server.serve import ServerAddress


def order_body(ticker: str, side: str, price: str, count: str = "10", **extra: Any) -> dict[str, Any]:
    return {
        "ticker": ticker,
        "side": side,
        "price": price,
        "count": count,
        "time_in_force": "good_till_canceled",
        "self_trade_prevention_type": "taker_at_cross",
        **extra,
    }


def snapshot(engine: Engine) -> tuple[object, ...]:
    """Everything a rejected request must leave untouched."""
    return (
        tuple((a.account_id, a.balance, len(a.fills), len(a.order_ids)) for a in engine.accounts.values()),
        tuple(
            (t, p.position, p.cost) for a in engine.accounts.values() for t, p in sorted(a.positions.items())
        ),
        tuple((o.order_id, o.status, o.remaining_count, o.yes_price) for o in engine.orders.values()),
        tuple(
            (t, tuple(b.yes.ascending()), tuple(b.no.ascending())) for t, b in sorted(engine.books.items())
        ),
        len(engine.groups),
        engine.fees_collected,
    )


@dataclass(frozen=True)
class KeyPair:
    key_id: str
    private_key: RSAPrivateKey
    public_pem: bytes


class KalshiAuth(httpx.Auth):
    """Signs each request as Kalshi requires: ts + METHOD + path (with /trade-api/v2, no query)."""

    def __init__(self, signer: RequestSigner, clock: ManualClock, skew_ms: int = 0) -> None:
        self.signer = signer
        self.clock = clock
        self.skew_ms = skew_ms

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(
            self.signer.headers(request.method, request.url.path, self.clock.now_ms() + self.skew_ms)
        )
        yield request


@dataclass
class Env:
    sim: SimExchange
    clock: ManualClock
    address: ServerAddress
    alice: httpx.AsyncClient
    bob: httpx.AsyncClient
    public: httpx.AsyncClient
    admin: httpx.AsyncClient
    cent_ticker: str
    subcent_ticker: str

    def client(self, key: KeyPair, skew_ms: int = 0) -> httpx.AsyncClient:
        auth = KalshiAuth(RequestSigner(key.key_id, key.private_key), self.clock, skew_ms)
        return httpx.AsyncClient(base_url=self.address.rest_url, auth=auth, timeout=10)


class SchemaCheck:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root

    def __call__(self, name: str, instance: object) -> None:
        schema = {**self.root, "$ref": f"#/components/schemas/{name}"}
        jsonschema.validate(instance, schema, cls=jsonschema.Draft202012Validator)
