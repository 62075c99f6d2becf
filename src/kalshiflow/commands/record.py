"""``kalshiflow record``: record live order books into the database until a duration or Ctrl-C.

Why a module of its own: the command composes the connection settings, an optional embedded
simulator, the REST client, the ``MarketDataFeed`` with a ``Recorder`` and a progress display; the
CLI only parses flags. Its promises to the operator:

* **Settings fail before the network.** The connection flags (or ``KALSHIFLOW_*`` variables), the
  private key, the market options and the ``--db`` URL are validated, and the database opened,
  before any exchange is contacted. Each error is a ``RecordUsageError`` whose one-line message
  names the setting to fix; the CLI turns it into exit code 2.
* **Against ``sim`` with no URL** the embedded simulator is started in-process, with a key pair
  generated in a temporary directory that is removed afterwards.
* **Every stop is a clean stop.** ``--duration`` elapsing, Ctrl-C or SIGTERM all stop the stream,
  flush the recorder and close the session with its totals; the summary is printed after that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from rich.console import Console
from rich.live import Live
from rich.text import Text

from kalshiflow.clock import SystemClock
from kalshiflow.commands import paths
from kalshiflow.commands.startup import (
    StartupError,
    StoppedDuringStartup,
    embedded_simulator,
    simulator_data_dir,
    start_feed,
    unless_stopped,
    wait_live,
)
from kalshiflow.config import SettingsError, load_settings, process_environ
from kalshiflow.exchange.auth import KeyConfigError
from kalshiflow.exchange.environments import ConnectionConfigError, Environment, ExchangeConnection
from kalshiflow.exchange.ratelimit import Backoff
from kalshiflow.exchange.rest import KalshiRestClient
from kalshiflow.exchange.rest_transport import RestSettings
from kalshiflow.exchange.ws_connect import StreamConfig
from kalshiflow.marketdata.discovery import DiscoveryConfig, MarketSelection
from kalshiflow.marketdata.feed import FeedConfig, FeedProgress, MarketDataFeed
from kalshiflow.marketdata.recorder import Recorder
from kalshiflow.sim.runner import SimulatorConfig
from kalshiflow.store.db import DB_ENV, DatabaseConfigError, DatabaseUnavailableError
from kalshiflow.textfmt import plural

DEFAULT_TOP_N: Final = 20
PROGRESS_INTERVAL_S: Final = 1.0
STREAM_AUTH_FAILURES: Final = 3  # the REST calls proved the key; repeated WS 401s mean it was revoked


RecordUsageError = StartupError  # one error type for every command's startup problems


@dataclass(frozen=True, slots=True)
class RecordOptions:
    """What ``kalshiflow record`` was told (flags; ``None`` = take the variable or the default).

    * ``exchange``/``url``/``key_id``/``key_file``: the four connection settings.
    * ``markets`` (none): tickers always recorded. ``series``/``events`` (none): restrict the pool.
    * ``top`` (None): markets added from the pool by volume; None means 0 when only ``markets``
      are named, else ``DEFAULT_TOP_N``.
    * ``db_url`` (None: ``KALSHIFLOW_DB``, else ``<data dir>/kalshiflow.db``, see ``commands.paths``). ``duration_s`` (None =
      until Ctrl-C, seconds).
    * ``refresh_s`` (60 s): discovery refresh period. ``closing_window_s`` (300 s): skip markets
      closing that soon. ``sim_markets`` (20): markets listed by an embedded simulator.
    """

    exchange: str | None = None
    url: str | None = None
    key_id: str | None = None
    key_file: str | None = None
    markets: tuple[str, ...] = ()
    series: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    top: int | None = None
    db_url: str | None = None
    duration_s: float | None = None
    refresh_s: float = 60.0
    closing_window_s: int = 300
    sim_markets: int = 20


@dataclass(frozen=True, slots=True)
class RecordSummary:
    session_id: int | None
    markets: int
    messages: int
    recorded: int
    rows_written: int
    gaps: int
    dropped: int
    duration_s: float


def discovery_config(options: RecordOptions) -> DiscoveryConfig:
    if options.duration_s is not None and not (math.isfinite(options.duration_s) and options.duration_s > 0):
        raise RecordUsageError(
            f"--duration {options.duration_s:g}: must be a positive number of seconds (none: until Ctrl-C)"
        )
    if options.top is not None and options.top < 0:
        raise RecordUsageError(f"--top {options.top}: must be >= 0")
    if not (math.isfinite(options.refresh_s) and options.refresh_s >= 0):
        raise RecordUsageError(f"--refresh {options.refresh_s:g}: must be >= 0 (0 disables refresh)")
    top = options.top
    if top is None:
        top = 0 if options.markets and not (options.series or options.events) else DEFAULT_TOP_N
    if top == 0 and not options.markets:
        raise RecordUsageError("--top 0 with no --markets selects nothing; name --markets or a --top N > 0")
    return DiscoveryConfig(
        tickers=options.markets,
        series_tickers=options.series,
        event_tickers=options.events,
        top_n=top,
        closing_window_s=options.closing_window_s,
    )


def wants_embedded_sim(options: RecordOptions, environ: Mapping[str, str]) -> bool:
    """True for ``sim`` with no URL given anywhere: the command runs its own simulator."""
    exchange = options.exchange or environ.get("KALSHIFLOW_EXCHANGE") or Environment.SIM.value
    url = options.url or environ.get("KALSHIFLOW_URL")
    return exchange.strip().lower() == Environment.SIM.value and not url


def connection_from(options: RecordOptions, environ: Mapping[str, str]) -> ExchangeConnection:
    """Validated connection settings with the key loaded once (so a bad key fails here)."""
    try:
        connection = ExchangeConnection.from_settings(
            options.exchange, options.url, options.key_id, options.key_file, environ
        )
        connection.signer()
    except (ConnectionConfigError, KeyConfigError) as exc:
        raise RecordUsageError(str(exc)) from None
    return connection


def check_selection(
    selection: MarketSelection, options: RecordOptions, connection: ExchangeConnection
) -> None:
    """Warn on stderr about each named ticker the exchange does not list; refuse an empty selection.

    Recording zero markets until Ctrl-C looks like a working recorder that writes nothing, so an
    empty selection is a usage error (exit 2) raised before the session is opened.
    """
    where = f"the exchange at {connection.rest_url}"
    if not selection.tickers:
        named = ", ".join(selection.missing or options.markets)
        if named:
            detail = f"--markets {named}: not listed on {where}"
        else:  # the filters that emptied the pool are named: the user typed them
            filters = [f"--series {', '.join(options.series)}"] if options.series else []
            filters += [f"--event {', '.join(options.events)}"] if options.events else []
            detail = f"no open market on {where}" + (f" matches {' and '.join(filters)}" if filters else "")
        raise RecordUsageError(f"nothing to record: {detail}")
    for ticker in selection.missing:
        print(f"warning: --markets {ticker}: not listed on {where}; not recorded", file=sys.stderr)


def progress_line(p: FeedProgress) -> str:
    return (
        f"{p.elapsed_s:5.0f}s  {p.connection.value:<12} {p.messages_per_s:8.0f} msg/s  "
        f"markets {p.markets} ({p.valid_books} valid)  gaps {p.gaps}  resyncs {p.resyncs}  "
        f"reconnects {p.reconnects}  rows {p.rows_written}  dropped {p.dropped}"
    )


def run_record(
    options: RecordOptions, console: Console, *, environ: Mapping[str, str] | None = None
) -> RecordSummary:
    """The command's body: validate, record until the duration or a signal, print the summary."""
    env = process_environ() if environ is None else environ
    if not logging.getLogger().handlers:
        # Retries and reconnects show in the progress line; only errors deserve their own lines.
        logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    discovery = discovery_config(options)
    connection = None if wants_embedded_sim(options, env) else connection_from(options, env)
    url_setting = "KALSHIFLOW_URL" if not options.url and env.get("KALSHIFLOW_URL") else "--url"
    db_url = record_db_url(options, env)
    db_from_env = not options.db_url and bool(env.get(DB_ENV, "").strip())
    summary = asyncio.run(_record(options, discovery, connection, url_setting, db_url, db_from_env, console))
    session = "no session opened" if summary.session_id is None else f"session {summary.session_id}"
    console.print(
        f"{session}  markets {summary.markets}  messages {summary.messages}  "
        f"recorded {summary.recorded}  rows {summary.rows_written}  gaps {summary.gaps}  "
        f"dropped {summary.dropped}  duration {summary.duration_s:.1f}s"
    )
    return summary


