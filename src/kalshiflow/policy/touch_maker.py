"""A passive liquidity provider that quotes only where its fills are not picked off: ``maker``.

Why: on this market a taker pays ≈1.2¢ fee and ≈0.9¢ half-spread per contract and no signal here
predicts enough to cover them, so the only flow that earns is liquidity provision (the realism
report's join-the-touch maker). But a one-contract order that joins the touch (behind the queue)
or improves it (alone at a new level) is not an average maker: it fills mostly when its level is
run over, and the symmetric ``mm`` loses ≈1.1¢ within 10 s on every fill against ≈1.0¢ of spread earned. Measured on
643 opening fills of an unfiltered version of this policy (tuning seeds 5-8, README "Policies"):
what fills a resting quote is adverse by ≈1.2¢ at 60 s on average -- ≈0.9¢ where the realized
volatility over 60 s is at most 1¢, ≈2.0¢ where it is above 2¢ -- while the spread earned grows
with the spread (≈0.6¢ at 1-2 ticks, ≈1.7¢ at 5 ticks or more). So this policy quotes only where
the spread leaves more room than adverse selection takes, and holds otherwise.

Decision, first rule that applies:

1. market closed, one-sided book -> HOLD;
2. an order of ours already rests in this market -> HOLD ``order_resting`` (one quote at a time;
   the trader cancels it after ``[open_orders] ttl_s`` or when the book leaves it behind);
3. holding a side -> sell it passively at or inside that side's ask (``unwind``), never by
   crossing: the round trip earns the spread twice and carries little inventory to the mark;
4. within ``no_new_exposure_s`` of the close -> HOLD ``near_close``;
5. YES mid outside [``min_mid``, ``max_mid``] -> HOLD ``price_out_of_band``;
6. spread below ``min_spread_ticks`` -> HOLD ``no_room`` (too little to earn for what fills
   take back);
7. realized volatility over 60 s above ``max_volatility_60s`` -> HOLD ``fast_market`` (where
   informed flow runs over a resting quote);
8. otherwise a post-only bid on the side the book pressure leans *away* from: YES bid when the
   level-3 imbalance says sellers are thinner (``quote_yes_bid``, BUY_YES), else the YES ask -- a
   NO bid (``quote_yes_ask``, BUY_NO); on a tie the YES ask, the side retail optimism lifts.

Every trade decision is ``passive=True``. The exits it is built for do not cross the spread: take
profit, stop loss and max hold time are off (``EXIT_OVERRIDES``, applied by the backtest where the
configuration does not set them); the market-closing, cash-recovery and stuck rules stay. Pure: the
same observation gives the same decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from kalshiflow.policy.base import Action, Decision, SchemaLike
from kalshiflow.policy.passive import PassiveQuoter

FEATURES = (
    "mid",
    "spread",
    "tick_size",
    "bid_depth_l1",
    "ask_depth_l1",
    "imbalance_l3",
    "volatility_60s",
    "time_to_close",
    "position",
    "resting_count",
)
_EPS = 1e-9
_TICK_EPS = 1e-6

# Exit rules (``[exit_rules]`` field -> value) this policy is built for: a stop loss or take profit
# closes a maker's position by crossing, paying the spread and a taker fee it quoted to earn.
EXIT_OVERRIDES: Final[Mapping[str, bool]] = {
    "take_profit_enabled": False,
    "stop_loss_enabled": False,
    "max_hold_enabled": False,
}


class TouchMakerReason(StrEnum):
    UNWIND = "unwind"
    NEAR_CLOSE = "near_close"
    PRICE_OUT_OF_BAND = "price_out_of_band"
    NO_ROOM = "no_room"
    FAST_MARKET = "fast_market"
    QUOTE_YES_ASK = "quote_yes_ask"
    QUOTE_YES_BID = "quote_yes_bid"


@dataclass(frozen=True, slots=True)
class TouchMakerConfig:
    """Thresholds of :class:`TouchMakerPolicy` (defaults from the sweep in README "Policies").

    min_spread_ticks: 5 -- narrowest spread, in grid ticks, at which to quote.
    max_volatility_60s: 0.01 -- highest realized volatility of the mid over 60 s (dollars) at which
        to quote.
    min_mid / max_mid: 0.10 / 0.90 -- YES mid band (dollars) in which to quote.
    no_new_exposure_s: 900 -- seconds before the close after which nothing is opened.
    """

    min_spread_ticks: float = 5.0
    max_volatility_60s: float = 0.01
    min_mid: float = 0.10
    max_mid: float = 0.90
    no_new_exposure_s: float = 900.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_mid < self.max_mid <= 1.0:
            raise ValueError("TouchMakerConfig needs 0 <= min_mid < max_mid <= 1")
        if self.min_spread_ticks < 1.0:
            raise ValueError("TouchMakerConfig.min_spread_ticks must be >= 1 (a post-only order needs room)")


class TouchMakerPolicy(PassiveQuoter):
    def __init__(self, schema: SchemaLike, config: TouchMakerConfig | None = None) -> None:
        self.config = config or TouchMakerConfig()
        super().__init__(schema, FEATURES, "maker policy", self.config.no_new_exposure_s)

    @property
    def name(self) -> str:
        return "maker"

    def decide(self, observation: Sequence[float]) -> Decision:
        held = self.blocked(observation)
        if held is not None:
            return held
        cfg, i = self.config, self._index
        ttc = observation[i["time_to_close"]]
        tick = observation[i["tick_size"]] / 100.0
        position = observation[i["position"]]
        if position > _EPS:
            return Decision(Action.SELL_YES, TouchMakerReason.UNWIND, passive=True)
        if position < -_EPS:
            return Decision(Action.SELL_NO, TouchMakerReason.UNWIND, passive=True)
        if ttc <= self._no_new_ttc:
            return Decision(Action.HOLD, TouchMakerReason.NEAR_CLOSE)
        mid = observation[i["mid"]]
        if not cfg.min_mid <= mid <= cfg.max_mid:
            return Decision(Action.HOLD, TouchMakerReason.PRICE_OUT_OF_BAND)
        spread_ticks = observation[i["spread"]] / tick
        if spread_ticks < cfg.min_spread_ticks - _TICK_EPS:
            return Decision(Action.HOLD, TouchMakerReason.NO_ROOM)
        if observation[i["volatility_60s"]] > cfg.max_volatility_60s:
            return Decision(Action.HOLD, TouchMakerReason.FAST_MARKET)
        pressure = observation[i["imbalance_l3"]]  # > 0: more YES bid size, the price leans up
        scores = (pressure, spread_ticks)
        if pressure > 0.0:
            return Decision(Action.BUY_YES, TouchMakerReason.QUOTE_YES_BID, scores, passive=True)
        return Decision(Action.BUY_NO, TouchMakerReason.QUOTE_YES_ASK, scores, passive=True)
