"""Order mutations of the simulator: the V2 create/cancel/amend/decrease endpoints, their batch
forms, cancel-all, and the retired V1 mutation paths.

It exists to keep everything that changes the book apart from read-only endpoints. Batches are
capped by ``batch_limit`` (20 items, never more than the write bucket pays at once) and answer
per item, an error in one item leaving the others untouched. The V1 mutation paths answer 410
with Kalshi's deprecation envelope (501 when the simulator is configured not to mimic that).
"""

from __future__ import annotations

from typing import Final

from kalshiflow.sim import subaccounts, wire
from kalshiflow.sim import wire_portfolio as wp
from kalshiflow.sim.engine import Engine
from kalshiflow.sim.errors import ExchangeError
from kalshiflow.sim.server.rest_pipeline import Call, Reply, Spec, batch_limit, request_path
from kalshiflow.sim.wire import JsonObject

V1_GONE_BODY: Final = wire.error_body(
    "deprecated_v1_order_endpoint",
    "Please switch to the V2 endpoints",
    "https://docs.kalshi.com/api-reference/orders/create-order-v2",
)


def _create_one(engine: Engine, primary: str, body: object) -> JsonObject:
    """Create in the sub-account the body names (0 when it names none); it must exist."""
    req = wire.parse_create(body)
    account = subaccounts.account(engine, primary, req.subaccount)
    result = engine.create_order(account.account_id, req)
    return wp.create_response(result.order, result.fills, result.ts_ms)


def _cancel_one(engine: Engine, primary: str, order_id: str) -> JsonObject:
    order = subaccounts.own_order(engine, primary, order_id)
    reduced_by = engine.cancel_order(order.account_id, order.order_id)
    return wp.cancel_response(order, reduced_by, engine.clock.now_ms())


# ------------------------------------------------------------------------------ V2 single orders
def _create(call: Call) -> Reply:
    return 201, _create_one(call.sim.engine, call.account.account_id, call.body)


def _cancel(call: Call) -> Reply:
    return 200, _cancel_one(call.sim.engine, call.account.account_id, call.param("order_id"))


def _amend(call: Call) -> Reply:
    engine, account_id = call.sim.engine, call.account.account_id
    req = wire.parse_amend(call.body)
    order = subaccounts.own_order(engine, account_id, call.param("order_id"))
    if req.client_order_id is not None and req.client_order_id != order.client_order_id:
        raise wire.bad("client_order_id does not match the order", "order_id_and_client_order_id_mismatch")
    result = engine.amend_order(
        order.account_id,
        order.order_id,
        req.ticker,
        req.side,
        req.yes_price,
        req.total_count,
        req.updated_client_order_id,
    )
    return 200, wp.amend_response(result.order, result.fills, result.ts_ms)


def _decrease(call: Call) -> Reply:
    engine, account_id = call.sim.engine, call.account.account_id
    reduce_by, reduce_to = wire.parse_decrease(call.body)
    owned = subaccounts.own_order(engine, account_id, call.param("order_id"))
    order = engine.decrease_order(owned.account_id, owned.order_id, reduce_by, reduce_to)
    return 200, wp.decrease_response(order, engine.clock.now_ms())


# ------------------------------------------------------------------------------ V2 batches
def _batch_items(call: Call) -> list[object]:
    request = call.request
    limit = batch_limit(call.sim, call.account.account_id, request.method, request_path(request))
    return wire.parse_batch(call.body, limit)


def _item_error(err: ExchangeError) -> JsonObject:
    return {"code": err.code, "message": err.message, "details": err.details}


def _batch_create(call: Call) -> Reply:
    engine, account_id = call.sim.engine, call.account.account_id
    replies: list[JsonObject] = []
    for item in _batch_items(call):
        try:
            reply = _create_one(engine, account_id, item)
        except ExchangeError as err:
            cid = item.get("client_order_id") if isinstance(item, dict) else None
            reply = {"client_order_id": cid if isinstance(cid, str) else None, "error": _item_error(err)}
        replies.append(reply)
    return 201, {"orders": replies}


def _batch_cancel(call: Call) -> Reply:
    engine, account_id = call.sim.engine, call.account.account_id
    replies: list[JsonObject] = []
    for item in _batch_items(call):
        order_id = ""
        try:
            order_id = wire.parse_cancel_item(item)
            reply = _cancel_one(engine, account_id, order_id)
        except ExchangeError as err:
            reply = {
                "order_id": order_id,
                "client_order_id": None,
                "reduced_by": "0.00",
                "error": _item_error(err),
            }
        replies.append(reply)
    return 200, {"orders": replies}


def _cancel_all(call: Call) -> Reply:
    for account in call.accounts_for(omitted_means_all=True):
        call.sim.engine.cancel_all(account.account_id)
    return 204, None


# ------------------------------------------------------------------------------ retired V1
def _v1_gone(call: Call) -> Reply:
    if call.sim.v1_mutations_gone:
        return 410, V1_GONE_BODY
    return 501, wire.error_body("not_implemented", "the simulator implements only the V2 order endpoints")


# ``/.../batched`` must precede the ``/.../{order_id}`` routes it would also match.
ORDER_ROUTES: Final = (
    Spec("/portfolio/orders", _v1_gone, "POST"),
    Spec("/portfolio/orders/batched", _v1_gone, "POST"),
    Spec("/portfolio/orders/batched", _v1_gone, "DELETE"),
    Spec("/portfolio/orders/{order_id}", _v1_gone, "DELETE"),
    Spec("/portfolio/orders/{order_id}/amend", _v1_gone, "POST"),
    Spec("/portfolio/orders/{order_id}/decrease", _v1_gone, "POST"),
    Spec("/portfolio/events/orders", _create, "POST"),
    Spec("/portfolio/events/orders", _cancel_all, "DELETE"),
    Spec("/portfolio/events/orders/batched", _batch_create, "POST"),
    Spec("/portfolio/events/orders/batched", _batch_cancel, "DELETE"),
    Spec("/portfolio/events/orders/{order_id}", _cancel, "DELETE"),
    Spec("/portfolio/events/orders/{order_id}/amend", _amend, "POST"),
    Spec("/portfolio/events/orders/{order_id}/decrease", _decrease, "POST"),
)
