"""Composition of a running simulator: clock, exchange, listings, traders, keys, scheduler, server.

``start_simulator(config)`` is the one place that wires these together; it is an async context
manager so tests and the trader's scenario runs get the same simulator in-process that
``kalshiflow sim`` serves (``run_simulator`` is that command's body: start, report, wait for stop).

Invariants:

* The scheduler is the only writer of time-driven state; it runs on the server's event loop, so
  each step is atomic with respect to request handlers.
* With no accounts configured, one key pair lives in the data directory and is reused on every
  start (private key mode 0600, never overwritten); its key id is derived from the public key, so a
  restart with the same directory gives the same key id.
* Shutdown (``stop`` set, cancellation, Ctrl-C) stops the scheduler before the server, and both are
  stopped whatever way the body exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives import serialization

from kalshiflow.clock import Clock, ScaledClock, SystemClock
from kalshiflow.domain.units import Money
from kalshiflow.exchange.auth import KeyConfigError, generate_key_pair, load_private_key, write_private_key
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.faults import FaultConfig
from kalshiflow.sim.participants import Participants, ParticipantsConfig, SimScheduler
from kalshiflow.sim.server.serve import ServerAddress, running_server
from kalshiflow.sim.universe import generate_listings

DEFAULT_BALANCE: Final = Money.dollars(10_000)
PRIVATE_KEY_FILE: Final = "sim-api-key.pem"
PUBLIC_KEY_FILE: Final = "sim-api-key.pub.pem"
_KEY_ID_NAMESPACE: Final = uuid.UUID("6c1f3b1e-5a2b-4e7c-9a51-0d3c8b7e2f10")


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
    * ``data_dir`` (``.kalshiflow-sim``): where a generated key pair is kept.
    * ``accounts`` (none): keys to register; none means one generated key with $10,000.
    * ``faults`` (None): initial fault injection; None injects nothing.
    * ``tick_ms`` (100): wall milliseconds between scheduler steps.
    * ``keep_alive`` (True): list fresh markets as markets settle, so a long run never runs dry.
    * ``participants`` (defaults): the synthetic traders; None runs an empty exchange.
    """

    host: str = "127.0.0.1"
    port: int = 8900
    seed: int = 0
    n_markets: int = 20
    speed: float = 1.0
    data_dir: Path = Path(".kalshiflow-sim")
    accounts: tuple[AccountSpec, ...] = ()
    faults: FaultConfig | None = None
    tick_ms: int = 100
    keep_alive: bool = True
    participants: ParticipantsConfig | None = field(default_factory=ParticipantsConfig)

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
    scheduler: SimScheduler
    scheduler_task: asyncio.Task[None]


def key_id_for(public_key_pem: bytes) -> str:
    """A stable key id for a public key: a UUID derived from its DER encoding."""
    public_key = serialization.load_pem_public_key(public_key_pem)
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return str(uuid.uuid5(_KEY_ID_NAMESPACE, hashlib.sha256(der).hexdigest()))


def ensure_generated_key(data_dir: Path) -> tuple[str, Path, Path]:
    """(key id, private key path, public key path) of the data directory's key, created if absent."""
    data_dir.mkdir(parents=True, exist_ok=True)
    private_path = data_dir / PRIVATE_KEY_FILE
    public_path = data_dir / PUBLIC_KEY_FILE
    if private_path.exists():
        try:
            key = load_private_key(str(private_path), path_setting="--data-dir key")
        except KeyConfigError as exc:
            raise SimulatorStartError(f"{exc}; remove it to let the simulator generate a new one") from None
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    else:
        private_pem, public_pem = generate_key_pair()
        try:
            write_private_key(str(private_path), private_pem)
        except KeyConfigError as exc:
            raise SimulatorStartError(str(exc)) from None
    if not public_path.exists() or public_path.read_bytes() != public_pem:
        public_path.write_bytes(public_pem)
    return key_id_for(public_pem), private_path, public_path


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


def build_simulation(config: SimulatorConfig, clock: Clock) -> tuple[SimExchange, SimScheduler]:
    """The exchange with its listings and traders, before any account or server (no I/O)."""
    sim = SimExchange.create(clock, seed=config.seed, faults=config.faults)
    for listing in generate_listings(config.seed, config.n_markets, clock.now_ms()):
        sim.engine.add_market(listing.series, listing.event, listing.market)
    participants = Participants(sim.engine, config.seed, config.participants) if config.participants else None
    scheduler = SimScheduler(
        sim.engine,
        participants,
        seed=config.seed,
        keep_alive_markets=config.n_markets if config.keep_alive else None,
        determine_delay_s=config.participants.determine_delay_s if config.participants else 30,
    )
    return sim, scheduler


def make_clock(speed: float) -> Clock:
    return SystemClock() if speed == 1.0 else ScaledClock(speed)


async def _drive(scheduler: SimScheduler, clock: Clock, tick_sim_s: float) -> None:
    while True:
        scheduler.step()
        await clock.sleep(tick_sim_s)


@contextlib.asynccontextmanager
async def start_simulator(config: SimulatorConfig, *, clock: Clock | None = None) -> AsyncIterator[SimHandle]:
    """Run a simulator for the duration of the context; yields its handle.

    ``clock`` overrides the clock made from ``config.speed`` (e.g. a ``ManualClock`` shared with a
    scenario test; the scheduler then steps whenever that clock passes another tick).
    """
    from kalshiflow.sim.server.app import build_app  # the server modules load only when serving

    clock = clock or make_clock(config.speed)
    sim, scheduler = build_simulation(config, clock)
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
