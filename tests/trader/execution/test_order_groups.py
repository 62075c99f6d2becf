"""Order groups: reuse at startup, attached to orders, a trigger cancels them, resets obey the rule."""

from __future__ import annotations

import pytest
from tests.trader.execution.trader_exec_kit import ALICE, Desk

from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import Count, Price
from kalshiflow.exchange.ws_models import OrderGroupUpdate
from kalshiflow.trader.config import OrderGroupConfig, OrderGroupMode
from kalshiflow.trader.execution.in_flight import (
    GROUP_TRIGGERED_CODE,
    ExecOutcome,
    ExecutionResult,
    OrderIntent,
)
from kalshiflow.trader.execution.order_groups import (
    HOUR_MS,
    GroupState,
    GroupStatus,
    OrderGroupManager,
    ResetReason,
    should_reset,
)
from kalshiflow.trader.state.orders import OrderState

T0 = 1_790_000_000_000
RULE = OrderGroupConfig(mode=OrderGroupMode.GLOBAL, reset_cooldown_s=60, max_resets_per_hour=2)


def triggered_at(ms: int, resets: list[int] | None = None) -> GroupState:
    return GroupState("g", None, Count.contracts(5), GroupStatus.TRIGGERED, ms, resets or [])


# ---------------------------------------------------------------------------- the pure rule
def test_untriggered_group_is_not_reset() -> None:
    state = GroupState("g", None, Count.contracts(5))
    assert should_reset(state, T0, RULE).reason is ResetReason.NOT_TRIGGERED


def test_reset_waits_for_the_cooldown() -> None:
    decision = should_reset(triggered_at(T0), T0 + 59_999, RULE)
    assert (decision.reset, decision.reason, decision.retry_at_ms) == (
        False,
        ResetReason.COOLDOWN,
        T0 + 60_000,
    )
    assert should_reset(triggered_at(T0), T0 + 60_000, RULE).reset


def test_kill_switch_blocks_every_reset() -> None:
    decision = should_reset(triggered_at(T0), T0 + HOUR_MS, RULE, kill_switch=True)
    assert (decision.reset, decision.reason) == (False, ResetReason.KILL_SWITCH)


def test_hourly_budget_is_a_rolling_hour() -> None:
    resets = [T0 - 50 * 60_000, T0 - 10 * 60_000]
    decision = should_reset(triggered_at(T0 - 120_000, resets), T0, RULE)
    assert (decision.reset, decision.reason) == (False, ResetReason.HOURLY_LIMIT)
    assert decision.retry_at_ms == resets[0] + HOUR_MS
    assert should_reset(triggered_at(T0 - 120_000, resets), resets[0] + HOUR_MS + 1, RULE).reset


def test_zero_resets_per_hour_never_resets_by_itself() -> None:
    rule = RULE.model_copy(update={"max_resets_per_hour": 0})
    decision = should_reset(triggered_at(T0), T0 + HOUR_MS, rule)
    assert (decision.reset, decision.reason, decision.retry_at_ms) == (False, ResetReason.HOURLY_LIMIT, None)


# ---------------------------------------------------------------------------- against the simulator
def group_ids(desk: Desk) -> set[str]:
    return {g.group_id for g in desk.sim.engine.groups.values() if g.account_id == ALICE}


async def test_off_mode_attaches_no_group(desk: Desk) -> None:
    manager = OrderGroupManager(desk.alice, OrderGroupConfig(), desk.clock)
    await manager.start()
    assert manager.group_for(desk.ticker) is None
    assert group_ids(desk) == set()


async def test_global_group_is_created_then_reused_at_the_next_start(desk: Desk) -> None:
    foreign = (await desk.alice.create_order_group(Count.contracts(9))).order_group_id
    config = OrderGroupConfig(mode=OrderGroupMode.GLOBAL, contracts_limit=5, delete_on_stop=False)
    first = OrderGroupManager(desk.alice, config, desk.clock)
    await first.start()
    gid = first.group_for(desk.ticker)
    assert gid is not None
    assert gid != foreign
    assert first.foreign_groups == [foreign]
    [left] = await first.stop()
    assert left.action == "left"
    second = OrderGroupManager(desk.alice, config, desk.clock)
    await second.start(first.known_ids())
    assert second.group_for(desk.other_ticker) == gid
    assert group_ids(desk) == {foreign, gid}
    gone = OrderGroupManager(desk.alice, config, desk.clock)
    await gone.start({None: "deleted-long-ago"})
    assert gone.group_for(desk.ticker) not in (None, gid, foreign)


