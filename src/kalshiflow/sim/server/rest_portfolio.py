"""Authenticated portfolio reads of the simulator: balance, positions, orders, fills, settlements,
and the order-group endpoints.

It exists to keep the caller's account view apart from public market data and from order
mutations. Reads honour the ``read_lag_ms`` fault (a deliberate choice where Kalshi is silent):
orders created and fills made within the lag window are hidden, and positions touched within it
are shown as they were at the window's start (replayed from the account's fills).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from kalshiflow.sim import history, order_groups, subaccounts, wire
from kalshiflow.sim import wire_portfolio as wp
from kalshiflow.sim.engine import Engine
from kalshiflow.sim.errors import not_found
from kalshiflow.sim.positions import apply_fill
from kalshiflow.sim.server import rest_query as q
from kalshiflow.sim.server.rest_pipeline import Call, Handler, Reply, Spec
from kalshiflow.sim.state import Account, Fill, Position, SimOrder

_ORDER_STATUSES: Final = ("resting", "canceled", "executed")


# ------------------------------------------------------------------------------ portfolio reads
def _balance(call: Call) -> Reply:
    engine, (account,) = call.sim.engine, call.accounts_for(omitted_means_all=False)
    value = 0
    for ticker, pos in account.positions.items():
        book = engine.books.get(ticker)
        if book is None or pos.position == 0:
            continue
        bid = book.yes.best() if pos.position > 0 else book.no.best()
        value += (bid or 0) * abs(pos.position)
    return 200, wp.balance(account, value, call.now_ms)


def _visible_position(call: Call, account: Account, ticker: str, pos: Position) -> Position:
    cutoff = call.lag_cutoff_ms
    if call.sim.faults.read_lag_ms == 0 or pos.last_updated_ms <= cutoff:
        return pos
    past = Position()
    for f in account.fills:
        if f.ticker == ticker and f.ts_ms <= cutoff:
            apply_fill(past, f.side, f.yes_price, f.count, f.fee, f.ts_ms)
    return past


def _positions(call: Call) -> Reply:
    engine, query, (account,) = call.sim.engine, call.query, call.accounts_for(omitted_means_all=False)
    filters = q.csv_set(query, "count_filter") or set()
    if not filters <= {"position", "total_traded"}:
        raise wire.bad("count_filter accepts position and total_traded")
    ticker, event_ticker = query.get("ticker"), query.get("event_ticker")
    rows: list[tuple[str, Position]] = []
    for t, pos in account.positions.items():
        market = engine.markets.get(t)
        if (
            market is None
            or (ticker and t != ticker)
            or (event_ticker and market.event_ticker != event_ticker)
        ):
            continue
        shown = _visible_position(call, account, t, pos)
        keep = {"position": shown.position != 0, "total_traded": shown.total_traded != 0}
        if any(keep[f] for f in filters) if filters else any(keep.values()):
            rows.append((t, shown))
    page, cursor = q.paginate(rows, query)
    by_event: dict[str, list[Position]] = {}
    for t, pos in rows:
        by_event.setdefault(engine.markets[t].event_ticker, []).append(pos)
    return 200, {
        "market_positions": [wp.market_position(t, pos) for t, pos in page],
        "event_positions": [wp.event_position(e, ps) for e, ps in by_event.items()],
        "cursor": cursor,
    }


def _newest_first_orders(call: Call) -> list[SimOrder]:
    """The selected sub-accounts' orders, newest first (creation order within one account)."""
    engine, accounts = call.sim.engine, call.accounts_for(omitted_means_all=True)
    if len(accounts) == 1:
        return [engine.orders[oid] for oid in reversed(accounts[0].order_ids)]
    merged = [engine.orders[oid] for a in accounts for oid in a.order_ids]
    return sorted(merged, key=lambda o: (o.created_ms, o.priority), reverse=True)


def _newest_first_fills(call: Call) -> list[Fill]:
    accounts = call.accounts_for(omitted_means_all=True)
    if len(accounts) == 1:
        return list(reversed(accounts[0].fills))
    indexed = [(f.ts_ms, i, n, f) for n, a in enumerate(accounts) for i, f in enumerate(a.fills)]
    return [f for *_, f in sorted(indexed, key=lambda row: (row[0], row[1], row[2]), reverse=True)]


def _orders(call: Call) -> Reply:
    engine, query, account = call.sim.engine, call.query, call.account
    status = q.choice(query, "status", _ORDER_STATUSES)
    tickers, events = q.csv_set(query, "ticker"), q.csv_set(query, "event_ticker")
    cutoff, historical, in_range = call.lag_cutoff_ms, call.historical_cutoff_ms, q.TsRange(query)
    selected = [
        o
        for o in _newest_first_orders(call)
        if o.created_ms <= cutoff
        and not history.order_archived(o, historical)
        and (not status or o.status.value == status)
        and (tickers is None or o.ticker in tickers)
        and (events is None or engine.markets[o.ticker].event_ticker in events)
        and in_range(o.created_ms)
    ]
    page, cursor = q.paginate(selected, query)
    return 200, {"orders": [wp.order(o, account.user_id) for o in page], "cursor": cursor}


