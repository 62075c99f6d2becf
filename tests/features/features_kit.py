"""Shared builders for the feature tests: random valid books, histories, positions and orders,
and their YES<->NO mirror images."""

from __future__ import annotations

from dataclasses import dataclass, replace

from hypothesis import strategies as st

from kalshiflow.domain.grid import STRUCTURES, PriceGrid
from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import PRICE_SCALE, Count, Money, Price
from kalshiflow.exchange.models_market import MarketStatus
from kalshiflow.features import MarketHistory, ObservationScales
from kalshiflow.features.valuation import CashView, MarketView, PositionView
from kalshiflow.marketdata.book import OrderBook
from kalshiflow.trader.state.orders import OrderPurpose, OrderState, TrackedOrder

NOW = 1_790_000_000_000
TICKER = "KXFEAT-26JAN01-T50"
SCALES = ObservationScales(bankroll=Money.dollars(1_000), max_position=Count.contracts(100))

Ladder = list[tuple[int, int]]


@dataclass(frozen=True)
class Inputs:
    """Everything ``compute_observation`` reads, as plain values (rebuilt per call)."""

    grid: str
    yes: tuple[tuple[int, int], ...]
    no: tuple[tuple[int, int], ...]
    touches: tuple[tuple[int, int, int], ...]  # (ms before NOW, 2 x mid, 2 x spread), oldest first
    close_in_ms: int
    position: tuple[int, int, int] | None  # (signed count, cost basis, ms before NOW opened)
    available: int
    reserved: int
    orders: tuple[
        tuple[BookSide, int, int, int, OrderState, int], ...
    ]  # side, yes price, count, filled, state, age

    def build(
        self,
    ) -> tuple[OrderBook, MarketHistory, MarketView, PositionView | None, CashView, list[TrackedOrder]]:
        grid = PriceGrid.named(self.grid)
        book = OrderBook(TICKER, grid)
        assert book.apply_snapshot(self.yes, self.no, NOW - 5)
        history = MarketHistory(TICKER)
        for before, mid, spread in self.touches:
            history.record_touch(mid, spread, NOW - before)
        history.record(book, NOW - 5)
        market = MarketView(TICKER, MarketStatus.ACTIVE, NOW + self.close_in_ms, grid)
        position = None
        if self.position is not None:
            count, cost, age = self.position
            position = PositionView(TICKER, Count(count), Money(cost), NOW - age)
        cash = CashView(Money(self.available), Money(self.reserved))
        orders = [
            TrackedOrder(
                client_order_id=f"c{i}",
                ticker=TICKER,
                side=side,
                yes_price=Price(price),
                count=Count(count),
                purpose=OrderPurpose.OPEN,
                created_ms=NOW - age,
                state=state,
                filled=Count(filled),
            )
            for i, (side, price, count, filled, state, age) in enumerate(self.orders)
        ]
        return book, history, market, position, cash, orders

    def mirrored(self) -> Inputs:
        """The same situation with YES and NO exchanged (all named grids are symmetric)."""
        return replace(
            self,
            yes=self.no,
            no=self.yes,
            touches=tuple((t, 2 * PRICE_SCALE - mid, spread) for t, mid, spread in self.touches),
            position=None if self.position is None else (-self.position[0], *self.position[1:]),
            orders=tuple(
                (side.opposite, PRICE_SCALE - price, count, filled, state, age)
                for side, price, count, filled, state, age in self.orders
            ),
        )


@st.composite
def inputs(draw: st.DrawFn) -> Inputs:
    grid_name = draw(st.sampled_from(sorted(STRUCTURES)))
    tradable = [int(p) for p in PriceGrid.named(grid_name).tradable]
    split = draw(st.integers(1, PRICE_SCALE - 1))  # YES bids < split, NO bids < 1 - split: not crossed
    sizes = st.integers(1, 10_000_000)

    def ladder(limit: int) -> tuple[tuple[int, int], ...]:
        prices = [p for p in tradable if p < limit]
        if not prices:
            return ()
        chosen = draw(st.lists(st.sampled_from(prices), max_size=15, unique=True))
        return tuple(sorted((p, draw(sizes)) for p in chosen))

    yes = ladder(split)
    no = ladder(PRICE_SCALE - split)
    gaps = draw(st.lists(st.integers(0, 120_000), max_size=30))
    touches = []
    before = sum(gaps) + 10
    for gap in gaps:
        mid = draw(st.integers(0, 2 * PRICE_SCALE))
        touches.append((before, mid, draw(st.integers(0, 2 * PRICE_SCALE))))
        before -= gap
    position = draw(
        st.none()
        | st.tuples(
            st.integers(-20_000_000, 20_000_000),
            st.integers(0, 10**12),
            st.integers(-1_000, 10**10),
        )
    )
    order = st.tuples(
        st.sampled_from(tuple(BookSide)),
        st.sampled_from(tradable),
        st.integers(1, 10_000_000),
        st.integers(0, 10_000_000),
        st.sampled_from(tuple(OrderState)),
        st.integers(-1_000, 10**9),
    )
    orders = tuple(
        (side, price, count, min(filled, count), state, age)
        for side, price, count, filled, state, age in draw(st.lists(order, max_size=6))
    )
    return Inputs(
        grid=grid_name,
        yes=yes,
        no=no,
        touches=tuple(touches),
        close_in_ms=draw(st.integers(-(10**9), 10**11)),
        position=position,
        available=draw(st.integers(0, 10**13)),
        reserved=draw(st.integers(0, 10**13)),
        orders=orders,
    )
