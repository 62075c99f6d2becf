"""A rule-based microstructure policy: trade short-term order-book pressure, only where it is cheap.

Why these rules. The touch of a Kalshi book tells which side is likelier to be hit next: when the
bid queue is much larger than the ask queue the microprice leans toward the ask and the next mid
move is more often up (and vice versa). A single queue is easy to spoof, so the policy asks the
deeper book (best 3 and 5 levels) to agree before it pays to cross. Crossing costs the spread plus
the taker fee, so it only trades where that cost is small, and it holds positions with hysteresis
(it needs a clearly opposite signal to pay the spread again). It is a pure function of one
observation (schema v1 features, normalised as documented in ``features.schema``): no cooldowns,
no memory; throttling, sizing and hard limits are the risk gate's job.

Signals (all in [-1, 1], positive = YES pressure):

* ``micro`` = microprice offset from the mid in grid ticks, divided by ``micro_full_ticks`` (0.5:
  with a one-tick spread the offset can be at most half a tick) and clipped;
* ``depth`` = mean of ``imbalance_l3`` and ``imbalance_l5``;
* ``score`` = ``micro_weight`` (0.5) * micro + (1 - micro_weight) * depth.

Decision, first rule that applies:

1. market closed (``time_to_close`` = 0) -> HOLD ``market_closed``;
2. one-sided book (no size at the YES bid or YES ask) -> HOLD ``one_sided_book``: no mid, no signal;
3. spread > ``max_spread_ticks`` (2) grid ticks or > ``max_spread_dollars`` ($0.03) -> HOLD
   ``wide_spread``: crossing would cost more than the signal predicts;
4. holding a side and within ``flatten_before_close_s`` (120 s) of the close -> sell what is held
   (``flatten_before_close``): settlement turns any position into an all-or-nothing bet;
5. holding a side and the score is at least ``exit_score`` (0.25) against it -> sell what is held
   (``signal_flipped``): reducing comes before opening the other side;
6. score >= ``entry_score`` (0.5) in a direction with micro and depth agreeing -> buy that side
   (``buy_pressure``), unless: the position on that side is already ``max_position_fraction`` (0.5)
   of the per-market limit (``position_cap``); the close is within ``no_new_exposure_s`` (600 s)
   (``near_close``); or the mid is outside [``min_mid``, ``max_mid``] = [0.05, 0.95]
   (``price_out_of_band``: the outcome is nearly decided, one tick is a large share of what is left
   to win, and the signal there is mostly noise). Holding the other side it sells instead (rule 5
   has already fired since ``exit_score`` < ``entry_score``);
7. otherwise HOLD ``no_signal``.

Cost awareness (``cost_aware``, on by default): an entry that passed rule 6 must also pay for
itself. Its expected move is ``move_per_score_cents`` x |score| (cents of mid move over the holding
horizon; the default is what the backtest's markouts of this policy's opening fills measured,
README "Policies"). Crossing costs the spread plus a taker fee in and out
(``taker_fee_rate`` x m x (1 - m) per contract at mid m); resting costs a maker fee in
(``maker_fee_rate``) and a taker fee out. An entry whose expected move beats the crossing cost by
``edge_margin_cents`` crosses; else, with ``passive`` on, one that beats the resting cost rests
post-only at the touch (``Decision.passive``) unless an order of ours already rests in this market
(``order_resting``); else HOLD ``below_cost``. Exits (rules 4-5) always cross: they cut risk.

The rules are symmetric: mirroring the book (YES bid <-> NO bid) and the position turns every
BUY_YES into BUY_NO and SELL_YES into SELL_NO. Thresholds are in the units of the features after
normalisation; ``position`` is signed contracts / per-market limit, ``time_to_close`` is
log1p(seconds) / log1p(30 days) -- the policy converts its second thresholds once at construction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from kalshiflow.policy.base import Action, Decision, SchemaLike, check_size, feature_indices

# Inverse of the schema v1 normalisation of ``time_to_close``: log1p(seconds) / log1p(30 days).
TIME_TO_CLOSE_SCALE_S = 30 * 24 * 3600
_POSITION_EPS = 1e-9  # position is contracts / limit; anything above this is at least one contract
_TICK_EPS = 1e-6  # spread / tick is a float ratio; 3 ticks must not read as 3.0000000000000004

FEATURES = (
    "mid",
    "microprice_offset",
    "spread",
    "tick_size",
    "bid_depth_l1",
    "ask_depth_l1",
    "imbalance_l3",
    "imbalance_l5",
    "time_to_close",
    "position",
    "resting_count",
)


class RuleReason(StrEnum):
    """Reason codes of the rule policy's decisions (see the module docstring for each rule)."""

    MARKET_CLOSED = "market_closed"
    ONE_SIDED_BOOK = "one_sided_book"
    WIDE_SPREAD = "wide_spread"
    FLATTEN_BEFORE_CLOSE = "flatten_before_close"
    SIGNAL_FLIPPED = "signal_flipped"
    BUY_PRESSURE = "buy_pressure"
    POSITION_CAP = "position_cap"
    NEAR_CLOSE = "near_close"
    PRICE_OUT_OF_BAND = "price_out_of_band"
    NO_SIGNAL = "no_signal"
    BELOW_COST = "below_cost"
    ORDER_RESTING = "order_resting"
    PASSIVE_ENTRY = "passive_entry"


