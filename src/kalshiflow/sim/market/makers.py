"""The makers' desk: how every maker re-quotes a market, and the deep book's resting orders.

A maker looks at a market on its own schedule (and soon after news it has heard, or after being
filled): it forms its belief from its lagged view of the event's outcome plus a private error that
drifts slowly (shared across the event's markets, so its own ladder is consistent), widens its
spread with the market's volatility and after news, skews against its inventory, pulls its quotes
when the price may jump more than ``PULL_MOVE_CENTS`` before its next look, and never posts an
arbitrage across a strike ladder. It reports back how soon it wants to look again: about when the
price may have moved ``PACE_CENTS`` (fast near the money and near the close).

The deep-book account rests large orders far from the price at listing and cancels any the price
comes near, so they never become a stale touch.
"""

from __future__ import annotations

import contextlib
import math
from typing import Final

from kalshiflow.domain.orders import OrderStatus, SelfTradePrevention, TimeInForce
from kalshiflow.domain.units import COUNT_SCALE, PRICE_SCALE
from kalshiflow.sim.engine import Engine, OrderRequest
from kalshiflow.sim.errors import ExchangeError
from kalshiflow.sim.market import agents
from kalshiflow.sim.market.profile import CrowdConfig
from kalshiflow.sim.market.quoting import apply_quotes, deep_orders
from kalshiflow.sim.market.state import MakerSlot, MarketState

NEWS_WIDEN_MS: Final = 300_000
NOISE_PERSISTENCE: Final = 0.97
MIN_REQUOTE_S: Final = 3.0
PACE_CENTS: Final = 2.0  # a maker looks again about when the price may have moved this much
DEEP_KEEP_CENTS: Final = 5
VOL_WIDEN: Final = 0.5  # extra half-spread per cent the price may move between two looks
MAX_VOL_WIDEN_CENTS: Final = 3.0
PULL_MOVE_CENTS: Final = 5.0  # a maker pulls its quotes when the price may jump this much between looks
_INNOVATION: Final = math.sqrt(1 - NOISE_PERSISTENCE**2)  # keeps the belief error's variance steady


