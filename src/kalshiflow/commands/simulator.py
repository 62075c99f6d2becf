"""The body of ``kalshiflow sim``: the flags made into a ``SimulatorConfig``, then the simulator
served until Ctrl-C with its addresses and accounts printed.

Every flag is checked before anything listens: a bad ``--account`` or ``--profile`` is one line
naming it (``SimulatorUsageError``), and so is a port already in use.
"""

from __future__ import annotations

import asyncio
import shlex
import signal
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from rich.console import Console

from kalshiflow.domain.units import FixedPointError, Money
from kalshiflow.sim.market.profile import MarketProfile, ProfileError, load_profile
from kalshiflow.sim.runner import (
    AccountInfo,
    AccountSpec,
    SimulatorConfig,
    SimulatorStartError,
    run_simulator,
)
from kalshiflow.sim.server.serve import ServerAddress

ACCOUNT_FORMAT = "KEY_ID:PUBLIC_KEY_PEM_PATH:BALANCE_DOLLARS"


class SimulatorUsageError(ValueError):
    """A flag the simulator cannot start with, or a start that failed (port in use); one line."""


def simulator_config(
    host: str,
    port: int,
    seed: int,
    markets: int,
    speed: float,
    data_dir: Path,
    accounts: Sequence[str],
    profile: Path | None,
) -> SimulatorConfig:
    """The simulator the flags describe; ``SimulatorUsageError`` names the flag that is wrong."""
    try:
        market_profile = load_profile(profile) if profile is not None else MarketProfile()
    except ProfileError as exc:
        raise SimulatorUsageError(f"--profile {profile}: {exc}") from None
    specs: list[AccountSpec] = []
    for text in accounts:
        try:
            specs.append(parse_account(text))
        except ValueError as exc:
            raise SimulatorUsageError(str(exc)) from None
    return SimulatorConfig(
        host=host,
        port=port,
        seed=seed,
        n_markets=markets,
        speed=speed,
        data_dir=data_dir,
        accounts=tuple(specs),
        profile=market_profile,
    )


def parse_account(text: str) -> AccountSpec:
    """``KEY_ID:PEM_PATH:BALANCE`` -> AccountSpec; ``ValueError`` names what is wrong with it.

    The key id is what precedes the first colon and the balance what follows the last, so the path
    may itself contain colons.
    """
    where = f"--account {text!r}"
    key_id, sep1, rest = text.partition(":")
    path_text, sep2, balance_text = rest.rpartition(":")
    if not (sep1 and sep2 and key_id.strip() and path_text.strip() and balance_text.strip()):
        raise ValueError(f"{where}: expected {ACCOUNT_FORMAT}, e.g. my-key:./key.pub.pem:10000")
    try:
        balance = Money.parse(balance_text.strip())
    except FixedPointError:
        raise ValueError(
            f"{where}: balance {balance_text!r} is not a dollar amount (e.g. 10000 or 2500.50)"
        ) from None
    if balance < 0:
        raise ValueError(f"{where}: balance must not be negative")
    path = Path(path_text)
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{where}: cannot read public key file {path_text} ({exc.strerror})") from None
    try:
        public_key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError(f"{where}: {path_text} is not a PEM public key (BEGIN PUBLIC KEY)") from None
    if not isinstance(public_key, RSAPublicKey):
        raise ValueError(f"{where}: {path_text} is not an RSA public key; Kalshi keys are RSA")
    return AccountSpec(key_id.strip(), path, balance)


async def serve(config: SimulatorConfig, out: Console, version: str) -> None:
    """Serve until SIGINT/SIGTERM, printing where and for whom; a failed start is a usage error."""
    try:
        await _serve(config, out, version)
    except SimulatorStartError as exc:
        raise SimulatorUsageError(str(exc)) from None


async def _serve(config: SimulatorConfig, out: Console, version: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    def ready(address: ServerAddress, accounts: list[AccountInfo]) -> None:
        out.print(f"[bold]kalshiflow simulator[/] {version}  seed {config.seed}  speed {config.speed:g}x")
        out.print(f"REST  {address.rest_url}")
        out.print(f"WS    {address.ws_url}")
        for info in accounts:
            line = f"account  key id {info.key_id}  balance {_dollars(info.balance)}"
            if info.private_key_path is not None:
                line += f"  private key {info.private_key_path}"
            out.print(line)
        out.print(f"markets listed: {config.n_markets}")
        for info in accounts:
            if info.private_key_path is not None:  # the generated key: the trader's command, ready to paste
                command = shlex.join(
                    [
                        "kalshiflow", "run", "--exchange", "sim", "--url", address.rest_url,
                        "--key-id", info.key_id, "--key-file", str(info.private_key_path),
                    ]
                )  # fmt: skip
                out.print(f"trade it: {command}", markup=False, soft_wrap=True)
        out.print("press Ctrl-C to stop")

    try:
        await run_simulator(config, ready=ready, stop=stop)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _dollars(amount: Money) -> str:
    """``$10,000.00``: whole cents with thousands separators (more decimals only when needed)."""
    whole, _, frac = amount.dollars_str(2).partition(".")
    return f"${int(whole):,}.{frac}"