def _order(call: Call) -> Reply:
    order_id = call.param("order_id")
    order = subaccounts.own_order(call.sim.engine, call.account.account_id, order_id)
    if order.created_ms > call.lag_cutoff_ms:
        raise not_found("order", order_id)
    return 200, {"order": wp.order(order, call.account.user_id)}


def _fills(call: Call) -> Reply:
    query = call.query
    ticker, order_id, cutoff = query.get("ticker"), query.get("order_id"), call.lag_cutoff_ms
    historical, in_range = call.historical_cutoff_ms, q.TsRange(query)  # read once, not per fill
    selected = [
        f
        for f in _newest_first_fills(call)
        if historical <= f.ts_ms <= cutoff
        and (not ticker or f.ticker == ticker)
        and (not order_id or f.order_id == order_id)
        and in_range(f.ts_ms)
    ]
    page, cursor = q.paginate(selected, query)
    return 200, {"fills": [wp.fill(f) for f in page], "cursor": cursor}


def _settlements(call: Call) -> Reply:
    query, ticker = call.query, call.query.get("ticker")
    event_ticker = query.get("event_ticker")
    settled = [s for a in call.accounts_for(omitted_means_all=True) for s in a.settlements]
    selected = [
        s
        for s in sorted(reversed(settled), key=lambda s: s.settled_ms, reverse=True)
        if (not ticker or s.ticker == ticker)
        and (not event_ticker or s.event_ticker == event_ticker)
        and q.in_ts_range(s.settled_ms, query)
    ]
    page, cursor = q.paginate(selected, query)
    return 200, {"settlements": [wp.settlement(s) for s in page], "cursor": cursor}


# ------------------------------------------------------------------------------ order groups
def _group_owner(call: Call) -> str:
    """The engine account (sub-account) holding the group, if it is the caller's; else the
    caller's primary account, which then answers 404 like any unknown group."""
    primary = call.account.account_id
    group = call.sim.engine.groups.get(call.param("group_id"))
    if group is not None and subaccounts.primary_of(group.account_id) == primary:
        return group.account_id
    return primary


def _group_create(call: Call) -> Reply:
    limit, subaccount = wire.parse_group_limit(call.body, allow_subaccount=True)
    owner = subaccounts.account(call.sim.engine, call.account.account_id, subaccount).account_id
    group = order_groups.create_group(call.sim.engine, owner, limit, subaccount)
    return 201, {"order_group_id": group.group_id, "subaccount": group.subaccount, "exchange_index": 0}


def _groups(call: Call) -> Reply:
    accounts = call.accounts_for(omitted_means_all=True)
    groups = [g for a in accounts for g in order_groups.list_groups(call.sim.engine, a.account_id)]
    return 200, {"order_groups": [wp.order_group(g) for g in groups]}


def _group(call: Call) -> Reply:
    group = order_groups.own_group(call.sim.engine, _group_owner(call), call.param("group_id"))
    return 200, wp.order_group_detail(group, sorted(group.order_ids))


def _group_action(action: Callable[[Engine, str, str], None]) -> Handler:
    """A handler applying ``action(engine, account_id, group_id)`` and answering an empty 200."""

    def handler(call: Call) -> Reply:
        action(call.sim.engine, _group_owner(call), call.param("group_id"))
        return 200, {}

    return handler


def _group_limit(call: Call) -> Reply:
    limit, _ = wire.parse_group_limit(call.body, allow_subaccount=False)
    order_groups.update_limit(call.sim.engine, _group_owner(call), call.param("group_id"), limit)
    return 200, {}


PORTFOLIO_ROUTES: Final = (
    Spec("/portfolio/balance", _balance),
    Spec("/portfolio/positions", _positions),
    Spec("/portfolio/fills", _fills),
    Spec("/portfolio/settlements", _settlements),
    Spec("/portfolio/orders", _orders),
    Spec("/portfolio/orders/{order_id}", _order),
    Spec("/portfolio/order_groups", _groups),
    Spec("/portfolio/order_groups/create", _group_create, "POST"),
    Spec("/portfolio/order_groups/{group_id}", _group),
    Spec("/portfolio/order_groups/{group_id}", _group_action(order_groups.delete_group), "DELETE"),
    Spec("/portfolio/order_groups/{group_id}/reset", _group_action(order_groups.reset_group), "PUT"),
    Spec("/portfolio/order_groups/{group_id}/trigger", _group_action(order_groups.trigger_group), "PUT"),
    Spec("/portfolio/order_groups/{group_id}/limit", _group_limit, "PUT"),
)