@dataclass(frozen=True, slots=True)
class RuleConfig:
    """Thresholds of :class:`RulePolicy`.

    max_spread_ticks: 2 -- widest spread, in grid ticks, at which the policy trades.
    max_spread_dollars: 0.03 -- widest spread in dollars, whatever the grid.
    micro_full_ticks: 0.5 -- microprice offset (ticks from the mid) that counts as full pressure.
    micro_weight: 0.5 -- weight of the touch signal in the score; the rest is depth imbalance.
    entry_score: 0.5 -- score needed to open or add (micro and depth must also agree in sign).
    exit_score: 0.25 -- opposite score at which a held side is sold; below entry_score (hysteresis).
    max_position_fraction: 0.5 -- no adding beyond this share of the per-market position limit.
    min_mid / max_mid: 0.05 / 0.95 -- mid range (dollars) in which new exposure is opened.
    no_new_exposure_s: 600 -- seconds before the close after which nothing is opened.
    flatten_before_close_s: 120 -- seconds before the close after which held sides are sold.
    cost_aware: True -- enter only when the expected move pays the round trip (module docstring).
    passive: True -- when crossing does not pay but resting does, rest a post-only order.
    move_per_score_cents: 0.5 -- expected mid move, cents, at |score| = 1.
    taker_fee_rate / maker_fee_rate: 0.07 / 0.0175 -- Kalshi's quadratic fee rates (per contract:
        rate x m x (1 - m) dollars at price m); maker fees are charged on some series only.
    edge_margin_cents: 0.0 -- extra expected cents an entry must clear beyond its cost.
    """

    max_spread_ticks: float = 2.0
    max_spread_dollars: float = 0.03
    micro_full_ticks: float = 0.5
    micro_weight: float = 0.5
    entry_score: float = 0.5
    exit_score: float = 0.25
    max_position_fraction: float = 0.5
    min_mid: float = 0.05
    max_mid: float = 0.95
    no_new_exposure_s: float = 600.0
    flatten_before_close_s: float = 120.0
    cost_aware: bool = True
    passive: bool = True
    move_per_score_cents: float = 0.5
    taker_fee_rate: float = 0.07
    maker_fee_rate: float = 0.0175
    edge_margin_cents: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 < self.exit_score <= self.entry_score <= 1.0:
            raise ValueError("RuleConfig needs 0 < exit_score <= entry_score <= 1")
        if not 0.0 <= self.micro_weight <= 1.0:
            raise ValueError("RuleConfig.micro_weight must be within [0, 1]")
        if self.micro_full_ticks <= 0 or self.max_spread_ticks <= 0 or self.max_spread_dollars <= 0:
            raise ValueError("RuleConfig spread and microprice thresholds must be positive")
        if not 0.0 < self.max_position_fraction <= 1.0:
            raise ValueError("RuleConfig.max_position_fraction must be within (0, 1]")
        if not 0.0 <= self.min_mid < self.max_mid <= 1.0:
            raise ValueError("RuleConfig needs 0 <= min_mid < max_mid <= 1")
        if not 0.0 <= self.flatten_before_close_s <= self.no_new_exposure_s:
            raise ValueError("RuleConfig needs 0 <= flatten_before_close_s <= no_new_exposure_s")


def normalised_time_to_close(seconds: float) -> float:
    """Schema v1's ``time_to_close`` value for ``seconds`` left (what the policy compares against)."""
    return math.log1p(max(seconds, 0.0)) / math.log1p(TIME_TO_CLOSE_SCALE_S)


