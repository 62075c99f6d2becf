"""The time rules' tick (``ExitDriver.exit_tick``, every second) with nothing held and no order in
flight decides nothing without gathering the books, grids and views the rules would read: every
rule decides about a held position, and only a live order can be stale."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from tests.trader.state.test_position_views import fill, trader_on_books

from kalshiflow.domain.orders import BookSide
from kalshiflow.trader import core as core_module
from kalshiflow.trader import exit_driver


def _boom(*_: object, **__: object) -> list[object]:
    raise AssertionError("read with nothing held and nothing in flight")


async def test_an_idle_tick_reads_nothing_and_a_held_position_is_evaluated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock, _, _, core = trader_on_books()
    monkeypatch.setattr(core_module, "evaluate_exits", _boom)
    monkeypatch.setattr(exit_driver, "stale_open_orders", _boom)
    assert await core.exits.exit_tick() == []
    assert core.exit_decisions() == []
    core.ledger.apply_fill(fill(1, "B", BookSide.BID, 5_000, 1_000, clock.now_ms()))
    await asyncio.sleep(0)  # the core's fill consumer runs
    with pytest.raises(AssertionError, match="nothing held"):
        await core.exits.exit_tick()


async def test_the_stale_order_check_gets_the_book_and_grid_of_every_live_orders_market(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only the markets of live orders are looked up, and each of them is (an unwatched one never)."""
    _, books, _, core = trader_on_books()
    live = [SimpleNamespace(ticker=t) for t in ("C", "A", "C", "unwatched")]
    monkeypatch.setattr(core.ledger, "live_orders", lambda: live)
    seen: list[tuple[object, ...]] = []

    def capture(*args: object) -> list[object]:
        seen.append(args)
        return []

    monkeypatch.setattr(exit_driver, "stale_open_orders", capture)
    assert await core.exits.cancel_stale_open_orders() == []
    ((orders, books_of, grids, _, _),) = seen
    assert orders is live
    assert books_of == {"C": books.book("C"), "A": books.book("A")}
    assert grids == {"C": core.markets["C"].grid, "A": core.markets["A"].grid}
