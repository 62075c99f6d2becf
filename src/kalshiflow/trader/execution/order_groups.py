"""Kalshi order groups: a venue-side brake that cancels our orders when too much fills too fast.

Why it exists: if the trader misbehaves (a loop of crossing orders, a bad model), the exchange itself
stops it: a group cancels all its orders once more than ``contracts_limit`` contracts match within a
rolling 15 s, and refuses new orders naming it until it is reset. This module creates or finds the
groups, names the group of each order, watches for triggers and decides when to reset.

Modes (``OrderGroupConfig.mode``): ``off`` (no group on any order), ``global`` (one group for every
order) or ``per_market`` (one group per ticker, created on first use by ``ensure``).

Reuse rule at startup. Kalshi groups carry no name, so a group is recognised only by its id: the
caller passes the ids the trader created earlier (from its store; key ``None`` is the global group, a
ticker keys a per-market group). A known id that the exchange still lists is reused (its limit is
updated if the config changed); a known id the exchange no longer lists is replaced by a new group.
Groups listed on the account that we do not know are never touched (they may belong to a person or
another program on the same account); they are reported in ``foreign_groups``. ``known_ids()``
returns what to persist.

Trigger detection: an ``order_group_updates`` ``triggered`` message (``on_group_update``), or a
create refused with ``order_group_triggered`` (``on_create_refused``, fed from the executor's
results) -- the latter is the "read" path, since a REST group read does not show the triggered flag.
A trigger older than our last reset of that group is stale and ignored.

Reset rule (``should_reset``, pure, tested without I/O). A triggered group is reset only when all
hold: the kill switch is off; at least ``reset_cooldown_s`` have passed since the trigger; and fewer
than ``max_resets_per_hour`` resets of that group happened in the rolling hour before now. Otherwise
it stays triggered and ``can_trade`` is False for its markets (the trader must pause opening orders
there); the decision says why and, for cooldown and hourly limit, when a reset may next happen. An
operator reset (``reset_now``) skips the cooldown and the hourly budget but not the kill switch.

On stop, groups are deleted (which cancels their orders) when ``delete_on_stop``, else left for the
next start to reuse.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, Protocol

from kalshiflow.clock import Clock
from kalshiflow.domain.units import Count
from kalshiflow.exchange.errors import ExchangeError
from kalshiflow.exchange.models_portfolio import OrderGroup
from kalshiflow.exchange.models_wire import WireFormatError
from kalshiflow.exchange.ws_models import OrderGroupUpdate
from kalshiflow.trader.config import OrderGroupConfig, OrderGroupMode

log = logging.getLogger(__name__)

HOUR_MS: Final = 3_600_000


class GroupVenue(Protocol):
    """The order-group endpoints of the REST client (``KalshiRestClient`` satisfies it)."""

    async def create_order_group(self, contracts_limit: Count) -> OrderGroup: ...

    async def order_groups(self) -> list[OrderGroup]: ...

    async def reset_order_group(self, order_group_id: str) -> None: ...

    async def update_order_group_limit(self, order_group_id: str, contracts_limit: Count) -> None: ...

    async def delete_order_group(self, order_group_id: str) -> None: ...


class GroupStatus(StrEnum):
    ACTIVE = "active"
    TRIGGERED = "triggered"  # the exchange cancels and refuses its orders until reset
    DELETED = "deleted"


@dataclass(slots=True)
class GroupState:
    order_group_id: str
    key: str | None  # None: the global group; else the ticker of a per-market group
    contracts_limit: Count
    status: GroupStatus = GroupStatus.ACTIVE
    triggered_ms: int | None = None
    resets_ms: list[int] = field(default_factory=list)  # times of our resets, oldest first
    triggers: int = 0


class ResetReason(StrEnum):
    RESET = "reset"  # all conditions hold
    NOT_TRIGGERED = "not_triggered"
    KILL_SWITCH = "kill_switch"
    COOLDOWN = "cooldown"
    HOURLY_LIMIT = "hourly_limit"


@dataclass(frozen=True, slots=True)
class ResetDecision:
    reset: bool
    reason: ResetReason
    order_group_id: str
    retry_at_ms: int | None = None  # earliest time the answer may change (cooldown, hourly limit)


def should_reset(
    state: GroupState, now_ms: int, config: OrderGroupConfig, kill_switch: bool = False
) -> ResetDecision:
    """The reset rule of the module docstring, as a pure function."""
    gid = state.order_group_id
    if state.status is not GroupStatus.TRIGGERED or state.triggered_ms is None:
        return ResetDecision(False, ResetReason.NOT_TRIGGERED, gid)
    if kill_switch:
        return ResetDecision(False, ResetReason.KILL_SWITCH, gid)
    cooldown_end = state.triggered_ms + config.reset_cooldown_s * 1000
    if now_ms < cooldown_end:
        return ResetDecision(False, ResetReason.COOLDOWN, gid, cooldown_end)
    recent = [t for t in state.resets_ms if t > now_ms - HOUR_MS]
    if len(recent) >= config.max_resets_per_hour:
        limit = config.max_resets_per_hour
        retry = recent[len(recent) - limit] + HOUR_MS if limit > 0 else None  # 0: never automatic
        return ResetDecision(False, ResetReason.HOURLY_LIMIT, gid, retry)
    return ResetDecision(True, ResetReason.RESET, gid)


@dataclass(frozen=True, slots=True)
class GroupAction:
    """What ``tick``/``stop`` did to one group, as data."""

    order_group_id: str
    action: str  # deleted, delete_failed, left
    detail: str
    ts_ms: int


class OrderGroupManager:
    def __init__(self, rest: GroupVenue, config: OrderGroupConfig, clock: Clock) -> None:
        self._rest = rest
        self.config = config
        self._clock = clock
        self.groups: dict[str | None, GroupState] = {}  # by key: None global, else ticker
        self.foreign_groups: list[str] = []

    # ------------------------------------------------------------------ startup
    async def start(self, known: Mapping[str | None, str] | None = None) -> None:
        """Find and reuse our groups (``known``: key -> id from the store), or create the global one."""
        if self.config.mode is OrderGroupMode.OFF:
            return
        listed = {g.order_group_id: g for g in await self._rest.order_groups()}
        known = dict(known or {})
        ours = set(known.values())
        self.foreign_groups = sorted(gid for gid in listed if gid not in ours)
        for key, gid in known.items():
            if (key is None) != (self.config.mode is OrderGroupMode.GLOBAL) or gid not in listed:
                continue  # a group of the other mode, or gone from the exchange
            if listed[gid].contracts_limit != self.config.contracts_limit:
                await self._rest.update_order_group_limit(gid, self.config.contracts_limit)
            self._adopt(key, gid)
            log.info("order_group.reused key=%s id=%s", key, gid)
        if self.config.mode is OrderGroupMode.GLOBAL and None not in self.groups:
            await self.ensure(None)

    async def ensure(self, ticker: str | None) -> str | None:
        """The group for ``ticker`` (per_market) or the global one, created if missing; None when off."""
        if self.config.mode is OrderGroupMode.OFF:
            return None
        key = ticker if self.config.mode is OrderGroupMode.PER_MARKET else None
        existing = self.groups.get(key)
        if existing is not None and existing.status is not GroupStatus.DELETED:
            return existing.order_group_id
        group = await self._rest.create_order_group(self.config.contracts_limit)
        self._adopt(key, group.order_group_id)
        log.info("order_group.created key=%s id=%s", key, group.order_group_id)
        return group.order_group_id

    def _adopt(self, key: str | None, gid: str) -> None:
        self.groups[key] = GroupState(gid, key, self.config.contracts_limit)

    # ------------------------------------------------------------------ queries
    def group_for(self, ticker: str) -> str | None:
        """The group id to attach to an order in ``ticker`` (None when off or not ensured yet)."""
        if self.config.mode is OrderGroupMode.OFF:
            return None
        key = ticker if self.config.mode is OrderGroupMode.PER_MARKET else None
        state = self.groups.get(key)
        return None if state is None or state.status is GroupStatus.DELETED else state.order_group_id

    def can_trade(self, ticker: str) -> bool:
        """False while the group of ``ticker`` is triggered: the exchange would refuse its orders."""
        gid = self.group_for(ticker)
        state = self._by_id(gid) if gid is not None else None
        return state is None or state.status is not GroupStatus.TRIGGERED

    def triggered(self) -> list[GroupState]:
        return [g for g in self.groups.values() if g.status is GroupStatus.TRIGGERED]

    def known_ids(self) -> dict[str | None, str]:
        """What to persist so the next start reuses these groups."""
        return {k: g.order_group_id for k, g in self.groups.items() if g.status is not GroupStatus.DELETED}

    # ------------------------------------------------------------------ observations (synchronous)
    def on_group_update(self, update: OrderGroupUpdate) -> None:
        state = self._by_id(update.order_group_id)
        if state is None:
            return
        if update.event_type == "triggered":
            self._mark_triggered(state, update.ts_ms)
        elif update.event_type == "reset":
            state.status, state.triggered_ms = GroupStatus.ACTIVE, None
        elif update.event_type == "deleted":
            state.status = GroupStatus.DELETED
        elif update.event_type == "limit_updated" and update.contracts_limit is not None:
            state.contracts_limit = update.contracts_limit

    def on_create_refused(self, order_group_id: str, now_ms: int) -> None:
        """A create naming this group was refused with ``order_group_triggered``."""
        state = self._by_id(order_group_id)
        if state is not None and state.status is GroupStatus.ACTIVE:
            self._mark_triggered(state, now_ms)

    def _mark_triggered(self, state: GroupState, ts_ms: int) -> None:
        if state.resets_ms and ts_ms <= state.resets_ms[-1]:
            return  # from before our last reset
        if state.status is GroupStatus.TRIGGERED:
            return
        state.status, state.triggered_ms = GroupStatus.TRIGGERED, ts_ms
        state.triggers += 1
        log.warning("order_group.triggered id=%s key=%s", state.order_group_id, state.key)

    def _applied_reset(self, state: GroupState, now_ms: int) -> None:
        state.status, state.triggered_ms = GroupStatus.ACTIVE, None
        state.resets_ms = [t for t in state.resets_ms if t > now_ms - HOUR_MS] + [now_ms]

    # ------------------------------------------------------------------ actions (I/O)
    async def tick(self, kill_switch: bool = False) -> list[ResetDecision]:
        """Decide for every triggered group and reset those the rule allows."""
        decisions: list[ResetDecision] = []
        for state in self.triggered():
            decision = should_reset(state, self._clock.now_ms(), self.config, kill_switch)
            if decision.reset and not await self._reset(state):
                decision = ResetDecision(False, decision.reason, state.order_group_id)
            decisions.append(decision)
        return decisions

    async def reset_now(self, order_group_id: str, kill_switch: bool = False) -> bool:
        """An operator's reset: skips cooldown and hourly budget, never the kill switch."""
        state = self._by_id(order_group_id)
        if state is None or kill_switch:
            return False
        return await self._reset(state)

    async def _reset(self, state: GroupState) -> bool:
        try:
            await self._rest.reset_order_group(state.order_group_id)
        except (ExchangeError, WireFormatError) as err:
            log.warning("order_group.reset_failed id=%s error=%s", state.order_group_id, err)
            return False
        self._applied_reset(state, self._clock.now_ms())
        log.info("order_group.reset id=%s", state.order_group_id)
        return True

    async def stop(self) -> list[GroupAction]:
        """Delete our groups (``delete_on_stop``) or leave them for the next start."""
        actions: list[GroupAction] = []
        for state in list(self.groups.values()):
            if state.status is GroupStatus.DELETED:
                continue
            now = self._clock.now_ms()
            if not self.config.delete_on_stop:
                actions.append(GroupAction(state.order_group_id, "left", "delete_on_stop is off", now))
                continue
            try:
                await self._rest.delete_order_group(state.order_group_id)
            except (ExchangeError, WireFormatError) as err:
                actions.append(GroupAction(state.order_group_id, "delete_failed", str(err), now))
                continue
            state.status = GroupStatus.DELETED
            actions.append(GroupAction(state.order_group_id, "deleted", "", self._clock.now_ms()))
        return actions

    def _by_id(self, order_group_id: str) -> GroupState | None:
        return next((g for g in self.groups.values() if g.order_group_id == order_group_id), None)
