"""Fault injection decisions (sim.faults): determinism, rates, validation and one-shot faults."""

from __future__ import annotations

from collections import Counter

import pytest
from pydantic import ValidationError

from kalshiflow.sim.faults import FaultConfig, FaultInjector

DRAWS = 20_000


def _trace(injector: FaultInjector, n: int = 500) -> list[object]:
    return [
        (
            injector.latency_s(),
            injector.should_fail_5xx(),
            injector.should_lose_response(),
            injector.ws_action(),
        )
        for _ in range(n)
    ]


NOISY = FaultConfig(
    latency_ms=5,
    latency_jitter_ms=20,
    http_5xx_rate=0.1,
    lost_response_rate=0.05,
    ws_drop_rate=0.1,
    ws_duplicate_rate=0.1,
    ws_seq_gap_rate=0.1,
)


def test_default_config_injects_nothing() -> None:
    injector = FaultInjector()
    for _ in range(1_000):
        assert injector.latency_s() == 0.0
        assert not injector.should_fail_5xx()
        assert not injector.take_rate_limit_burst()
        assert not injector.should_lose_response()
        assert injector.ws_action() == "send"
    assert injector.read_lag_ms == 0


def test_same_seed_gives_same_decisions() -> None:
    assert _trace(FaultInjector(NOISY, seed=7)) == _trace(FaultInjector(NOISY, seed=7))


def test_different_seeds_give_different_decisions() -> None:
    assert _trace(FaultInjector(NOISY, seed=7)) != _trace(FaultInjector(NOISY, seed=8))


def test_one_fault_does_not_shift_another_faults_stream() -> None:
    only_5xx = FaultInjector(FaultConfig(http_5xx_rate=0.2), seed=3)
    with_ws = FaultInjector(FaultConfig(http_5xx_rate=0.2, ws_drop_rate=0.5), seed=3)
    a, b = [], []
    for _ in range(500):
        only_5xx.ws_action()
        with_ws.ws_action()
        a.append(only_5xx.should_fail_5xx())
        b.append(with_ws.should_fail_5xx())
    assert a == b


@pytest.mark.parametrize("rate", [0.01, 0.1, 0.5, 0.9])
def test_5xx_and_lost_response_rates_match_config(rate: float) -> None:
    injector = FaultInjector(FaultConfig(http_5xx_rate=rate, lost_response_rate=rate), seed=42)
    failures = sum(injector.should_fail_5xx() for _ in range(DRAWS))
    lost = sum(injector.should_lose_response() for _ in range(DRAWS))
    tolerance = 4 * (rate * (1 - rate) / DRAWS) ** 0.5 * DRAWS  # 4 sigma
    assert abs(failures - rate * DRAWS) <= tolerance
    assert abs(lost - rate * DRAWS) <= tolerance


def test_rate_one_always_fires() -> None:
    injector = FaultInjector(FaultConfig(http_5xx_rate=1.0, lost_response_rate=1.0, ws_drop_rate=1.0))
    assert all(injector.should_fail_5xx() for _ in range(1_000))
    assert all(injector.should_lose_response() for _ in range(1_000))
    assert {injector.ws_action() for _ in range(1_000)} == {"drop"}


def test_ws_action_frequencies_match_config() -> None:
    injector = FaultInjector(
        FaultConfig(ws_drop_rate=0.1, ws_duplicate_rate=0.2, ws_seq_gap_rate=0.05), seed=1
    )
    counts: Counter[str] = Counter(injector.ws_action() for _ in range(DRAWS))
    for action, rate in [("drop", 0.1), ("duplicate", 0.2), ("gap", 0.05), ("send", 0.65)]:
        tolerance = 4 * (rate * (1 - rate) / DRAWS) ** 0.5 * DRAWS
        assert abs(counts[action] - rate * DRAWS) <= tolerance, action


def test_latency_stays_within_base_plus_jitter_and_spreads() -> None:
    injector = FaultInjector(FaultConfig(latency_ms=50, latency_jitter_ms=10), seed=5)
    samples = [injector.latency_s() for _ in range(2_000)]
    assert min(samples) == pytest.approx(0.050)
    assert max(samples) == pytest.approx(0.060)
    assert len(set(samples)) == 11


def test_latency_without_jitter_is_fixed() -> None:
    injector = FaultInjector(FaultConfig(latency_ms=250))
    assert {injector.latency_s() for _ in range(100)} == {0.25}


# -- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"http_5xx_rate": 1.5},
        {"http_5xx_rate": -0.1},
        {"lost_response_rate": float("nan")},
        {"ws_drop_rate": 2},
        {"latency_ms": -1},
        {"latency_jitter_ms": -5},
        {"rate_limit_burst_requests": -1},
        {"ws_disconnect_after_messages": -1},
        {"read_lag_ms": -10},
        {"latency_ms": "100"},
        {"latency_ms": 1.5},
        {"latency_ms": True},
        {"ws_drop_rate": 0.5, "ws_duplicate_rate": 0.4, "ws_seq_gap_rate": 0.2},
        {"no_such_fault": 1},
    ],
)
def test_invalid_config_is_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        FaultConfig.model_validate(bad)
    injector = FaultInjector(FaultConfig(latency_ms=7))
    with pytest.raises(ValidationError):
        injector.update(bad)
    assert injector.config == FaultConfig(latency_ms=7)  # a failed update changes nothing


