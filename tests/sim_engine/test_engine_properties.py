"""Engine invariants under random operation sequences (Hypothesis-generated lists of operations).

Several funded accounts trade two markets (a whole-cent grid without maker fees and a $0.001 grid
with maker fees, one account at $0.01 balance precision) with every kind of order request, cancels,
amends, decreases, cancel-all, clock moves, order groups, determination and settlement. After every
step the machine checks:

(a) money is conserved: balances + reserved cash of resting orders + fees collected + escrow
    ($1 per open YES/NO pair = sum of positive positions x 10_000 Money per 0.01 contract)
    == deposits + what void settlements refunded above the escrow (refunds at cost are paid by the
    exchange, so they are counted as an outside flow);
(b) contracts are conserved: the signed positions of each market sum to zero;
(c) no book is crossed (best YES bid + best NO bid < $1);
(d) every ladder level's aggregate equals the sum of its resting orders' remaining counts and the
    ladder's price index lists exactly its levels;
(e) order counts are consistent: remaining >= 0, fill + remaining (+ what decrease_order took off,
    which leaves initial_count as it was; an amend restates it) == initial for resting orders,
    non-resting orders have remaining 0 and hold no reservation;
(f) reservations and balances are never negative;
(g) a fill of a reduce_only order never increases |position| and never flips its sign;
(h) order groups: after every operation, a group that is not triggered has matched at most its
    limit within the rolling 15 s window (fills of its orders since its last reset, timestamps in
    (now - 15 s, now]); a triggered group has no resting orders, and no order of it fills while it
    stays triggered;
(i) every trade id appears on exactly two fills, one maker and one taker, of different accounts,
    at the same price and size.

Every rejected request (ExchangeError) must leave the observable state unchanged.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.sim_engine.engine_kit import T0, make_market, snapshot

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

sides = st.sampled_from(list(BookSide))
tifs = st.sampled_from(list(TimeInForce))
stps = st.sampled_from(list(SelfTradePrevention))
accounts = st.sampled_from(ACCOUNTS)
# Counts in 0.01 contracts: whole and fractional contracts.
counts = st.one_of(st.sampled_from([100, 200, 500, 1_000, 1_500]), st.integers(1, 2_500))
# Own prices around the middle so orders cross often; the $0.001 market also sees sub-cent prices
# and a few off-grid ones.
cents = st.integers(35, 65)
sub_cent = st.sampled_from([0, 0, 0, 10, 50, 90, 5])
picks = st.integers(0, 10**6)


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


@dataclass(frozen=True)
class Op:
    name: str
    args: dict[str, Any]

    def __repr__(self) -> str:
        return f"{self.name}({', '.join(f'{k}={v!r}' for k, v in self.args.items())})"


def _op(name: str, **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Op]:
    return st.fixed_dictionaries(fields).map(lambda args: Op(name, args))


create_ops = _op(
    "create",
    account=accounts,
    market=picks,
    side=sides,
    own_cents=cents,
    extra=sub_cent,
    size=counts,
    tif=tifs,
    stp=stps,
    post_only=st.sampled_from([False, False, True]),
    reduce_only=st.sampled_from([False, False, False, True]),
    expires_in_s=st.sampled_from([None, None, None, 5, 30]),
    use_group=st.sampled_from([False, False, True]),
    client_id=st.sampled_from(["", "", "", "dup-1", "dup-2"]),
)
operations = st.one_of(
    create_ops,
    create_ops,
    create_ops,
    create_ops,
    _op("cancel", pick=picks),
    _op("amend", pick=picks, own_cents=cents, extra=sub_cent, new_total=counts),
    _op("decrease", pick=picks, by=st.integers(0, 1_200), use_to=st.booleans()),
    _op("cancel_all", account=accounts),
    _op("advance_clock", seconds=st.sampled_from([0.5, 1, 3, 7, 14, 16, 45])),
    _op("create_group", account=accounts, limit=st.sampled_from([100, 300, 1_000, 5_000])),
    _op("reset_group", pick=picks),
    _op("update_group_limit", pick=picks, limit=st.sampled_from([100, 200, 2_000])),
    _op(
        "determine_and_settle",
        market=picks,
        result=st.sampled_from([MarketResult.YES, MarketResult.NO, MarketResult.VOID]),
    ),
)


@settings(settings.get_profile("ci"), max_examples=100)
@given(st.lists(operations, min_size=30, max_size=70))
def test_engine_invariants_hold_after_every_operation(ops: list[Op]) -> None:
    harness = EngineHarness()
    harness.check()
    for op in ops:
        getattr(harness, op.name)(**op.args)
        harness.check()


def _random_op(rng: random.Random) -> Op:
    """One operation drawn with realistic weights (Hypothesis' own draws favour trivial values)."""
    kind = rng.choices(
        ["create", "cancel", "amend", "decrease", "cancel_all", "advance_clock", "group", "settle"],
        [55, 10, 10, 6, 2, 8, 6, 1],
    )[0]
    pick = rng.randrange(10**6)
    if kind == "create":
        return Op(
            "create",
            {
                "account": rng.choice(ACCOUNTS),
                "market": pick,
                "side": rng.choice(list(BookSide)),
                "own_cents": rng.randint(36, 56),
                "extra": rng.choice([0] * 12 + [10, 50, 90, 5]),
                "size": rng.choice([100, 200, 500, 1_000, rng.randint(1, 2_500)]),
                "tif": rng.choices(list(TimeInForce), [1, 8, 2])[0],
                "stp": rng.choice(list(SelfTradePrevention)),
                "post_only": rng.random() < 0.1,
                "reduce_only": rng.random() < 0.2,
                "expires_in_s": rng.choice([None] * 8 + [5, 30]),
                "use_group": rng.random() < 0.3,
                "client_id": rng.choice([""] * 20 + ["dup-1"]),
            },
        )
    if kind == "cancel":
        return Op("cancel", {"pick": pick})
    if kind == "amend":
        return Op(
            "amend",
            {
                "pick": pick,
                "own_cents": rng.randint(40, 60),
                "extra": rng.choice([0, 0, 10, 5]),
                "new_total": rng.choice([100, 500, rng.randint(1, 2_500)]),
            },
        )
    if kind == "decrease":
        return Op("decrease", {"pick": pick, "by": rng.randint(0, 1_200), "use_to": rng.random() < 0.5})
    if kind == "cancel_all":
        return Op("cancel_all", {"account": rng.choice(ACCOUNTS)})
    if kind == "advance_clock":
        return Op("advance_clock", {"seconds": rng.choice([0.5, 1, 3, 7, 14, 16, 45])})
    if kind == "group":
        which = rng.choice(["create_group", "create_group", "reset_group", "update_group_limit"])
        if which == "create_group":
            return Op(which, {"account": rng.choice(ACCOUNTS), "limit": rng.choice([100, 300, 1_000, 5_000])})
        if which == "reset_group":
            return Op(which, {"pick": pick})
        return Op(which, {"pick": pick, "limit": rng.choice([100, 200, 2_000])})
    result = rng.choice([MarketResult.YES, MarketResult.NO, MarketResult.VOID])
    return Op("determine_and_settle", {"market": pick, "result": result})


@settings(settings.get_profile("ci"), max_examples=150)
@given(seed=st.integers(0, 2**32 - 1))
def test_engine_invariants_hold_over_long_random_sessions(seed: int) -> None:
    rng = random.Random(seed)
    harness = EngineHarness()
    done: list[Op] = []
    for _ in range(300):
        op = _random_op(rng)
        done.append(op)
        getattr(harness, op.name)(**op.args)
        try:
            harness.check()
        except AssertionError as failure:
            raise AssertionError(f"after {len(done)} operations, last {done[-8:]}") from failure