async def test_per_market_groups_and_delete_on_stop(desk: Desk) -> None:
    config = OrderGroupConfig(mode=OrderGroupMode.PER_MARKET, contracts_limit=5)
    manager = OrderGroupManager(desk.alice, config, desk.clock)
    await manager.start()
    assert manager.group_for(desk.ticker) is None  # not ensured yet
    a = await manager.ensure(desk.ticker)
    b = await manager.ensure(desk.other_ticker)
    assert a != b
    assert await manager.ensure(desk.ticker) == a
    result = await desk.executor.place(
        OrderIntent(desk.ticker, BookSide.BID, Price.parse("0.30"), Count.contracts(2), order_group_id=a)
    )
    assert desk.sim.engine.orders[result.order_id or ""].order_group_id == a
    actions = await manager.stop()
    assert {x.action for x in actions} == {"deleted"}
    assert group_ids(desk) == set()
    await desk.sync_orders()  # deleting a group cancels its orders
    assert desk.ledger.orders[result.client_order_id].state is OrderState.CANCELED


@pytest.mark.parametrize("side", [BookSide.BID, BookSide.ASK])
async def test_trigger_cancels_orders_and_resets_obey_cooldown_and_hourly_budget(
    desk: Desk, side: BookSide
) -> None:
    config = OrderGroupConfig(
        mode=OrderGroupMode.GLOBAL, contracts_limit=2, reset_cooldown_s=30, max_resets_per_hour=1
    )
    manager = OrderGroupManager(desk.alice, config, desk.clock)
    await manager.start()

    def refused(result: ExecutionResult) -> None:
        if result.error_code == GROUP_TRIGGERED_CODE and result.order_group_id:
            manager.on_create_refused(result.order_group_id, result.ts_ms)

    desk.executor.on_result = refused  # the owner's hook, as TraderCore wires it
    gid = manager.group_for(desk.ticker)
    assert gid is not None

    async def place(ticker: str, price: str, n: int) -> ExecutionResult:
        intent = OrderIntent(ticker, side, Price.parse(price), Count.contracts(n), order_group_id=gid)
        return await desk.executor.place(intent)

    async def trip() -> tuple[str, str]:
        hit = await place(desk.ticker, "0.45", 5)
        other = await place(desk.other_ticker, "0.30", 2)
        await desk.bob_rests(side.opposite, "0.45", 3)  # 3 contracts within 15 s > limit 2
        return hit.client_order_id, other.client_order_id

    hit, other = await trip()
    await desk.sync_orders()
    assert desk.ledger.orders[other].state is OrderState.CANCELED  # the trigger cancelled the group
    assert desk.ledger.orders[hit].state is OrderState.CANCELED
    assert desk.ledger.orders[hit].filled == Count.contracts(3)
    refusal = await place(desk.other_ticker, "0.30", 1)
    assert (refusal.outcome, refusal.error_code) == (ExecOutcome.REJECTED, GROUP_TRIGGERED_CODE)
    assert not manager.can_trade(desk.ticker)

    [decision] = await manager.tick()
    assert decision.reason is ResetReason.COOLDOWN
    desk.clock.advance(30)
    [decision] = await manager.tick(kill_switch=True)
    assert decision.reason is ResetReason.KILL_SWITCH
    [decision] = await manager.tick()
    assert decision.reset
    assert manager.can_trade(desk.ticker)
    assert (await place(desk.other_ticker, "0.30", 1)).outcome is ExecOutcome.PLACED

    desk.clock.advance(60)
    await trip()
    manager.on_group_update(OrderGroupUpdate(1, 1, "triggered", gid, None, desk.clock.now_ms()))
    desk.clock.advance(30)
    [decision] = await manager.tick()
    assert decision.reason is ResetReason.HOURLY_LIMIT  # one reset per hour, already spent
    assert not manager.can_trade(desk.ticker)
    assert decision.retry_at_ms is not None
    desk.clock.set_ms(decision.retry_at_ms)
    [decision] = await manager.tick()
    assert decision.reset
    await desk.sync_orders()
    await manager.stop()
