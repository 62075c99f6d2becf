"""Position limits for opening orders, in contracts: per market and summed over all markets.

Counted after the order as if it filled completely, plus resting opening orders that may still
fill: ``|position + delta| + resting`` in the market, and the sum of ``|position|`` over all markets
plus all resting opening orders plus the order's opening part. An order that opens nothing (it only
reduces) passes, even when a lowered limit is already exceeded.
"""

from __future__ import annotations

from kalshiflow.trader.config import RiskLimits
from kalshiflow.trader.risk.types import (
    OrderExposure,
    OrderIntent,
    RiskContext,
    RiskDecision,
    RiskReason,
    deny,
)


def _contracts(units: int) -> str:
    return f"{units / 100:.2f}"


class MarketPositionLimit:
    name = "market_position_limit"
    short_desc = "position plus resting orders in one market within its limit"
    applies_to_closing = False

    def check(
        self, intent: OrderIntent, exposure: OrderExposure, ctx: RiskContext, limits: RiskLimits, now_ms: int
    ) -> RiskDecision | None:
        if exposure.opening == 0:
            return None
        after = abs(exposure.position + intent.position_delta) + ctx.market_state.resting_open_contracts
        if after <= limits.max_position_contracts_per_market:
            return None
        return deny(
            self.name,
            RiskReason.MARKET_POSITION_LIMIT,
            f"{_contracts(after)} contracts after the order > "
            f"{limits.max_position_contracts_per_market.fp_str()}",
        )


class TotalPositionLimit:
    name = "total_position_limit"
    short_desc = "contracts held plus resting across all markets within the limit"
    applies_to_closing = False

    def check(
        self, intent: OrderIntent, exposure: OrderExposure, ctx: RiskContext, limits: RiskLimits, now_ms: int
    ) -> RiskDecision | None:
        opened = exposure.opening
        if opened == 0:
            return None
        after = ctx.contracts_held() + ctx.total_resting_open_contracts + opened
        if after <= limits.max_total_position_contracts:
            return None
        return deny(
            self.name,
            RiskReason.TOTAL_POSITION_LIMIT,
            f"{_contracts(after)} contracts in total after the order > "
            f"{limits.max_total_position_contracts.fp_str()}",
        )
