"""Kalshi's rate-limit model as data: tier budgets, bucket capacities and per-endpoint token costs.

The simulator's limiter and the trader's client-side pacer must agree on what a request costs and
which bucket pays for it, so both read this one pure module (no I/O, no clock). Source: the API
reference §8.1 (token buckets, live since 2026-04-23).

Invariants kept here:

* Two independent buckets per account, ``read`` and ``write``. Write pays for order
  create/amend/cancel/decrease/batch/cancel-all (V1 and V2 paths) and order-group mutations
  (POST/PUT/DELETE under ``/portfolio/order_groups``); everything else is read.
* Capacity is a whole number of seconds of budget: Basic and Advanced Read hold 2 s, Read above
  Advanced holds 1 s; Basic Write holds 1 s, Write above Basic holds 2 s.
* Costs are whole tokens. Default 10; V2 cancel 2; V2 batch create 10 per item; V2 batch cancel 2
  per item; cancel-all 2; ``GET /portfolio/orders/{id}`` 2; Get Quote 2. Legacy V1 mutations are
  10x their V2 price: create/amend/decrease 100 (batch create 100 per item), cancel 20 (batch cancel
  20 per item) — the reference notes the 2026-06-04 changelog raised legacy cancels to 20, not 100.
* A batch is billed for at least one item, so an empty batch is never free.
* Paths may be given with or without the ``/trade-api/v2`` prefix and with a query string.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Literal

BucketName = Literal["read", "write"]

API_PREFIX: Final = "/trade-api/v2"
DEFAULT_COST: Final = 10


class Tier(StrEnum):
    """Kalshi API usage tiers (the ``usage_tier`` of ``GET /account/limits``)."""

    BASIC = "basic"
    ADVANCED = "advanced"
    EXPERT = "expert"
    PREMIER = "premier"
    PARAGON = "paragon"
    PRIME = "prime"
    PRESTIGE = "prestige"


@dataclass(frozen=True, slots=True)
class BucketSpec:
    """One token bucket: refills ``refill_per_s`` tokens per second up to ``capacity`` tokens."""

    refill_per_s: int
    capacity: int


@dataclass(frozen=True, slots=True)
class TierLimits:
    """The read and write buckets of one tier."""

    tier: Tier
    read: BucketSpec
    write: BucketSpec

    def bucket(self, name: BucketName) -> BucketSpec:
        return self.read if name == "read" else self.write


# (read budget, write budget) in tokens per second, reference §8.1.
_BUDGETS: Final[Mapping[Tier, tuple[int, int]]] = {
    Tier.BASIC: (200, 100),
    Tier.ADVANCED: (300, 300),
    Tier.EXPERT: (600, 600),
    Tier.PREMIER: (1_000, 1_000),
    Tier.PARAGON: (2_000, 2_000),
    Tier.PRIME: (4_000, 4_000),
    Tier.PRESTIGE: (10_000, 8_000),
}


def _limits_for(tier: Tier) -> TierLimits:
    read_rate, write_rate = _BUDGETS[tier]
    read_seconds = 2 if tier in (Tier.BASIC, Tier.ADVANCED) else 1
    write_seconds = 1 if tier is Tier.BASIC else 2
    return TierLimits(
        tier=tier,
        read=BucketSpec(refill_per_s=read_rate, capacity=read_rate * read_seconds),
        write=BucketSpec(refill_per_s=write_rate, capacity=write_rate * write_seconds),
    )


TIER_LIMITS: Final[Mapping[Tier, TierLimits]] = MappingProxyType({t: _limits_for(t) for t in Tier})


@dataclass(frozen=True, slots=True)
class EndpointCost:
    """How one request is billed.

    ``tokens`` is the price of the request, or of each item when ``per_item`` (batch endpoints).
    ``shardable`` marks single V2 order mutations, which bill a shard's own Write bucket when sent
    with ``exchange_index >= 1``; batches and everything else bill the unscoped buckets.
    """

    bucket: BucketName
    tokens: int
    per_item: bool = False
    shardable: bool = False

    def total(self, batch_items: int = 0) -> int:
        if batch_items < 0:
            raise ValueError("batch_items must be >= 0")
        return self.tokens * max(batch_items, 1) if self.per_item else self.tokens


_READ: Final = EndpointCost("read", DEFAULT_COST)
_WRITE: Final = EndpointCost("write", DEFAULT_COST)
_WRITE_SHARDABLE: Final = EndpointCost("write", DEFAULT_COST, shardable=True)
_LEGACY_MUTATION: Final = EndpointCost("write", 100)
_LEGACY_CANCEL: Final = EndpointCost("write", 20)
_MUTATING_METHODS: Final = frozenset({"POST", "PUT", "DELETE", "PATCH"})
# Literal path segments under /portfolio/orders that are not order ids (a route, not a ``{order_id}``).
ORDER_COLLECTION_WORDS: Final = frozenset({"batched", "queue_positions"})


def normalize_path(path: str) -> str:
    """``/trade-api/v2/portfolio/orders/?limit=5`` -> ``/portfolio/orders``."""
    bare = path.split("?", 1)[0].split("#", 1)[0]
    if bare.startswith(API_PREFIX + "/") or bare == API_PREFIX:
        bare = bare[len(API_PREFIX) :]
    bare = "/" + bare.strip("/")
    return bare


# Costs by (method, path) as called. Why: every REST call is classified three times (the client's
# pacer, its success bookkeeping, the simulator's limiter), ~3 us of path splitting each, nearly
# always for the same few paths; a cost depends on the two texts only and is a frozen value.
# Emptied when full (order ids make paths distinct), so it stays bounded.
_COSTS: dict[tuple[str, str], EndpointCost] = {}
_COSTS_MAX: Final = 4_096


def classify(method: str, path: str) -> EndpointCost:
    """The bucket and price of ``method path``; unknown endpoints are default-cost reads."""
    key = (method, path)
    cost = _COSTS.get(key)
    if cost is None:
        if len(_COSTS) >= _COSTS_MAX:
            _COSTS.clear()
        cost = _COSTS[key] = _classify(method, path)
    return cost


def _classify(method: str, path: str) -> EndpointCost:
    verb = method.upper()
    segments = tuple(s for s in normalize_path(path).split("/") if s)
    if segments[:3] == ("portfolio", "events", "orders"):
        return _classify_v2_orders(verb, segments[3:])
    if segments[:2] == ("portfolio", "orders"):
        return _classify_v1_orders(verb, segments[2:])
    if segments[:2] == ("portfolio", "order_groups"):
        return _WRITE if verb in _MUTATING_METHODS else _READ
    if verb == "GET" and len(segments) == 3 and segments[:2] == ("communications", "quotes"):
        return EndpointCost("read", 2)
    return _READ


def _classify_v2_orders(verb: str, rest: tuple[str, ...]) -> EndpointCost:
    match rest, verb:
        case (), "POST":
            return _WRITE_SHARDABLE
        case (), "DELETE":  # cancel all
            return EndpointCost("write", 2)
        case ("batched",), "POST":
            return EndpointCost("write", 10, per_item=True)
        case ("batched",), "DELETE":
            return EndpointCost("write", 2, per_item=True)
        case (_,), "DELETE":
            return EndpointCost("write", 2, shardable=True)
        case (_, "amend" | "decrease"), "POST":
            return _WRITE_SHARDABLE
    return _READ


def _classify_v1_orders(verb: str, rest: tuple[str, ...]) -> EndpointCost:
    match rest, verb:
        case (), "POST":
            return _LEGACY_MUTATION
        case ("batched",), "POST":
            return EndpointCost("write", 100, per_item=True)
        case ("batched",), "DELETE":
            return EndpointCost("write", 20, per_item=True)
        case (word,), "GET" if word not in ORDER_COLLECTION_WORDS:
            return EndpointCost("read", 2)
        case (word,), "DELETE" if word not in ORDER_COLLECTION_WORDS:
            return _LEGACY_CANCEL
        case (_, "amend" | "decrease"), "POST":
            return _LEGACY_MUTATION
    return _READ


def cost_of(method: str, path: str, batch_items: int = 0) -> int:
    """Tokens charged for one request (``batch_items`` counts the items of a batch body)."""
    return classify(method, path).total(batch_items)


def bucket_of(method: str, path: str) -> BucketName:
    """Which bucket pays for ``method path``."""
    return classify(method, path).bucket
