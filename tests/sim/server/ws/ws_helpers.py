"""Helpers for the simulator WebSocket tests: sim construction, a waiting client, order shortcuts,
and AsyncAPI schema validation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from tests.paths import SHARED
from websockets.asyncio.client import ClientConnection

from kalshiflow.clock import ManualClock
from kalshiflow.domain.orders import BookSide, SelfTradePrevention, TimeInForce
from kalshiflow.domain.units import Money
from kalshiflow.exchange.auth import RequestSigner
from kalshiflow.sim import lifecycle
from kalshiflow.sim.book import Book
from kalshiflow.sim.engine import OrderRequest, OrderResult
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.faults import FaultConfig
from kalshiflow.sim.server.ws import WS_PATH
from kalshiflow.sim.universe import generate_listings

ASYNCAPI = SHARED / "specs/asyncapi.yaml"
RECV_TIMEOUT_S = 5.0
Message = dict[str, Any]


@dataclass
class Account:
    account_id: str
    signer: RequestSigner


def make_sim(clock: ManualClock, faults: FaultConfig | None = None, seed: int = 7) -> SimExchange:
    sim = SimExchange.create(clock, seed=seed, faults=faults)
    for listing in generate_listings(seed, 8, clock.now_ms()):
        sim.engine.add_market(listing.series, listing.event, listing.market)
    lifecycle.advance(sim.engine, clock.now_ms())
    return sim


def register(sim: SimExchange, name: str, pair: tuple[bytes, bytes]) -> Account:
    private_pem, public_pem = pair
    key = serialization.load_pem_private_key(private_pem, password=None)
    assert isinstance(key, RSAPrivateKey)
    account_id = sim.register_account(f"key-{name}", public_pem, int(Money.dollars(100_000)), name)
    return Account(account_id, RequestSigner(f"key-{name}", key))


def ws_headers(sim: SimExchange, account: Account) -> dict[str, str]:
    return account.signer.headers("GET", WS_PATH, sim.clock.now_ms())


@dataclass
class WsClient:
    """A connection plus everything received that a test has not consumed yet."""

    conn: ClientConnection
    backlog: list[Message] = field(default_factory=list)
    next_id: int = 100

    async def send(self, command: Message | str) -> None:
        await self.conn.send(command if isinstance(command, str) else json.dumps(command))

    async def command(self, cmd: str, params: Message | None = None) -> int:
        self.next_id += 1
        body: Message = {"id": self.next_id, "cmd": cmd}
        if params is not None:
            body["params"] = params
        await self.send(body)
        return self.next_id

    async def recv(self, within_s: float = RECV_TIMEOUT_S) -> Message:
        if self.backlog:
            return self.backlog.pop(0)
        raw = await asyncio.wait_for(self.conn.recv(), within_s)
        message: Message = json.loads(raw)
        return message

    async def until(self, match: Callable[[Message], bool], within_s: float = RECV_TIMEOUT_S) -> Message:
        """The first message matching ``match``; the ones before it stay in the backlog."""
        for i, msg in enumerate(self.backlog):
            if match(msg):
                return self.backlog.pop(i)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while True:
            raw = await asyncio.wait_for(self.conn.recv(), max(0.01, deadline - loop.time()))
            received: Message = json.loads(raw)
            if match(received):
                return received
            self.backlog.append(received)

    async def reply_to(self, command_id: int) -> Message:
        return await self.until(lambda m: m.get("id") == command_id)

    async def drain(self) -> list[Message]:
        """Everything queued before now: the server answers a probe command after all of it."""
        probe = await self.command("list_subscriptions")
        await self.until(lambda m: m.get("id") == probe and m["type"] == "ok")
        out, self.backlog = self.backlog, []
        return out

    async def subscribe(self, channels: list[str], **params: Any) -> dict[str, int]:
        """Subscribe; returns channel -> sid (the ``subscribed`` replies are consumed)."""
        cid = await self.command("subscribe", {"channels": channels, **params})
        sids = {}
        for _ in channels:
            reply = await self.reply_to(cid)
            assert reply["type"] == "subscribed", reply
            sids[reply["msg"]["channel"]] = reply["msg"]["sid"]
        return sids


def gtc(
    ticker: str, side: BookSide, yes_cents: int, contracts: int, client_order_id: str = ""
) -> OrderRequest:
    return OrderRequest(
        ticker=ticker,
        side=side,
        yes_price=yes_cents * 100,
        count=contracts * 100,
        time_in_force=TimeInForce.GOOD_TILL_CANCELED,
        self_trade_prevention=SelfTradePrevention.TAKER_AT_CROSS,
        client_order_id=client_order_id,
    )


def place(sim: SimExchange, account: Account, req: OrderRequest) -> OrderResult:
    return sim.engine.create_order(account.account_id, req)


# ----------------------------------------------------------------------------- local book


class LocalBook:
    """A client-side book rebuilt from one sid's snapshot and deltas, in exact units."""

    def __init__(self) -> None:
        self.sides: dict[str, dict[int, int]] = {"yes": {}, "no": {}}

    def apply(self, msg: Message) -> None:
        body = msg["msg"]
        if msg["type"] == "orderbook_snapshot":
            for side in ("yes", "no"):
                self.sides[side] = {_units(p, 4): _units(n, 2) for p, n in body.get(f"{side}_dollars_fp", [])}
            return
        assert msg["type"] == "orderbook_delta"
        ladder = self.sides[body["side"]]
        price = _units(body["price_dollars"], 4)
        ladder[price] = ladder.get(price, 0) + _units(body["delta_fp"], 2)
        assert ladder[price] >= 0, f"level went negative: {body}"
        if ladder[price] == 0:
            del ladder[price]

    def matches(self, book: Book) -> bool:
        return (
            sorted(self.sides["yes"].items()) == book.yes.ascending()
            and sorted(self.sides["no"].items()) == book.no.ascending()
        )


