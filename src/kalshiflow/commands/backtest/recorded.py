"""``kalshiflow backtest --sessions PATH``: the same runs over recorded sessions instead of seeds.

PATH is a recording database as ``record`` writes it: a SQLite file path, a ``sqlite:///`` URL or a
PostgreSQL URL. Every session in it that holds messages is one run per policy (the session id takes
the seed's place in the report); ``--session-ids 1,3-5`` (or ``PATH#1,3-5``) selects some. Each run
is ``BacktestSession``'s -- the real trader core, lifecycle, observer and actor, the same decision
code -- over a ``RecordedVenue`` (the simulator's exchange whose book is the recording, see
``kalshiflow.sim.recorded.fill_model`` for how orders fill), for the session's whole length.

At the end a position is valued at the market's result when the recording has one; recordings carry
no results today, so open positions are marked to the last mid (YES mid for a YES position, its
complement for NO, floored to $0.000001), and the settlement markout of each fill is that mid too.
The report says so, with the fill model's assumptions (``FILL_MODEL_NOTES``).
"""

from __future__ import annotations

import asyncio
import html
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from rich.console import Console

from kalshiflow.commands.backtest.metrics import PolicySummary, summarize
from kalshiflow.commands.backtest.progress import with_progress
from kalshiflow.commands.backtest.report import render_text, write_report
from kalshiflow.commands.backtest.runner import BacktestUsageError, parse_policies, parse_seeds, run_calls
from kalshiflow.commands.backtest.session import STARTING_BALANCE, BacktestSession, RunRecord
from kalshiflow.config import Settings
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Money
from kalshiflow.marketdata.bookstore import BookStore
from kalshiflow.marketdata.replay import list_sessions
from kalshiflow.store import db
from kalshiflow.textfmt import plural
from kalshiflow.trader.core import TraderCore
from kalshiflow.trader.decisions.actor import Actor
from kalshiflow.train.recorded_venue import OPENING_MS, RecordedVenue, recording_span
from kalshiflow.train.venue import SimVenue

FILL_MODEL_NOTES: Final = (
    "Fills are modelled from recorded depth (no recorded trades, our orders absent from the recording).",
    "Crossing orders fill against the recorded depth at the time, best level first, partially when it "
    "runs out; depth we took stays taken until the recording shows the level emptied or refilled.",
    "Resting orders join the back of the queue (queue ahead = recorded size at their price when placed); "
    "size added later queues behind them.",
    "A decrease below the best level is a cancel from the back of the queue; a decrease at the best level "
    "that leaves size is a cancel from the front (moves us up, never fills us); only a best level removed "
    "entirely is a trade of its size, which fills us beyond the queue ahead.",
    "A recorded order arriving on the other side at a price that crosses ours fills us at our price.",
    "Fees, positions and cash are the simulator exchange's (Kalshi's quadratic fee schedule).",
    "Gaps and invalidations in the recording freeze those markets until their next snapshot: all recorded "
    "depth is withdrawn, so orders sent meanwhile fill against nothing recorded; our resting orders keep "
    "their place and the snapshot's size at their price queues behind them (optimistic by at most the "
    "queue ahead at the freeze).",
    "Recordings carry no results: open positions at the end are marked to the last mid.",
)


@dataclass(frozen=True)
class SessionSource:
    """The recording database (URL) and the sessions to run, with their lengths in ms."""

    url: str
    sessions: tuple[tuple[int, int], ...]  # (session id, duration ms)


def _database_url(path: str) -> str:
    if "://" in path:
        try:
            url = db.normalize_url(path)
        except db.DatabaseConfigError as exc:
            raise BacktestUsageError(f"--sessions: {str(exc).replace(' --db', '')}") from None
        # A recording is read, never created: SQLite would make an empty file at a mistyped path.
        if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_file():
            raise BacktestUsageError(
                f"--sessions {db.redact_url(path)}: no such file (give a SQLite file or a database URL)"
            )
        return path
    file = Path(path).expanduser()
    if not file.is_file():
        raise BacktestUsageError(f"--sessions {path}: no such file (give a SQLite file or a database URL)")
    return f"sqlite:///{file.resolve()}"


