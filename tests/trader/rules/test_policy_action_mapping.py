"""A policy's actions map onto the trader's order actions: HOLD to none, each trade to its own."""

from __future__ import annotations

from kalshiflow.policy.base import Action
from kalshiflow.trader.risk.types import TradeAction


def test_hold_maps_to_no_order_and_trades_map_to_their_trade_action() -> None:
    assert TradeAction.for_policy_action(Action.HOLD) is None
    for action in Action:
        if action is not Action.HOLD:
            assert TradeAction.for_policy_action(action) is TradeAction(action.value)
    assert {TradeAction.for_policy_action(a) for a in Action} - {None} == set(TradeAction)
