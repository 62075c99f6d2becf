"""Order vocabulary shared by the client, the simulator and the trader.

Kalshi's V2 order API has one YES book: ``side=bid`` buys YES at the YES price, ``side=ask`` sells
YES at the YES price, which is the same as buying NO at ``1 - price``. The four trading intents map
onto it as in the reference (section 6.2); ``intent_to_v2`` is the only place that mapping is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kalshiflow.domain.units import Price
from kalshiflow.domain.values import hot_value


class BookSide(StrEnum):
    BID = "bid"  # buys YES
    ASK = "ask"  # sells YES == buys NO

    @property
    def outcome_side(self) -> OutcomeSide:
        return OutcomeSide.YES if self is BookSide.BID else OutcomeSide.NO

    @property
    def opposite(self) -> BookSide:
        return BookSide.ASK if self is BookSide.BID else BookSide.BID


class OutcomeSide(StrEnum):
    YES = "yes"
    NO = "no"

    @property
    def book_side(self) -> BookSide:
        return BookSide.BID if self is OutcomeSide.YES else BookSide.ASK


class Action(StrEnum):
    BUY = "buy"
    SELL = "sell"


class TimeInForce(StrEnum):
    FILL_OR_KILL = "fill_or_kill"
    GOOD_TILL_CANCELED = "good_till_canceled"
    IMMEDIATE_OR_CANCEL = "immediate_or_cancel"


class SelfTradePrevention(StrEnum):
    TAKER_AT_CROSS = "taker_at_cross"
    MAKER = "maker"


class OrderStatus(StrEnum):
    RESTING = "resting"
    CANCELED = "canceled"
    EXECUTED = "executed"


class UpdateReason(StrEnum):
    """``last_update_reason`` of the ``user_orders`` channel (empty on creation)."""

    CREATED = ""
    DECREASE = "Decrease"
    AMEND = "Amend"
    MARGIN_CANCEL = "MarginCancel"
    SELF_TRADE_CANCEL = "SelfTradeCancel"
    EXPIRY_CANCEL = "ExpiryCancel"
    CLOSE_CANCEL = "CloseCancel"
    HALT_CANCEL = "HaltCancel"
    TRADE = "Trade"
    POST_ONLY_CROSS_CANCEL = "PostOnlyCrossCancel"
    REDUCE_ONLY_CANCEL = "ReduceOnlyCancel"


@hot_value  # built per order on the decision path: see domain.values
@dataclass(frozen=True, slots=True)
class V2Order:
    """A V2 order direction and YES price."""

    side: BookSide
    yes_price: Price


def intent_to_v2(outcome: OutcomeSide, action: Action, price_of_outcome: Price) -> V2Order:
    """Buy/sell YES/NO at a price of that outcome -> V2 (side, YES price).

    Buy YES at p -> bid p; sell YES at p -> ask p; buy NO at q -> ask 1-q; sell NO at q -> bid 1-q.
    """
    if outcome is OutcomeSide.YES:
        side = BookSide.BID if action is Action.BUY else BookSide.ASK
        return V2Order(side, price_of_outcome)
    side = BookSide.ASK if action is Action.BUY else BookSide.BID
    return V2Order(side, price_of_outcome.complement())


def legacy_side_action(side: BookSide) -> tuple[OutcomeSide, Action]:
    """The deprecated ``side``/``action`` pair Kalshi still reports for a V2 order.

    V2 orders live on the YES book, and Kalshi reports them in YES terms: a bid is "buy yes", an ask
    (a NO purchase) is "sell yes".
    """
    return OutcomeSide.YES, Action.BUY if side is BookSide.BID else Action.SELL