class MakerDesk:
    """Every maker account's quoting, and the deep-book account's orders."""

    def __init__(self, engine: Engine, crowd: CrowdConfig, accounts: list[str], deep_account: str) -> None:
        self.engine = engine
        self.crowd = crowd
        self.accounts = accounts
        self.deep_account = deep_account
        self._noise: dict[tuple[int, str], float] = {}  # (maker, event) -> belief error, probit units

    def forget_event(self, event_ticker: str) -> None:
        for maker in range(len(self.accounts)):
            self._noise.pop((maker, event_ticker), None)

    def requote(
        self, state: MarketState, slot: MakerSlot, now: int, markets: dict[str, MarketState]
    ) -> float:
        """Re-quote; returns how soon (sim seconds) the true price is expected to move ``PACE_CENTS``,
        so a maker watches a volatile market (near its close, say) more closely than a quiet one."""
        crowd = self.crowd
        outcome = state.event.outcome
        x_view, sd = outcome.view(now, slot.news_lag_ms)  # draws the path up to now
        state.q = state.payoff.probability(outcome.x, outcome.remaining_sd(now))  # true_probability
        key = (slot.account, state.event.ticker)
        noise = self._noise.get(key)
        if noise is None:
            noise = state.rng.gauss(0.0, crowd.maker_belief_noise)
        else:
            noise = NOISE_PERSISTENCE * noise + _INNOVATION * state.rng.gauss(0.0, crowd.maker_belief_noise)
        self._noise[key] = noise
        belief = state.payoff.probability(x_view + noise * sd, sd)
        pace_s = self._pace_s(state, x_view, sd)
        # wider when the price may move more than PACE_CENTS before the next look (fast markets)
        move_cents = PACE_CENTS * math.sqrt(MIN_REQUOTE_S / pace_s) if pace_s <= MIN_REQUOTE_S else 0.0
        widen_cents = min(MAX_VOL_WIDEN_CENTS, VOL_WIDEN * move_cents)
        half = slot.half_cents + state.archetype.vol_spread * belief * (1.0 - belief) + widen_cents
        if slot.heard_news_ms is not None and 0 <= now - slot.heard_news_ms < NEWS_WIDEN_MS:
            half *= crowd.news_widen
        account_id = self.accounts[slot.account]
        held = self.engine.accounts[account_id].positions.get(state.market.ticker)
        position = held.position / COUNT_SCALE if held is not None else 0.0
        quotes = (
            []
            if move_cents > PULL_MOVE_CENTS
            else agents.maker_quotes(
                state.market.grid,
                belief,
                half,
                slot.levels,
                slot.gap_cents,
                slot.size_contracts,
                position,
                crowd.maker_skew_cents_per_100,
                crowd.maker_max_position,
                slot.one_side,
            )
        )
        self.prune_deep_orders(state, belief)
        shown = [q[::2] for q in quotes]  # (side, yes_price) of each quote
        if shown == slot.last_quoted and self._all_resting(slot):
            return pace_s  # the same prices: leave the orders (and their queue priority) alone
        slot.last_quoted = shown
        cap_bid, floor_ask = self._ladder_bounds(state, markets)
        apply_quotes(self.engine, account_id, state.market, slot.orders, quotes, cap_bid, floor_ask)
        return pace_s

    def _all_resting(self, slot: MakerSlot) -> bool:
        orders, resting = self.engine.orders, OrderStatus.RESTING
        return all(orders[order_id].status is resting for order_id in slot.orders.values())

    @staticmethod
    def _pace_s(state: MarketState, x_view: float, sd: float) -> float:
        """Expected sim seconds until the price moves ``PACE_CENTS`` (fast near the money and close)."""
        lower, upper = state.payoff.lower, state.payoff.upper
        edges = [e for e in (lower, upper) if e is not None]
        z = 0.0
        if sd > 0 and edges:  # the nearest edge, in sds (the same min as over a generator, unrolled)
            z = abs(edges[0] - x_view) / sd
            if len(edges) == 2:
                z = min(z, abs(edges[1] - x_view) / sd)
        cents_per_sqrt_s = 100 * len(edges) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
        cents_per_sqrt_s *= state.event.outcome.spec.sigma_per_sqrt_h / (max(sd, 1e-6) * 60)
        return (PACE_CENTS / max(cents_per_sqrt_s, 1e-9)) ** 2

    def _ladder_bounds(
        self, state: MarketState, markets: dict[str, MarketState]
    ) -> tuple[int | None, int | None]:
        """On a strike ladder, no bid above a lower strike's ask and no ask below a higher strike's
        bid: a maker never posts a riskless arbitrage across the event."""
        lower = state.payoff.lower
        if lower is None or state.payoff.upper is not None or len(state.event.markets) < 2:
            return None, None
        cap_bid: int | None = None
        floor_ask: int | None = None
        for ticker in state.event.markets:
            sibling = markets.get(ticker)
            if sibling is None or sibling is state or sibling.payoff.upper is not None:
                continue
            other = sibling.payoff.lower
            if other is None or not sibling.market.is_trading:
                continue
            book = self.engine.books[ticker]
            if other < lower:
                ask = book.best_yes_ask()
                if ask is not None and (cap_bid is None or ask < cap_bid):
                    cap_bid = ask
            elif other > lower:
                bid = book.best_yes_bid()
                if bid is not None and (floor_ask is None or bid > floor_ask):
                    floor_ask = bid
        return cap_bid, floor_ask

    def prune_deep_orders(self, state: MarketState, belief: float) -> None:
        """Deep orders are far from the price by design; once the price comes near one, its owner
        cancels it (it would otherwise become a stale touch that everyone trades against)."""
        if not state.deep_orders:
            return
        near = DEEP_KEEP_CENTS * agents.CENT
        fair = belief * PRICE_SCALE
        kept = []
        orders, resting = self.engine.orders, OrderStatus.RESTING
        for order_id in state.deep_orders:
            order = orders.get(order_id)
            if order is None or order.status is not resting:
                continue
            if abs(order.yes_price - fair) < near:
                with contextlib.suppress(ExchangeError):
                    self.engine.cancel_order(self.deep_account, order_id)
                continue
            kept.append(order_id)
        state.deep_orders = kept

    def place_deep_orders(self, state: MarketState) -> None:
        for side, price, contracts in deep_orders(state.rng, state.archetype, state.market.grid, state.q):
            request = OrderRequest(
                ticker=state.market.ticker,
                side=side,
                yes_price=price,
                count=contracts * COUNT_SCALE,
                time_in_force=TimeInForce.GOOD_TILL_CANCELED,
                self_trade_prevention=SelfTradePrevention.TAKER_AT_CROSS,
                post_only=True,
            )
            try:
                state.deep_orders.append(self.engine.create_order(self.deep_account, request).order.order_id)
            except ExchangeError:
                continue
