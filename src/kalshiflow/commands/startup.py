"""Starting a connection the way every command needs it: embedded simulator, feed start, live wait.

``kalshiflow record`` and ``kalshiflow run`` both (a) start the embedded simulator when told
``sim`` with no URL, (b) start the market-data feed and turn the ways that can fail into one line
naming the setting to fix, and (c) wait for the WebSocket to be live. Each failure is a
``StartupError``; the CLI turns it into exit code 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import Callable
from pathlib import Path

from kalshiflow.clock import Clock
from kalshiflow.exchange.environments import Environment, ExchangeConnection
from kalshiflow.exchange.errors import AmbiguousError, AuthError, ExchangeError
from kalshiflow.exchange.ws_stream import StreamClosed
from kalshiflow.marketdata.discovery import MarketSelection
from kalshiflow.marketdata.feed import MarketDataFeed
from kalshiflow.sim.runner import SimHandle, SimulatorConfig, SimulatorStartError, start_simulator

LIVE_TIMEOUT_S = 15.0


class StartupError(Exception):
    """A setting is wrong or the exchange cannot be reached; the message names what to fix."""


async def embedded_simulator(
    stack: contextlib.AsyncExitStack, config: SimulatorConfig, clock: Clock | None = None
) -> tuple[SimHandle, ExchangeConnection]:
    """Start the simulator in-process for the life of ``stack``; returns it and a connection to it."""
    try:
        handle = await stack.enter_async_context(start_simulator(config, clock=clock))
    except SimulatorStartError as exc:
        raise StartupError(f"embedded simulator: {exc}") from None
    account = handle.accounts[0]
    if account.private_key_path is None:
        raise StartupError("embedded simulator: its first account has no private key to trade with")
    connection = ExchangeConnection.from_settings(
        Environment.SIM.value, handle.address.rest_url, account.key_id, str(account.private_key_path), {}
    )
    return handle, connection


def simulator_data_dir(stack: contextlib.ExitStack | contextlib.AsyncExitStack, prefix: str) -> Path:
    """A temporary directory for a generated key, removed with ``stack``."""
    return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))


async def start_feed(
    feed: MarketDataFeed,
    connection: ExchangeConnection,
    url_setting: str,
    accept: Callable[[MarketSelection], None] | None = None,
) -> MarketSelection:
    """Discover and start ``feed``; ``accept`` sees the selection first and may refuse it (by raising
    ``StartupError``) before anything is subscribed or recorded."""
    try:
        selection = await feed.discover()
        if accept is not None:
            accept(selection)
        return await feed.start(selection)
    except AuthError as exc:
        raise StartupError(
            f"the exchange refused the API key (check --key-id and --key-file): {exc}"
        ) from None
    except AmbiguousError as exc:
        if exc.request_sent:
            raise StartupError(f"listing markets at {connection.rest_url} failed: {exc}") from None
        hint = "" if url_setting in exc.message else f" (check {url_setting})"
        raise StartupError(f"cannot reach the exchange: {exc.message}{hint}") from None
    except ExchangeError as exc:
        raise StartupError(f"listing markets at {connection.rest_url} failed: {exc}") from None


async def wait_live(feed: MarketDataFeed, connection: ExchangeConnection, stop: asyncio.Event) -> None:
    """The WebSocket must come up within ``LIVE_TIMEOUT_S`` (a stop request meanwhile ends the wait)."""
    live = asyncio.ensure_future(feed.stream.wait_live(LIVE_TIMEOUT_S))
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({live, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not live.done():
            live.cancel()
    if stop.is_set() and not live.done():
        return
    with contextlib.suppress(asyncio.CancelledError):
        try:
            live.result()
        except (TimeoutError, StreamClosed):
            error = feed.stream.status().last_error
            raise StartupError(
                f"cannot open the WebSocket {connection.ws_url}: {error or 'no answer'} "
                "(check --url, --key-id and --key-file)"
            ) from None
