"""``MarketHistory``: windowed mid changes, volatility, mean, update counts on the injected clock."""

from __future__ import annotations

import math

import pytest

from kalshiflow.features.market_state import HORIZON_MS, RESOLUTION_MS, MarketHistory

T0 = 1_790_000_000_000


def test_empty_history_is_neutral() -> None:
    h = MarketHistory("X")
    assert h.empty
    assert h.latest_mid_x2() is None
    assert h.last_update_ms is None
    assert h.mid_change_x2(T0, 10_000) == h.squared_moves_x4(T0, 10_000) == h.updates_in(T0, 10_000) == 0


def test_windows_read_the_sample_in_force_at_their_start() -> None:
    h = MarketHistory("X")
    h.record_touch(10_000, 200, T0)  # mid 0.50
    h.record_touch(10_200, 200, T0 + 30_000)  # 0.51
    h.record_touch(10_600, 400, T0 + 55_000)  # 0.53
    now = T0 + 60_000
    assert h.mid_change_x2(now, 10_000) == 400  # since 0.51 at t+50s
    assert h.mid_change_x2(now, 60_000) == 600  # since the first sample
    assert h.mid_change_x2(now, 300_000) == 600  # history shorter than the window: oldest sample
    assert h.spread_change_x2(now, 60_000) == 200
    assert h.squared_moves_x4(now, 10_000) == 400**2
    assert h.squared_moves_x4(now, 60_000) == 200**2 + 400**2
    assert h.updates_in(now, 10_000) == 1
    assert h.updates_in(now, 60_000) == 2  # the sample at the window start is in force, not inside
    assert h.updates_in(now, 61_000) == 3  # tracking began inside the window: all count
    num, den = h.mean_mid_x2(now, 300_000)
    assert den == 60_000
    assert num == 10_000 * 30_000 + 10_200 * 25_000 + 10_600 * 5_000


def test_updates_inside_the_resolution_overwrite_the_newest_sample() -> None:
    h = MarketHistory("X")
    h.record_touch(10_000, 200, T0)
    h.record_touch(10_100, 200, T0 + 1_000)
    for i in range(50):
        h.record_touch(10_100 + 10 * i, 200, T0 + 1_000 + i)  # a burst within 100 ms
    assert len(h) == 2
    assert h.updates == 52
    assert h.latest_mid_x2() == 10_590
    assert h.squared_moves_x4(T0 + 2_000, 10_000) == 590**2  # increment redone against the previous


def test_memory_is_bounded_and_totals_survive_compaction() -> None:
    h = MarketHistory("X")
    moves = 0
    mid = 10_000
    for i in range(20_000):  # 40 minutes at 10 samples a second
        step = (i % 7) - 3
        mid += step
        moves += step * step
        h.record_touch(mid, 200, T0 + i * RESOLUTION_MS)
    now = T0 + 19_999 * RESOLUTION_MS
    assert len(h) <= HORIZON_MS // RESOLUTION_MS + 2
    window_moves = sum(((i % 7) - 3) ** 2 for i in range(20_000 - 100, 20_000))
    assert h.squared_moves_x4(now, 10_000) == window_moves
    assert h.updates_in(now, 10_000) == 100
    assert math.isclose(h.mean_mid_x2(now, 300_000)[1], 300_000)


@pytest.mark.parametrize("idle_ms", [0, 1, 99, 100, 150_000, 299_900, 300_000, 450_000, 10_000_000])
def test_a_change_after_an_idle_spell_keeps_the_samples_in_force_since_the_horizon(idle_ms: int) -> None:
    """Everything older than the horizon is dropped except the sample in force at its start, however
    long the market stayed idle (one change may drop the whole horizon at once)."""
    h = MarketHistory("X")
    times = [T0 + i * RESOLUTION_MS for i in range(3_000)]
    for i, t in enumerate(times):
        h.record_touch(10_000 + i % 5, 200, t)
    now = times[-1] + idle_ms
    h.record_touch(10_000, 200, now)
    held = [t for t in times if t > now - HORIZON_MS]
    in_force = [t for t in times if t <= now - HORIZON_MS][-1:]
    newest = [now] if now - times[-1] >= RESOLUTION_MS else []
    assert len(h) == len(in_force + held + newest)
    # The oldest sample held is the one in force at the horizon's start (or the first one ever).
    oldest = max((i for i, t in enumerate(times) if t <= now - HORIZON_MS), default=0)
    assert h.mid_change_x2(now, HORIZON_MS) == 10_000 - (10_000 + oldest % 5)


def test_time_never_goes_backwards_in_the_totals() -> None:
    h = MarketHistory("X")
    h.record_touch(10_000, 200, T0 + 5_000)
    h.record_touch(10_200, 200, T0)  # misordered caller: treated as the last sample's time
    assert h.last_update_ms == T0 + 5_000
    assert h.mean_mid_x2(T0 + 6_000, 10_000)[1] >= 0


