"""Account-level reads of the simulator: API limits, endpoint costs, usage-level volume progress,
and the freshness of user data.

It exists so a client can pace itself from the exchange's own answer instead of a configured tier:
``/account/limits`` reports the very token buckets the simulator's limiter charges (its tier,
refill rates and capacities), and ``/account/endpoint_costs`` lists the non-default prices the
limiter bills, derived from the same ``kalshiflow.domain.ratelimits`` rules over the routes the
simulator knows, so the two can never disagree.

Choices where Kalshi is silent (deliberate):

* A tier above Basic is reported as one permanent ``manual`` grant on the ``event_contract`` lane
  (the simulator's tiers are configured, not earned); Basic has no grant.
* Volume progress counts the caller's own filled contracts over the trailing 30 days, computed at
  request time; the earn/keep goals per level are the simulator's own round numbers (Kalshi
  publishes none), keep = 75 % of earn.
* ``as_of_time`` of ``/exchange/user_data_timestamp`` is now minus the ``read_lag_ms`` fault:
  portfolio reads hide exactly what is newer than that.
"""

from __future__ import annotations

from typing import Final

from kalshiflow.domain.ratelimits import DEFAULT_COST, Tier, classify
from kalshiflow.sim import wire
from kalshiflow.sim.server.rest_api_keys import API_KEY_ROUTES
from kalshiflow.sim.server.rest_candles import CANDLE_ROUTES
from kalshiflow.sim.server.rest_history import HISTORY_ROUTES
from kalshiflow.sim.server.rest_market import MARKET_ROUTES
from kalshiflow.sim.server.rest_market_meta import MARKET_META_ROUTES
from kalshiflow.sim.server.rest_orders import ORDER_ROUTES
from kalshiflow.sim.server.rest_pipeline import Call, Reply, Spec
from kalshiflow.sim.server.rest_portfolio import PORTFOLIO_ROUTES
from kalshiflow.sim.server.rest_resting import RESTING_ROUTES
from kalshiflow.sim.server.rest_subaccounts import SUBACCOUNT_ROUTES
from kalshiflow.sim.server.rest_unsupported import UNSUPPORTED_OPERATIONS

EVENT_CONTRACT_LANE: Final = "event_contract"
TRAILING_VOLUME_MS: Final = 30 * 86_400_000
CONTRACT: Final = 100  # Count units per contract
# Earn goals in contracts over the trailing 30 days, per volume-based level.
VOLUME_GOALS: Final[tuple[tuple[Tier, int], ...]] = (
    (Tier.EXPERT, 100_000),
    (Tier.PREMIER, 1_000_000),
    (Tier.PARAGON, 5_000_000),
    (Tier.PRIME, 20_000_000),
    (Tier.PRESTIGE, 100_000_000),
)


def _limits(call: Call) -> Reply:
    assert call.sim.limiters is not None
    limiter = call.sim.limiters.for_account(call.account.account_id)
    limits = limiter.limits
    grants: list[wire.JsonObject] = []
    if limiter.tier is not Tier.BASIC:
        grants.append(
            {"exchange_instance": EVENT_CONTRACT_LANE, "level": limiter.tier.value, "source": "manual"}
        )
    return 200, {
        "usage_tier": limiter.tier.value,
        "read": {"refill_rate": limits.read.refill_per_s, "bucket_capacity": limits.read.capacity},
        "write": {"refill_rate": limits.write.refill_per_s, "bucket_capacity": limits.write.capacity},
        "grants": grants,
    }


def known_operations() -> list[tuple[str, str]]:
    """(method, path) of every route the simulator answers, served or not supported."""
    served = [
        (spec.method, spec.path)
        for spec in (
            *MARKET_ROUTES,
            *MARKET_META_ROUTES,
            *PORTFOLIO_ROUTES,
            *ORDER_ROUTES,
            *RESTING_ROUTES,
            *API_KEY_ROUTES,
            *CANDLE_ROUTES,
            *SUBACCOUNT_ROUTES,
            *HISTORY_ROUTES,
        )
    ]
    return [*served, *((method, path) for method, path, _ in UNSUPPORTED_OPERATIONS)]


def endpoint_costs() -> list[wire.JsonObject]:
    """Every known operation whose price differs from the default, as the limiter bills it."""
    rows: list[wire.JsonObject] = []
    for method, path in sorted(set(known_operations()), key=lambda op: (op[1], op[0])):
        cost = classify(method, path)
        if cost.tokens != DEFAULT_COST:
            rows.append({"method": method, "path": path, "cost": cost.tokens})
    return rows


def _endpoint_costs(call: Call) -> Reply:
    return 200, {"default_cost": DEFAULT_COST, "endpoint_costs": endpoint_costs()}


def _volume_progress(call: Call) -> Reply:
    since = call.now_ms - TRAILING_VOLUME_MS
    fills = (f for a in call.accounts_for(omitted_means_all=True) for f in a.fills)
    volume = sum(f.count for f in fills if f.ts_ms > since)
    goals = [
        {
            "level": tier.value,
            "earn_volume_goal_fp": wire.count(earn * CONTRACT),
            "keep_volume_goal_fp": wire.count(earn * CONTRACT * 3 // 4),
        }
        for tier, earn in VOLUME_GOALS
    ]
    progress = {
        "computed_ts": call.now_ms // 1000,
        "trailing_30d_volume_fp": wire.count(volume),
        "goals": goals,
    }
    return 200, {"volume_progress": [progress]}


def _user_data_timestamp(call: Call) -> Reply:
    return 200, {"as_of_time": wire.ts(call.lag_cutoff_ms)}


ACCOUNT_ROUTES: Final = (
    Spec("/account/limits", _limits),
    Spec("/account/endpoint_costs", _endpoint_costs, access="public"),
    Spec("/account/api_usage_level/volume_progress", _volume_progress),
    Spec("/exchange/user_data_timestamp", _user_data_timestamp, access="public"),
)
