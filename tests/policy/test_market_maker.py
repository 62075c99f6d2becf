"""The passive market-making baseline: one post-only quote at a time, inventory worked off passively."""

from __future__ import annotations

import pytest
from tests.policy.policy_kit import MIRROR_ACTION, features, mirror, observation

from kalshiflow.features.schema import SCHEMA_V1
from kalshiflow.policy.base import Action
from kalshiflow.policy.market_maker import MakerReason, MarketMakerPolicy
from kalshiflow.policy.passive import QuoteBlock

POLICY = MarketMakerPolicy(SCHEMA_V1)
ROOM = {"spread": 0.03, "mid": 0.5}


def decide(side: str, **named: float) -> tuple[Action, str, bool]:
    obs = features(**{**ROOM, **named})
    if side == "yes":
        d = POLICY.decide(observation(obs))
        return d.action, d.reason, d.passive
    d = POLICY.decide(observation(mirror(obs)))
    return MIRROR_ACTION[d.action], d.reason, d.passive


@pytest.mark.parametrize("side", ["yes", "no"])
def test_flat_quotes_the_side_the_pressure_favours_post_only(side: str) -> None:
    assert decide(side, microprice_offset=0.004, imbalance_l3=0.5) == (
        Action.BUY_YES,
        MakerReason.QUOTE,
        True,
    )
    assert decide(side, microprice_offset=-0.004, imbalance_l3=-0.5) == (
        Action.BUY_NO,
        MakerReason.QUOTE,
        True,
    )


@pytest.mark.parametrize("side", ["yes", "no"])
def test_inventory_is_unwound_passively(side: str) -> None:
    assert decide(side, position=0.1) == (Action.SELL_YES, MakerReason.UNWIND, True)


@pytest.mark.parametrize("side", ["yes", "no"])
def test_one_quote_at_a_time_and_no_quote_without_room(side: str) -> None:
    assert decide(side, resting_count=0.2)[1] == QuoteBlock.ORDER_RESTING
    assert decide(side, spread=0.01)[1] == MakerReason.NO_ROOM
