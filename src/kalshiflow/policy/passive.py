"""What every passive quoting policy checks before it looks at prices (``mm``, ``longshot``, ``maker``).

Why one place: a post-only quote needs a market that still trades, a book with both sides (the
post-only price is set against the other side's touch) and no quote of ours already resting there
(one quote at a time; the trader cancels it on its time to live or when the book leaves it). The
three policies hold for these reasons in this order, with the same reason codes in the logs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum


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
