"""The live terminal view of ``kalshiflow run``: what the trader is doing, at a glance.

A pure function of ``AppState`` and the terminal's size to a rich renderable, so it can be tested
without a terminal (``Console(width=80, height=24)``). It fits the terminal and grows with it
(issue 8): a fixed head (state, time in state and total uptime, money, last calibration) and four
lists -- positions, resting orders (with the contracts ahead of each in its queue), the actions that did something, the status console -- that
share the remaining rows, each keeping a minimum. Tickers are never cut (rows would look alike);
long free text is. Denials are summed up in one line instead of one row each.
"""

from __future__ import annotations

from collections import Counter

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from kalshiflow.commands.run_app import AppState
from kalshiflow.domain.units import display_dollars
from kalshiflow.events.trader import ActionResult
from kalshiflow.features.valuation import format_pct, value_position
from kalshiflow.trader.lifecycle.init_tracker import StepState

MIN_WIDTH = 60
# Rows each list gets before the rest is shared out, and its share of the rest.
MINIMUM = {"positions": 2, "orders": 1, "actions": 2, "console": 3}
SHARE = {"positions": 3, "orders": 2, "actions": 3, "console": 4}


def _dollars(value: int) -> str:
    return display_dollars(value)


def _duration(ms: int) -> str:
    seconds = max(0, ms) // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def _budget(height: int, fixed: int) -> dict[str, int]:
    """Rows for each list: its minimum, then the rest shared out by ``SHARE``."""
    rows = dict(MINIMUM)
    spare = max(0, height - fixed - sum(rows.values()))
    total = sum(SHARE.values())
    for name, share in SHARE.items():
        rows[name] += spare * share // total
    return rows


def render(
    state: AppState, console_lines: int | None = None, *, width: int = 80, height: int = 24
) -> RenderableType:
    width = max(MIN_WIDTH, width)
    life = state.lifecycle
    now = life._clock.now_ms()
    started = life.history[0].ts_ms if life.history else now
    header = Text.assemble(
        ("kalshiflow ", "bold"),
        (life.state.value, "bold green" if life.state.value == "trading" else "bold yellow"),
        (" (degraded)" if state.degraded else "", "bold red"),
        # Paper mode up front, as on the page: whether orders go out is never left to the history.
        (" PAPER" if state.mode is not None and state.mode.paper else "", "bold yellow"),
        # Trading counts from the start of its stretch, as on the page and in ``status``: the
        # periodic calibration would otherwise reset it to "for 0m03s" every minute.
        f" for {_duration(now - life.shown_since_ms)}, up {_duration(now - started)}  ",
        (state.rest_url, "dim"),
    )
    header.truncate(width, overflow="ellipsis")
    parts: list[RenderableType] = [header]
    core = state.core
    if core is not None:
        pnl = core.pnl_view()
        parts.append(
            Text(
                _fit(
                    f"cash {_dollars(core.ledger.cash)}  reserved {_dollars(core.ledger.reserved)}  "
                    f"equity {_dollars(pnl.equity)}  unreal {_dollars(pnl.unrealized)}  "
                    f"today {_dollars(pnl.daily_realized)}",
                    width,
                )
            )
        )
    if state.recal is not None and state.recal.stats.last_summary:
        stats = state.recal.stats
        parts.append(
            Text(
                _fit(f"calibration: {stats.last_summary} (runs {stats.runs}, failed {stats.failures})", width)
            )
        )
    if not state.tracker.ready:  # starting up: the checklist, then the status console
        checklist = _checklist(state, width, max(1, height - len(parts) - 2 - 1 - MINIMUM["console"]))
        parts.append(checklist)
        rows = {"console": max(MINIMUM["console"], height - len(parts) - checklist.row_count - 2)}
    else:
        # Each list has a title row and a header row (tables) or a title row (console), plus the
        # line that sums up the denials.
        rows = _budget(height, len(parts) + 2 + 2 + 2 + 1 + 1)
        if core is not None:
            parts.append(_positions(state, rows["positions"]))
            parts.append(_orders(state, rows["orders"]))
        parts.extend(_actions(state, rows["actions"], width))
    if console_lines is not None:
        rows["console"] = console_lines
    parts.append(Text("status", style="bold"))
    parts.append(Text("\n".join(_fit(line, width) for line in life.console(rows["console"])), style="dim"))
    return Group(*parts)


