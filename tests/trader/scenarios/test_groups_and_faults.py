"""Order groups trigger and reset through the core; the core keeps its books straight with faults on.

Both use the real stream (``stream=True``): the group trigger reaches the core through
``order_group_updates``, and with faults on the stream sees sequence gaps and resyncs.
"""

from __future__ import annotations

from tests.trader.scenarios.scenario_kit import SCENARIO_RISK, Scenario, scenario_config
from tests.waiting import until

from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count, Price
from kalshiflow.trader.config import OrderGroupConfig, OrderGroupMode
from kalshiflow.trader.core import CoreConfig
from kalshiflow.trader.execution.in_flight import ExecOutcome
from kalshiflow.trader.risk.types import TradeAction
from kalshiflow.trader.state.orders import OrderState


async def test_order_group_triggers_cancels_orders_and_resets_per_rule(env: Scenario) -> None:
    first, second = env.tickers[0], env.tickers[1]
    for ticker in (first, second):
        env.quote(ticker, yes_bid="0.40", no_bid="0.55")
    groups = OrderGroupConfig(
        mode=OrderGroupMode.GLOBAL, contracts_limit=2, reset_cooldown_s=30, max_resets_per_hour=1
    )
    config = CoreConfig(exit_rules=scenario_config().exit_rules, risk=SCENARIO_RISK, order_groups=groups)
    core = await env.new_core(config, stream=True)
    gid = core.groups.group_for(first)
    assert gid is not None

    async def open_in(ticker: str, contracts: int) -> str:
        result = await core.open_position(
            ticker, TradeAction.BUY_YES, Price.parse("0.42"), Count.contracts(contracts)
        )
        assert result.execution is not None
        assert result.execution.order_id is not None
        assert env.sim.engine.orders[result.execution.order_id].order_group_id == gid
        return result.execution.client_order_id

    async def trip() -> list[str]:
        cids = [await open_in(first, 5), await open_in(second, 2)]
        env.sell_to_bids(first, OutcomeSide.YES, "0.42", 3)  # 3 contracts within 15 s > limit 2
        await until(lambda: not core.groups.can_trade(first), 10, "group trigger seen")
        await env.converge()
        return cids

    hit, other = await trip()
    assert core.ledger.orders[hit].state is OrderState.CANCELED  # the trigger cancelled the group
    assert core.ledger.orders[other].state is OrderState.CANCELED
    assert core.ledger.orders[hit].filled == Count.contracts(3)
    assert env.sim.engine.groups[gid].triggered
    refused = await core.open_position(second, TradeAction.BUY_YES, Price.parse("0.42"), Count.contracts(1))
    assert refused.decision.allowed
    assert refused.execution is None

    await env.calibrate()
    assert not core.groups.can_trade(second)  # cooldown
    env.clock.advance(30)
    await env.calibrate()  # calibrate()'s tick resets the group
    assert core.groups.can_trade(second)
    assert not env.sim.engine.groups[gid].triggered

    env.clock.advance(30)
    await trip()
    env.clock.advance(30)
    await env.calibrate()
    assert not core.groups.can_trade(second)  # one reset per hour, already spent
    assert env.sim.engine.groups[gid].triggered
    env.clock.advance(3600)
    await env.calibrate()
    assert core.groups.can_trade(second)


async def test_faults_on_while_opening_and_calibrating_keep_ledger_equal_to_exchange(env: Scenario) -> None:
    for ticker in env.tickers:
        env.quote(ticker, yes_bid="0.40", no_bid="0.55")
    core = await env.new_core(scenario_config(), stream=True)
    env.sim.faults.update(
        {"http_5xx_rate": 0.15, "latency_ms": 1, "latency_jitter_ms": 3, "ws_seq_gap_rate": 0.1}
    )
    outcomes = []
    for round_no in range(4):
        for i, ticker in enumerate(env.tickers):
            side = TradeAction.BUY_YES if (round_no + i) % 2 == 0 else TradeAction.BUY_NO
            price = Price.parse("0.45") if side is TradeAction.BUY_YES else Price.parse("0.52")
            result = await core.open_position(ticker, side, price, Count.contracts(1 + i))
            if result.execution is not None:
                outcomes.append(result.execution.outcome)
            if side is TradeAction.BUY_NO:  # rests at the best NO bid: Bob sells NO into it
                env.sell_to_bids(ticker, OutcomeSide.NO, "0.52", 1)
        env.clock.advance(5)
        await env.the_core.calibrate()
    env.sim.faults.reset()
    for _ in range(6):  # unknown creates need N consecutive misses before they count as never placed
        env.clock.advance(10)
        await env.calibrate(fills=False)
    assert not core.executor.in_flight()
    assert len(outcomes) >= 6
    assert ExecOutcome.UNKNOWN in outcomes  # a 5xx hit a create (seeded: the same one every run)
