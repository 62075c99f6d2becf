"""Mirror a recorded book into the simulator's engine, so the engine's matching is the fill model.

Why the engine: the trader must meet the exchange it meets live -- orders, cancels, amends, order
groups, fees, positions, balances, settlement and the private stream, all as the simulator serves
them -- and only the *other participants* must come from the recording. ``Tape`` keeps the recorded
ladders of every market and, for each recorded change, adds or removes resting orders of the tape
account (``TAPE_MAKER``) so the engine's book shows the recorded depth, minus what we took, plus our
own orders. How each change is split into adds, cancels (front or back of the queue) and trades is
``fill_model.plan_level_change``; a trade is an immediate-or-cancel order of ``TAPE_TAKER`` against
that level, which the engine fills in price-time priority -- the queue ahead of our order first.
Both tape accounts are the engine's house accounts (``EngineCore.house_accounts``): unlimited cash,
no reservations, and no order, fill or position events of theirs (nobody could subscribe to them).
A lazy tape (``lazy=True``, the recorded venue's) keeps the resting tape orders of a market outside
the engine's queues while no other account's order rests there (``virtual.py``): the same exchange
to every reader, a third cheaper to replay; there a trade of the whole level at the touch is
booked without the matching engine (``VirtualLevels.trade``, the same effects). A market an order
of ours released is followed again at its next recorded change after our last order there left.
(The simulator's lifecycle, which the recorded venue never runs, cancels a closing market's orders
from its queues: release a lazy market first.)

Invalid stretches of the recording (a gap or an invalidation) freeze the market's tape: its resting
depth is cancelled at once (``seal``) and its deltas are ignored until the next snapshot, which
restores every level from empty (adds only). While frozen the market offers no recorded liquidity:
an order sent then (a time rule's closing order, say) rests or expires unfilled instead of filling
against depth the recording no longer vouches for. Our own resting orders stay where they are (see
the fill model's docstring for what that means for their queue position).
Markets are listed active with a close time the caller chooses (recordings carry no lifecycle).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from kalshiflow.domain.fees import FeeType
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import BookSide, OutcomeSide, SelfTradePrevention, TimeInForce
from kalshiflow.domain.units import PRICE_SCALE
from kalshiflow.sim import fee_schedule
from kalshiflow.sim.engine import Engine, OrderRequest
from kalshiflow.sim.recorded.fill_model import LevelPlan, plan_level_change
from kalshiflow.sim.recorded.virtual import VirtualLevels
from kalshiflow.sim.state import MarketStatus, SimEvent, SimMarket, SimOrder, SimSeries

TAPE_MAKER: Final = "recorded-book"  # rests the recorded depth
TAPE_TAKER: Final = "recorded-trades"  # trades what the recording removed at the touch
TAPE_BALANCE: Final = 10**18  # Money units: the recording's participants never run out of cash
_REQUESTS_MAX: Final = 65_536  # distinct tape requests kept (emptied when full)


@dataclass(slots=True)
class TapeMetrics:
    levels_added: int = 0
    levels_cancelled: int = 0
    trades: int = 0
    deltas_ignored: int = 0  # while frozen, or before the market's first snapshot
    seals: int = 0  # freezes that withdrew a market's recorded depth


def _book_side(side: OutcomeSide) -> BookSide:
    """A bid on the YES ladder is a YES bid; a bid on the NO ladder is an ask of YES."""
    return BookSide.BID if side is OutcomeSide.YES else BookSide.ASK


def _yes_price(side: OutcomeSide, price: int) -> int:
    return price if side is OutcomeSide.YES else PRICE_SCALE - price


class Tape:
    """The recorded participants of one engine; call in recording order."""

    def __init__(self, engine: Engine, *, lazy: bool = False, fast_trades: bool = True) -> None:
        """``lazy``: the tape orders of a market stay out of the engine's queues until they must
        be there (``virtual.py``); the engine, the trader and every reader see the same exchange.
        ``fast_trades`` (lazy only): a recorded trade in a lazy market is booked without the
        engine's matching (``VirtualLevels.trade``); False materializes and matches (the tests
        compare the two)."""
        self.engine = engine
        self.fast_trades = fast_trades
        engine.add_account(TAPE_MAKER, TAPE_BALANCE)
        engine.add_account(TAPE_TAKER, TAPE_BALANCE)
        engine.house_accounts.update((TAPE_MAKER, TAPE_TAKER))  # no reservations, no private events
        self.recorded: dict[str, dict[OutcomeSide, dict[int, int]]] = {}
        self.frozen: set[str] = set()
        self.metrics = TapeMetrics()
        self._requests: dict[tuple[str, BookSide, int, int, TimeInForce], OrderRequest] = {}
        self.virtual = VirtualLevels(engine, TAPE_MAKER) if lazy else None
        self.released: set[str] = set()  # lazy markets whose tape orders are in the engine now
        if lazy:
            engine.before_outside_order = self._before_outside

    # ------------------------------------------------------------------ markets
    def list_market(self, ticker: str, grid: PriceGrid, close_ms: int) -> None:
        """List ``ticker`` active until ``close_ms`` (again: a re-registration keeps the listing)."""
        if ticker in self.engine.markets:
            self.freeze([ticker])  # the feed re-registers on resubscribe: wait for the snapshot
            return
        now = self.engine.clock.now_ms()
        series_ticker = ticker.split("-", 1)[0]
        event_ticker = ticker.rsplit("-", 1)[0] if "-" in ticker else ticker
        self.engine.add_market(
            SimSeries(series_ticker, series_ticker, fee_type=FeeType.QUADRATIC),
            SimEvent(event_ticker, series_ticker, event_ticker, created_ms=now, updated_ms=now),
            SimMarket(
                ticker=ticker,
                event_ticker=event_ticker,
                market_id=f"recorded-{ticker}",
                title=ticker,
                yes_sub_title="",
                no_sub_title="",
                grid=grid,
                open_ms=now,
                close_ms=close_ms,
                created_ms=now,
                status=MarketStatus.ACTIVE,
                updated_ms=now,
            ),
        )
        self.frozen.add(ticker)
        if self.virtual is not None:
            self.virtual.follow(ticker)

    def _release(self, ticker: str) -> None:
        """Another account's order enters ``ticker`` (or a tape add would cross): its tape orders
        join the engine until no other account's order rests there (``_park_if_alone``)."""
        virtual = self.virtual
        if virtual is not None and ticker in virtual.markets:
            virtual.release(ticker)
            self.released.add(ticker)

    def _before_outside(self, req: OrderRequest) -> Callable[[], None] | None:
        """Another account's order enters ``req.ticker``. In a lazy market only the levels it can
        meet join the engine first -- the other ladder's levels its price reaches (matching, a
        fill-or-kill's count) and its own price's level (it would queue behind those) --, and once
        its entry is over the market is released if it rests there, else those levels are
        followed again at once (``_after_outside``). Why: a trader that crosses has most of its
        orders filled (or cancelled) at once, and releasing the whole market for each -- every
        level into the engine, and out again at the market's next change -- was most of what such
        an order cost the replay."""
        virtual = self.virtual
        ticker = req.ticker
        if virtual is None or ticker not in virtual.markets:
            return None
        virtual.materialize_reachable(ticker, req.side, req.yes_price)
        return lambda: self._after_outside(ticker)

    def _after_outside(self, ticker: str) -> None:
        virtual = self.virtual
        assert virtual is not None  # only a lazy tape hooks order entry
        if ticker not in virtual.markets:
            return  # released meanwhile
        if self._alone(ticker):
            virtual.repark(ticker)
        else:
            self._release(ticker)  # the rest of the market joins the levels already in

    def _alone(self, ticker: str) -> bool:
        """Whether no other account's order rests in ``ticker``: the engine's resting index (two
        lookups per account) rather than the queues."""
        engine = self.engine
        house = engine.house_accounts
        resting = engine._resting_by_key
        for account_id in engine.accounts:
            if account_id not in house and (
                (account_id, ticker, BookSide.BID) in resting or (account_id, ticker, BookSide.ASK) in resting
            ):
                return False
        return True

    def _park_if_alone(self, ticker: str) -> None:
        """Follow released ``ticker`` again if no other account's order rests there. Checked at the
        market's next recorded change, the first moment the lazy tape would gain from it."""
        if self._alone(ticker):
            self.released.discard(ticker)
            self.virtual.park(ticker)  # type: ignore[union-attr]  # released implies lazy

    def _lazy(self, ticker: str) -> VirtualLevels | None:
        virtual = self.virtual
        return virtual if virtual is not None and ticker in virtual.markets else None

    def freeze(self, tickers: Iterable[str]) -> None:
        """Stop following these markets until their next snapshot (a gap or an invalidation), and
        withdraw their recorded depth so nothing fills against it meanwhile (``seal``)."""
        for ticker in tickers:
            if ticker in self.engine.markets and ticker not in self.frozen:
                self.frozen.add(ticker)
                self._seal(ticker)

    def _seal(self, ticker: str) -> None:
        """Cancel every tape order resting in ``ticker`` and forget its recorded ladders: the next
        snapshot restores the depth from empty. Orders of other accounts are left as they are."""
        ladders = self.recorded.get(ticker)
        if ladders is None:
            return  # no snapshot yet: the tape rests nothing there
        virtual = self._lazy(ticker)
        if virtual is not None:  # the same cancels, in the same order, of orders kept outside
            for side in (OutcomeSide.YES, OutcomeSide.NO):
                for price in sorted(virtual.prices(ticker, side), reverse=True):
                    shown = virtual.shown(ticker, side, price)
                    self.metrics.levels_cancelled += virtual.cancel(ticker, side, price, shown, front=True)
        else:
            book = self.engine.books[ticker]
            for ladder in (book.yes, book.no):
                for price in [p for p, _ in ladder.descending()]:
                    resting = [o for o in ladder.orders_at(price) if o.account_id == TAPE_MAKER]
                    self._cancel(resting, sum(o.remaining_count for o in resting))
        ladders[OutcomeSide.YES] = {}
        ladders[OutcomeSide.NO] = {}
        self.metrics.seals += 1

    # ------------------------------------------------------------------ recorded messages
    def snapshot(self, ticker: str, yes: Sequence[tuple[int, int]], no: Sequence[tuple[int, int]]) -> None:
        """Resynchronise every level of ``ticker`` to a recorded snapshot: adds and cancels, no trade.

        Every decrease of both ladders goes first, then every increase, so the recorded ladders
        never cross on the way (only an added level across a resting order of ours can match it).
        """
        if ticker not in self.engine.markets:
            return
        if ticker in self.released:
            self._park_if_alone(ticker)
        ladders = self.recorded.setdefault(ticker, {OutcomeSide.YES: {}, OutcomeSide.NO: {}})
        targets = {
            OutcomeSide.YES: {int(p): int(n) for p, n in yes if int(n) > 0},
            OutcomeSide.NO: {int(p): int(n) for p, n in no if int(n) > 0},
        }
        for side, target in targets.items():
            ladder = ladders[side]
            for price in sorted(p for p in set(ladder) | set(target) if target.get(p, 0) < ladder.get(p, 0)):
                self._change(ticker, side, price, ladder[price], target.get(price, 0), False, True)
        for side, target in targets.items():
            ladder = ladders[side]
            for price in sorted(p for p in target if target[p] > ladder.get(p, 0)):
                self._change(ticker, side, price, ladder.get(price, 0), target[price], False, True)
            ladders[side] = target
        self.frozen.discard(ticker)

    def delta(self, ticker: str, side: OutcomeSide, price: int, delta: int) -> None:
        """One recorded level change (``price`` in the ladder's own leg, ``delta`` signed)."""
        ladders = self.recorded.get(ticker)
        if ladders is None or ticker in self.frozen:
            self.metrics.deltas_ignored += 1
            return
        if ticker in self.released:
            self._park_if_alone(ticker)
        ladder = ladders[side]
        before = ladder.get(price, 0)
        after = max(0, before + delta)
        # Whether the level was the touch matters to a decrease only (``plan_level_change``).
        at_touch = after < before and price == max(ladder)
        if after > 0:
            ladder[price] = after
        else:
            ladder.pop(price, None)
        self._change(ticker, side, price, before, after, at_touch, False)

    # ------------------------------------------------------------------ the engine
    def _tape_orders(self, ticker: str, side: OutcomeSide, price: int) -> list[SimOrder]:
        book = self.engine.books[ticker]
        ladder = book.yes if side is OutcomeSide.YES else book.no
        return [o for o in ladder.orders_at(price) if o.account_id == TAPE_MAKER]

    def shown(self, ticker: str, side: OutcomeSide, price: int) -> int:
        """Tape size resting at a level now (the recorded size minus what we took)."""
        virtual = self._lazy(ticker)
        if virtual is not None:
            return virtual.shown(ticker, side, price)
        return sum(o.remaining_count for o in self._tape_orders(ticker, side, price))

    def _change(
        self,
        ticker: str,
        side: OutcomeSide,
        price: int,
        before: int,
        after: int,
        at_touch: bool,
        resync: bool,
    ) -> None:
        if after >= before:
            # An increase only adds at the back, whatever rests there: no need to read the queue
            # (about half of a replay's changes; ``plan_level_change`` gives the same plan).
            if after > before:
                self._add(ticker, side, price, after - before)
            return
        virtual = self._lazy(ticker)
        if virtual is not None:
            shown = min(before, virtual.shown(ticker, side, price))
            plan = plan_level_change(before, after, shown, at_touch=at_touch, resync=resync)
            self._apply_lazy(virtual, ticker, side, price, plan)
            return
        orders = self._tape_orders(ticker, side, price)
        shown = min(before, sum(o.remaining_count for o in orders))
        plan = plan_level_change(before, after, shown, at_touch=at_touch, resync=resync)
        self._apply(ticker, side, price, plan, orders)

    def _apply(
        self, ticker: str, side: OutcomeSide, price: int, plan: LevelPlan, orders: list[SimOrder]
    ) -> None:
        engine = self.engine
        if plan.add:
            self._add(ticker, side, price, plan.add)
        if plan.cancel_front:
            self._cancel(orders, plan.cancel_front)
        if plan.cancel_back:
            self._cancel(list(reversed(orders)), plan.cancel_back)
        if plan.trade:
            taker_side = BookSide.ASK if side is OutcomeSide.YES else BookSide.BID
            engine.create_order(
                TAPE_TAKER,
                self._request(
                    ticker, taker_side, _yes_price(side, price), plan.trade, TimeInForce.IMMEDIATE_OR_CANCEL
                ),
            )
            self.metrics.trades += 1
            # The level is gone from the recording: whatever the trade left of the tape goes too.
            rest = self._tape_orders(ticker, side, price)
            self._cancel(rest, sum(o.remaining_count for o in rest))

    def _apply_lazy(
        self, virtual: VirtualLevels, ticker: str, side: OutcomeSide, price: int, plan: LevelPlan
    ) -> None:
        """``_apply`` in a lazy market: cancels outside the engine; a trade of the whole level at
        the ladder's best is booked outside it too (``VirtualLevels.trade``), any other trade
        materializes the level and goes through the engine's matching (the whole market first if a
        level better than this one rests there, which a trade at the recorded touch never meets)."""
        metrics = self.metrics
        if plan.add:
            self._add(ticker, side, price, plan.add)
        if plan.cancel_front:
            metrics.levels_cancelled += virtual.cancel(ticker, side, price, plan.cancel_front, front=True)
        if plan.cancel_back:
            metrics.levels_cancelled += virtual.cancel(ticker, side, price, plan.cancel_back, front=False)
        if plan.trade:
            engine = self.engine
            book = engine.books[ticker]
            best = (book.yes if side is OutcomeSide.YES else book.no).best()
            if best is not None and best > price:
                self._release(ticker)
            elif (
                self.fast_trades
                and plan.trade == virtual.shown(ticker, side, price)
                and engine._on_grid(engine.markets[ticker], _yes_price(side, price))
            ):
                virtual.trade(ticker, side, price, TAPE_TAKER)  # the level, all of it, outside the queues
                metrics.trades += 1
                return
            else:
                virtual.materialize(ticker, side, price)
            self._apply(ticker, side, price, LevelPlan(trade=plan.trade), [])

    def _add(self, ticker: str, side: OutcomeSide, price: int, count: int) -> None:
        """``count`` more of the recorded depth at ``price``: a tape order at the back of the queue."""
        book_side, yes_price = _book_side(side), _yes_price(side, price)
        virtual = self.virtual
        if virtual is not None and ticker in virtual.markets:
            now = self.engine.clock.now_ms()
            if self._rests_uncrossed(ticker, book_side, yes_price, now):
                virtual.add(ticker, side, price, count, now)
            else:
                self.engine.create_order(TAPE_MAKER, self._request(ticker, book_side, yes_price, count))
        else:
            self.engine.create_order(TAPE_MAKER, self._request(ticker, book_side, yes_price, count))
        self.metrics.levels_added += 1

    def _rests_uncrossed(self, ticker: str, book_side: BookSide, yes_price: int, now: int) -> bool:
        """Whether ``create_order`` would rest this tape order without matching anything, after
        doing what it does first (fee changes due, the market's checks, which raise as there).
        False sends the order through ``create_order``; a crossing one releases the market first."""
        engine = self.engine
        fee_schedule.apply_due(engine, now)
        market = engine._check_tradable(ticker, now)
        if not engine._on_grid(market, yes_price):
            return False  # create_order refuses it, with its error
        if engine._would_cross(engine.books[ticker], book_side, yes_price):
            self._release(ticker)  # matching needs the orders in the engine's queues
            return False
        return True

    def _cancel(self, orders: list[SimOrder], amount: int) -> None:
        engine = self.engine
        for order in orders:
            if amount <= 0:
                break
            if not order.is_resting:
                continue
            if order.remaining_count <= amount:
                amount -= order.remaining_count
                engine.cancel_order(TAPE_MAKER, order.order_id)
            else:
                engine.decrease_order(TAPE_MAKER, order.order_id, amount, None)
                amount = 0
            self.metrics.levels_cancelled += 1

    def _request(
        self,
        ticker: str,
        side: BookSide,
        yes_price: int,
        count: int,
        tif: TimeInForce = TimeInForce.GOOD_TILL_CANCELED,
    ) -> OrderRequest:
        """The tape's request for these terms. Requests are frozen values the engine only reads, so
        equal terms share one: building the 13-field request was a sixth of a recorded add's cost,
        and a replay repeats the same levels and sizes over and over."""
        key = (ticker, side, yes_price, count, tif)
        request = self._requests.get(key)
        if request is None:
            if len(self._requests) >= _REQUESTS_MAX:
                self._requests.clear()
            request = self._requests[key] = OrderRequest(
                ticker=ticker,
                side=side,
                yes_price=yes_price,
                count=count,
                time_in_force=tif,
                self_trade_prevention=SelfTradePrevention.MAKER,
            )
        return request
