"""Knobs of the synthetic market: how many traders, how much money, how lively.

One frozen value so a run is described completely by (seed, listings, this config). Defaults are
tuned so that 20 markets at ``--speed 1`` look like a quiet-to-normal Kalshi afternoon: spreads of
1–5¢, tens to thousands of contracts per level, a trade every few seconds somewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from kalshiflow.domain.units import Money

DEFAULT_MAKER_BALANCE: Final = Money.dollars(50_000_000)
DEFAULT_TAKER_BALANCE: Final = Money.dollars(10_000_000)


@dataclass(frozen=True, slots=True)
class ParticipantsConfig:
    """Synthetic traders of the simulator.

    * ``n_makers`` (3): market-maker accounts; each market is quoted by 2 or 3 of them.
    * ``maker_balance`` ($50,000,000): starting cash of each maker, large so quotes never starve.
    * ``taker_balance`` ($10,000,000): starting cash of the noise and the informed trader.
    * ``noise_orders_per_min`` (2.0): mean IOC orders per market per sim minute at activity 1
      (each market draws an activity factor between 0.25 and 3).
    * ``informed_checks_per_min`` (6.0): how often the informed trader looks at a market when no
      news happened (it always looks right after a jump).
    * ``informed_edge`` (Price units, 200 = 2¢): mispricing vs fair the informed trader needs.
    * ``jump_rate_per_hour`` (0.5): news jumps per market per sim hour.
    * ``jump_sd_z`` (0.35): size of a jump in probit units (about ±14¢ at p = 0.5).
    * ``vol_min``/``vol_max`` (1.0/1.5): excess volatility of the fair walk (1 = martingale).
    * ``max_step_s`` (60.0): sim seconds of trading activity one step may catch up on; a longer gap
      (a stalled loop, a huge ``--speed``) still moves fair values but does not replay every order.
    * ``determine_delay_s`` (30): sim seconds between a market's close and its determination.
    * ``account_prefix`` ("sim-"): prefix of the participants' account ids.
    """

    n_makers: int = 3
    maker_balance: Money = DEFAULT_MAKER_BALANCE
    taker_balance: Money = DEFAULT_TAKER_BALANCE
    noise_orders_per_min: float = 2.0
    informed_checks_per_min: float = 6.0
    informed_edge: int = 200
    jump_rate_per_hour: float = 0.5
    jump_sd_z: float = 0.35
    vol_min: float = 1.0
    vol_max: float = 1.5
    max_step_s: float = 60.0
    determine_delay_s: int = 30
    account_prefix: str = "sim-"

    def __post_init__(self) -> None:
        if self.n_makers < 1:
            raise ValueError("n_makers must be at least 1")
        if self.noise_orders_per_min < 0 or self.informed_checks_per_min < 0:
            raise ValueError("order rates must be >= 0")
        if self.jump_rate_per_hour < 0 or self.jump_sd_z < 0:
            raise ValueError("jump parameters must be >= 0")
        if not 0 < self.vol_min <= self.vol_max:
            raise ValueError("need 0 < vol_min <= vol_max")
        if self.max_step_s <= 0 or self.determine_delay_s < 0:
            raise ValueError("max_step_s must be > 0 and determine_delay_s >= 0")
