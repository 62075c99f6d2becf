"""Fixtures for the simulator's REST contract tests: a live server on loopback, signed clients.

The simulator runs on a ``ManualClock`` so that signatures, rate-limit buckets, read lag and
market times are deterministic; the signer stamps requests with the same clock. Accounts are on
the Prestige tier so that ordinary tests never meet a 429 unless they ask for one.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from starlette.applications import Starlette
from tests.paths import SHARED
from tests.sim.server.rest.sim_rest_support import Env, KeyPair, SchemaCheck

from kalshiflow.clock import ManualClock
from kalshiflow.domain.ratelimits import Tier
from kalshiflow.domain.units import Money
from kalshiflow.exchange.auth import generate_key_pair
from kalshiflow.sim import lifecycle
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.server.admin import admin_routes
from kalshiflow.sim.server.rest import rest_routes
from kalshiflow.sim.server.serve import running_server
from kalshiflow.sim.universe import generate_listings

START_MS = 1_790_000_000_000
START_BALANCE = Money.dollars(1_000)
SPEC_PATH = SHARED / "specs/openapi.yaml"


def _key_pair(key_id: str) -> KeyPair:
    private_pem, public_pem = generate_key_pair()
    key = serialization.load_pem_private_key(private_pem, password=None)
    assert isinstance(key, RSAPrivateKey)
    return KeyPair(key_id, key, public_pem)


@pytest.fixture(scope="session")
def alice_key() -> KeyPair:
    return _key_pair("alice-key")


@pytest.fixture(scope="session")
def bob_key() -> KeyPair:
    return _key_pair("bob-key")


@pytest.fixture(scope="session")
def spare_key() -> KeyPair:
    return _key_pair("spare-key")


def _build_app(sim: SimExchange) -> Starlette:
    try:
        from kalshiflow.sim.server.app import build_app
    except ImportError:  # the WebSocket module may not exist yet; REST does not need it
        return Starlette(routes=[*rest_routes(sim), *admin_routes(sim)])
    return build_app(sim)


@pytest.fixture
def sim(alice_key: KeyPair, bob_key: KeyPair) -> SimExchange:
    clock = ManualClock(START_MS)
    sim = SimExchange.create(clock, seed=3, tier=Tier.PRESTIGE)
    for listing in generate_listings(11, 24, START_MS):
        sim.engine.add_market(listing.series, listing.event, listing.market)
    lifecycle.advance(sim.engine, START_MS)
    sim.register_account(alice_key.key_id, alice_key.public_pem, START_BALANCE, "alice")
    sim.register_account(bob_key.key_id, bob_key.public_pem, START_BALANCE, "bob")
    return sim


@pytest.fixture
async def env(sim: SimExchange, alice_key: KeyPair, bob_key: KeyPair) -> AsyncIterator[Env]:
    assert isinstance(sim.clock, ManualClock)
    markets = list(sim.engine.markets.values())
    cent = next(m.ticker for m in markets if m.grid.structure == "linear_cent")
    subcent = next(m.ticker for m in markets if m.grid.structure in ("deci_cent", "tapered_deci_cent"))
    async with running_server(_build_app(sim)) as address:
        env = Env(
            sim,
            sim.clock,
            address,
            httpx.AsyncClient(),
            httpx.AsyncClient(),
            httpx.AsyncClient(base_url=address.rest_url, timeout=10),
            httpx.AsyncClient(base_url=address.base_url + "/sim/admin", timeout=10),
            cent,
            subcent,
        )
        env.alice = env.client(alice_key)
        env.bob = env.client(bob_key)
        try:
            yield env
        finally:
            for client in (env.alice, env.bob, env.public, env.admin):
                await client.aclose()


# ------------------------------------------------------------------------------ OpenAPI schemas
def _convert(node: Any) -> Any:
    """OpenAPI 3.0 -> JSON Schema: ``nullable`` becomes a null alternative; objects are closed."""
    if isinstance(node, list):
        return [_convert(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _convert(v) for k, v in node.items() if k not in ("nullable", "example", "x-omitempty")}
    if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False  # we must emit nothing the spec does not know
    if node.get("nullable"):
        if "type" in out and isinstance(out["type"], str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@pytest.fixture(scope="session")
def spec_schemas() -> dict[str, Any]:
    if not SPEC_PATH.exists():
        pytest.skip(f"OpenAPI spec not found at {SPEC_PATH}; contract checks need ../shared/specs")
    spec = yaml.safe_load(SPEC_PATH.read_text())
    return {"components": {"schemas": _convert(copy.deepcopy(spec["components"]["schemas"]))}}


@pytest.fixture(scope="session")
def check_schema(spec_schemas: dict[str, Any]) -> SchemaCheck:
    return SchemaCheck(spec_schemas)
