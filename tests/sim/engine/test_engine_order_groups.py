"""Order groups: a rolling 15 s limit on matched contracts that cancels the group's orders when exceeded."""

from __future__ import annotations

import pytest
from tests.sim.engine.engine_kit import IOC, count, cross_price, make_engine, place, price, snapshot

from kalshiflow.domain.orders import BookSide, OrderStatus
from kalshiflow.sim import order_groups
from kalshiflow.sim.engine import Engine
from kalshiflow.sim.errors import ExchangeError

SIDES = pytest.mark.parametrize("side", list(BookSide), ids=lambda s: s.value)


def _take(engine: Engine, side: BookSide, own_price: int, size: int) -> None:
    """bob takes ``size`` from resting orders on ``side`` at ``own_price``."""
    place(engine, "bob", side.opposite, cross_price(own_price), size, tif=IOC)


@SIDES
def test_group_triggers_when_matched_contracts_exceed_the_limit(side: BookSide) -> None:
    engine, _ = make_engine()
    group = order_groups.create_group(engine, "alice", count("5"))
    filled = place(engine, "alice", side, price("0.40"), count("10"), order_group_id=group.group_id).order
    other = place(engine, "alice", side, price("0.30"), count("10"), order_group_id=group.group_id).order
    outside = place(engine, "alice", side, price("0.20"), count("1")).order
    _take(engine, side, price("0.40"), count("5"))
    assert not group.triggered  # exactly at the limit is allowed
    _take(engine, side, price("0.40"), count("1"))
    assert group.triggered
    assert filled.status is OrderStatus.CANCELED
    assert filled.fill_count == count("6")
    assert other.status is OrderStatus.CANCELED
    assert outside.is_resting
    assert order_groups.resting_order_ids(engine, group) == []


@SIDES
def test_triggered_group_rejects_new_orders_until_reset(side: BookSide) -> None:
    engine, _ = make_engine()
    group = order_groups.create_group(engine, "alice", count("1"))
    place(engine, "alice", side, price("0.40"), count("2"), order_group_id=group.group_id)
    _take(engine, side, price("0.40"), count("2"))
    assert group.triggered
    before = snapshot(engine)
    with pytest.raises(ExchangeError) as rejected:
        place(engine, "alice", side, price("0.40"), count("1"), order_group_id=group.group_id)
    assert rejected.value.code == "order_group_triggered"
    assert snapshot(engine) == before
    order_groups.reset_group(engine, "alice", group.group_id)
    assert not group.triggered
    assert group.window_total == 0
    assert place(
        engine, "alice", side, price("0.40"), count("1"), order_group_id=group.group_id
    ).order.is_resting


@SIDES
def test_group_window_slides_with_the_clock(side: BookSide) -> None:
    engine, clock = make_engine()
    group = order_groups.create_group(engine, "alice", count("5"))
    place(engine, "alice", side, price("0.40"), count("20"), order_group_id=group.group_id)
    _take(engine, side, price("0.40"), count("4"))
    clock.advance(14.999)
    _take(engine, side, price("0.40"), count("1"))  # 5 within 15 s: at the limit
    assert not group.triggered
    clock.advance(0.001)  # the first 4 fall out of the window (ts <= now - 15 s)
    _take(engine, side, price("0.40"), count("4"))  # window: 1 + 4 = 5
    assert not group.triggered
    assert group.window_total == count("5")
    _take(engine, side, price("0.40"), count("1"))
    assert group.triggered


@SIDES
def test_group_counts_taker_fills_too(side: BookSide) -> None:
    engine, _ = make_engine()
    group = order_groups.create_group(engine, "alice", count("2"))
    place(engine, "bob", side.opposite, price("0.60"), count("5"))
    resting = place(engine, "alice", side, price("0.30"), count("1"), order_group_id=group.group_id).order
    taker = place(engine, "alice", side, price("0.40"), count("5"), order_group_id=group.group_id)
    assert sum(f.count for f in taker.fills) == count("5")  # the whole match completes first
    assert group.triggered
    assert resting.status is OrderStatus.CANCELED


def test_lowering_the_limit_below_the_window_triggers() -> None:
    engine, _ = make_engine()
    group = order_groups.create_group(engine, "alice", count("10"))
    order = place(
        engine, "alice", BookSide.BID, price("0.40"), count("10"), order_group_id=group.group_id
    ).order
    _take(engine, BookSide.BID, price("0.40"), count("3"))
    order_groups.update_limit(engine, "alice", group.group_id, count("3"))
    assert not group.triggered
    order_groups.update_limit(engine, "alice", group.group_id, count("2"))
    assert group.triggered
    assert order.status is OrderStatus.CANCELED
    assert group.contracts_limit == count("2")


def test_deleting_a_group_cancels_its_orders() -> None:
    engine, _ = make_engine()
    group = order_groups.create_group(engine, "alice", count("10"))
    order = place(
        engine, "alice", BookSide.BID, price("0.40"), count("10"), order_group_id=group.group_id
    ).order
    order_groups.delete_group(engine, "alice", group.group_id)
    assert order.status is OrderStatus.CANCELED
    assert group.group_id not in engine.groups
    with pytest.raises(ExchangeError) as missing:
        place(engine, "alice", BookSide.BID, price("0.40"), count("1"), order_group_id=group.group_id)
    assert missing.value.status == 404


def test_manual_trigger_cancels_and_blocks() -> None:
    engine, _ = make_engine()
    group = order_groups.create_group(engine, "alice", count("10"))
    order = place(
        engine, "alice", BookSide.ASK, price("0.40"), count("1"), order_group_id=group.group_id
    ).order
    order_groups.trigger_group(engine, "alice", group.group_id)
    assert order.status is OrderStatus.CANCELED
    with pytest.raises(ExchangeError):
        place(engine, "alice", BookSide.ASK, price("0.40"), count("1"), order_group_id=group.group_id)


def test_group_of_another_account_is_not_found() -> None:
    engine, _ = make_engine()
    group = order_groups.create_group(engine, "alice", count("10"))
    before = snapshot(engine)
    with pytest.raises(ExchangeError) as missing:
        place(engine, "bob", BookSide.BID, price("0.40"), count("1"), order_group_id=group.group_id)
    assert missing.value.status == 404
    assert snapshot(engine) == before
    with pytest.raises(ExchangeError):
        order_groups.reset_group(engine, "bob", group.group_id)


@pytest.mark.parametrize("limit", [0, 99, 1_000_000 * 100 + 1])
def test_group_limit_out_of_range_is_rejected(limit: int) -> None:
    engine, _ = make_engine()
    with pytest.raises(ExchangeError) as rejected:
        order_groups.create_group(engine, "alice", limit)
    assert rejected.value.status == 400
    assert engine.groups == {}