def parse_sessions(path: str, session_ids: str | None = None) -> SessionSource:
    """Open PATH, list its sessions and keep those selected that hold messages; one-line errors."""
    path, _, fragment = path.partition("#")
    selection = session_ids or fragment or None
    # Name the flag the selection came from: --session-ids, or the fragment of --sessions PATH#ids.
    shown_path = db.redact_url(path) if "://" in path else path
    flag = "--session-ids" if session_ids else f"--sessions {shown_path}#{fragment}"
    try:
        wanted = set(parse_seeds(selection)) if selection else None
    except BacktestUsageError:
        if session_ids:
            raise BacktestUsageError(
                f"--session-ids {selection!r}: write session ids as 1-5, 7 or 1,4,9-12"
            ) from None
        raise BacktestUsageError(f"{flag}: write session ids after '#' as 1-5, 7 or 1,4,9-12") from None
    url = _database_url(path.strip())
    try:
        engine = db.open_engine(url)
    except (db.DatabaseConfigError, db.DatabaseUnavailableError) as exc:
        raise BacktestUsageError(f"--sessions: {str(exc).replace(' --db', '')}") from None
    try:
        try:
            infos = list_sessions(engine)
        except Exception as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise BacktestUsageError(
                f"--sessions {db.redact_url(url)}: not a recording database ({reason})"
            ) from None
        found = {info.id for info in infos}
        if wanted is not None and not wanted <= found:
            missing = ", ".join(str(i) for i in sorted(wanted - found))
            held = ", ".join(str(i) for i in sorted(found))
            there = (
                f"it holds session{'s' if len(found) > 1 else ''} {held}" if found else "it holds no session"
            )
            raise BacktestUsageError(f"{flag}: no session {missing} in {db.redact_url(url)} ({there})")
        chosen: list[tuple[int, int]] = []
        for info in infos:
            if wanted is not None and info.id not in wanted:
                continue
            span = recording_span(engine, info.id)
            if span is not None and span.duration_ms > OPENING_MS:
                chosen.append((info.id, span.duration_ms))
    finally:
        engine.dispose()
    if not chosen:
        raise BacktestUsageError(
            f"--sessions {db.redact_url(url)}: no recorded session with messages to replay"
        )
    return SessionSource(url, tuple(chosen))


class RecordedBacktestSession(BacktestSession):
    """``BacktestSession`` over one recorded session (``seed`` in its record is the session id)."""

    def __init__(self, spec: str, url: str, session_id: int, duration_ms: int, settings: Settings) -> None:
        hours = max(0, duration_ms - OPENING_MS) / 3_600_000
        super().__init__(spec, session_id, hours, settings)
        self.url = url
        self.session_id = session_id

    async def run(self) -> RunRecord:
        engine = db.open_engine(self.url)
        try:
            span = recording_span(engine, self.session_id)
            if span is None:
                raise LookupError(f"recording session {self.session_id} holds no messages")
            venue = RecordedVenue(engine, span, STARTING_BALANCE)
            try:
                return await self._run(venue)
            finally:
                await venue.aclose()
        finally:
            engine.dispose()

    def _finish(self, core: TraderCore, venue: SimVenue, books: BookStore, actor: Actor) -> None:
        super()._finish(core, venue, books, actor)
        rec = self.record
        marked = int(core.ledger.cash + core.ledger.reserved)
        for position in core.ledger.open_positions():
            mid2 = _mid2(books, position.ticker)  # 2 x YES mid in $0.0001, or None
            if mid2 is None:
                marked += int(position.cost_basis)  # no book at the end: carried at cost
                continue
            count = int(position.position)
            value2 = count * mid2 if count > 0 else -count * (20_000 - mid2)
            marked += value2 // 2
        rec.end_equity = Money(marked)
        if rec.equity:
            rec.equity[-1] = (rec.equity[-1][0], rec.end_equity)
        for fill in rec.fills:
            mid2 = _mid2(books, fill.ticker)
            if "settle" not in fill.markouts and mid2 is not None:
                fill.markouts["settle"] = mid2 / 20_000


