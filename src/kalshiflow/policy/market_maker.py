"""A passive market-making baseline within the five actions: rest post-only orders, never cross.

Why: on this market a taker pays the spread and a taker fee on every round trip and the signals do
not predict enough to cover them (README "Policies"). A maker earns the spread instead and, on most
Kalshi series, pays no maker fee; what it risks is adverse selection and inventory. This policy is
the simplest maker that fits the trader's five actions:

1. market closed, one-sided book, or within ``no_new_exposure_s`` of the close while flat -> HOLD;
2. an order of ours already rests in this market -> HOLD ``order_resting`` (one quote at a time;
   the trader cancels it when it expires or the book leaves it behind);
3. spread below ``min_spread_ticks`` -> HOLD ``no_room`` (nothing to earn inside a one-tick book
   beyond the queue);
4. holding a side -> sell it passively at or inside the ask of that side (``unwind``): inventory
   is worked off as a maker, never accumulated beyond ``max_position_fraction`` of the limit;
5. flat -> buy passively, the side the book pressure favours (microprice offset and the level-3
   imbalance; YES on a tie), within the mid band [``min_mid``, ``max_mid``] (``quote``).

Every trade decision is ``passive=True``. Pure: the same observation gives the same decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from kalshiflow.policy.base import Action, Decision, SchemaLike
from kalshiflow.policy.passive import PassiveQuoter

FEATURES = (
    "mid",
    "microprice_offset",
    "spread",
    "tick_size",
    "bid_depth_l1",
    "ask_depth_l1",
    "imbalance_l3",
    "time_to_close",
    "position",
    "resting_count",
)
_EPS = 1e-9


class MakerReason(StrEnum):
    NO_ROOM = "no_room"
    UNWIND = "unwind"
    POSITION_CAP = "position_cap"
    NEAR_CLOSE = "near_close"
    PRICE_OUT_OF_BAND = "price_out_of_band"
    QUOTE = "quote"


@dataclass(frozen=True, slots=True)
class MakerConfig:
    """min_spread_ticks 2; max_position_fraction 0.2 of the per-market limit; mid band 0.10-0.90;
    no_new_exposure_s 900 (no new inventory within 15 minutes of the close)."""

    min_spread_ticks: float = 2.0
    max_position_fraction: float = 0.2
    min_mid: float = 0.10
    max_mid: float = 0.90
    no_new_exposure_s: float = 900.0


class MarketMakerPolicy(PassiveQuoter):
    def __init__(self, schema: SchemaLike, config: MakerConfig | None = None) -> None:
        self.config = config or MakerConfig()
        super().__init__(schema, FEATURES, "market-making policy", self.config.no_new_exposure_s)

    @property
    def name(self) -> str:
        return "mm"

    def decide(self, observation: Sequence[float]) -> Decision:
        held = self.blocked(observation)
        if held is not None:
            return held
        cfg, i = self.config, self._index
        ttc = observation[i["time_to_close"]]
        tick = observation[i["tick_size"]] / 100.0
        spread_ticks = observation[i["spread"]] / tick
        if spread_ticks < cfg.min_spread_ticks - 1e-6:
            return Decision(Action.HOLD, MakerReason.NO_ROOM)
        position = observation[i["position"]]
        if position > _EPS:
            return Decision(Action.SELL_YES, MakerReason.UNWIND, passive=True)
        if position < -_EPS:
            return Decision(Action.SELL_NO, MakerReason.UNWIND, passive=True)
        if ttc <= self._no_new_ttc:
            return Decision(Action.HOLD, MakerReason.NEAR_CLOSE)
        mid = observation[i["mid"]]
        if not cfg.min_mid <= mid <= cfg.max_mid:
            return Decision(Action.HOLD, MakerReason.PRICE_OUT_OF_BAND)
        pressure = observation[i["microprice_offset"]] / tick + observation[i["imbalance_l3"]]
        action = Action.BUY_NO if pressure < 0.0 else Action.BUY_YES
        return Decision(action, MakerReason.QUOTE, (pressure, spread_ticks), passive=True)
