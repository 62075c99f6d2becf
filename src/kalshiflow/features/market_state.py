"""Rolling per-market state behind the "dynamics" features: mid, spread and update-rate history.

The actor calls ``MarketHistory.record(book, now_ms)`` on every book change of its market and
reads the windowed figures when it builds an observation. Everything is keyed on the injected
clock's milliseconds -- never wall time -- so a replay or a ``ManualClock`` run produces exactly the
observations a live run would.

Why prefix sums. The observation is built on the decision path (budget: p99 well under 300 µs for
delta -> order request), so a window query must not walk the window. Each stored sample carries
cumulative totals from the start of tracking -- squared mid increments, update count and the
time-integral of the mid -- so every windowed figure is two lookups: a bisect finds the sample in
force at ``now - window`` and the difference of the totals is the figure. All totals are exact
integers (mids in half-units of $0.0001, times in ms); the caller converts to float once.

Why cursors. The incremental observation asks for all its windows on every call, on a clock that
only moves forward: ``windows_x2`` finds each window's start sample by moving a cursor from where
it last stood (a start crosses a sample at most once per 100 ms) instead of bisecting the
``array`` (which boxes an int per comparison), and keeps its figures while no start reaches its
next sample and no sample changes. The single-window methods keep the plain bisect: they are the
reference the observation's parity tests compare against.

Columns are ``array('q')``, not lists: the garbage collector does not walk them, so thousands of
markets' histories never turn a full collection into a long pause on the decision path.

Bounded memory. Updates closer than ``resolution_ms`` (100 ms) to the last stored sample overwrite
it instead of appending, so at most ``horizon / resolution`` (3,000) samples are held however busy
the market is; samples older than the horizon are dropped, keeping the one in force at its start.
Volatility therefore measures moves between 100 ms snapshots, which is what matters for a decision
taken on the newest book (bursts inside 100 ms are conflated just as the book store conflates them).
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from typing import Final, Protocol

from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import PRICE_SCALE, Price
from kalshiflow.events.trader import BookChanged

HORIZON_MS: Final = 300_000  # the longest window any feature reads
RESOLUTION_MS: Final = 100
_COMPACT_AT: Final = 4_096  # dead prefix length that triggers a list compaction
_YES: Final = OutcomeSide.YES
_WINDOWS_MS: Final = (10_000, 60_000, 300_000)
WindowFigures = tuple[int, int, int, int, int, int, int, int, int]
_FOREVER: Final = 2**62


class TouchView(Protocol):
    """The part of ``OrderBook`` the history reads."""

    @property
    def valid(self) -> bool: ...

    def best_bid(self, side: OutcomeSide) -> Price | None: ...

    def best_ask(self, side: OutcomeSide) -> Price | None: ...


def touch_x2(book: TouchView) -> tuple[int, int]:
    """(2 x mid, 2 x spread) of the YES side in $0.0001 with the empty-ladder convention.

    A missing bid counts as $0 and a missing ask as $1 (schema conventions), so a one-sided book
    still has a defined mid; doubling keeps the mid an exact integer.
    """
    bid = book.best_bid(_YES)
    ask = book.best_ask(_YES)
    b = 0 if bid is None else int(bid)
    a = PRICE_SCALE if ask is None else int(ask)
    return b + a, 2 * (a - b)


class MarketHistory:
    """Thinned samples of one market's YES mid and spread with cumulative totals (see module doc).

    Parallel lists indexed from ``_head`` (older entries are dead and compacted in bulk, which keeps
    appends and drops O(1) amortised and lets ``bisect`` run on the live slice):

    * ``_t``: sample time (ms); ``_mid``/``_spread``: 2 x mid / 2 x spread in $0.0001
    * ``_sq``: sum of squared 2 x mid increments up to and including this sample
    * ``_n``: book updates recorded up to and including this sample
    * ``_area``: integral of 2 x mid over time (units x ms) from the first sample to this sample
    """

    __slots__ = (
        "_area",
        "_cursors",
        "_figures",
        "_figures_from",
        "_figures_until",
        "_figures_version",
        "_head",
        "_mid",
        "_n",
        "_spread",
        "_sq",
        "_t",
        "last_update_ms",
        "ticker",
        "updates",
        "version",
    )

    def __init__(self, ticker: str) -> None:
        self.ticker = ticker
        self._t: array[int] = array("q")
        self._mid: array[int] = array("q")
        self._spread: array[int] = array("q")
        self._sq: array[int] = array("q")
        self._n: array[int] = array("q")
        self._area: array[int] = array("q")
        self._head = 0
        self.updates = 0
        self.last_update_ms: int | None = None
        # Bumped whenever a windowed figure other than the update counts could change (a sample
        # with another mid or spread appended, the newest sample's mid or spread rewritten): an
        # incremental observation recomputes those figures only when this or the clock moved.
        self.version = 0
        # Where each of the observation's windows (10 s, 60 s, 300 s, and the mean's when it starts
        # elsewhere) last started: see ``_in_force``.
        self._cursors = [0, 0, 0, 0]
        # ``windows_x2``'s figures, valid for the ``version`` and the clock range they were found for.
        self._figures: WindowFigures = (0, 0, 0, 0, 0, 0, 0, 0, 0)
        self._figures_version = -1
        self._figures_from = 0
        self._figures_until = 0

    def __len__(self) -> int:
        return len(self._t) - self._head

    @property
    def empty(self) -> bool:
        return len(self._t) == self._head

    def record(self, book: TouchView, now_ms: int) -> bool:
        """Note one change of the market's book at ``now_ms``; False (ignored) for an invalid book.

        Times must not go backwards (the clock never does); an earlier time is treated as ``now``
        of the last sample so a misordered caller cannot corrupt the totals.
        """
        if not book.valid:
            return False
        mid, spread = touch_x2(book)
        self.record_touch(mid, spread, now_ms)
        return True

    def record_change(self, change: BookChanged) -> bool:
        """``record`` from a published ``BookChanged`` (it carries the touch at the time of the change)."""
        if not change.valid:
            return False
        b: int = 0 if change.yes_bid is None else change.yes_bid  # ``Price`` is an int: no conversion
        a: int = PRICE_SCALE if change.yes_ask is None else change.yes_ask
        self.record_touch(b + a, 2 * (a - b), change.ts_ms)
        return True

    def record_touch(self, mid_x2: int, spread_x2: int, now_ms: int) -> None:
        """``record`` from already computed doubled mid and spread (replays and tests)."""
        self.updates += 1
        t, mids = self._t, self._mid
        if len(t) > self._head:
            last = len(t) - 1
            now_ms = max(now_ms, t[last])
            if now_ms - t[last] < RESOLUTION_MS and last > self._head:
                # Overwrite the newest sample: redo its increment against the one before it.
                if mid_x2 != mids[last] or spread_x2 != self._spread[last]:
                    self.version += 1
                prev = last - 1
                step = mid_x2 - mids[prev]
                self._sq[last] = self._sq[prev] + step * step
                mids[last] = mid_x2
                self._spread[last] = spread_x2
                self._n[last] = self.updates
                # the area up to ``t[last]`` used the previous sample's mid, which did not change
            else:
                step = mid_x2 - mids[last]
                if step or spread_x2 != self._spread[last]:
                    self.version += 1
                elif now_ms + _WINDOWS_MS[0] < self._figures_until:
                    # A sample like the newest (the clock moved, the touch did not): every windowed
                    # figure and the mean read the same values until a window start reaches it, the
                    # 10 s window's first, so ``windows_x2``'s kept figures hold until then. Most
                    # changes of a market that changes less often than every 100 ms are such samples.
                    self._figures_until = now_ms + _WINDOWS_MS[0]
                t.append(now_ms)
                mids.append(mid_x2)
                self._spread.append(spread_x2)
                self._sq.append(self._sq[last] + step * step)
                self._n.append(self.updates)
                self._area.append(self._area[last] + mids[last] * (now_ms - t[last]))
        else:
            self.version += 1
            t.append(now_ms)
            mids.append(mid_x2)
            self._spread.append(spread_x2)
            self._sq.append(0)
            self._n.append(self.updates)
            self._area.append(0)
        self.last_update_ms = now_ms
        head = self._head
        if head + 1 < len(t) and t[head + 1] <= now_ms - HORIZON_MS:  # checked here: rarely due
            self._drop_before(now_ms - HORIZON_MS)

    def _drop_before(self, cutoff_ms: int) -> None:
        """Forget samples superseded before ``cutoff_ms``, keeping the one in force at the cutoff."""
        t = self._t
        # The last sample at or before the cutoff. A busy market's horizon is full, so each new
        # sample usually pushes exactly one old one out: one step, two reads of the array (a search
        # boxes a dozen). More than one means a market idle for a while, which may drop everything
        # it held since (up to the 3,000 samples of a busy horizon) in one change: that is searched,
        # since a step-by-step walk made that one change cost O(idle time) on the decision path.
        head, n = self._head, len(t)
        if head + 1 < n and t[head + 1] <= cutoff_ms:
            head += 1
            if head + 1 < n and t[head + 1] <= cutoff_ms:
                head = bisect_right(t, cutoff_ms, head + 1) - 1
        if head == self._head:
            return
        # No figure changes for a query at or after the change that dropped them: the sample in
        # force at the horizon's start is kept, and nothing before it is read. An earlier query
        # (the clock going back) may have read a dropped one: the kept figures no longer serve it.
        # Not a ``version`` bump: a full horizon drops a sample at nearly every new one, and the
        # bump made every such change recompute every window.
        self._figures_from = max(self._figures_from, cutoff_ms + HORIZON_MS)
        self._head = head
        if head >= _COMPACT_AT:
            for column in (self._t, self._mid, self._spread, self._sq, self._n, self._area):
                del column[:head]
            self._head = 0
            self._cursors = [max(0, i - head) for i in self._cursors]

    def _at(self, time_ms: int) -> int:
        """Index of the sample in force at ``time_ms`` (the oldest held sample if none was yet)."""
        i = bisect_right(self._t, time_ms, self._head) - 1
        return i if i >= self._head else self._head

    # ------------------------------------------------------------------ windowed figures (exact)
    def mid_change_x2(self, now_ms: int, window_ms: int) -> int:
        """2 x (mid now - mid at ``now - window``); 0 with no history."""
        if self.empty:
            return 0
        return self._mid[-1] - self._mid[self._at(now_ms - window_ms)]

    def spread_change_x2(self, now_ms: int, window_ms: int) -> int:
        if self.empty:
            return 0
        return self._spread[-1] - self._spread[self._at(now_ms - window_ms)]

    def squared_moves_x4(self, now_ms: int, window_ms: int) -> int:
        """Sum of squared 2 x mid increments of samples taken after ``now - window``."""
        if self.empty:
            return 0
        return self._sq[-1] - self._sq[self._at(now_ms - window_ms)]

    def updates_in(self, now_ms: int, window_ms: int) -> int:
        """Book updates recorded after ``now - window`` (at 100 ms sample granularity)."""
        if self.empty:
            return 0
        start = now_ms - window_ms
        if self._t[self._head] > start and self._head == 0:
            return self.updates  # tracking began inside the window: everything counts
        return self._n[-1] - self._n[self._at(start)]

    def mean_mid_x2(self, now_ms: int, window_ms: int) -> tuple[int, int]:
        """Time-weighted mean of 2 x mid over the window as an exact (numerator, denominator).

        The window is cut to the span actually held; with no elapsed time the mean is the mid.
        """
        if self.empty:
            return 0, 1
        t, mids, area = self._t, self._mid, self._area
        last = len(t) - 1
        end = max(now_ms, t[last])
        start = max(end - window_ms, t[self._head])
        if end <= start:
            return mids[last], 1
        total_end = area[last] + mids[last] * (end - t[last])
        i = self._at(start)
        total_start = area[i] + mids[i] * (start - t[i])
        return total_end - total_start, end - start

    # ------------------------------------------------------------------ the observation's windows
    def _in_force(self, slot: int, time_ms: int) -> int:
        """``_at(time_ms)`` found from where window ``slot`` last stood instead of by a search.

        The observation asks for each window start on every call, and its clock only moves forward:
        a start crosses a sample at most once per ``RESOLUTION_MS``, so the answer is the cursor or
        the sample after it. A bisect of the ``array`` boxes an int per comparison (a dozen per
        search); this reads one or two. Any other move (a longer jump, time going back) searches.
        The result is always exactly ``_at``'s: the last held sample at or before ``time_ms``.
        """
        t, head = self._t, self._head
        i = self._cursors[slot]
        if i < head:  # its sample was dropped: the oldest held one is where a search would start
            i = head
        elif i > head and t[i] > time_ms:
            i = self._at(time_ms)
        n = len(t)
        if i + 1 < n and t[i + 1] <= time_ms:
            i += 1
            if i + 1 < n and t[i + 1] <= time_ms:
                i = bisect_right(t, time_ms, i) - 1
        self._cursors[slot] = i
        return i

    def windows_x2(self, now_ms: int) -> tuple[WindowFigures, tuple[int, int] | None]:
        """Every windowed figure the observation reads, in one call: ``(figures, mean_gap)``.

        ``figures``: ``mid_change_x2`` over 10 s, 60 s, 300 s, ``squared_moves_x4`` over the same,
        ``spread_change_x2`` over 60 s, and the update count *before* the 10 s and 60 s windows
        (``updates - before`` is ``updates_in``); zeros with no history. ``mean_gap``: the newest
        2 x mid minus the time-weighted mean of 2 x mid over the horizon as an exact fraction
        ``(latest * den - num, den)`` for ``(num, den) = mean_mid_x2(now_ms, HORIZON_MS)``; None
        with no history. Each is exactly what the single-window method returns.

        The figures read the newest sample and the sample in force at each window start; those
        stay the same while ``version`` does and no window start reaches its next sample, so they
        are kept (the same tuple is returned) until then. The mean moves with every millisecond and
        is recomputed from the kept samples.
        """
        if self._figures_version != self.version or not self._figures_from <= now_ms < self._figures_until:
            self._find_windows(now_ms)
        t = self._t
        last = len(t) - 1
        if last < self._head:
            return self._figures, None
        # The mean runs from the horizon's start (or the first sample) to now (or the newest sample).
        t_last, mid = t[last], self._mid[last]
        end = now_ms if now_ms > t_last else t_last
        start = max(end - HORIZON_MS, t[self._head])
        if end <= start:
            return self._figures, (0, 1)  # no elapsed time: the mean is the mid
        area = self._area
        # The horizon's start is the 300 s window's (its cursor holds while the figures do); a
        # clamped or earlier start has a cursor of its own.
        i = self._cursors[2] if start == now_ms - HORIZON_MS else self._in_force(3, start)
        num = area[last] + mid * (end - t_last) - area[i] - self._mid[i] * (start - t[i])
        den = end - start
        return self._figures, (mid * den - num, den)

    def _find_windows(self, now_ms: int) -> None:
        """Place the window cursors for ``now_ms``; keep the figures and until when they hold."""
        self._figures_version, self._figures_from = self.version, now_ms
        t = self._t
        last = len(t) - 1
        head = self._head
        if last < head:
            self._figures, self._figures_until = (0, 0, 0, 0, 0, 0, 0, 0, 0), _FOREVER
            return
        start10, start60 = now_ms - 10_000, now_ms - 60_000
        at10 = self._in_force(0, start10)
        at60 = self._in_force(1, start60)
        at300 = self._in_force(2, now_ms - HORIZON_MS)
        # Each base holds until its window start reaches the next sample (a new sample bumps
        # ``version``); "tracking began inside the window" holds until the start reaches the first.
        # Written out per window: this runs whenever a market's history moves (most observations of
        # a market changing less often than every 100 ms), and loops over pairs built each call cost
        # more than the comparisons.
        until = _FOREVER
        if at10 < last:
            until = t[at10 + 1] + 10_000
        if at60 < last and t[at60 + 1] + 60_000 < until:
            until = t[at60 + 1] + 60_000
        if at300 < last and t[at300 + 1] + HORIZON_MS < until:
            until = t[at300 + 1] + HORIZON_MS
        first_t = t[head]
        from_first = head == 0
        if from_first:
            if first_t > start10 and first_t + 10_000 < until:
                until = first_t + 10_000
            if first_t > start60 and first_t + 60_000 < until:
                until = first_t + 60_000
        self._figures_until = until
        mids, sq, n = self._mid, self._sq, self._n
        mid, total_sq = mids[last], sq[last]
        self._figures = (
            mid - mids[at10],
            mid - mids[at60],
            mid - mids[at300],
            total_sq - sq[at10],
            total_sq - sq[at60],
            total_sq - sq[at300],
            self._spread[last] - self._spread[at60],
            0 if from_first and first_t > start10 else n[at10],
            0 if from_first and first_t > start60 else n[at60],
        )

    def latest_mid_x2(self) -> int | None:
        return None if self.empty else self._mid[-1]
