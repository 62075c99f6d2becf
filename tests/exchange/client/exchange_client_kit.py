"""Shared helpers of the REST client tests: a clock whose sleeps move virtual time, a seeded sim.

``SteppingClock`` is a ``ManualClock`` whose ``sleep`` advances the clock by the time slept and
returns at once. Client and simulator share it, so a pacer wait, a retry backoff or a resolve poll
moves the simulator's token buckets and read lag forward exactly as real time would, but without
waiting: tests stay deterministic and fast.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from kalshiflow.clock import ManualClock
from kalshiflow.domain.ratelimits import Tier
from kalshiflow.domain.units import Money
from kalshiflow.exchange.auth import RequestSigner, generate_key_pair
from kalshiflow.exchange.ratelimit import Pacer, PacerConfig
from kalshiflow.exchange.rest import KalshiRestClient
from kalshiflow.exchange.rest_transport import RestSettings
from kalshiflow.sim import lifecycle
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.universe import generate_listings

START_MS = 1_790_000_000_000
START_BALANCE = Money.dollars(1_000)
N_MARKETS = 24


class SteppingClock(ManualClock):
    """Sleeping advances virtual time by the duration and returns immediately."""

    def __init__(self, start_ms: int = START_MS) -> None:
        super().__init__(start_ms)
        self.slept_s = 0.0

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.slept_s += seconds
            self.advance(seconds)
        await asyncio.sleep(0)


@dataclass(frozen=True)
class Key:
    key_id: str
    private_key: RSAPrivateKey
    public_pem: bytes
    private_pem: bytes

    def signer(self) -> RequestSigner:
        return RequestSigner(self.key_id, self.private_key)


def make_key(key_id: str) -> Key:
    private_pem, public_pem = generate_key_pair()
    key = serialization.load_pem_private_key(private_pem, password=None)
    assert isinstance(key, RSAPrivateKey)
    return Key(key_id, key, public_pem, private_pem)


def make_sim(clock: ManualClock, keys: list[Key], tier: Tier = Tier.PRESTIGE) -> SimExchange:
    sim = SimExchange.create(clock, seed=7, tier=tier)
    for listing in generate_listings(5, N_MARKETS, START_MS):
        sim.engine.add_market(listing.series, listing.event, listing.market)
    lifecycle.advance(sim.engine, START_MS)
    for key in keys:
        sim.register_account(key.key_id, key.public_pem, START_BALANCE, key.key_id)
    return sim


def make_client(
    rest_url: str,
    key: Key | None,
    clock: ManualClock,
    tier: Tier = Tier.PRESTIGE,
    settings: RestSettings | None = None,
) -> KalshiRestClient:
    return KalshiRestClient(
        rest_url,
        key.signer() if key is not None else None,
        clock=clock,
        pacer=Pacer(clock, PacerConfig(tier=tier)),
        settings=settings,
    )


def orders_with_client_id(sim: SimExchange, client_order_id: str) -> int:
    """How many orders the engine holds with this ``client_order_id`` (never more than one)."""
    return sum(1 for o in sim.engine.orders.values() if o.client_order_id == client_order_id)


@dataclass
class ClientEnv:
    sim: SimExchange
    clock: SteppingClock
    rest_url: str
    alice: KalshiRestClient
    bob: KalshiRestClient
    admin: httpx.AsyncClient
    cent_ticker: str
    subcent_ticker: str
