"""Account-level answers as typed, frozen values: queue positions, API limits, endpoint costs, and
scheduled fee changes.

Parsed once from Kalshi's JSON (reference §6.4, §8.1, §4.7) into exact units. These are what lets
the trader act on the exchange's own word instead of configuration: how many contracts wait ahead
of a resting order, which token buckets the account really has and what each request costs, and
which fee schedule a series or event moves to, and when.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from kalshiflow.domain.fees import FeeType
from kalshiflow.domain.ratelimits import BucketSpec, Tier, normalize_path
from kalshiflow.domain.units import Count
from kalshiflow.exchange.models_market import exact_number, opt_exact_number
from kalshiflow.exchange.models_wire import Fields


@dataclass(frozen=True, slots=True)
class QueuePosition:
    """Contracts ahead of a resting order at its price (price-time priority)."""

    order_id: str
    ticker: str
    ahead: Count

    @classmethod
    def from_wire(cls, raw: object) -> QueuePosition:
        f = Fields(raw, "OrderQueuePosition")
        return cls(f.text("order_id"), f.text("market_ticker"), f.count("queue_position_fp"))


def _bucket(f: Fields) -> BucketSpec:
    return BucketSpec(refill_per_s=f.integer("refill_rate"), capacity=f.integer("bucket_capacity"))


@dataclass(frozen=True, slots=True)
class AccountLimits:
    """``GET /account/limits``: the account's token buckets as the exchange enforces them.

    ``tier`` is ``None`` for a tier name this client does not know; the buckets are still exact.
    """

    usage_tier: str
    tier: Tier | None
    read: BucketSpec
    write: BucketSpec

    @classmethod
    def from_wire(cls, raw: object) -> AccountLimits:
        f = Fields(raw, "GetAccountApiLimitsResponse")
        usage_tier = f.text("usage_tier")
        known = {t.value: t for t in Tier}
        return cls(usage_tier, known.get(usage_tier), _bucket(f.obj("read")), _bucket(f.obj("write")))


@dataclass(frozen=True, slots=True)
class EndpointCosts:
    """``GET /account/endpoint_costs``: the default token cost and the endpoints priced otherwise.

    ``costs`` is keyed by (METHOD, path template without the ``/trade-api/v2`` prefix).
    """

    default_cost: int
    costs: Mapping[tuple[str, str], int]

    @classmethod
    def from_wire(cls, raw: object) -> EndpointCosts:
        f = Fields(raw, "GetAccountEndpointCostsResponse")
        costs: dict[tuple[str, str], int] = {}
        for i, item in enumerate(f.array("endpoint_costs")):
            row = Fields(item, f"EndpointTokenCost[{i}]")
            costs[(row.text("method").upper(), normalize_path(row.text("path")))] = row.integer("cost")
        return cls(f.integer("default_cost"), costs)


@dataclass(frozen=True, slots=True)
class SeriesFeeChange:
    """A series moves to ``fee_type`` x ``fee_multiplier`` at ``scheduled_ms``.

    ``fee_type`` is ``None`` for a fee type this client does not know (it cannot price those).
    """

    change_id: str
    series_ticker: str
    fee_type: FeeType | None
    fee_multiplier: Fraction
    scheduled_ms: int

    @classmethod
    def from_wire(cls, raw: object) -> SeriesFeeChange:
        f = Fields(raw, "SeriesFeeChange")
        return cls(
            change_id=f.text("id"),
            series_ticker=f.text("series_ticker"),
            fee_type=_fee_type(f.text("fee_type")),
            fee_multiplier=exact_number(f, "fee_multiplier"),
            scheduled_ms=f.time_ms("scheduled_ts"),
        )


@dataclass(frozen=True, slots=True)
class EventFeeChange:
    """An event's overrides change at ``scheduled_ms``; ``None`` clears an override (series applies).

    ``fee_type_override`` stays the wire text, as on ``EventData``.
    """

    change_id: str
    event_ticker: str
    series_ticker: str
    fee_type_override: str | None
    fee_multiplier_override: Fraction | None
    scheduled_ms: int

    @classmethod
    def from_wire(cls, raw: object) -> EventFeeChange:
        f = Fields(raw, "EventFeeChange")
        return cls(
            change_id=f.text("id"),
            event_ticker=f.text("event_ticker"),
            series_ticker=f.text("series_ticker"),
            fee_type_override=f.opt_text("fee_type_override"),
            fee_multiplier_override=opt_exact_number(f, "fee_multiplier_override"),
            scheduled_ms=f.time_ms("scheduled_ts"),
        )


def _fee_type(text: str) -> FeeType | None:
    try:
        return FeeType(text)
    except ValueError:
        return None