def record_db_url(options: RecordOptions, env: Mapping[str, str]) -> str:
    """``--db``, then ``KALSHIFLOW_DB``, then the settings' ``[run] db`` (``KALSHIFLOW_RUN__DB``;
    record takes no settings file), then ``<data dir>/kalshiflow.db``: as ``run`` and ``status``."""
    try:
        settings_db = load_settings(None, env).run.db
    except SettingsError as exc:
        raise RecordUsageError(str(exc)) from None
    directory = paths.data_dir(None, env)
    url = paths.db_url(options.db_url, settings_db, env, directory)
    if url == paths.db_url(None, None, {}, directory):  # the default lives in the data directory
        try:
            paths.prepare_data_dir(directory)
        except paths.DataDirError as exc:
            raise RecordUsageError(str(exc)) from None
    return url


def _open_recorder(db_url: str, from_env: bool, clock: SystemClock) -> Recorder:
    try:
        return Recorder(db_url, clock)
    except (DatabaseConfigError, DatabaseUnavailableError) as exc:
        raise RecordUsageError(f"{exc} (taken from {DB_ENV})" if from_env else str(exc)) from None


async def _record(
    options: RecordOptions,
    discovery: DiscoveryConfig,
    connection: ExchangeConnection | None,
    url_setting: str,
    db_url: str,
    db_from_env: bool,
    console: Console,
) -> RecordSummary:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    clock = SystemClock()
    recorder = await asyncio.to_thread(_open_recorder, db_url, db_from_env, clock)
    started = time.monotonic()
    progress: FeedProgress | None = None
    try:
        async with contextlib.AsyncExitStack() as stack:
            if connection is None:
                connection = await unless_stopped(stop, _embedded_sim(stack, options, console))
            rest = KalshiRestClient.from_connection(
                connection, clock=clock, settings=RestSettings(read_backoff=Backoff(max_attempts=2))
            )
            stack.push_async_callback(rest.aclose)
            feed = MarketDataFeed(
                rest,
                StreamConfig(url=connection.ws_url, max_auth_failures=STREAM_AUTH_FAILURES),
                connection.signer(),
                FeedConfig(
                    discovery=discovery, refresh_s=options.refresh_s, exchange=connection.environment.value
                ),
                clock=clock,
                recorder=recorder,
            )
            stack.push_async_callback(feed.stop)
            exchange = connection
            selection = await unless_stopped(
                stop,
                start_feed(
                    feed, exchange, url_setting, lambda found: check_selection(found, options, exchange)
                ),
            )
            console.print(
                f"recording {plural(len(selection.tickers), 'market')} into session {recorder.session_id}"
            )
            await wait_live(feed, connection, stop)
            await _show_progress(feed, console, stop, options.duration_s)
            progress = feed.progress()
    except StoppedDuringStartup:  # Ctrl-C while the exchange was still being reached: nothing recorded
        console.print("stopped during startup: nothing recorded")
    finally:
        await recorder.aclose()  # idempotent: the feed normally closed it already
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    metrics = recorder.metrics()
    return RecordSummary(
        session_id=recorder.session_id,
        markets=0 if progress is None else progress.markets,
        messages=0 if progress is None else progress.messages,
        recorded=metrics.messages_seen,
        rows_written=metrics.rows_written,
        gaps=(0 if progress is None else progress.gaps) + metrics.gaps_written,
        dropped=metrics.messages_dropped + metrics.messages_write_failed,
        duration_s=time.monotonic() - started,
    )


