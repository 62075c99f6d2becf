"""The live terminal view of ``kalshiflow run``: what the trader is doing, at a glance.

A pure function of ``AppState`` to a rich renderable, so it can be tested without a terminal:
state and time in state, cash, positions with P&L, the last actions, the last calibration, the
status console (newest first) and, until the trader is ready, the initialization checklist.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from kalshiflow.commands.run_app import AppState
from kalshiflow.domain.units import display_dollars
from kalshiflow.events.trader import ActionResult
from kalshiflow.features.valuation import format_pct, value_position
from kalshiflow.trader.lifecycle.init_tracker import StepState


def _dollars(value: int) -> str:
    return display_dollars(value)


def render(state: AppState, console_lines: int = 8) -> RenderableType:
    life = state.lifecycle
    header = Text.assemble(
        ("kalshiflow  ", "bold"),
        (f"{life.state.value}", "bold green" if life.state.value == "trading" else "bold yellow"),
        f"  for {life.time_in_state_ms() / 1000:.0f}s  ",
        (state.rest_url, "dim"),
    )
    parts: list[RenderableType] = [header]
    core = state.core
    if core is not None:
        pnl = core.pnl_view()
        parts.append(
            Text(
                f"cash {_dollars(core.ledger.cash)}  reserved {_dollars(core.ledger.reserved)}  "
                f"equity {_dollars(pnl.equity)}  unrealized {_dollars(pnl.unrealized)}  "
                f"realized today {_dollars(pnl.daily_realized)}"
            )
        )
        parts.append(_positions(state))
    if state.actions:
        parts.append(_actions(state))
    if state.recal is not None and state.recal.stats.last_summary:
        stats = state.recal.stats
        parts.append(
            Text(f"last calibration: {stats.last_summary}  (runs {stats.runs}, failures {stats.failures})")
        )
    if not state.tracker.ready:
        parts.append(_checklist(state))
    parts.append(Text("\n".join(life.console(console_lines)), style="dim"))
    return Group(*parts)


def _positions(state: AppState) -> Table:
    core = state.core
    assert core is not None
    table = Table(title="positions", title_justify="left", expand=False)
    for column in ("ticker", "position", "cost", "exit bid", "unrealized", "pnl %", "closing"):
        table.add_column(column)
    markets = core.market_views()
    for ticker, pos in sorted(core.position_views().items()):
        book = core.books.book(ticker)
        market = markets.get(ticker)
        valuation = value_position(pos, book, market) if book is not None and market is not None else None
        closing = core.closer.closing_orders().get(ticker)
        reason = ""
        if closing is not None:
            order = core.ledger.orders.get(closing.client_order_id)
            reason = (order.close_reason or "") if order is not None else ""
        table.add_row(
            ticker,
            pos.position.fp_str(),
            _dollars(pos.cost_basis),
            "-" if valuation is None else valuation.exit_price.dollars_str(),
            "-" if valuation is None else _dollars(valuation.unrealized),
            "-" if valuation is None else format_pct(valuation.pnl_pct),
            reason,
        )
    return table


def _actions(state: AppState) -> Table:
    table = Table(title="last actions", title_justify="left")
    for column in ("market", "action", "price", "result", "reason"):
        table.add_column(column)
    for action in [a for a in state.actions if a.result is not ActionResult.HOLD][-8:][::-1]:
        price = "-" if action.price is None else action.price.dollars_str()
        table.add_row(action.ticker, action.action, price, action.result_text, action.reason[:40])
    return table


def _checklist(state: AppState) -> Table:
    table = Table(title="initialization", title_justify="left")
    for column in ("step", "state", "detail", "ms"):
        table.add_column(column)
    styles = {StepState.COMPLETE: "green", StepState.FAILED: "red", StepState.IN_PROGRESS: "yellow"}
    for record in state.tracker:
        duration = "" if record.duration_ms is None else str(record.duration_ms)
        table.add_row(
            record.step.value,
            Text(record.state.value, style=styles.get(record.state, "")),
            record.detail[:60],
            duration,
        )
    return table
