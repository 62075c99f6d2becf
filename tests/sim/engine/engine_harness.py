"""The engine under test with its invariants checked after every operation (see the property tests)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from tests.sim.engine.engine_kit import T0, make_market, snapshot

from kalshiflow.clock import ManualClock
from kalshiflow.domain.fees import FeeType
from kalshiflow.domain.orders import BookSide, SelfTradePrevention, TimeInForce
from kalshiflow.domain.settlement import MarketResult
from kalshiflow.domain.units import PRICE_SCALE
from kalshiflow.sim import lifecycle, order_groups
from kalshiflow.sim.engine import Engine, OrderRequest
from kalshiflow.sim.errors import ExchangeError
from kalshiflow.sim.state import Fill, MarketStatus, SimOrder

ACCOUNTS = ("alice", "bob", "carol", "dave")
PRECISION = {"alice": 100, "bob": 100, "carol": 10_000, "dave": 100}  # carol: $0.01 balance
START_BALANCE = {"alice": 60_000_000, "bob": 60_000_000, "carol": 25_000_000, "dave": 6_000_000}  # Money
WINDOW_MS = order_groups.WINDOW_MS


class EngineHarness:
    """The engine plus what the invariants need to remember between steps."""

    def __init__(self) -> None:
        self.clock = ManualClock(T0)
        self.engine = Engine(self.clock, seed=3)
        self.market_no = 0
        self.live_tickers: list[str] = []
        for _ in range(2):
            self._new_market()
        for account_id in ACCOUNTS:
            self.engine.add_account(account_id, START_BALANCE[account_id], PRECISION[account_id])
        lifecycle.advance(self.engine, self.clock.now_ms())
        self.outside_flow = 0  # Money paid by void refunds beyond the escrow they released
        self.seen_fills = dict.fromkeys(ACCOUNTS, 0)
        self.trade_fills: dict[str, list[Fill]] = defaultdict(list)
        self.group_fills: dict[str, list[tuple[int, int]]] = defaultdict(list)  # since last reset
        self.triggered_before: set[str] = set()  # groups triggered at the previous check
        self.decreased: dict[str, int] = defaultdict(int)  # decrease_order keeps initial_count

    # ------------------------------------------------------------- helpers
    def _new_market(self) -> None:
        fee_type = FeeType.QUADRATIC if self.market_no % 2 == 0 else FeeType.QUADRATIC_WITH_MAKER_FEES
        grid = "linear_cent" if self.market_no % 2 == 0 else "deci_cent"
        ticker = f"KXP{self.market_no}-26JAN01-T1"
        make_market(self.engine, ticker, grid=grid, fee_type=fee_type, close_in_ms=2 * 3_600_000)
        self.market_no += 1
        self.live_tickers.append(ticker)

    def _resting(self) -> list[SimOrder]:
        return [o for o in self.engine.orders.values() if o.is_resting]

    def _pick(self, items: list[SimOrder], index: int) -> SimOrder | None:
        return items[index % len(items)] if items else None

    def _rejected_keeps_state(self, action: Callable[[], object]) -> None:
        before = snapshot(self.engine)
        try:
            action()
        except ExchangeError:
            assert snapshot(self.engine) == before, "a rejected request changed the state"

    def _ticker(self, index: int) -> str:
        """Mostly a market that trades; now and then one that is closed or settled."""
        tickers = self.live_tickers if index % 20 else list(self.engine.markets)
        return tickers[index % len(tickers)]

    # ------------------------------------------------------------- rules
    def create(
        self,
        account: str,
        market: int,
        side: BookSide,
        own_cents: int,
        extra: int,
        size: int,
        tif: TimeInForce,
        stp: SelfTradePrevention,
        post_only: bool,
        reduce_only: bool,
        expires_in_s: int | None,
        use_group: bool,
        client_id: str,
    ) -> None:
        ticker = self._ticker(market)
        own = own_cents * 100 + extra
        yes = own if side is BookSide.BID else PRICE_SCALE - own
        groups = [g for g in self.engine.groups.values() if g.account_id == account]
        group_id = groups[market % len(groups)].group_id if use_group and groups else None
        now = self.clock.now_ms()
        req = OrderRequest(
            ticker=ticker,
            side=side,
            yes_price=yes,
            count=size,
            time_in_force=tif,
            self_trade_prevention=stp,
            client_order_id=client_id,
            post_only=post_only,
            reduce_only=reduce_only,
            expiration_ms=None if expires_in_s is None else now + expires_in_s * 1000,
            order_group_id=group_id,
        )
        self._rejected_keeps_state(lambda: self.engine.create_order(account, req))

    def cancel(self, pick: int) -> None:
        order = self._pick(self._resting(), pick)
        if order is None:
            return
        self._rejected_keeps_state(lambda: self.engine.cancel_order(order.account_id, order.order_id))

    def amend(self, pick: int, own_cents: int, extra: int, new_total: int) -> None:
        order = self._pick(self._resting(), pick)
        if order is None:
            return
        own = own_cents * 100 + extra
        yes = own if order.side is BookSide.BID else PRICE_SCALE - own
        total = order.fill_count + new_total if pick % 3 else new_total
        before = snapshot(self.engine)
        try:
            self.engine.amend_order(order.account_id, order.order_id, order.ticker, order.side, yes, total)
        except ExchangeError:
            assert snapshot(self.engine) == before, "a rejected amend changed the state"
        else:
            self.decreased.pop(order.order_id, None)  # an amend restates initial_count

    def decrease(self, pick: int, by: int, use_to: bool) -> None:
        order = self._pick(self._resting(), pick)
        if order is None:
            return
        reduce_by, reduce_to = (None, by) if use_to else (by, None)
        before = order.remaining_count
        self._rejected_keeps_state(
            lambda: self.engine.decrease_order(order.account_id, order.order_id, reduce_by, reduce_to)
        )
        if order.is_resting:
            self.decreased[order.order_id] += before - order.remaining_count

    def cancel_all(self, account: str) -> None:
        self._rejected_keeps_state(lambda: self.engine.cancel_all(account))

    def advance_clock(self, seconds: float) -> None:
        self.clock.advance(seconds)
        lifecycle.advance(self.engine, self.clock.now_ms())

    def create_group(self, account: str, limit: int) -> None:
        order_groups.create_group(self.engine, account, limit)

    def reset_group(self, pick: int) -> None:
        if not self.engine.groups:
            return
        group = list(self.engine.groups.values())[pick % len(self.engine.groups)]
        order_groups.reset_group(self.engine, group.account_id, group.group_id)
        self.group_fills[group.group_id] = []

    def update_group_limit(self, pick: int, limit: int) -> None:
        if not self.engine.groups:
            return
        group = list(self.engine.groups.values())[pick % len(self.engine.groups)]
        order_groups.update_limit(self.engine, group.account_id, group.group_id, limit)

    def determine_and_settle(self, market: int, result: MarketResult) -> None:
        ticker = self._ticker(market)
        engine_market = self.engine.markets[ticker]
        if engine_market.status is not MarketStatus.ACTIVE:
            return
        lifecycle.determine(self.engine, ticker, result)
        if result is MarketResult.VOID:
            positions = [a.positions.get(ticker) for a in self.engine.accounts.values()]
            refunds = sum(p.cost for p in positions if p is not None)
            escrow = sum(max(0, p.position) for p in positions if p is not None) * PRICE_SCALE
            self.outside_flow += refunds - escrow
        lifecycle.settle_market(self.engine, engine_market, self.clock.now_ms())
        self.live_tickers.remove(ticker)
        self._new_market()
        lifecycle.advance(self.engine, self.clock.now_ms())

    # ------------------------------------------------------------- invariants
    def money_is_conserved(self) -> None:
        engine = self.engine
        balances = sum(a.balance for a in engine.accounts.values())
        reserved = sum(o.reserved for o in engine.orders.values() if o.is_resting)
        escrow = sum(
            max(0, p.position) * PRICE_SCALE for a in engine.accounts.values() for p in a.positions.values()
        )
        assert balances + reserved + engine.fees_collected + escrow == engine.deposits + self.outside_flow

    def contracts_are_conserved(self) -> None:
        net: dict[str, int] = defaultdict(int)
        for account in self.engine.accounts.values():
            for ticker, pos in account.positions.items():
                net[ticker] += pos.position
        assert all(v == 0 for v in net.values()), net

    def books_are_uncrossed_and_aggregates_exact(self) -> None:
        expected: dict[tuple[str, str, int], int] = defaultdict(int)
        for order in self.engine.orders.values():
            if order.is_resting:
                leg = "yes" if order.side is BookSide.BID else "no"
                expected[(order.ticker, leg, order.book_price)] += order.remaining_count
        for ticker, book in self.engine.books.items():
            assert not book.is_crossed(), (ticker, book.yes.best(), book.no.best())
            for leg, ladder in (("yes", book.yes), ("no", book.no)):
                assert ladder.prices == sorted(ladder.levels)
                for level_price, level in ladder.levels.items():
                    assert level.total > 0
                    assert level.total == expected.pop((ticker, leg, level_price), 0)
        assert not {k: v for k, v in expected.items() if v}, f"resting size missing from books: {expected}"

    def order_counts_are_consistent(self) -> None:
        for order in self.engine.orders.values():
            assert order.remaining_count >= 0
            assert order.reserved >= 0
            if order.is_resting:
                decreased = self.decreased.get(order.order_id, 0)
                assert order.fill_count + order.remaining_count + decreased == order.initial_count
            else:
                assert order.remaining_count == 0
                assert order.reserved == 0

    def balances_are_never_negative(self) -> None:
        for account in self.engine.accounts.values():
            assert account.balance >= 0, (account.account_id, account.balance)

    def new_fills_respect_reduce_only_groups_and_pairing(self) -> None:
        engine = self.engine
        now = self.clock.now_ms()
        fresh: list[Fill] = []
        for account_id, account in engine.accounts.items():
            fresh.extend(account.fills[self.seen_fills[account_id] :])
            self.seen_fills[account_id] = len(account.fills)
        for fill in fresh:
            order = engine.orders[fill.order_id]
            delta = fill.count if fill.side is BookSide.BID else -fill.count
            before = fill.post_position - delta
            if order.reduce_only:
                assert abs(fill.post_position) < abs(before), fill
                assert fill.post_position * before >= 0, fill
            self.trade_fills[fill.trade_id].append(fill)
            if order.order_group_id is not None:
                self.group_fills[order.order_group_id].append((fill.ts_ms, fill.count))
        for fill in fresh:
            pair = self.trade_fills[fill.trade_id]
            assert len(pair) == 2, pair
            maker, taker = sorted(pair, key=lambda f: f.is_taker)
            assert not maker.is_taker
            assert taker.is_taker
            assert maker.account_id != taker.account_id
            assert (maker.yes_price, maker.count) == (taker.yes_price, taker.count)
            assert maker.side is not taker.side
        for group in engine.groups.values():
            if group.triggered:
                assert not order_groups.resting_order_ids(engine, group)
                fresh_in_group = [
                    f for f in fresh if engine.orders[f.order_id].order_group_id == group.group_id
                ]
                if group.group_id in self.triggered_before:
                    assert not fresh_in_group, "a triggered group's order filled"
                self.triggered_before.add(group.group_id)
            else:
                self.triggered_before.discard(group.group_id)
                in_window = sum(c for ts, c in self.group_fills[group.group_id] if ts > now - WINDOW_MS)
                assert in_window <= group.contracts_limit, (group.group_id, in_window, group.contracts_limit)

    def check(self) -> None:
        self.money_is_conserved()
        self.contracts_are_conserved()
        self.books_are_uncrossed_and_aggregates_exact()
        self.order_counts_are_consistent()
        self.balances_are_never_negative()
        self.new_fills_respect_reduce_only_groups_and_pairing()