def _table(title: str, columns: tuple[str, ...]) -> Table:
    table = Table(
        title=title, title_justify="left", box=None, padding=(0, 1), show_edge=False, pad_edge=False
    )
    for index, column in enumerate(columns):
        # The first column is the ticker: never cut, never wrapped.
        table.add_column(column, no_wrap=True, overflow="ellipsis" if index else "fold")
    return table


def _more(table: Table, hidden: int) -> None:
    if hidden > 0:
        table.add_row(f"+{hidden} more")


def _positions(state: AppState, limit: int) -> Table:
    core = state.core
    assert core is not None
    table = _table("positions", ("ticker", "pos", "cost", "exit", "unreal", "pnl%", "closing"))
    markets = core.market_views()
    views = sorted(core.position_views().items())
    shown = views if len(views) <= limit else views[: max(0, limit - 1)]
    for ticker, pos in shown:
        book = core.books.book(ticker)
        market = markets.get(ticker)
        valuation = value_position(pos, book, market) if book is not None and market is not None else None
        table.add_row(
            ticker,
            pos.position.fp_str(),
            _dollars(pos.cost_basis),
            "-" if valuation is None else valuation.exit_price.dollars_str(),
            "-" if valuation is None else _dollars(valuation.unrealized),
            "-" if valuation is None else format_pct(valuation.pnl_pct),
            core.ledger.closing_reason(ticker) or "",
        )
    _more(table, len(views) - len(shown))
    return table


def _orders(state: AppState, limit: int) -> Table:
    core = state.core
    assert core is not None
    # "ahead": contracts the exchange fills before the order at its price ("-" until first read).
    table = _table("resting orders", ("ticker", "side", "left", "price", "ahead", "state", "purpose"))
    orders = core.ledger.live_orders()
    shown = orders if len(orders) <= limit else orders[: max(0, limit - 1)]
    for order in shown:
        ahead = core.queue.ahead_of(order.client_order_id)
        table.add_row(
            order.ticker,
            order.side.value,
            order.remaining.fp_str(),
            order.yes_price.dollars_str(),
            "-" if ahead is None else ahead.fp_str(),
            order.state.value,
            order.close_reason or order.purpose.value,
        )
    _more(table, len(orders) - len(shown))
    return table


def _actions(state: AppState, limit: int, width: int) -> list[RenderableType]:
    """The actions that did something (newest first) and one line that sums up the denials."""
    table = _table("last actions", ("ticker", "action", "price", "result", "reason"))
    done = [a for a in state.actions if a.result not in (ActionResult.HOLD, ActionResult.DENIED)]
    for action in done[-limit:][::-1]:
        price = "-" if action.price is None else action.price.dollars_str()
        table.add_row(action.ticker, action.action, price, action.result_text, action.reason[:24])
    denied = Counter(a.denied_by or "?" for a in state.actions if a.result is ActionResult.DENIED)
    summary = ", ".join(f"{reason} {count}" for reason, count in denied.most_common())
    return [table, Text(_fit(f"denied: {summary}" if denied else "denied: none", width), style="dim")]


def _checklist(state: AppState, width: int, limit: int) -> Table:
    table = _table("initialization", ("step", "state", "detail", "ms"))
    styles = {StepState.COMPLETE: "green", StepState.FAILED: "red", StepState.IN_PROGRESS: "yellow"}
    records = list(state.tracker)
    pending = [r for r in records if r.state is not StepState.COMPLETE]
    done = [r for r in records if r.state is StepState.COMPLETE]
    for record in (
        (pending[:limit] + done[: max(0, limit - len(pending))]) if len(records) > limit else records
    ):
        duration = "" if record.duration_ms is None else str(record.duration_ms)
        table.add_row(
            record.step.value,
            Text(record.state.value, style=styles.get(record.state, "")),
            _fit(record.detail, max(10, width - 40)),
            duration,
        )
    return table
