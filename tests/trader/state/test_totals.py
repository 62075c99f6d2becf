"""The ledger's running totals equal the plain loops over its orders and positions, at every step.

``LedgerTotals`` replaces per-decision sums (cash held back, resting opening contracts per market
and in total, cost and contracts held, realized P&L) by parts updated at each change; a part
missed or counted twice would let the risk gate allow an order over a limit. So every ledger path
that changes an order or a position is driven here and the totals compared with the loops.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.sim.engine.engine_kit import make_engine
from tests.trader.state.ledger_walk import TRADER, walk, wire

from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.trader.state.ledger import FillData, Ledger, SettlementData
from kalshiflow.trader.state.orders import OrderPurpose, OrderState, TrackedOrder

T0 = 1_790_000_000_000


def assert_totals_match_the_loops(ledger: Ledger) -> None:
    live = ledger.live_orders()
    opening = [o for o in live if o.purpose is OrderPurpose.OPEN]
    per_market: dict[str, int] = {}
    for order in opening:
        per_market[order.ticker] = per_market.get(order.ticker, 0) + order.remaining
    held = ledger.open_positions()
    totals = ledger.totals
    assert totals.reserved == sum(o.reserved for o in live)
    assert ledger.reserved == totals.reserved
    assert totals.open_contracts == sum(o.remaining for o in opening)
    assert totals.open_contracts_in == {t: n for t, n in per_market.items() if n}
    assert totals.held_cost == sum(p.cost_basis for p in held)
    assert totals.held_contracts == sum(abs(p.position) for p in held)
    assert totals.realized == sum(p.realized_pnl for p in ledger.positions.values())


@pytest.mark.parametrize("seed", range(8))
def test_totals_follow_a_random_walk_against_the_exchange(seed: int) -> None:
    engine, clock = make_engine(balance=200 * 1_000_000)
    ledger = Ledger()
    ledger.overwrite_cash(engine.accounts[TRADER].balance, clock.now_ms())
    wire(engine, ledger)
    walk(engine, ledger, seed, after_step=assert_totals_match_the_loops)
    assert ledger.totals.reserved or ledger.totals.held_contracts  # the walk did hold something


def order(
    cid: str, ticker: str, side: BookSide, price: int, count: int, purpose: OrderPurpose
) -> TrackedOrder:
    return TrackedOrder(cid, ticker, side, Price(price), Count(count), purpose, T0)


def fill(n: int, order_id: str, ticker: str, side: BookSide, price: int, count: int, cid: str) -> FillData:
    return FillData(
        f"tr-{n}", order_id, ticker, side, Price(price), Count(count), True, Money(700), T0 + n, cid
    )


def test_totals_follow_every_other_ledger_path() -> None:
    ledger = Ledger()
    check = assert_totals_match_the_loops
    ledger.overwrite_cash(Money.dollars(1_000), T0)
    ledger.record_pending(order("a", "A", BookSide.BID, 4_000, 1_000, OrderPurpose.OPEN))
    ledger.record_pending(order("b", "B", BookSide.ASK, 6_000, 500, OrderPurpose.OPEN))
    check(ledger)
    ledger.on_acknowledged("a", "oa", Count(0), Count(1_000), T0 + 1)
    ledger.apply_fill(fill(1, "oa", "A", BookSide.BID, 4_000, 400, "a"))  # partial
    check(ledger)
    ledger.on_rejected("b", "insufficient balance", T0 + 2)
    check(ledger)
    ledger.on_exchange_order(  # amended on the exchange: re-reserved for the new size
        order_id="oa", client_order_id="a", ticker="A", side=BookSide.BID, yes_price=Price(4_100),
        status="resting", filled=Count(400), remaining=Count(900), initial=Count(1_300), now_ms=T0 + 3,
    )  # fmt: skip
    check(ledger)
    ledger.on_exchange_order(  # somebody else's order on the account, adopted
        order_id="ox", client_order_id="", ticker="C", side=BookSide.BID, yes_price=Price(2_000),
        status="resting", filled=Count(0), remaining=Count(300), initial=Count(300), now_ms=T0 + 4,
    )  # fmt: skip
    check(ledger)
    close = order("c", "A", BookSide.ASK, 3_900, 400, OrderPurpose.CLOSE)
    close.reduce_only = True
    ledger.record_pending(close)
    ledger.on_acknowledged("c", "oc", Count(0), Count(400), T0 + 5)
    ledger.apply_fill(fill(2, "oc", "A", BookSide.ASK, 3_900, 400, "c"))  # closes what was held
    check(ledger)
    ledger.record_pending(order("d", "D", BookSide.BID, 5_000, 200, OrderPurpose.OPEN))
    ledger.on_unknown("d", "timeout", T0 + 6)
    ledger.on_not_found("d", T0 + 7, misses_to_give_up=1)
    check(ledger)
    restored = order("e", "E", BookSide.BID, 3_000, 600, OrderPurpose.OPEN)
    restored.order_id, restored.state, restored.remaining = "oe", OrderState.RESTING, Count(600)
    ledger.restore(restored)
    check(ledger)
    ledger.overwrite_position("E", Count(-300), Money(2_100_000), T0 + 8)
    ledger.overwrite_position("F", Count(500), Money(2_500_000), T0 + 8)
    check(ledger)
    ledger.apply_settlement(SettlementData("F", "yes", Money(5_000_000), T0 + 9))
    check(ledger)
    ledger.on_canceled("e", T0 + 10)
    ledger.on_canceled("a", T0 + 10)
    ledger.on_exchange_order(
        order_id="ox", client_order_id="", ticker="C", side=BookSide.BID, yes_price=Price(2_000),
        status="canceled", filled=Count(0), remaining=Count(0), initial=Count(300), now_ms=T0 + 11,
    )  # fmt: skip
    check(ledger)
    assert ledger.totals.reserved == 0
    assert ledger.totals.open_contracts == 0
    assert ledger.totals.realized != 0


# ---------------------------------------------------------------- property: any sequence of changes
TICKERS = ("A", "B", "C")
_op = st.one_of(
    st.tuples(
        st.just("place"),
        st.sampled_from(TICKERS),
        st.sampled_from((BookSide.BID, BookSide.ASK)),
        st.integers(100, 9_900),  # yes price ($0.0001)
        st.integers(1, 20).map(lambda n: n * 100),  # whole contracts
        st.sampled_from((OrderPurpose.OPEN, OrderPurpose.CLOSE)),
        st.booleans(),  # the exchange rejects it instead of acknowledging
    ),
    st.tuples(st.just("fill"), st.integers(0, 50), st.integers(1, 100)),  # order pick, % of what remains
    st.tuples(st.just("cancel"), st.integers(0, 50)),
    st.tuples(st.just("amend"), st.integers(0, 50), st.integers(1, 30).map(lambda n: n * 100)),
    st.tuples(st.just("overwrite"), st.sampled_from(TICKERS), st.integers(-10, 10), st.integers(0, 9_000)),
    st.tuples(st.just("settle"), st.sampled_from(TICKERS), st.sampled_from(("yes", "no"))),
)


@given(ops=st.lists(_op, max_size=40))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_totals_equal_a_full_recomputation_after_any_sequence_of_orders_fills_and_cancels(
    ops: list[tuple[object, ...]],
) -> None:
    """Whatever the order of placements, partial fills, cancels, amends, rejections, position
    overwrites and settlements over several markets, every running total equals its plain loop."""
    ledger = Ledger()
    ledger.overwrite_cash(Money.dollars(10_000), T0)
    for n, op in enumerate(ops):
        now = T0 + n + 1
        live = ledger.live_orders()
        match op:
            case (
                "place",
                str(ticker),
                BookSide() as side,
                int(price),
                int(size),
                OrderPurpose() as purpose,
                bool(refused),
            ):
                placed = order(f"c{n}", ticker, side, price, size, purpose)
                placed.reduce_only = purpose is OrderPurpose.CLOSE
                ledger.record_pending(placed)
                if refused:
                    ledger.on_rejected(f"c{n}", "refused", now)
                else:
                    ledger.on_acknowledged(f"c{n}", f"o{n}", Count(0), Count(size), now)
            case ("fill", int(pick), int(pct)) if live:
                target = live[pick % len(live)]
                if target.order_id is not None:
                    size = max(1, target.remaining * pct // 100)
                    ledger.apply_fill(
                        fill(n, target.order_id, target.ticker, target.side, target.yes_price, size,
                             target.client_order_id)
                    )  # fmt: skip
            case ("cancel", int(pick)) if live:
                ledger.on_canceled(live[pick % len(live)].client_order_id, now)
            case ("amend", int(pick), int(initial)) if live:
                target = live[pick % len(live)]
                if target.order_id is not None and initial > target.filled:
                    ledger.on_exchange_order(
                        order_id=target.order_id, client_order_id=target.client_order_id,
                        ticker=target.ticker, side=target.side, yes_price=target.yes_price,
                        status="resting", filled=target.filled, remaining=Count(initial - target.filled),
                        initial=Count(initial), now_ms=now,
                    )  # fmt: skip
            case ("overwrite", str(ticker), int(contracts), int(cost_per)):
                ledger.overwrite_position(
                    ticker, Count(contracts * 100), Money(abs(contracts) * cost_per * 100), now
                )
            case ("settle", str(ticker), str(result)) if ticker in ledger.positions:
                ledger.apply_settlement(SettlementData(ticker, result, Money(0), now))
        assert_totals_match_the_loops(ledger)