class RulePolicy:
    """Microprice + depth-imbalance policy with spread filter and position awareness."""

    def __init__(self, schema: SchemaLike, config: RuleConfig | None = None) -> None:
        index = feature_indices(schema, FEATURES, "rule policy")
        self.config = config or RuleConfig()
        self._schema_hash = schema.hash
        (
            self._i_mid,
            self._i_micro,
            self._i_spread,
            self._i_tick,
            self._i_bid_l1,
            self._i_ask_l1,
            self._i_imb3,
            self._i_imb5,
            self._i_ttc,
            self._i_pos,
            self._i_resting,
        ) = (index[name] for name in FEATURES)
        self._size = schema.size
        self._no_new_ttc = normalised_time_to_close(self.config.no_new_exposure_s)
        self._flatten_ttc = normalised_time_to_close(self.config.flatten_before_close_s)

    @property
    def name(self) -> str:
        return "rules"

    @property
    def schema_hash(self) -> str:
        return self._schema_hash

    def decide(self, observation: Sequence[float]) -> Decision:
        check_size(observation, self._size)
        cfg = self.config
        ttc = observation[self._i_ttc]
        if ttc <= 0.0:
            return Decision(Action.HOLD, RuleReason.MARKET_CLOSED)
        tick = observation[self._i_tick] / 100.0  # tick_size is in cents
        if observation[self._i_bid_l1] <= 0.0 or observation[self._i_ask_l1] <= 0.0 or tick <= 0.0:
            return Decision(Action.HOLD, RuleReason.ONE_SIDED_BOOK)
        spread = observation[self._i_spread]
        spread_ticks = spread / tick
        position = observation[self._i_pos]
        if spread_ticks > cfg.max_spread_ticks + _TICK_EPS or spread > cfg.max_spread_dollars + _TICK_EPS:
            return Decision(Action.HOLD, RuleReason.WIDE_SPREAD, (0.0, spread_ticks, position))

        micro = observation[self._i_micro] / tick / cfg.micro_full_ticks
        micro = -1.0 if micro < -1.0 else (1.0 if micro > 1.0 else micro)
        depth = 0.5 * (observation[self._i_imb3] + observation[self._i_imb5])
        score = cfg.micro_weight * micro + (1.0 - cfg.micro_weight) * depth
        scores = (score, spread_ticks, position)

        # Work in the frame of the side held (or the side the signal favours when flat): +1 = YES.
        if position > _POSITION_EPS:
            held = 1
        elif position < -_POSITION_EPS:
            held = -1
        else:
            held = 0
        if held:
            if ttc <= self._flatten_ttc:
                return Decision(_SELL[held], RuleReason.FLATTEN_BEFORE_CLOSE, scores)
            if score * held <= -cfg.exit_score:
                return Decision(_SELL[held], RuleReason.SIGNAL_FLIPPED, scores)

        direction = 1 if score >= cfg.entry_score else (-1 if score <= -cfg.entry_score else 0)
        if direction == 0 or micro * direction <= 0.0 or depth * direction <= 0.0:
            return Decision(Action.HOLD, RuleReason.NO_SIGNAL, scores)
        if position * direction >= cfg.max_position_fraction - _POSITION_EPS:
            return Decision(Action.HOLD, RuleReason.POSITION_CAP, scores)
        if ttc <= self._no_new_ttc:
            return Decision(Action.HOLD, RuleReason.NEAR_CLOSE, scores)
        mid = observation[self._i_mid]
        if not cfg.min_mid <= mid <= cfg.max_mid:
            return Decision(Action.HOLD, RuleReason.PRICE_OUT_OF_BAND, scores)
        if not cfg.cost_aware:
            return Decision(_BUY[direction], RuleReason.BUY_PRESSURE, scores)
        return self._pay_for_itself(
            direction, abs(score), mid, spread, observation[self._i_resting] > 0.0, scores
        )

    def _pay_for_itself(
        self,
        direction: int,
        strength: float,
        mid: float,
        spread: float,
        resting: bool,
        scores: tuple[float, ...],
    ) -> Decision:
        """Cross when the expected move pays spread + taker fees, rest when it pays maker + taker fees."""
        cfg = self.config
        expected = cfg.move_per_score_cents * strength - cfg.edge_margin_cents
        fee_unit = 100.0 * mid * (1.0 - mid)  # cents per unit of fee rate, at the mid
        crossing = 100.0 * spread + 2.0 * cfg.taker_fee_rate * fee_unit
        resting_cost = (cfg.maker_fee_rate + cfg.taker_fee_rate) * fee_unit
        detail = (*scores, expected, crossing, resting_cost)
        if expected > crossing:
            return Decision(_BUY[direction], RuleReason.BUY_PRESSURE, detail)
        if not cfg.passive or expected <= resting_cost:
            return Decision(Action.HOLD, RuleReason.BELOW_COST, detail)
        if resting:
            return Decision(Action.HOLD, RuleReason.ORDER_RESTING, detail)
        return Decision(_BUY[direction], RuleReason.PASSIVE_ENTRY, detail, passive=True)


_BUY = {1: Action.BUY_YES, -1: Action.BUY_NO}
_SELL = {1: Action.SELL_YES, -1: Action.SELL_NO}
