"""Starting a connection the way every command needs it: embedded simulator, feed start, live wait.

``kalshiflow record`` and ``kalshiflow run`` both (a) start the embedded simulator when told
``sim`` with no URL, (b) start the market-data feed and turn the ways that can fail into one line
naming the setting to fix, and (c) wait for the WebSocket to be live; ``run`` first checks the
exchange, the key and the account's rate limits (``check_exchange``). Each failure is a
``StartupError``; the CLI turns it into exit code 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from kalshiflow.clock import Clock
from kalshiflow.domain.units import display_dollars
from kalshiflow.exchange.environments import Environment, ExchangeConnection
from kalshiflow.exchange.errors import AmbiguousError, AuthError, ExchangeError
from kalshiflow.exchange.rest import KalshiRestClient
from kalshiflow.exchange.ws_stream import StreamClosed
from kalshiflow.marketdata.discovery import MarketSelection
from kalshiflow.marketdata.feed import MarketDataFeed
from kalshiflow.sim.runner import SimHandle, SimulatorConfig, SimulatorStartError, start_simulator
from kalshiflow.trader.lifecycle.init_tracker import InitStep, InitTracker

log = logging.getLogger(__name__)

LIVE_TIMEOUT_S = 15.0


class StartupError(Exception):
    """A setting is wrong or the exchange cannot be reached; the message names what to fix."""


class StoppedDuringStartup(Exception):
    """Ctrl-C (or SIGTERM) during a startup step that sends nothing: the step was cancelled."""


_T = TypeVar("_T")


async def unless_stopped(stop: asyncio.Event, step: Awaitable[_T]) -> _T:
    """``step``'s result, or ``StoppedDuringStartup`` as soon as ``stop`` is set, ``step`` cancelled.

    For the steps that send nothing (starting a simulator, reaching the exchange, its stream): an
    exchange that does not answer is retried for about a minute, and a stop must not wait for that.
    """
    work = asyncio.ensure_future(step)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({work, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if work.done():
        return work.result()
    work.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await work
    raise StoppedDuringStartup


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


async def check_exchange(
    rest: KalshiRestClient, tracker: InitTracker, rest_url: str, url_setting: str
) -> None:
    """``run``'s first reads: exchange status, then the credentials (a balance read), each a step on the
    initialization checklist; then the account's rate limits. A refusal names the setting to fix."""
    tracker.begin(InitStep.EXCHANGE_STATUS)
    try:
        status = await rest.exchange_status()
    except AuthError as exc:  # every request is signed: a 401 here is the key, not the URL
        tracker.fail(InitStep.EXCHANGE_STATUS, str(exc))
        raise StartupError(
            f"the exchange refused the API key (check --key-id and --key-file): {exc}"
        ) from None
    except ExchangeError as exc:
        tracker.fail(InitStep.EXCHANGE_STATUS, str(exc))
        raise StartupError(f"exchange status at {rest_url}: {exc} (check {url_setting})") from None
    tracker.complete(InitStep.EXCHANGE_STATUS, f"trading_active={status.trading_active}")
    tracker.begin(InitStep.CREDENTIALS)
    try:
        balance = await rest.balance()
    except ExchangeError as exc:
        tracker.fail(InitStep.CREDENTIALS, str(exc))
        raise StartupError(
            f"the exchange refused the API key (check --key-id and --key-file): {exc}"
        ) from None
    tracker.complete(InitStep.CREDENTIALS, f"balance {display_dollars(balance.balance)}")
    await adopt_rate_limits(rest)


async def adopt_rate_limits(rest: KalshiRestClient) -> None:
    """Pace by the buckets and prices the exchange reports for this account, not by a configured
    tier and the built-in cost table."""
    try:
        limits = await rest.account_limits()
    except ExchangeError as exc:
        log.warning("run.rate_limits_unread keeping=%s error=%s", rest.pacer.config.tier.value, exc)
        return
    rest.pacer.adopt_limits(limits.read, limits.write)
    log.info("run.rate_limits tier=%s read=%s write=%s", limits.usage_tier, limits.read, limits.write)
    try:
        costs = await rest.endpoint_costs()
    except ExchangeError as exc:
        log.warning("run.endpoint_costs_unread keeping=built-in error=%s", exc)
        return
    rest.pacer.adopt_costs(costs.default_cost, costs.costs)
    log.info("run.endpoint_costs default=%s priced=%s", costs.default_cost, len(costs.costs))