def _units(text: str, decimals: int) -> int:
    whole, _, frac = text.lstrip("-").partition(".")
    value: int = int(whole) * 10**decimals + int(frac.ljust(decimals, "0") or "0")
    return -value if text.startswith("-") else value


# ----------------------------------------------------------------------------- AsyncAPI schemas

PAYLOAD_SCHEMAS = {
    "orderbook_snapshot": "orderbookSnapshotPayload",
    "orderbook_delta": "orderbookDeltaPayload",
    "ticker": "tickerPayload",
    "trade": "tradePayload",
    "fill": "fillPayload",
    "market_position": "marketPositionPayload",
    "user_order": "userOrderPayload",
    "order_group_updates": "orderGroupUpdatesPayload",
    "market_lifecycle_v2": "marketLifecycleV2Payload",
    "event_lifecycle": "eventLifecyclePayload",
    "event_fee_update": "eventFeeUpdatePayload",
    "subscribed": "subscribedResponsePayload",
    "unsubscribed": "unsubscribedResponsePayload",
    "error": "errorResponsePayload",
}


@cache
def _asyncapi() -> dict[str, Any]:
    if not ASYNCAPI.exists():
        pytest.skip(f"AsyncAPI spec not found at {ASYNCAPI}; schema checks need ../shared/specs")
    import yaml

    doc: dict[str, Any] = yaml.safe_load(ASYNCAPI.read_text())
    return doc


def validate(message: Message, schema_name: str | None = None) -> None:
    """Validate a whole message (envelope and msg) against its AsyncAPI payload schema."""
    from jsonschema import Draft202012Validator, FormatChecker
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    name = schema_name or PAYLOAD_SCHEMAS[message["type"]]
    registry: Registry[Any] = Registry().with_resource(
        "urn:asyncapi", Resource.from_contents(_asyncapi(), default_specification=DRAFT202012)
    )
    validator = Draft202012Validator(
        {"$ref": f"urn:asyncapi#/components/schemas/{name}"},
        registry=registry,
        format_checker=FormatChecker(),
    )
    errors = sorted(validator.iter_errors(message), key=str)
    assert not errors, f"{message['type']} does not match {name}: {errors[0].message}\n{message}"
