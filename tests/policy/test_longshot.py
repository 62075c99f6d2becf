"""The passive YES-longshot seller: offers YES (a post-only NO bid) only in the longshot band and
keeps what it sells; never buys YES, never crosses."""

from __future__ import annotations

import pytest
from tests.policy.policy_kit import features, observation

from kalshiflow.features.schema import SCHEMA_V1
from kalshiflow.policy.base import Action, PolicyLoadError
from kalshiflow.policy.longshot import LongshotConfig, LongshotMakerPolicy, LongshotReason
from kalshiflow.policy.passive import QuoteBlock
from kalshiflow.policy.registry import load_policy
from kalshiflow.policy.rules import normalised_time_to_close

POLICY = LongshotMakerPolicy(SCHEMA_V1)
# A YES longshot in a quiet market that closes in two hours (within the default max_close_s).
LONGSHOT = {
    "mid": 0.15,
    "spread": 0.02,
    "yes_bid": 0.14,
    "yes_ask": 0.16,
    "time_to_close": normalised_time_to_close(7200),
}


def decide(**named: float) -> tuple[Action, str, bool]:
    d = POLICY.decide(observation(features(**{**LONGSHOT, **named})))
    return d.action, d.reason, d.passive


def test_a_yes_longshot_is_offered_passively_as_a_no_bid() -> None:
    assert decide() == (Action.BUY_NO, LongshotReason.SELL_LONGSHOT, True)
    assert decide(position=-0.1) == (Action.BUY_NO, LongshotReason.SELL_LONGSHOT, True)


@pytest.mark.parametrize("mid", [0.02, 0.5, 0.85])
def test_outside_the_band_it_holds(mid: float) -> None:
    assert decide(mid=mid)[:2] == (Action.HOLD, LongshotReason.PRICE_OUT_OF_BAND)


def test_it_keeps_the_no_it_holds_and_stops_at_the_cap() -> None:
    assert decide(position=-0.5)[:2] == (Action.HOLD, LongshotReason.POSITION_CAP)
    assert decide(position=-0.2, resting_count=0.02)[:2] == (Action.HOLD, QuoteBlock.ORDER_RESTING)


def test_yes_it_did_not_want_is_sold_passively() -> None:
    assert decide(position=0.04) == (Action.SELL_YES, LongshotReason.UNWIND, True)


def test_nothing_new_near_the_close_on_a_one_sided_book_or_a_closed_market() -> None:
    assert decide(time_to_close=normalised_time_to_close(600))[:2] == (Action.HOLD, LongshotReason.NEAR_CLOSE)
    assert decide(ask_depth_l1=0.0)[:2] == (Action.HOLD, QuoteBlock.ONE_SIDED_BOOK)
    assert decide(time_to_close=0.0)[:2] == (Action.HOLD, QuoteBlock.MARKET_CLOSED)


def test_spec_overrides_thresholds_and_refuses_unknown_keys() -> None:
    policy = load_policy("longshot:max_mid=0.2+min_mid=0.1", SCHEMA_V1)
    assert isinstance(policy, LongshotMakerPolicy)
    assert policy.config == LongshotConfig(min_mid=0.1, max_mid=0.2)
    assert policy.decide(observation(features(**LONGSHOT))).action is Action.BUY_NO
    assert policy.decide(observation(features(**{**LONGSHOT, "mid": 0.25}))).action is Action.HOLD
    with pytest.raises(PolicyLoadError, match="KEY=VALUE"):
        load_policy("longshot:band=0.2", SCHEMA_V1)
    with pytest.raises(PolicyLoadError, match="min_mid < max_mid"):
        load_policy("longshot:max_mid=0.01", SCHEMA_V1)


def test_round_trip_buys_the_yes_back_passively_and_fast_markets_are_left_alone() -> None:
    round_trip = LongshotMakerPolicy(SCHEMA_V1, LongshotConfig(round_trip=True, max_volatility=0.02))
    held = observation(features(**{**LONGSHOT, "position": -0.1}))
    assert (round_trip.decide(held).action, round_trip.decide(held).passive) == (Action.SELL_NO, True)
    assert decide(position=-0.1)[0] is Action.BUY_NO  # the default keeps it to settlement
    fast = observation(features(**{**LONGSHOT, "volatility_300s": 0.05}))
    assert round_trip.decide(fast).reason == LongshotReason.FAST_MARKET
    assert POLICY.decide(fast).reason == LongshotReason.FAST_MARKET
    anything = LongshotMakerPolicy(SCHEMA_V1, LongshotConfig(max_volatility=1.0))
    assert anything.decide(fast).reason == LongshotReason.SELL_LONGSHOT
    assert load_policy("longshot:round_trip=1", SCHEMA_V1).decide(held).action is Action.SELL_NO


def test_markets_that_settle_later_than_max_close_s_are_left_alone() -> None:
    a_day_away = observation(features(**{**LONGSHOT, "time_to_close": normalised_time_to_close(86_400)}))
    assert POLICY.decide(a_day_away).reason == LongshotReason.FAR_CLOSE
    patient = LongshotMakerPolicy(SCHEMA_V1, LongshotConfig(max_close_s=2 * 86_400))
    assert patient.decide(a_day_away).reason == LongshotReason.SELL_LONGSHOT
