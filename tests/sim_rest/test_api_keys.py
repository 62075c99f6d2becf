"""Key management over HTTP: keys made through ``/api_keys`` sign requests at once; deleted ones stop."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from tests.sim_rest.sim_rest_support import Env, KeyPair, SchemaCheck

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
