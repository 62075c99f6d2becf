"""The fill model of recorded sessions, as pure functions: what a recording says about our fills.

A recording holds depth only (snapshots and per-level deltas of both bid ladders), no trades and
not our orders. Replaying it against our orders needs four rules; they are written here once,
property-tested, and carried out by the simulator's matching engine (``tape.py`` mirrors the
recorded book into the engine as resting orders of a *tape* account, so the engine's price-time
priority is the queue, and its fee and position code is the exchange's):

1. **Crossing orders** fill against the recorded depth at the time, best level first, at each
   level's price, up to each level's size, partially when the depth runs out
   (``walk_depth``). Depth we took stays taken: a level is shown and offered at
   ``min(what is left of it, what the recording shows)`` until the recording shows it emptied or
   refilled (``plan_level_change``): no depth is regenerated beyond what the recording shows.
2. **Resting orders** join the back of the queue at their price: the queue ahead is the recorded
   size at that level when they are placed. Size added later at that level (a recorded increase)
   queues behind them. They fill only when volume trades at their level beyond the queue ahead
   (``queue_fill``), or when a recorded order arrives on the other side at a price that crosses
   them (that order is marketable against ours; it fills us at our price, after anything ahead).
3. **Decreases** at a level (``plan_level_change``), attributed conservatively because the
   recording does not say whether a decrease was a trade or a cancel:

   * a decrease at a level that is not the best of its ladder is a **cancel**, taken from the
     **back** of the queue (it never moves us forward);
   * a decrease at the best level that leaves size there is a **cancel from the front** (it
     moves us forward: trades and cancels ahead of us look the same to our queue position), but
     never a fill -- whatever it removes beyond the queue ahead of us is taken as cancels behind us;
   * only a best level **removed entirely** is a **trade** of the removed size: it consumes the
     queue ahead first, then us (``queue_fill``: we fill ``min(ours, traded - ahead)``), then the
     rest. That is the book trading through our price.

   A snapshot (or the first snapshot after a gap or an invalidation) re-synchronises every level
   with adds and cancels from the back only: it never trades at a level (a level it adds across a
   resting order of ours fills that order, as any recorded order arriving across our price does).
4. **Frozen markets** (a gap or an invalidation in the recording, until the market's next
   snapshot): the recording no longer says what is there, so the market offers **no recorded
   liquidity**. All recorded depth is withdrawn at the freeze and nothing recorded trades; an order
   sent during the freeze (e.g. a time rule's closing order) fills against nothing recorded -- it
   rests, or an immediate-or-cancel order is cancelled. The next snapshot restores the depth from
   empty (adds only; a level it adds across a resting order of ours fills it, as in rule 3).
   **Our resting orders keep their place** at the exchange (a gap in our recording does not cancel
   orders at Kalshi): they neither fill nor move during the freeze, and the snapshot's size at their
   price joins *behind* them, because the engine's queue can only be appended to. Their queue
   position after a freeze is therefore optimistic by at most the recorded queue that was ahead of
   them when the freeze began; the alternative (cancelling our orders at a freeze) would show the
   trader cancellations the real exchange never makes.

Units are the domain's integers throughout: prices in $0.0001 of the ladder's own leg, sizes in
0.01 contract.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LevelPlan:
    """How the tape's resting size at one level changes after one recorded change there.

    ``add`` joins the back of the queue; ``cancel_front`` / ``cancel_back`` remove tape size from
    the front / back of the queue; ``trade`` is volume that trades at the level (front first, so it
    reaches our order after the queue ahead of it).
    """

    add: int = 0
    cancel_front: int = 0
    cancel_back: int = 0
    trade: int = 0

    @property
    def removed(self) -> int:
        return self.cancel_front + self.cancel_back + self.trade


def plan_level_change(
    recorded_before: int, recorded_after: int, shown: int, *, at_touch: bool, resync: bool = False
) -> LevelPlan:
    """The tape's change at one level when the recording moves it from ``recorded_before`` to
    ``recorded_after``; ``shown`` is the tape size resting there now (``<= recorded_before``: the
    difference is depth we already took). ``at_touch``: the level was the best of its ladder in
    the recording before the change. ``resync``: a snapshot, which never trades.

    Invariant kept: the tape size after the change is ``min(shown, recorded_after)`` after a
    decrease and ``shown + increase`` after an increase, so it never exceeds the recording.
    """
    if recorded_before < 0 or recorded_after < 0 or not 0 <= shown <= recorded_before:
        raise ValueError(
            f"level sizes out of range: before {recorded_before}, after {recorded_after}, shown {shown}"
        )
    if recorded_after >= recorded_before:
        return LevelPlan(add=recorded_after - recorded_before)
    removed = shown - min(shown, recorded_after)
    if removed == 0:
        return LevelPlan()
    if resync or not at_touch:
        return LevelPlan(cancel_back=removed)
    if recorded_after == 0:
        return LevelPlan(trade=removed)
    return LevelPlan(cancel_front=removed)


def queue_fill(ahead: int, ours: int, traded: int) -> tuple[int, int]:
    """Volume ``traded`` at a level, in time priority: ``(our fill, queue ahead left)``.

    The queue ahead is consumed first; we fill only from what trades beyond it.
    """
    if ahead < 0 or ours < 0 or traded < 0:
        raise ValueError("queue sizes and traded volume are non-negative")
    consumed_ahead = min(ahead, traded)
    return min(ours, traded - consumed_ahead), ahead - consumed_ahead


def walk_depth(levels: Sequence[tuple[int, int]], limit: int, count: int) -> list[tuple[int, int]]:
    """A crossing order for ``count`` against ``levels`` (``(price, size)``, best first, in the
    price the order pays: ascending asks for a buyer): ``(price, filled)`` per level it took from,
    never beyond ``limit`` nor any level's size; the unfilled rest is what the order has left.
    """
    if count < 0:
        raise ValueError("count is non-negative")
    fills: list[tuple[int, int]] = []
    left = count
    for price, size in levels:
        if left == 0 or price > limit:
            break
        take = min(left, size)
        if take > 0:
            fills.append((price, take))
            left -= take
    return fills
