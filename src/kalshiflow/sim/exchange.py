"""The simulated exchange as one object: engine, keys, rate limits, faults, clock.

The HTTP and WebSocket handlers receive this container and nothing else. Handlers run on one asyncio
loop and call the engine synchronously, so every engine call is atomic with respect to all others.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kalshiflow.clock import Clock
from kalshiflow.domain.ratelimits import Tier
from kalshiflow.sim.api_keys import ApiKeyBook
from kalshiflow.sim.auth import KeyRegistry
from kalshiflow.sim.candles import CandleRecorder
from kalshiflow.sim.engine import Engine
from kalshiflow.sim.faults import FaultConfig, FaultInjector
from kalshiflow.sim.ratelimit import AccountRateLimiters


@dataclass
class SimExchange:
    engine: Engine
    clock: Clock
    keys: KeyRegistry = field(default_factory=KeyRegistry)
    api_keys: ApiKeyBook = field(default_factory=ApiKeyBook)  # names and scopes of /api_keys keys
    limiters: AccountRateLimiters | None = None
    faults: FaultInjector = field(default_factory=FaultInjector)
    max_skew_ms: int = 30_000
    auth_clock: Clock | None = None  # what signature timestamps are checked against (None: ``clock``)
    v1_mutations_gone: bool = (
        True  # answer legacy V1 order mutations with 410, as Kalshi does since June 2026
    )

    candles: CandleRecorder | None = None  # created with the exchange: it must see every event
    # Data older than now minus this moves to /historical/* (None: everything stays live).
    historical_retention_ms: int | None = None

    def auth_now_ms(self) -> int:
        """Now for signature freshness: the wall clock behind a server, not the market's fast clock."""
        return (self.auth_clock or self.clock).now_ms()

    def __post_init__(self) -> None:
        if self.candles is None:
            self.candles = CandleRecorder(self.engine)
        if self.limiters is None:
            self.limiters = AccountRateLimiters(self.clock, Tier.BASIC)

    @classmethod
    def create(
        cls, clock: Clock, seed: int = 0, faults: FaultConfig | None = None, tier: Tier = Tier.BASIC
    ) -> SimExchange:
        return cls(
            engine=Engine(clock, seed),
            clock=clock,
            limiters=AccountRateLimiters(clock, tier),
            faults=FaultInjector(faults, seed),
        )

    def register_account(
        self, key_id: str, public_key_pem: bytes | str, balance: int, account_id: str | None = None
    ) -> str:
        """Create an account with ``balance`` (Money units) reachable with the key ``key_id``."""
        account_id = account_id or key_id
        if account_id not in self.engine.accounts:
            self.engine.add_account(account_id, balance)
        self.keys.register(key_id, public_key_pem, account_id)
        return account_id