def _mid2(books: BookStore, ticker: str) -> int | None:
    book = books.book(ticker)
    if book is None or not book.valid:
        return None
    bid, ask = book.best_bid(OutcomeSide.YES), book.best_ask(OutcomeSide.YES)
    if bid is None or ask is None:
        return None
    return int(bid) + int(ask)


@dataclass(frozen=True)
class RecordedOptions:
    policies: Sequence[str]
    source: SessionSource
    settings: Settings = field(default_factory=Settings)
    jobs: int = 1
    out_dir: Path | None = None


def run_session(spec: str, url: str, session_id: int, duration_ms: int, settings: Settings) -> RunRecord:
    """One run in this process (the worker function of the process pool)."""
    return asyncio.run(RecordedBacktestSession(spec, url, session_id, duration_ms, settings).run())


def run_recorded(
    options: RecordedOptions, on_done: Callable[[RunRecord], None] | None = None
) -> dict[str, list[RunRecord]]:
    """Every (policy, session) run, gathered in (policy, session) order whatever finishes first."""
    src = options.source
    tasks = [(spec, sid, ms) for spec in options.policies for sid, ms in src.sessions]
    records = run_calls(
        [(run_session, (spec, src.url, sid, ms, options.settings)) for spec, sid, ms in tasks],
        options.jobs,
        on_done,
    )
    results = {(spec, sid): record for (spec, sid, _), record in zip(tasks, records, strict=True)}
    return {spec: [results[(spec, sid)] for sid, _ in src.sessions] for spec in options.policies}


def backtest_recorded(
    options: RecordedOptions, on_done: Callable[[RunRecord], None] | None = None
) -> tuple[list[PolicySummary], list[Path]]:
    """Run, summarise and (with ``out_dir``) write the report with the fill model's assumptions."""
    runs = run_recorded(options, on_done)
    summaries = [summarize(spec, runs[spec]) for spec in options.policies]
    files: list[Path] = []
    if options.out_dir is not None:
        src = options.source
        hours = sum(ms for _, ms in src.sessions) / 3_600_000
        ids = ", ".join(str(sid) for sid, _ in src.sessions)
        title = (
            f"backtest over recorded sessions: {plural(len(src.sessions), 'session')} ({ids}) from "
            f"{db.redact_url(src.url)}, {hours:.2f} h recorded in total"
        )
        files = write_report(summaries, runs, options.out_dir, title)
        _add_fill_model(options.out_dir)
        files.append(options.out_dir / "fill_model.txt")
    return summaries, files


def _add_fill_model(out_dir: Path) -> None:
    """The assumptions, as a section of report.html and as fill_model.txt next to it."""
    (out_dir / "fill_model.txt").write_text("\n".join(f"- {note}" for note in FILL_MODEL_NOTES) + "\n")
    page = out_dir / "report.html"
    items = "".join(f"<li>{html.escape(note)}</li>" for note in FILL_MODEL_NOTES)
    section = f"<h2>Recorded sessions: fill model assumptions</h2><ul>{items}</ul>"
    text = page.read_text()
    page.write_text(text.replace("</body>", section + "</body>", 1))


def run_recorded_command(
    policy: str,
    sessions: str,
    session_ids: str | None,
    settings: Settings,
    jobs: int | None,
    out_dir: Path | None,
    console: Console,
) -> None:
    """``backtest --sessions``: check the flags, run with a progress bar, print the table and files."""
    options = RecordedOptions(
        policies=parse_policies(policy),
        source=parse_sessions(sessions, session_ids),
        settings=settings,
        jobs=jobs if jobs is not None else max(1, min(2, os.cpu_count() or 1)),
        out_dir=out_dir,
    )
    total = len(options.policies) * len(options.source.sessions)
    summaries, files = with_progress(
        console,
        "backtest (recorded sessions)",
        "session",
        total,
        lambda done: backtest_recorded(options, done),
    )
    console.print("recorded sessions: open positions at the end are marked to the last mid", highlight=False)
    console.print(render_text(summaries), highlight=False)
    for path in files:
        console.print(f"wrote {path}")
