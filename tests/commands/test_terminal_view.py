"""The live view fits 80x24 and grows with the terminal (issue 8, new user item 8).

Rendered with rich's own ``Console(width, height)`` from a real ``AppState``: a core on the scenario
simulator with a position, a resting order, a calibration behind it, a status history and a burst
of throttled denials. At 80x24 every line fits, full tickers are shown (never cut so that rows look
the same), the calibration line, the status history, the resting order and the total uptime are
there, and denials do not crowd out the actions that did something.
"""

from __future__ import annotations

from rich.console import Console
from tests.commands.restart.test_restore_orders import hold
from tests.trader.scenarios.scenario_kit import Scenario, buy, scenario_config

from kalshiflow.commands.run_app import AppState
from kalshiflow.commands.terminal_view import render
from kalshiflow.dashboard.messages import TradingMode
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.events.trader import ActionResult, TraderAction
from kalshiflow.trader.lifecycle.init_tracker import InitStep, InitTracker
from kalshiflow.trader.lifecycle.recalibration import Recalibrator
from kalshiflow.trader.lifecycle.states import Lifecycle, TraderState


def screen(state: AppState, width: int, height: int) -> list[str]:
    console = Console(width=width, height=height, record=True, color_system=None, force_terminal=True)
    console.print(render(state, width=width, height=height))
    return console.export_text().rstrip("\n").split("\n")


async def busy_state(env: Scenario) -> AppState:
    held, resting = env.tickers[0], env.tickers[1]
    env.quote(held)
    env.quote(resting)
    env.bid(resting, OutcomeSide.NO, "0.20", 7)  # ahead of the trader's resting order
    core = await env.new_core(scenario_config(), stream=False)
    await hold(env, held, OutcomeSide.YES, 3)
    placed = await core.open_position(resting, buy(OutcomeSide.NO), Price.parse("0.20"), Count.contracts(2))
    assert placed.execution is not None
    assert await core.queue.refresh() == 1  # what the tracker's task does while the order rests
    life = Lifecycle(env.clock)
    recal = Recalibrator(
        core, life, env.clock, pause_after_errors=5, resume_backoff_s=30, drift_recalibrate=Money.dollars(1)
    )
    await recal.run_once("startup")
    for n in range(30):
        life.note(f"history line {n}")
    actions = [
        TraderAction(
            0, held, "BUY_YES", Price.parse("0.45"), Count.contracts(1), "edge", ActionResult.PLACED
        ),
        TraderAction(
            1, resting, "BUY_NO", Price.parse("0.20"), Count.contracts(2), "edge", ActionResult.PLACED
        ),
    ]
    actions += [
        TraderAction(2 + n, held, "BUY_YES", Price.parse("0.45"), Count.contracts(1), "edge", ActionResult.DENIED,
                     denied_by="throttled")
        for n in range(40)
    ]  # fmt: skip
    tracker = InitTracker(env.clock)
    for step in InitStep:
        tracker.begin(step)
        tracker.complete(step, "ok")
    state = AppState(life, tracker, core=core, recal=recal, rest_url=env.rest_url, actions=actions)
    assert life.state in (TraderState.TRADING, TraderState.PAUSED)
    return state


async def test_the_view_fits_80_by_24_with_everything_that_matters(env: Scenario) -> None:
    state = await busy_state(env)
    lines = screen(state, 80, 24)
    text = "\n".join(lines)
    assert len(lines) <= 24, text
    assert all(len(line) <= 80 for line in lines), text
    assert env.tickers[0] in text  # full tickers, never cut
    assert env.tickers[1] in text
    assert "up " in lines[0]  # total uptime in the header
    # The cash set aside for resting orders says so: "held $0.00" next to an open position read as
    # "the positions held are worth $0.00" (and "held $" is the backtest's settlement valuation).
    assert lines[1].startswith("cash $"), lines[1]
    assert " reserved $" in lines[1], lines[1]
    assert "held" not in lines[1]
    assert "today " in lines[1]  # the whole line fits 80 columns
    assert "calibration" in text
    assert "history line 29" in text  # the newest status entries
    assert "resting" in text and "2.00" in text  # the resting order  # noqa: PT018
    [order_line] = [line for line in lines if line.startswith(env.tickers[1]) and "resting" in line]
    assert order_line.split()[4] == "7.00"  # the contracts ahead of it in the queue
    assert "BUY_NO" in text  # an action that did something is not crowded out by denials
    assert "throttled" in text  # denials are summed up in one line
    assert text.count("denied:throttled") <= 1


async def test_the_header_says_paper_mode(env: Scenario) -> None:
    state = await busy_state(env)
    assert "PAPER" not in screen(state, 80, 24)[0]  # no mode known yet, or live: nothing added
    state.mode = TradingMode("rules", False, "sim")
    assert "PAPER" not in screen(state, 80, 24)[0]
    state.mode = TradingMode("rules", True, "prod")
    assert screen(state, 80, 24)[0].startswith(f"kalshiflow {state.lifecycle.state.value} PAPER for ")


async def test_while_starting_the_checklist_and_the_console_fit_80_by_24(env: Scenario) -> None:
    state = await busy_state(env)
    state.tracker = InitTracker(env.clock)  # nothing done yet
    lines = screen(state, 80, 24)
    assert len(lines) <= 24, "\n".join(lines)
    assert "initialization" in lines[2] or "initialization" in lines[3]
    assert "history line 29" in "\n".join(lines)


async def test_the_view_grows_with_the_terminal(env: Scenario) -> None:
    state = await busy_state(env)
    small, large = screen(state, 80, 24), screen(state, 140, 50)
    assert len(large) > len(small)
    assert len(large) <= 50
    assert all(len(line) <= 140 for line in large)
    assert sum("history line" in line for line in large) > sum("history line" in line for line in small)


async def test_a_resting_order_shows_a_dash_until_its_queue_position_is_read(env: Scenario) -> None:
    state = await busy_state(env)
    assert state.core is not None
    state.core.queue.positions.clear()
    lines = screen(state, 80, 24)
    [order_line] = [line for line in lines if line.startswith(env.tickers[1]) and "resting" in line]
    assert order_line.split()[4] == "-"


async def test_the_header_counts_trading_through_a_scheduled_calibration(env: Scenario) -> None:
    """After each periodic recalibration the header read "trading for 0m00s" as if just started."""
    state = await busy_state(env)
    assert state.recal is not None
    if state.lifecycle.state is not TraderState.TRADING:
        state.lifecycle.move(TraderState.TRADING)
    env.clock.advance(90)
    await state.recal.run_once("scheduled")
    assert state.lifecycle.state is TraderState.TRADING
    assert screen(state, 80, 24)[0].startswith("kalshiflow trading for 1m30s, up 1m30s")