async def _embedded_sim(
    stack: contextlib.AsyncExitStack, options: RecordOptions, console: Console
) -> ExchangeConnection:
    data_dir = simulator_data_dir(stack, "kalshiflow-record-")
    config = SimulatorConfig(port=0, data_dir=data_dir, n_markets=options.sim_markets)
    handle, connection = await embedded_simulator(stack, config)
    console.print(f"embedded simulator at {handle.address.rest_url}")
    return connection


async def _show_progress(
    feed: MarketDataFeed, console: Console, stop: asyncio.Event, duration_s: float | None
) -> None:
    """Update the progress line about once a second until the duration passes or ``stop`` is set.

    On a terminal the line is redrawn in place; otherwise (a pipe, a log file) one line is printed
    per interval, so the progress is visible in captured output too.
    """
    loop = asyncio.get_running_loop()
    deadline = None if duration_s is None else loop.time() + duration_s
    with contextlib.ExitStack() as stack:
        live = (
            stack.enter_context(Live(Text(""), console=console, refresh_per_second=4))
            if console.is_terminal
            else None
        )
        while not stop.is_set():
            wait_s = (
                PROGRESS_INTERVAL_S if deadline is None else min(PROGRESS_INTERVAL_S, deadline - loop.time())
            )
            if wait_s <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait_s)
            line = progress_line(feed.progress())
            if live is None:
                console.print(line)
            else:
                live.update(Text(line))
