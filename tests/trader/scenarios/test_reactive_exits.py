"""Exits react between calibrations: price rules on the book change of a held market (through the
actor) and after fills of ours; time rules on the short timer. No ``calibrate()`` call in between."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import pytest
from tests.trader.scenarios.scenario_kit import Scenario, scenario_config

from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count
from kalshiflow.events.ledger import PositionChanged
from kalshiflow.features.schema import SCHEMA_V1
from kalshiflow.policy.hold import HoldPolicy
from kalshiflow.trader.core import TraderCore
from kalshiflow.trader.decisions.actor import Actor
from kalshiflow.trader.exit_rules.base import ExitDecision, ExitReason, ExitRule
from kalshiflow.trader.exit_rules.registry import EXIT_RULES
from kalshiflow.trader.state.orders import OrderPurpose, TrackedOrder

SIDES = pytest.mark.parametrize("side", [OutcomeSide.YES, OutcomeSide.NO], ids=["yes", "no"])


def closing_order(core: TraderCore, ticker: str) -> TrackedOrder:
    """The one closing order placed in ``ticker`` (it may have filled already)."""
    [order] = [
        o for o in core.ledger.orders.values() if o.ticker == ticker and o.purpose is OrderPurpose.CLOSE
    ]
    return order


def hold_actor(env: Scenario, core: TraderCore) -> Actor:
    assert env.books is not None
    return Actor(
        env.books,
        core,
        HoldPolicy(SCHEMA_V1),
        lambda _ticker, _book: [0.0] * len(SCHEMA_V1.names),
        Count.contracts(1),
        env.clock,
        may_trade=lambda: True,
    )


@SIDES
async def test_stop_loss_fires_on_the_book_change_without_waiting_for_calibration(
    env: Scenario, side: OutcomeSide
) -> None:
    ticker = env.tickers[0]
    env.quote(ticker)
    core = await env.new_core(scenario_config(stop_loss_pct=20), stream=True)
    await env.hold(ticker, side, 5)
    actor = hold_actor(env, core)
    assert env.books is not None
    env.books.drain_dirty_since()  # the hold's own book changes
    assert not core.closer.is_closing(ticker)
    watching = core.bus.subscribe("test", [PositionChanged])
    env.cancel_bob(ticker)
    env.bid(ticker, side, "0.30", 5)
    await env.sync_books()
    await actor.drain()  # the actor sees the change and runs the price rules first
    order = closing_order(core, ticker)
    assert (order.close_reason, order.reduce_only, order.count) == (
        ExitReason.STOP_LOSS.value,
        True,
        Count.contracts(5),
    )
    # The position update says why it is being closed (the dashboard's closing_reason).
    updates = [e for e in watching.drain() if isinstance(e, PositionChanged) and e.position.ticker == ticker]
    assert ExitReason.STOP_LOSS.value in {u.position.closing_reason for u in updates}


async def test_a_change_that_triggers_nothing_places_nothing_and_a_close_is_not_repeated(
    env: Scenario,
) -> None:
    ticker = env.tickers[0]
    env.quote(ticker)
    core = await env.new_core(scenario_config(stop_loss_pct=20), stream=True)
    await env.hold(ticker, OutcomeSide.YES, 5)
    assert await core.exits.react_to_book(ticker) == []  # no adverse move: nothing to do
    env.cancel_bob(ticker)
    env.bid(ticker, OutcomeSide.YES, "0.30", 1)
    await env.sync_books()
    [first] = await core.exits.react_to_book(ticker)
    assert first.outcome == "placed"
    assert await core.exits.react_to_book(ticker) == []  # one closing order per market at a time


async def test_a_change_behind_the_held_bid_skips_the_price_rules_and_a_move_of_that_bid_does_not(
    env: Scenario,
) -> None:
    """The price rules read only the held side's bid of the book: a change elsewhere cannot make
    them fire, so it is not evaluated again; the bid moving is (and closes here)."""
    ticker = env.tickers[0]
    env.quote(ticker)
    core = await env.new_core(scenario_config(stop_loss_pct=20), stream=True)
    await env.hold(ticker, OutcomeSide.YES, 5)
    await env.sync_books()
    assert await core.exits.react_to_book(ticker) == []  # evaluated: nothing to do
    evaluated: list[tuple[str, ...]] = []
    real = core.exit_decisions

    def counting(
        tickers: Iterable[str] | None = None, rules: tuple[ExitRule, ...] = EXIT_RULES
    ) -> list[ExitDecision]:
        evaluated.append(tuple(tickers or ()))
        return real(tickers, rules)

    core.exit_decisions = counting  # type: ignore[method-assign]
    env.bid(ticker, OutcomeSide.YES, "0.40", 5)  # behind the touch: the held bid stays 0.44
    await env.sync_books()
    assert await core.exits.react_to_book(ticker) == []
    assert evaluated == []
    env.cancel_bob(ticker)
    env.bid(ticker, OutcomeSide.YES, "0.30", 5)
    await env.sync_books()
    [close] = await core.exits.react_to_book(ticker)
    assert (close.outcome, close.reason) == ("placed", ExitReason.STOP_LOSS.value)
    assert evaluated == [(ticker,)]


async def test_no_reactive_exit_while_a_calibration_runs(env: Scenario) -> None:
    ticker = env.tickers[0]
    env.quote(ticker)
    core = await env.new_core(scenario_config(stop_loss_pct=20), stream=True)
    await env.hold(ticker, OutcomeSide.YES, 5)
    env.cancel_bob(ticker)
    env.bid(ticker, OutcomeSide.YES, "0.30", 5)
    await env.sync_books()
    core.calibrating = True
    assert await core.exits.react_to_book(ticker) == []
    core.calibrating = False
    assert len(await core.exits.react_to_book(ticker)) == 1


async def test_reactive_price_rules_can_be_switched_off(env: Scenario) -> None:
    ticker = env.tickers[0]
    env.quote(ticker)
    core = await env.new_core(scenario_config(stop_loss_pct=20, reactive_price_rules=False), stream=True)
    await env.hold(ticker, OutcomeSide.YES, 5)
    env.cancel_bob(ticker)
    env.bid(ticker, OutcomeSide.YES, "0.30", 5)
    await env.sync_books()
    assert await core.exits.react_to_book(ticker) == []
    cycle = await env.calibrate()  # calibration still runs every rule
    assert [d.reason for d in cycle.exits] == [ExitReason.STOP_LOSS]


async def test_the_exits_follow_a_config_the_core_is_given_after_it_was_built(env: Scenario) -> None:
    """``core.config`` replaced later (bench_reactive_exits does) is what the exit driver reads."""
    ticker = env.tickers[0]
    env.quote(ticker)
    core = await env.new_core(scenario_config(stop_loss_pct=20, reactive_price_rules=False), stream=True)
    await env.hold(ticker, OutcomeSide.YES, 5)
    env.cancel_bob(ticker)
    env.bid(ticker, OutcomeSide.YES, "0.30", 5)
    await env.sync_books()
    assert await core.exits.react_to_book(ticker) == []
    exit_rules = core.config.exit_rules.model_copy(update={"reactive_price_rules": True})
    core.config = dataclasses.replace(core.config, exit_rules=exit_rules)
    [close] = await core.exits.react_to_book(ticker)
    assert close.reason == ExitReason.STOP_LOSS.value


@SIDES
async def test_max_hold_fires_on_the_timer_tick(env: Scenario, side: OutcomeSide) -> None:
    ticker = env.tickers[0]
    env.quote(ticker)
    core = await env.new_core(scenario_config(max_hold_s=60), stream=True)
    await env.hold(ticker, side, 5)
    env.clock.advance(59)
    assert await core.exits.exit_tick() == []
    env.clock.advance(1)
    [result] = await core.exits.exit_tick()
    assert result.outcome == "placed"
    assert closing_order(core, ticker).close_reason == ExitReason.MAX_HOLD_TIME.value


async def test_a_fill_of_ours_puts_the_market_on_the_next_tick_for_the_price_rules(env: Scenario) -> None:
    ticker = env.tickers[0]
    env.quote(ticker)
    core = await env.new_core(scenario_config(take_profit_pct=20), stream=True)
    await env.hold(ticker, OutcomeSide.YES, 5)  # bought at Bob's ask, the fill delivered by the stream
    await asyncio_turn()
    assert ticker in core.exits.filled_since_tick  # the fill queued the market for the next tick
    env.cancel_bob(ticker)
    env.bid(ticker, OutcomeSide.YES, "0.80", 5)
    await env.sync_books()
    [result] = await core.exits.exit_tick()
    assert result.outcome == "placed"
    assert closing_order(core, ticker).close_reason == ExitReason.TAKE_PROFIT.value


async def asyncio_turn() -> None:
    """One turn of the event loop: the bus wakes its consumers with ``call_soon``."""
    import asyncio

    await asyncio.sleep(0)
