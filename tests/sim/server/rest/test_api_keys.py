"""Key management over HTTP: keys made through ``/api_keys`` sign requests at once; deleted ones stop."""

from __future__ import annotations

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from tests.sim.server.rest.sim_rest_support import Env, KeyPair, SchemaCheck, order_body

from kalshiflow.domain.ratelimits import Tier


async def test_a_generated_key_signs_for_the_same_account_until_deleted(
    env: Env, check_schema: SchemaCheck
) -> None:
    generated = await env.alice.post("/api_keys/generate", json={"name": "bot", "scopes": ["read", "write"]})
    assert generated.status_code == 201, generated.text
    check_schema("GenerateApiKeyResponse", generated.json())
    key_id = generated.json()["api_key_id"]
    private = serialization.load_pem_private_key(generated.json()["private_key"].encode(), password=None)
    assert isinstance(private, RSAPrivateKey)
    assert generated.json()["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    new_client = env.client(KeyPair(key_id, private, b""))
    try:
        balance = await new_client.get("/portfolio/balance")
        assert balance.status_code == 200
        assert balance.json() == (await env.alice.get("/portfolio/balance")).json()

        listed = await env.alice.get("/api_keys")
        check_schema("GetApiKeysResponse", listed.json())
        names = {k["api_key_id"]: k["name"] for k in listed.json()["api_keys"]}
        assert names == {"alice-key": "startup", key_id: "bot"}
        assert key_id not in str((await env.bob.get("/api_keys")).json())

        assert (await env.bob.delete(f"/api_keys/{key_id}")).status_code == 404  # not bob's key
        deleted = await env.alice.delete(f"/api_keys/{key_id}")
        assert (deleted.status_code, deleted.content) == (204, b"")
        assert (await new_client.get("/portfolio/balance")).status_code == 401
    finally:
        await new_client.aclose()


async def test_creating_a_key_from_a_public_key_needs_premier(env: Env, spare_key: KeyPair) -> None:
    body = {"name": "mine", "public_key": spare_key.public_pem.decode(), "subaccount": 2}
    created = await env.alice.post("/api_keys", json=body)  # alice is Prestige
    assert created.status_code == 201, created.text
    key_id = created.json()["api_key_id"]
    client = env.client(KeyPair(key_id, spare_key.private_key, spare_key.public_pem))
    try:
        assert (await client.get("/portfolio/balance")).status_code == 200
    finally:
        await client.aclose()
    listed = {k["api_key_id"]: k for k in (await env.alice.get("/api_keys")).json()["api_keys"]}
    assert listed[key_id]["subaccount"] == 2
    assert env.sim.limiters is not None
    env.sim.limiters.set_tier("bob", Tier.ADVANCED)
    refused = await env.bob.post("/api_keys", json=body)
    assert refused.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "scopes": ["write"]},  # write needs read
        {"name": "x", "scopes": ["admin"]},
        {"name": "x", "key_type": "ed25519"},
        {"name": "x", "fcm_subtrader_id": "u_1"},
        {"scopes": ["read"]},
    ],
)
async def test_a_malformed_key_request_is_refused_and_registers_nothing(
    env: Env, body: dict[str, object]
) -> None:
    before = len(env.sim.keys)
    response = await env.alice.post("/api_keys/generate", json=body)
    assert response.status_code == 400, response.text
    assert len(env.sim.keys) == before


async def _client_with_scopes(env: Env, scopes: list[str]) -> httpx.AsyncClient:
    generated = await env.alice.post("/api_keys/generate", json={"name": "scoped", "scopes": scopes})
    assert generated.status_code == 201, generated.text
    private = serialization.load_pem_private_key(generated.json()["private_key"].encode(), password=None)
    assert isinstance(private, RSAPrivateKey)
    return env.client(KeyPair(generated.json()["api_key_id"], private, b""))


@pytest.mark.parametrize(
    ("scopes", "balance", "orders", "create", "transfer"),
    [
        (["read"], 200, 200, 403, 403),
        (["read::portfolio_balance"], 200, 403, 403, 403),
        (["read", "write::trade"], 200, 200, 201, 403),
        (["read", "write::transfer"], 200, 200, 403, 400),  # allowed; 400: no sub-account 1
        (["read", "write"], 200, 200, 201, 400),
    ],
)
async def test_a_keys_scopes_decide_what_it_may_do(
    env: Env, scopes: list[str], balance: int, orders: int, create: int, transfer: int
) -> None:
    client = await _client_with_scopes(env, scopes)
    move = {"client_transfer_id": "t", "from_subaccount": 0, "to_subaccount": 1, "amount_cents": 1}
    try:
        assert (await client.get("/portfolio/balance")).status_code == balance
        assert (await client.get("/portfolio/orders")).status_code == orders
        created = await client.post(
            "/portfolio/events/orders", json=order_body(env.cent_ticker, "bid", "0.1000", "1")
        )
        assert created.status_code == create, created.text
        assert (await client.post("/portfolio/subaccounts/transfer", json=move)).status_code == transfer
    finally:
        await client.aclose()
