"""Order groups: a per-account circuit breaker on matched contracts.

A group has a contracts limit over a rolling 15-second window of *matched* contracts. When the
window's total exceeds the limit the group triggers: every resting order in it is cancelled and new
orders naming it are rejected until the owner resets it. A trigger found during matching is applied
when the match completes, so one incoming order never half-applies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from kalshiflow.clock import Clock
from kalshiflow.domain.orders import UpdateReason
from kalshiflow.sim import errors
from kalshiflow.sim.events import EngineEvent, OrderGroupEvent
from kalshiflow.sim.state import Account, OrderGroup, SimMarket, SimOrder


class Engine(Protocol):
    """What order groups need of the engine. A protocol, so that the engine core can call into this
    module (fills count toward a group's window) without the two modules importing each other."""

    @property
    def clock(self) -> Clock: ...
    @property
    def groups(self) -> dict[str, OrderGroup]: ...
    @property
    def orders(self) -> dict[str, SimOrder]: ...
    @property
    def markets(self) -> dict[str, SimMarket]: ...
    @property
    def pending_group_triggers(self) -> set[str]: ...
    @property
    def listeners(self) -> list[Callable[[EngineEvent], None]]: ...

    def new_id(self) -> str: ...
    def account(self, account_id: str) -> Account: ...
    def emit(self, event: EngineEvent) -> None: ...
    def cancel_resting(self, order: SimOrder, reason: UpdateReason, now: int) -> int: ...


WINDOW_MS = 15_000
MIN_LIMIT = 100  # 1 contract, in 0.01 contracts
MAX_LIMIT = 1_000_000 * 100


def _check_limit(contracts_limit: int) -> None:
    if not MIN_LIMIT <= contracts_limit <= MAX_LIMIT:
        raise errors.bad_request("contracts_limit must be between 1 and 1,000,000", code="invalid_parameters")


def own_group(engine: Engine, account_id: str, group_id: str) -> OrderGroup:
    group = engine.groups.get(group_id)
    if group is None or group.account_id != account_id:
        raise errors.not_found("order group", group_id)
    return group


def create_group(engine: Engine, account_id: str, contracts_limit: int, subaccount: int = 0) -> OrderGroup:
    engine.account(account_id)
    _check_limit(contracts_limit)
    now = engine.clock.now_ms()
    group = OrderGroup(engine.new_id(), account_id, contracts_limit, now, subaccount)
    engine.groups[group.group_id] = group
    _emit(engine, group, "created", now)
    return group


def list_groups(engine: Engine, account_id: str) -> list[OrderGroup]:
    return [g for g in engine.groups.values() if g.account_id == account_id]


def resting_order_ids(engine: Engine, group: OrderGroup) -> list[str]:
    return sorted(oid for oid in group.order_ids if engine.orders[oid].is_resting)


def reset_group(engine: Engine, account_id: str, group_id: str) -> None:
    group = own_group(engine, account_id, group_id)
    group.triggered = False
    group.window.clear()
    group.window_total = 0
    engine.pending_group_triggers.discard(group_id)
    _emit(engine, group, "reset", engine.clock.now_ms())


def trigger_group(engine: Engine, account_id: str, group_id: str) -> None:
    _trigger(engine, own_group(engine, account_id, group_id), engine.clock.now_ms())


def update_limit(engine: Engine, account_id: str, group_id: str, contracts_limit: int) -> None:
    group = own_group(engine, account_id, group_id)
    _check_limit(contracts_limit)
    now = engine.clock.now_ms()
    group.contracts_limit = contracts_limit
    _emit(engine, group, "limit_updated", now)
    _prune(group, now)
    if group.window_total > contracts_limit and not group.triggered:
        _trigger(engine, group, now)


def delete_group(engine: Engine, account_id: str, group_id: str) -> None:
    group = own_group(engine, account_id, group_id)
    now = engine.clock.now_ms()
    _cancel_orders(engine, group, now)
    del engine.groups[group_id]
    engine.pending_group_triggers.discard(group_id)
    _emit(engine, group, "deleted", now)


def count_fill(engine: Engine, group_id: str, size: int, now: int) -> None:
    """Add a matched quantity to the group's rolling window; mark it for triggering if over the limit."""
    group = engine.groups.get(group_id)
    if group is None:
        return
    _prune(group, now)
    group.window.append((now, size))
    group.window_total += size
    if group.window_total > group.contracts_limit and not group.triggered:
        engine.pending_group_triggers.add(group_id)


def trigger_pending(engine: Engine, now: int) -> None:
    while engine.pending_group_triggers:
        group = engine.groups.get(engine.pending_group_triggers.pop())
        if group is not None and not group.triggered:
            _trigger(engine, group, now)


def _trigger(engine: Engine, group: OrderGroup, now: int) -> None:
    group.triggered = True
    _cancel_orders(engine, group, now)
    _emit(engine, group, "triggered", now)


def _cancel_orders(engine: Engine, group: OrderGroup, now: int) -> None:
    for oid in resting_order_ids(engine, group):
        order = engine.orders[oid]
        if engine.markets[order.ticker].is_trading:
            engine.cancel_resting(order, UpdateReason.CREATED, now)


def _prune(group: OrderGroup, now: int) -> None:
    while group.window and group.window[0][0] <= now - WINDOW_MS:
        group.window_total -= group.window.popleft()[1]


def _emit(engine: Engine, group: OrderGroup, event_type: str, now: int) -> None:
    if engine.listeners:
        engine.emit(OrderGroupEvent(group.account_id, group, event_type, now))
