"""``/portfolio/subaccounts``: create, balances, transfers between them (see ``sim.subaccounts``).

Creating needs the Advanced usage level or above (Kalshi's rule). Netting configuration is not
modelled (those two operations answer 501).
"""

from __future__ import annotations

from typing import Final

from kalshiflow.domain.ratelimits import Tier
from kalshiflow.sim import subaccounts, wire
from kalshiflow.sim.errors import ExchangeError
from kalshiflow.sim.server import rest_query as q
from kalshiflow.sim.server.rest_pipeline import Call, Reply, Spec
from kalshiflow.sim.ws_messages import EXCHANGE_INDEX

_TRANSFER_FIELDS: Final = frozenset(
    {"client_transfer_id", "from_subaccount", "to_subaccount", "amount_cents", "exchange_index"}
)
_MAX_CENTS: Final = 10**13


def _create(call: Call) -> Reply:
    body = wire.parse_object(call.body, frozenset({"exchange_index"}))
    wire.opt_int(body, "exchange_index", 0, 0)  # the simulator runs one shard
    assert call.sim.limiters is not None
    if call.sim.limiters.for_account(call.account.account_id).tier is Tier.BASIC:
        raise ExchangeError(403, "forbidden", "subaccounts need the Advanced API usage level")
    return 201, {"subaccount_number": subaccounts.create(call.sim.engine, call.account.account_id)}


def _balances(call: Call) -> Reply:
    rows = [
        {
            "subaccount_number": subaccounts.number_of(a.account_id),
            "exchange_index": EXCHANGE_INDEX,
            "balance": wire.money(a.balance),
            "updated_ts": a.updated_ms // 1000,
        }
        for a in call.accounts_for(omitted_means_all=True)
    ]
    return 200, {"subaccount_balances": rows}


def _transfer(call: Call) -> Reply:
    body = wire.parse_object(call.body, _TRANSFER_FIELDS)
    wire.opt_int(body, "exchange_index", 0, 0)
    from_n = wire.opt_int(body, "from_subaccount", 0, subaccounts.MAX_NUMBER)
    to_n = wire.opt_int(body, "to_subaccount", 0, subaccounts.MAX_NUMBER)
    amount = wire.opt_int(body, "amount_cents", 1, _MAX_CENTS)
    if from_n is None or to_n is None or amount is None:
        raise wire.bad("from_subaccount, to_subaccount and amount_cents are required")
    subaccounts.transfer(
        call.sim.engine,
        call.account.account_id,
        wire.req_str(body, "client_transfer_id"),
        from_n,
        to_n,
        amount,
    )
    return 200, {}


def _transfers(call: Call) -> Reply:
    done = list(reversed(call.account.transfers))
    page, cursor = q.paginate(done, call.query)
    rows = [
        {
            "transfer_id": t.transfer_id,
            "from_subaccount": t.from_subaccount,
            "to_subaccount": t.to_subaccount,
            "amount_cents": t.amount // subaccounts.CENT,
            "created_ts": t.created_ms // 1000,
            "exchange_index": EXCHANGE_INDEX,
        }
        for t in page
    ]
    return 200, {"transfers": rows, "cursor": cursor}


SUBACCOUNT_ROUTES: Final = (
    Spec("/portfolio/subaccounts", _create, "POST"),
    Spec("/portfolio/subaccounts/balances", _balances),
    Spec("/portfolio/subaccounts/transfer", _transfer, "POST"),
    Spec("/portfolio/subaccounts/transfers", _transfers),
)
