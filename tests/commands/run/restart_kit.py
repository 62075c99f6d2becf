"""A simulator on loopback, under ``--speed``, that a test stops and starts again on the same port.

For the ``run`` tests of a new exchange session: the simulator's market clock runs ``SPEED`` times a
manual wall clock from the wall time it started (as ``sim --speed 20`` does), so a restart begins
behind the old session's market time. The trader signs with the wall clock.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from tests.exchange.client.exchange_client_kit import make_key
from tests.sped_clock import SpedUpClock

from kalshiflow.clock import ManualClock
from kalshiflow.config import Settings, load_settings
from kalshiflow.domain.units import Money
from kalshiflow.exchange.environments import Environment, ExchangeConnection
from kalshiflow.sim.runner import AccountSpec, SimulatorConfig, start_simulator
from kalshiflow.sim.server.serve import ServerAddress

WALL0_MS = 1_790_000_000_000
SPEED = 20
RESTART_GAP_S = 2.0  # wall time between the stop and the start again


@dataclass
class RestartableSim:
    tmp_path: Path
    wall: ManualClock
    account: AccountSpec
    sims: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)
    address: ServerAddress | None = None

    async def start(self, port: int = 0) -> SpedUpClock:
        """Serve a new session (four markets) on ``port`` (0: any free one); returns its market clock."""
        clock = SpedUpClock(self.wall, SPEED)
        config = SimulatorConfig(
            port=port,
            n_markets=4,
            speed=SPEED,
            data_dir=self.tmp_path,
            accounts=(self.account,),
            profile=None,
        )
        handle = await self.sims.enter_async_context(
            start_simulator(config, clock=clock, auth_clock=self.wall)
        )
        self.address = handle.address
        return clock

    async def restart(self) -> SpedUpClock:
        """Stop the simulator, let ``RESTART_GAP_S`` of wall time pass, start it on the same port."""
        assert self.address is not None
        await self.sims.aclose()
        self.wall.advance(RESTART_GAP_S)
        return await self.start(self.address.port)

    def connection(self) -> ExchangeConnection:
        assert self.address is not None
        key_file = str(self.tmp_path / "key.pem")
        return ExchangeConnection(
            Environment.SIM, self.address.rest_url, self.address.ws_url, "trader", key_file=key_file
        )


def restartable_sim(tmp_path: Path) -> RestartableSim:
    """An account ``trader`` with $1,000 and its key pair in ``tmp_path``; ``start`` serves it."""
    key = make_key("trader")
    (tmp_path / "key.pem").write_bytes(key.private_pem)
    (tmp_path / "key.pub.pem").write_bytes(key.public_pem)
    account = AccountSpec("trader", tmp_path / "key.pub.pem", Money.dollars(1_000))
    return RestartableSim(tmp_path, ManualClock(WALL0_MS), account)


def holding_trader_settings() -> Settings:
    """The ``hold`` policy, live on the simulator, over its two most active markets."""
    return load_settings(
        environ={}, overrides={"run": {"policy": "hold", "paper": False}, "markets": {"top_n": 2}}
    )
