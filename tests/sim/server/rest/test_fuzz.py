"""Hostile request bodies never crash the server and never change state when rejected."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.sim.server.rest.sim_rest_support import Env, order_body, snapshot

pytestmark = pytest.mark.slow  # fuzzing every mutation endpoint

ORDERS = "/portfolio/events/orders"
FUZZ = settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)
FIELDS = [
    "ticker",
    "side",
    "price",
    "count",
    "time_in_force",
    "self_trade_prevention_type",
    "post_only",
    "reduce_only",
    "expiration_time",
    "client_order_id",
    "subaccount",
    "order_group_id",
    "exchange_index",
]


async def _send_and_check(env: Env, method: str, path: str, content: bytes) -> None:
    env.clock.advance(0.05)  # keep the rate-limit buckets topped up between examples
    before = snapshot(env.sim.engine)
    response = await env.alice.request(
        method, path, content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert snapshot(env.sim.engine) == before
        assert set(response.json()["error"]) == {"code", "message", "details"}


@FUZZ
@given(raw=st.binary(max_size=64) | json_values.map(lambda v: json.dumps(v).encode()))
async def test_random_bodies_to_every_mutation_are_4xx(env: Env, raw: bytes) -> None:
    resting = next(iter(env.sim.engine.orders), "missing")
    for method, path in [
        ("POST", ORDERS),
        ("POST", f"{ORDERS}/{resting}/amend"),
        ("POST", f"{ORDERS}/{resting}/decrease"),
        ("POST", f"{ORDERS}/batched"),
        ("DELETE", f"{ORDERS}/batched"),
        ("POST", "/portfolio/order_groups/create"),
    ]:
        await _send_and_check(env, method, path, raw)


@FUZZ
@given(field=st.sampled_from(FIELDS), value=json_values)
async def test_one_wrong_field_in_a_valid_create_never_500s(env: Env, field: str, value: Any) -> None:
    body = order_body(env.cent_ticker, "bid", "0.0500", "1")
    body[field] = value
    await _send_and_check(env, "POST", ORDERS, json.dumps(body).encode())
    amend = {"ticker": env.cent_ticker, "side": "bid", "price": "0.0600", "count": "2", field: value}
    resting = next((o.order_id for o in env.sim.engine.orders.values() if o.is_resting), "missing")
    await _send_and_check(env, "POST", f"{ORDERS}/{resting}/amend", json.dumps(amend).encode())
    await _send_and_check(env, "POST", f"{ORDERS}/batched", json.dumps({"orders": [body, value]}).encode())
