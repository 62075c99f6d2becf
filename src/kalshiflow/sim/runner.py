"""Composition of a running simulator: clock, exchange, listings, traders, keys, scheduler, server.

``start_simulator(config)`` is the one place that wires these together; it is an async context
manager so tests and the trader's scenario runs get the same simulator in-process that
``kalshiflow sim`` serves (``run_simulator`` is that command's body: start, report, wait for stop).

Invariants:

* The market model is the only writer of time-driven state; it runs on the server's event loop, so
  each step is atomic with respect to request handlers. It steps in *simulated* time: the driver
  wakes at the model's next event (or every ``tick_ms`` of simulated time) and the model processes
  every event due, each at its own simulated time, so the same seed gives the same market at any
  ``--speed``.
* Request signatures are checked against the wall clock (``SimExchange.auth_clock``): freshness is
  about when the client signed, and every client signs with the real time, whatever the market's
  clock says.
* With no accounts configured, one key pair lives in the data directory and is reused on every
  start (private key mode 0600, never overwritten); its key id is derived from the public key, so a
  restart with the same directory gives the same key id.
* Shutdown (``stop`` set, cancellation, Ctrl-C) stops the scheduler before the server, and both are
  stopped whatever way the body exits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from kalshiflow.clock import Clock, ScaledClock, SystemClock
from kalshiflow.domain.units import Money
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.faults import FaultConfig
from kalshiflow.sim.keys import SimKeyError, key_id_for
from kalshiflow.sim.keys import ensure_generated_key as _ensure_key
from kalshiflow.sim.market.model import MarketModel
from kalshiflow.sim.market.profile import MarketProfile
from kalshiflow.sim.market_clock import MarketClock
from kalshiflow.sim.server.serve import ServerAddress, running_server

DEFAULT_BALANCE: Final = Money.dollars(10_000)
__all__ = ["key_id_for"]


class SimulatorStartError(Exception):
    """The simulator cannot start (port taken, bad key file); the message says what to fix."""


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """An API key to register: its id, its RSA public key (PEM file) and a starting balance."""

    key_id: str
    public_key_pem_path: Path
    balance: Money


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """A registered account as the operator needs to know it (no key material)."""

    key_id: str
    account_id: str
    balance: Money
    public_key_path: Path
    private_key_path: Path | None  # set when the simulator generated the key pair
    generated: bool = False


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Everything ``kalshiflow sim`` can be told.

    * ``host`` ("127.0.0.1"), ``port`` (8900; 0 picks a free port): where REST and WS listen.
    * ``seed`` (0): seeds the engine, the listings and the participants; same seed, same run.
    * ``n_markets`` (20): markets listed at start; with ``keep_alive`` also the number kept live.
    * ``speed`` (1.0): sim seconds per wall second (1.0 uses the system clock).
    * ``start_ms`` (None): the market clock's start (Unix ms); None starts at the wall time. A
      fixed start with a fixed seed reproduces a run exactly (tickers and close times included).
    * ``data_dir`` (``.kalshiflow-sim``): where a generated key pair is kept.
    * ``accounts`` (none): keys to register; none means one generated key with $10,000.
    * ``faults`` (None): initial fault injection; None injects nothing.
    * ``tick_ms`` (100): longest wall wait between two steps of the market model (it also wakes at
      its next event), so lifecycle changes made by others are applied promptly.
    * ``keep_alive`` (True): list fresh markets as markets settle, so a long run never runs dry.
    * ``profile`` (defaults): the market's participants and archetypes; None runs an empty exchange
      (markets listed, nobody trades, lifecycle still advances).
    """

    host: str = "127.0.0.1"
    port: int = 8900
    seed: int = 0
    n_markets: int = 20
    speed: float = 1.0
    start_ms: int | None = None
    data_dir: Path = Path(".kalshiflow-sim")
    accounts: tuple[AccountSpec, ...] = ()
    faults: FaultConfig | None = None
    tick_ms: int = 100
    keep_alive: bool = True
    profile: MarketProfile | None = field(default_factory=MarketProfile)

    def __post_init__(self) -> None:
        if self.speed <= 0:
            raise ValueError("speed must be positive")
        if self.n_markets < 0 or self.tick_ms <= 0:
            raise ValueError("n_markets must be >= 0 and tick_ms > 0")


@dataclass(frozen=True, slots=True)
class SimHandle:
    """A started simulator: the exchange object, where it listens, and its accounts."""

    sim: SimExchange
    address: ServerAddress
    accounts: list[AccountInfo]
    scheduler: MarketModel
    scheduler_task: asyncio.Task[None]


def ensure_generated_key(data_dir: Path) -> tuple[str, Path, Path]:
    """(key id, private key path, public key path) of the data directory's key, created if absent."""
    try:
        return _ensure_key(data_dir)
    except SimKeyError as exc:
        raise SimulatorStartError(str(exc)) from None


