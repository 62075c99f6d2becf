"""Every operation of Kalshi's ``openapi.yaml``: served with schema-valid answers, or a clear 501.

A client generated from Kalshi's OpenAPI and pointed at the simulator must never meet a bare 404 or
a literal path swallowed by a ``{ticker}`` route. This walks the whole spec with real identifiers
(a resting order, an order group, a live market, its event and series) and checks each answer:

* served: the status is one the spec documents for the operation; a GET answers 2xx; a 2xx body
  validates against the operation's response schema; an error body is Kalshi's envelope;
* not served: 501 with code ``not_supported`` naming the operation.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from tests.paths import SHARED
from tests.sim.server.rest.sim_rest_support import Env

from kalshiflow.domain.orders import BookSide, SelfTradePrevention, TimeInForce
from kalshiflow.sim import order_groups
from kalshiflow.sim.engine import OrderRequest
from kalshiflow.sim.server.rest_unsupported import NOT_SUPPORTED_CODE, UNSUPPORTED_OPERATIONS

SPEC_PATH = SHARED / "specs/openapi.yaml"
METHODS = ("get", "post", "put", "delete")
# GETs whose right answer to the walk's identifiers is not 2xx (the simulator has no history).
EXPECTED_STATUS = {"GetHistoricalMarket": 404}


def _spec() -> dict[str, Any]:
    if not Path(SPEC_PATH).exists():
        pytest.skip(f"OpenAPI spec not found at {SPEC_PATH}")
    doc: dict[str, Any] = yaml.safe_load(Path(SPEC_PATH).read_text())
    return doc


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    if not Path(SPEC_PATH).exists():
        return []
    spec = _spec()
    return [
        (method.upper(), path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def _query(spec: dict[str, Any], op: dict[str, Any], ids: dict[str, str]) -> dict[str, str]:
    """Values for the operation's required query parameters."""
    params = spec["components"].get("parameters", {})
    values = {
        "tickers": ids["ticker"],
        "market_tickers": ids["ticker"],
        "start_ts": str(ids["start_s"]),
        "end_ts": str(ids["end_s"]),
        "period_interval": "60",
        "percentiles": "5000",
        "limit": "10",
        "milestone_ids": "x",
        "subtrader_id": "x",
    }
    query: dict[str, str] = {}
    for param in op.get("parameters", []):
        if "$ref" in param:
            param = params[param["$ref"].rsplit("/", 1)[-1]]
        if param.get("in") == "query" and param.get("required"):
            query[param["name"]] = values[param["name"]]
    return query


def _concrete(path: str, ids: dict[str, str]) -> str:
    if path.startswith("/series/{series_ticker}/events/{ticker}"):
        path = path.replace("{ticker}", "{event_ticker}")
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "x"), path)


def _validate(spec_schemas: dict[str, Any], schema: dict[str, Any], body: object) -> None:
    ref = schema.get("$ref")
    assert ref is not None, "inline response schemas are not expected in this spec"
    name = ref.rsplit("/", 1)[-1]
    root = {**spec_schemas, "$ref": f"#/components/schemas/{name}"}
    jsonschema.validate(body, root, cls=jsonschema.Draft202012Validator)


def _on_a_ladder(env: Env, event_ticker: str) -> bool:
    members = [m for m in env.sim.engine.markets.values() if m.event_ticker == event_ticker]
    return all(m.strike_type == "greater" and m.floor_strike is not None for m in members)


@pytest.fixture
def ids(env: Env) -> dict[str, str]:
    engine = env.sim.engine
    market = next(  # a market of a strike ladder, so the forecast endpoint has an underlying
        (
            m
            for m in engine.markets.values()
            if m.grid.structure == "linear_cent" and _on_a_ladder(env, m.event_ticker)
        ),
        engine.markets[env.cent_ticker],
    )
    event = engine.events[market.event_ticker]
    req = OrderRequest(
        market.ticker,
        BookSide.BID,
        1_000,
        500,
        TimeInForce.GOOD_TILL_CANCELED,
        SelfTradePrevention.TAKER_AT_CROSS,
    )
    order = engine.create_order("alice", req).order
    group = order_groups.create_group(engine, "alice", 1_000)
    now_s = engine.clock.now_ms() // 1000
    return {
        "ticker": market.ticker,
        "event_ticker": event.event_ticker,
        "series_ticker": event.series_ticker,
        "order_id": order.order_id,
        "order_group_id": group.group_id,
        "start_s": str(now_s - 3_600),
        "end_s": str(now_s),
    }


def test_the_unsupported_table_names_only_operations_of_the_spec() -> None:
    spec_ops = {(method, path, op["operationId"]) for method, path, op in _operations()}
    assert set(UNSUPPORTED_OPERATIONS) <= spec_ops, set(UNSUPPORTED_OPERATIONS) - spec_ops


async def test_every_operation_is_served_to_spec_or_answers_not_supported(
    env: Env, ids: dict[str, str], spec_schemas: dict[str, Any]
) -> None:
    spec = _spec()
    served: list[str] = []
    unsupported: list[str] = []
    for method, path, op in _operations():
        operation_id = op["operationId"]
        url = _concrete(path, ids)
        body = {} if method in ("POST", "PUT") else None
        response: httpx.Response = await env.alice.request(
            method, url, params=_query(spec, op, ids), json=body
        )
        where = f"{operation_id} {method} {url} -> {response.status_code} {response.text[:300]}"
        documented = op["responses"]
        if response.status_code == 501:
            error = response.json()["error"]
            assert error["code"] == NOT_SUPPORTED_CODE, where
            assert operation_id in error["message"], where
            unsupported.append(operation_id)
            continue
        served.append(operation_id)
        assert str(response.status_code) in documented, where
        if method == "GET":
            expected = EXPECTED_STATUS.get(operation_id)
            assert response.status_code == expected if expected else response.status_code < 300, where
        if response.status_code >= 400:
            if response.status_code != 429:
                assert set(response.json()["error"]) == {"code", "message", "details"}, where
            continue
        content = documented[str(response.status_code)].get("content")
        if content is None:
            assert not response.content, where
            continue
        try:
            _validate(spec_schemas, content["application/json"]["schema"], response.json())
        except jsonschema.ValidationError as err:
            raise AssertionError(f"{where}\n{err.message}") from None
    assert len(served) + len(unsupported) == len(_operations())
    assert {op for _, _, op in UNSUPPORTED_OPERATIONS} == set(unsupported)


@pytest.mark.parametrize(
    ("path", "operation_id"),
    [
        ("/portfolio/subaccounts/netting", "GetSubaccountNetting"),
        ("/portfolio/deposits", "GetDeposits"),
        ("/communications/rfqs", "GetRFQs"),
    ],
)
async def test_a_literal_path_never_falls_into_a_parameter_route(
    env: Env, path: str, operation_id: str
) -> None:
    response = await env.alice.get(path)
    assert response.status_code == 501
    assert operation_id in response.json()["error"]["message"]
    assert "not found" not in response.text


@pytest.mark.parametrize(
    "path", ["/markets/candlesticks", "/portfolio/orders/queue_positions", "/series/fee_changes"]
)
async def test_a_served_literal_path_is_answered_by_its_own_endpoint(env: Env, path: str) -> None:
    response = await env.alice.get(path)
    assert "not found" not in response.text, response.text
    assert response.status_code in (200, 400)
