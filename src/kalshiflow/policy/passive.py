"""What every passive quoting policy checks before it looks at prices (``mm``, ``longshot``, ``maker``).

Why one place: a post-only quote needs a market that still trades, a book with both sides (the
post-only price is set against the other side's touch) and no quote of ours already resting there
(one quote at a time; the trader cancels it on its time to live or when the book leaves it). The
three policies hold for these reasons in this order, with the same reason codes in the logs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum

from kalshiflow.policy.base import Action, Decision, SchemaLike, check_size, feature_indices
from kalshiflow.policy.rules import normalised_time_to_close


class QuoteBlock(StrEnum):
    MARKET_CLOSED = "market_closed"
    ONE_SIDED_BOOK = "one_sided_book"
    ORDER_RESTING = "order_resting"


def quote_block(observation: Sequence[float], index: Mapping[str, int]) -> QuoteBlock | None:
    """Why no quote can be placed in this market now, or None when one can.

    ``index`` (from ``feature_indices``) must name ``time_to_close``, ``tick_size``,
    ``bid_depth_l1``, ``ask_depth_l1`` and ``resting_count``.
    """
    if observation[index["time_to_close"]] <= 0.0:
        return QuoteBlock.MARKET_CLOSED
    if (
        observation[index["bid_depth_l1"]] <= 0.0
        or observation[index["ask_depth_l1"]] <= 0.0
        or observation[index["tick_size"]] <= 0.0
    ):
        return QuoteBlock.ONE_SIDED_BOOK
    if observation[index["resting_count"]] > 0.0:
        return QuoteBlock.ORDER_RESTING
    return None


class PassiveQuoter:
    """What every passive quoting policy holds: its feature indices, its schema, the time to close
    after which it opens no new inventory, and the guard above. A subclass names itself (``name``)
    and decides what to quote once ``blocked`` lets it."""

    def __init__(
        self, schema: SchemaLike, features: Sequence[str], who: str, no_new_exposure_s: float
    ) -> None:
        self._index = feature_indices(schema, features, who)
        self._schema_hash = schema.hash
        self._size = schema.size
        self._no_new_ttc = normalised_time_to_close(no_new_exposure_s)

    @property
    def schema_hash(self) -> str:
        return self._schema_hash

    def blocked(self, observation: Sequence[float]) -> Decision | None:
        """The HOLD this observation forces before any price is looked at, or None."""
        check_size(observation, self._size)
        reason = quote_block(observation, self._index)
        return None if reason is None else Decision(Action.HOLD, reason)