def _register_accounts(sim: SimExchange, config: SimulatorConfig) -> list[AccountInfo]:
    if not config.accounts:
        key_id, private_path, public_path = ensure_generated_key(config.data_dir)
        account_id = sim.register_account(key_id, public_path.read_bytes(), DEFAULT_BALANCE)
        return [AccountInfo(key_id, account_id, DEFAULT_BALANCE, public_path, private_path, True)]
    infos = []
    for spec in config.accounts:
        if spec.key_id in sim.engine.accounts:  # e.g. "sim-maker-1": never hand a trader's account out
            raise SimulatorStartError(
                f"account {spec.key_id}: key id is taken by the simulator's own traders"
            )
        try:
            pem = spec.public_key_pem_path.read_bytes()
            account_id = sim.register_account(spec.key_id, pem, spec.balance)
        except (OSError, ValueError) as exc:
            raise SimulatorStartError(f"account {spec.key_id}: {exc}") from None
        infos.append(AccountInfo(spec.key_id, account_id, spec.balance, spec.public_key_pem_path, None))
    return infos


def build_simulation(
    config: SimulatorConfig, clock: Clock, auth_clock: Clock | None = None
) -> tuple[SimExchange, MarketModel]:
    """The exchange with its listings and market model, before any account or server (no I/O).

    ``clock`` drives the market (the model steps to its time); the engine reads a ``MarketClock``
    on top of it. ``auth_clock`` (default: ``clock``) is what request timestamps are checked against.
    """
    market_clock = MarketClock(clock)
    sim = SimExchange.create(market_clock, seed=config.seed, faults=config.faults)
    sim.auth_clock = auth_clock or clock
    if auth_clock is None and config.speed > 1:
        # Signatures are checked against the shared fast clock (an embedded simulator whose client
        # signs with that clock): the allowed skew is still 30 s of *wall* time.
        sim.max_skew_ms = round(sim.max_skew_ms * config.speed)
    profile = config.profile or MarketProfile()
    model = MarketModel(
        sim.engine,
        market_clock,
        config.seed,
        profile,
        keep_alive_markets=config.n_markets if config.keep_alive and config.profile is not None else None,
        participants=config.profile is not None,
    )
    model.list_initial(config.n_markets, clock.now_ms())
    return sim, model


def make_clock(speed: float, start_ms: int | None = None) -> Clock:
    return SystemClock() if speed == 1.0 and start_ms is None else ScaledClock(speed, start_ms)


async def _drive(model: MarketModel, clock: Clock, tick_sim_s: float) -> None:
    """Step the model whenever its next event is due (at least every ``tick_sim_s`` of sim time)."""
    while True:
        model.step()
        now = clock.now_ms()
        due = model.next_event_ms()
        wait_s = tick_sim_s if due is None else min(tick_sim_s, max(0.0, (due - now) / 1000))
        await clock.sleep(wait_s)


@contextlib.asynccontextmanager
async def start_simulator(
    config: SimulatorConfig, *, clock: Clock | None = None, auth_clock: Clock | None = None
) -> AsyncIterator[SimHandle]:
    """Run a simulator for the duration of the context; yields its handle.

    ``clock`` overrides the clock made from ``config.speed`` (e.g. a ``ManualClock`` shared with a
    scenario test; the model then steps whenever that clock passes its next event or tick). Request
    signatures are checked against ``auth_clock``: by default the wall clock, or ``clock`` when one
    is given (a test's clients sign with the test's clock).
    """
    from kalshiflow.sim.server.app import build_app  # the server modules load only when serving

    if clock is None:
        clock = make_clock(config.speed, config.start_ms)
        auth_clock = auth_clock or SystemClock()
    sim, scheduler = build_simulation(config, clock, auth_clock)
    accounts = _register_accounts(sim, config)
    scheduler.step()  # open the markets and put the first quotes up before anyone connects
    async with contextlib.AsyncExitStack() as stack:
        try:
            address = await stack.enter_async_context(
                running_server(build_app(sim), config.host, config.port)
            )
        except OSError as exc:
            raise SimulatorStartError(str(exc)) from None
        driver = asyncio.create_task(_drive(scheduler, clock, config.tick_ms / 1000 * config.speed))
        stack.push_async_callback(_stop_task, driver)
        yield SimHandle(sim, address, accounts, scheduler, driver)
        if driver.done():
            driver.result()  # a scheduler crash surfaces here instead of vanishing


async def _stop_task(task: asyncio.Task[object]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def run_simulator(
    config: SimulatorConfig,
    *,
    ready: Callable[[ServerAddress, list[AccountInfo]], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve the simulator until ``stop`` is set or the task is cancelled."""
    stop = stop or asyncio.Event()
    async with start_simulator(config) as handle:
        if ready is not None:
            ready(handle.address, handle.accounts)
        stopped = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({stopped, handle.scheduler_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await _stop_task(stopped)