def test_config_is_frozen() -> None:
    config = FaultConfig()
    with pytest.raises(ValidationError):
        config.latency_ms = 5


def test_update_changes_only_given_fields() -> None:
    injector = FaultInjector(FaultConfig(latency_ms=10, read_lag_ms=200))
    new = injector.update({"http_5xx_rate": 1.0})
    assert new == FaultConfig(latency_ms=10, read_lag_ms=200, http_5xx_rate=1.0)
    assert injector.config is new
    assert injector.should_fail_5xx()
    assert injector.read_lag_ms == 200


# -- one-shot faults --------------------------------------------------------------------------


def test_rate_limit_burst_counts_down_exactly() -> None:
    injector = FaultInjector(FaultConfig(rate_limit_burst_requests=3))
    assert [injector.take_rate_limit_burst() for _ in range(5)] == [True, True, True, False, False]
    assert injector.pending_rate_limit_burst == 0


def test_updating_burst_rearms_it_and_other_updates_do_not() -> None:
    injector = FaultInjector()
    injector.update({"rate_limit_burst_requests": 2})
    assert injector.take_rate_limit_burst()
    injector.update({"latency_ms": 1})
    assert injector.pending_rate_limit_burst == 1
    assert injector.take_rate_limit_burst()
    assert not injector.take_rate_limit_burst()
    injector.update({"rate_limit_burst_requests": 2})
    assert injector.pending_rate_limit_burst == 2


def test_scheduled_5xx_fire_exactly_n_times() -> None:
    injector = FaultInjector()
    injector.schedule_5xx(2)
    injector.schedule_5xx(1)
    assert injector.pending_5xx == 3
    assert [injector.should_fail_5xx() for _ in range(5)] == [True, True, True, False, False]


def test_scheduled_lost_responses_fire_exactly_n_times() -> None:
    injector = FaultInjector()
    injector.schedule_lost_responses(2)
    assert [injector.should_lose_response() for _ in range(4)] == [True, True, False, False]
    assert injector.pending_lost_responses == 0


def test_scheduling_does_not_shift_the_random_stream() -> None:
    config = FaultConfig(http_5xx_rate=0.3)
    plain, scheduled = FaultInjector(config, seed=9), FaultInjector(config, seed=9)
    scheduled.schedule_5xx(3)
    plain_trace = [plain.should_fail_5xx() for _ in range(200)]
    scheduled_trace = [scheduled.should_fail_5xx() for _ in range(200)]
    assert scheduled_trace[:3] == [True, True, True]
    assert scheduled_trace[3:] == plain_trace[3:]


def test_negative_schedule_is_an_error() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        FaultInjector().schedule_5xx(-1)
    with pytest.raises(ValueError, match=">= 0"):
        FaultInjector().schedule_lost_responses(-1)


def test_reset_clears_config_and_pending_one_shots() -> None:
    injector = FaultInjector(FaultConfig(http_5xx_rate=1.0, rate_limit_burst_requests=4))
    injector.schedule_lost_responses(3)
    injector.reset()
    assert injector.config == FaultConfig()
    assert not injector.should_fail_5xx()
    assert not injector.take_rate_limit_burst()
    assert not injector.should_lose_response()


# -- WebSocket sessions -----------------------------------------------------------------------


def test_triggered_disconnect_closes_each_open_session_once() -> None:
    injector = FaultInjector()
    first, second = injector.ws_session(), injector.ws_session()
    assert first.next_action() == "send"
    generation = injector.trigger_ws_disconnect()
    assert generation == injector.disconnect_generation == 1
    late = injector.ws_session()
    assert first.next_action() == "disconnect"
    assert second.next_action() == "disconnect"
    assert late.next_action() == "send"
    assert first.next_action() == "send"  # consumed


def test_disconnect_requested_compares_generations() -> None:
    injector = FaultInjector()
    seen = injector.disconnect_generation
    assert not injector.disconnect_requested(seen)
    injector.trigger_ws_disconnect()
    assert injector.disconnect_requested(seen)
    assert not injector.disconnect_requested(injector.disconnect_generation)


def test_session_disconnects_after_configured_message_count() -> None:
    injector = FaultInjector(FaultConfig(ws_disconnect_after_messages=3))
    session = injector.ws_session()
    assert [session.next_action() for _ in range(5)] == ["send", "send", "send", "disconnect", "disconnect"]
    assert session.messages == 3
    assert injector.ws_session().next_action() == "send"


def test_session_actions_follow_the_injectors_ws_faults() -> None:
    injector = FaultInjector(FaultConfig(ws_duplicate_rate=1.0))
    assert injector.ws_session().next_action() == "duplicate"