def test_all_windows_in_one_pass_equal_the_single_window_figures() -> None:
    """``windows_x2`` follows window starts with cursors; whatever
    order the queries come in (forward by a ms, jumps, back in time, across compactions) they must
    answer exactly what the searching single-window methods answer."""
    import random

    rng = random.Random(7)
    h = MarketHistory("X")
    now = T0
    assert h.windows_x2(now) == ((0,) * 9, None)
    for _ in range(12_000):
        now += rng.choice((0, 1, 1, 40, 99, 100, 101, 250, 3_000, 20_000, 400_000))
        h.record_touch(rng.randint(0, 20_000), rng.randint(0, 2_000), now)
        for query in (now + rng.choice((0, 1, 5, 99, 9_000, 70_000, -50, -20_000)), now):
            figures, mean_gap = h.windows_x2(query)
            m10, m60, m300, s10, s60, s300, spread60, before10, before60 = figures
            assert (m10, m60, m300) == tuple(h.mid_change_x2(query, w) for w in (10_000, 60_000, 300_000))
            assert (s10, s60, s300) == tuple(h.squared_moves_x4(query, w) for w in (10_000, 60_000, 300_000))
            assert spread60 == h.spread_change_x2(query, 60_000)
            assert h.updates - before10 == h.updates_in(query, 10_000)
            assert h.updates - before60 == h.updates_in(query, 60_000)
            num, den = h.mean_mid_x2(query, HORIZON_MS)
            latest = h.latest_mid_x2()
            assert latest is not None
            assert mean_gap == (latest * den - num, den)


def test_a_young_history_answers_like_the_single_window_figures_as_its_windows_fill() -> None:
    """Right after tracking starts every window begins before the first sample ("tracking began
    inside the window": the update counts count everything); ``windows_x2`` keeps its figures until
    a window start passes the first sample, and must then answer as the searching methods do. Fresh
    histories of one to three samples, each queried again and again as the clock moves on."""
    import random

    rng = random.Random(11)
    for _ in range(300):
        h = MarketHistory("X")
        now = T0
        for _ in range(rng.randint(1, 3)):
            now += rng.choice((0, 150, 4_000, 30_000))
            h.record_touch(rng.randint(0, 20_000), rng.randint(0, 2_000), now)
        query = now
        while query < now + 400_000:
            figures, _ = h.windows_x2(query)
            assert figures[:7] == (
                *(h.mid_change_x2(query, w) for w in (10_000, 60_000, 300_000)),
                *(h.squared_moves_x4(query, w) for w in (10_000, 60_000, 300_000)),
                h.spread_change_x2(query, 60_000),
            )
            assert h.updates - figures[7] == h.updates_in(query, 10_000)
            assert h.updates - figures[8] == h.updates_in(query, 60_000)
            query += rng.choice((1, 500, 2_500, 9_999, 10_000, 20_000))


def test_samples_like_the_newest_keep_the_figures_only_until_a_window_reaches_them() -> None:
    """A sample with the newest's mid and spread changes no windowed figure when it is taken, so
    ``windows_x2`` keeps its figures; once the 10 s window's start reaches it, the update counts
    before the window do change. Mostly such samples here (two mids, one spread), queried on and
    around the 10 s and 60 s boundaries, must answer as the searching methods do."""
    import random

    rng = random.Random(5)
    h = MarketHistory("X")
    now = T0
    for _ in range(6_000):
        now += rng.choice((100, 101, 250, 3_000, 9_999, 10_000))
        h.record_touch(rng.choice((5_000, 5_000, 5_000, 5_002)), 200, now)
        for query in (now, now + rng.choice((0, 1, 9_999, 10_000, 10_001, 59_999, 60_000, 60_100))):
            figures, _ = h.windows_x2(query)
            assert figures[:6] == (
                *(h.mid_change_x2(query, w) for w in (10_000, 60_000, 300_000)),
                *(h.squared_moves_x4(query, w) for w in (10_000, 60_000, 300_000)),
            )
            assert h.updates - figures[7] == h.updates_in(query, 10_000)
            assert h.updates - figures[8] == h.updates_in(query, 60_000)


def _same_as_single_windows(h: MarketHistory, query: int) -> None:
    figures, _ = h.windows_x2(query)
    assert figures[:7] == (
        *(h.mid_change_x2(query, w) for w in (10_000, 60_000, 300_000)),
        *(h.squared_moves_x4(query, w) for w in (10_000, 60_000, 300_000)),
        h.spread_change_x2(query, 60_000),
    )
    assert h.updates - figures[7] == h.updates_in(query, 10_000)
    assert h.updates - figures[8] == h.updates_in(query, 60_000)


@pytest.mark.parametrize("window_ms", [10_000, 60_000])
def test_a_sample_like_the_newest_after_a_quiet_spell_counts_once_a_window_reaches_it(window_ms: int) -> None:
    """The figures were found while the only sample was older than the window; a sample like it
    is taken; a query just past ``sample + window`` must see its update leave the count before it."""
    h = MarketHistory("X")
    h.record_touch(5_000, 200, T0)
    _same_as_single_windows(h, T0 + 70_000)
    h.record_touch(5_000, 200, T0 + 70_000)
    for after in (0, 1, 500, 999, 1_000, 1_001):
        _same_as_single_windows(h, T0 + 70_000 + window_ms + after)


def test_a_query_back_in_time_after_old_samples_were_dropped_reads_what_is_held() -> None:
    """Samples before the horizon's start are dropped by a later change; a query earlier than that
    change (the clock went back) answers from the samples still held, as the searching methods do,
    not from figures found before the drop."""
    h = MarketHistory("X")
    for k, mid in enumerate((1_000, 2_000, 3_000)):
        h.record_touch(mid, 200, T0 + k * 100_000)
    _same_as_single_windows(h, T0 + 350_000)
    h.record_touch(3_000, 200, T0 + 400_000)  # like the newest; drops the first sample
    _same_as_single_windows(h, T0 + 395_000)
