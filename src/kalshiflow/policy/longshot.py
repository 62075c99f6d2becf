"""A passive seller of YES longshots: the one side of the market where liquidity provision earns.

Why: on Kalshi (and in the simulated market built to match it) retail takers overvalue YES on
longshots -- contracts bought at 5¢ win about 4 % of the time, takers lose about 1.1 points of
excess return and makers earn it (``/work/shared/market-data/``, the simulator's
``taker_valuation``). The buyers of cheap YES cross the spread, so whoever rests the YES ask -- in
the trader's five actions, a post-only BUY_NO on the NO bid -- is paid their optimism. The
symmetric market maker (``mm``) quotes whichever side the book pressure favours and unwinds at
once; its fills are picked off within seconds (10 s markout -1.1¢ against 1.0¢ of spread earned)
and the exits give the rest back. This policy quotes only the side the data favours, and keeps
what it sells: the edge is paid at settlement, not in the next minute's mid.

Decision, first rule that applies:

1. market closed, one-sided book -> HOLD;
2. an order of ours already rests in this market -> HOLD ``order_resting`` (one quote at a time;
   the trader cancels it when its time to live runs out or the book leaves it behind);
3. holding YES (bought by an exit or by hand) -> SELL_YES passively (``unwind``): this policy only
   ever wants NO; holding NO with ``round_trip`` -> SELL_NO passively (``unwind``: buy the YES
   back at or inside the YES bid);
4. the NO position is already ``max_position_fraction`` of the per-market limit -> HOLD
   ``position_cap``;
5. within ``no_new_exposure_s`` of the close -> HOLD ``near_close``; more than ``max_close_s``
   from it -> HOLD ``far_close``;
6. YES mid outside [``min_mid``, ``max_mid``] -> HOLD ``price_out_of_band`` (below: the fee and
   the tick are most of what is left to win; above: the optimism is small);
7. spread below ``min_spread_ticks`` -> HOLD ``no_room``; realized volatility over 300 s above
   ``max_volatility`` -> HOLD ``fast_market``;
8. otherwise BUY_NO passively (``sell_longshot``): a post-only bid on the NO side, i.e. an offer of
   YES at or inside the YES ask.

Pure: the same observation gives the same decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from kalshiflow.policy.base import Action, Decision, SchemaLike
from kalshiflow.policy.passive import PassiveQuoter
from kalshiflow.policy.rules import normalised_time_to_close

FEATURES = (
    "mid",
    "spread",
    "tick_size",
    "bid_depth_l1",
    "ask_depth_l1",
    "time_to_close",
    "position",
    "resting_count",
    "volatility_300s",
)
_EPS = 1e-9
_TICK_EPS = 1e-6


class LongshotReason(StrEnum):
    UNWIND = "unwind"
    POSITION_CAP = "position_cap"
    NEAR_CLOSE = "near_close"
    FAR_CLOSE = "far_close"
    PRICE_OUT_OF_BAND = "price_out_of_band"
    NO_ROOM = "no_room"
    FAST_MARKET = "fast_market"
    SELL_LONGSHOT = "sell_longshot"


@dataclass(frozen=True, slots=True)
class LongshotConfig:
    """Thresholds of :class:`LongshotMakerPolicy` (defaults from the sweep in README "Policies").

    min_mid / max_mid: 0.05 / 0.35 -- YES mid band (dollars) in which YES is offered.
    max_position_fraction: 0.5 -- NO position, as a share of the per-market limit, beyond which
        nothing more is offered.
    no_new_exposure_s: 900 -- seconds before the close after which nothing is opened.
    min_spread_ticks: 1 -- narrowest spread, in grid ticks, at which to quote.
    max_volatility: 0.02 -- highest realized volatility of the mid over 300 s (dollars) at which to
        quote: fast markets are where informed flow picks a resting quote off.
    max_close_s: 14,400 (4 h) -- quote only markets that close within this many seconds: the edge is
        paid at settlement, so a market that settles soon pays it soon and frees the capital.
    round_trip: False -- holding NO, buy the YES back passively (a post-only NO offer at or inside
        the NO ask) instead of holding it to settlement.
    """

    min_mid: float = 0.05
    max_mid: float = 0.35
    max_position_fraction: float = 0.5
    no_new_exposure_s: float = 900.0
    min_spread_ticks: float = 1.0
    round_trip: bool = False
    max_volatility: float = 0.02
    max_close_s: float = 4 * 3600.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_mid < self.max_mid <= 1.0:
            raise ValueError("LongshotConfig needs 0 <= min_mid < max_mid <= 1")
        if not 0.0 < self.max_position_fraction <= 1.0:
            raise ValueError("LongshotConfig.max_position_fraction must be within (0, 1]")


class LongshotMakerPolicy(PassiveQuoter):
    def __init__(self, schema: SchemaLike, config: LongshotConfig | None = None) -> None:
        self.config = config or LongshotConfig()
        super().__init__(schema, FEATURES, "longshot policy", self.config.no_new_exposure_s)
        self._far_ttc = normalised_time_to_close(self.config.max_close_s)

    @property
    def name(self) -> str:
        return "longshot"

    def decide(self, observation: Sequence[float]) -> Decision:
        held = self.blocked(observation)
        if held is not None:
            return held
        cfg, i = self.config, self._index
        ttc = observation[i["time_to_close"]]
        tick = observation[i["tick_size"]] / 100.0
        position = observation[i["position"]]
        if position > _EPS:
            return Decision(Action.SELL_YES, LongshotReason.UNWIND, passive=True)
        if position < -_EPS and cfg.round_trip:
            return Decision(Action.SELL_NO, LongshotReason.UNWIND, passive=True)
        if -position >= cfg.max_position_fraction - _EPS:
            return Decision(Action.HOLD, LongshotReason.POSITION_CAP)
        if ttc <= self._no_new_ttc:
            return Decision(Action.HOLD, LongshotReason.NEAR_CLOSE)
        if ttc > self._far_ttc:
            return Decision(Action.HOLD, LongshotReason.FAR_CLOSE)
        mid = observation[i["mid"]]
        if not cfg.min_mid <= mid <= cfg.max_mid:
            return Decision(Action.HOLD, LongshotReason.PRICE_OUT_OF_BAND)
        spread_ticks = observation[i["spread"]] / tick
        if spread_ticks < cfg.min_spread_ticks - _TICK_EPS:
            return Decision(Action.HOLD, LongshotReason.NO_ROOM)
        if observation[i["volatility_300s"]] > cfg.max_volatility:
            return Decision(Action.HOLD, LongshotReason.FAST_MARKET)
        return Decision(Action.BUY_NO, LongshotReason.SELL_LONGSHOT, (mid, spread_ticks), passive=True)
