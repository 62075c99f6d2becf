"""``kill -9`` at random points of the order path loses no order and no fill (issue 8).

The simulator runs in this test's process (participants on, system clock); the trader is the real
``kalshiflow run`` in a child process, trading it. The simulator's engine is instrumented so the
child is killed with SIGKILL at a seeded, random point of the order path (its n-th create, n drawn
from a seeded generator): alternately just after the create took effect on the exchange (the answer
never arrives) and just before it would have (the order exists only in the trader's store).
The trader is restarted on the same database after each kill; a last run stops cleanly. Then the
store must hold every order the exchange holds for the account (by ``client_order_id``) and every
fill (by trade id), and no ``client_order_id`` was ever sent twice.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from tests.commands.cli_kit import KALSHIFLOW, clean_env

from kalshiflow.sim.engine import Engine as SimEngine
from kalshiflow.sim.runner import SimulatorConfig, start_simulator
from kalshiflow.store.trader_models import TraderFillRow, TraderOrderRow

SEED = 8  # the kill points
SIM_SEED = 0  # a market the rule-based policy trades at once (some seeds give it nothing to do)
KILLS = 3
ACTIVE = """
[run]
paper = false            # it must send orders to be killed while sending them
policy = "rules:signal"  # the signal rules trade often (the cost-aware default seldom does)
[risk]
per_market_min_interval_s = 0
kill_switch_enabled = false
max_total_exposure_dollars = "5000.00"
[calibration]
interval_s = 3
[exit_rules]
max_hold_s = 4
"""


class KillSwitch:
    """Wraps the engine's ``create_order``: SIGKILLs the child at the armed create of the account."""

    def __init__(self, engine: SimEngine, account_id: str) -> None:
        self.account_id = account_id
        self.creates = 0
        self.target: int | None = None
        self.before = False  # kill before the create takes effect (else just after)
        self.pid: int | None = None
        self.killed = 0
        original: Callable[..., object] = engine.create_order

        def create_order(account_id: str, request: object) -> object:
            armed = account_id == self.account_id and self.pid is not None and self.target is not None
            if armed:
                self.creates += 1
            hit = armed and self.creates == self.target
            if hit and self.before:
                self._kill()
                raise ConnectionError("the trader died before its create arrived")
            result = original(account_id, request)
            if hit:
                self._kill()
            return result

        engine.create_order = create_order  # type: ignore[method-assign]

    def arm(self, pid: int, rng: random.Random, before: bool) -> None:
        self.pid = pid
        self.target = self.creates + rng.randint(1, 4)
        self.before = before

    def _kill(self) -> None:
        assert self.pid is not None
        os.kill(self.pid, signal.SIGKILL)
        self.killed += 1
        self.pid = self.target = None


async def finished(trader: asyncio.subprocess.Process) -> int:
    """The child's exit code; a child still running when the wait gives up is killed, never left."""
    try:
        return await asyncio.wait_for(trader.wait(), 240)
    finally:
        if trader.returncode is None:
            trader.kill()
            await trader.wait()


@pytest.mark.timeout(1200)  # four trader processes, each starting up: slow on a loaded machine
async def test_sigkill_in_the_order_path_loses_no_order_and_no_fill(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    config_file = tmp_path / "active.toml"
    config_file.write_text(ACTIVE)
    db = f"sqlite:///{tmp_path / 'trader.db'}"
    config = SimulatorConfig(port=0, seed=SIM_SEED, n_markets=8, data_dir=tmp_path / "sim")
    async with start_simulator(config) as handle:
        [account] = handle.accounts
        assert account.private_key_path is not None
        engine = handle.sim.engine
        switch = KillSwitch(engine, account.account_id)
        args = [
            "run",
            "--exchange",
            "sim",
            "--url",
            handle.address.rest_url,
            "--key-id",
            account.key_id,
            "--key-file",
            str(account.private_key_path),
            "--db",
            db,
            "--config",
            str(config_file),
            "--top",
            "8",
            "--no-view",
            "--no-dashboard",
        ]

        async def run_trader(extra: list[str]) -> asyncio.subprocess.Process:
            with (tmp_path / "trader.out").open("a") as out:
                return await asyncio.create_subprocess_exec(
                    *KALSHIFLOW,
                    *args,
                    *extra,
                    cwd=tmp_path,
                    env=clean_env(),
                    stdout=out,
                    stderr=out,
                )

        for kill in range(KILLS):
            trader = await run_trader([])
            switch.arm(trader.pid, rng, before=kill % 2 == 1)
            code = await finished(trader)
            assert code == -signal.SIGKILL, (tmp_path / "trader.out").read_text()[-3000:]
        assert switch.killed == KILLS
        last = await run_trader(["--duration", "4"])
        code = await finished(last)
        assert code == 0, (tmp_path / "trader.out").read_text()[-3000:]

        ours = [o for o in engine.orders.values() if o.account_id == account.account_id]
        exchange_cids = [o.client_order_id for o in ours]
        exchange_fills = {f.trade_id for f in engine.account(account.account_id).fills}

    duplicates = [cid for cid, n in Counter(exchange_cids).items() if n > 1]
    assert duplicates == []
    assert len(exchange_cids) >= KILLS
    store = create_engine(db)
    try:
        with store.connect() as connection:
            stored_orders = set(connection.execute(select(TraderOrderRow.client_order_id)).scalars())
            stored_fills = set(connection.execute(select(TraderFillRow.trade_id)).scalars())
    finally:
        store.dispose()
    assert set(exchange_cids) - stored_orders == set()
    assert exchange_fills - stored_fills == set()
