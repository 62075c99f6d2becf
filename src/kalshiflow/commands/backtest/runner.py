"""``kalshiflow backtest``: every (policy, seed) run, in parallel processes, then the report.

Runs are independent (each builds its own simulated market from its seed), so they spread over
``jobs`` processes; results are gathered in (policy, seed) order, so the report does not depend on
which process finished first. Same seeds, same settings -> same figures.
"""

from __future__ import annotations

import asyncio
import re
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kalshiflow.commands.backtest.metrics import PolicySummary, summarize
from kalshiflow.commands.backtest.report import write_report
from kalshiflow.commands.backtest.session import BacktestSession, RunRecord, build_policy
from kalshiflow.config import Settings
from kalshiflow.textfmt import plural

_SEEDS = re.compile(r"^\d+(-\d+)?$")


class BacktestUsageError(ValueError):
    """A flag value the backtest cannot use; the message names the flag."""


class BacktestInterrupted(Exception):
    """Ctrl-C (SIGINT) or SIGTERM during the runs: the queued runs were cancelled and the running
    ones stopped."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__(f"interrupted: {done} of {total} runs finished; no report written")
        self.done = done
        self.total = total


_STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


def _leave_sigint_to_the_parent() -> None:
    # Ctrl-C reaches every process of the terminal's group. In a worker it would come back as that
    # run's result while the pool went on with every queued run (minutes of a silent "hang"); the
    # parent alone takes it, cancels what is queued and stops the workers -- with SIGTERM, which
    # must end a worker (a fork inherits the parent's handler below). The fork also inherits the
    # parent's blocked signals (``_signals_held``): unblocked only once these handlers are in place,
    # so a Ctrl-C that reached the worker while it started is dropped, a SIGTERM ends it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


@contextmanager
def _signals_held(main: bool) -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is done, then arrive as usual.

    Raised in the middle of the pool's own code (a worker forked but not yet registered, a
    finaliser half built), the KeyboardInterrupt left a worker the stop could not see -- it held the
    caller's pipes open -- or printed a multiprocessing traceback. Starting the pool and stopping it
    are short, so the signal waits for them and is raised where the caller's ``except`` is ready.
    Two parts: the main thread blocks the signals, so the workers it forks start with them blocked
    (``_leave_sigint_to_the_parent`` unblocks them once its handlers are set); and the handlers only
    note a signal, because the kernel may hand it to another thread (the progress bar's) and Python
    would then run the handler in the main thread, in the middle of the pool, mask or not.
    """
    if not main:  # handlers belong to the main thread; another thread has nothing to hold
        yield
        return
    arrived: list[int] = []

    def note(signum: int, _frame: object) -> None:
        arrived.append(signum)

    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    previous = {signum: signal.signal(signum, note) for signum in _STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            if handler is not None:  # None: set outside Python, left as the note (it is harmless)
                signal.signal(signum, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)  # one still pending arrives now
    for noted in dict.fromkeys(arrived):  # noted while held: delivered again, to the usual handler
        signal.raise_signal(noted)


class _Terminated(BaseException):
    """SIGTERM to the backtest: stop like Ctrl-C (by default the parent died alone and left its
    workers waiting forever for work, holding the terminal's pipes)."""


def _raise_terminated(_signum: int, _frame: object) -> None:
    raise _Terminated


def _stop_now(pool: ProcessPoolExecutor) -> None:
    processes = list(pool._processes.values()) if pool._processes else []
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join()


def run_calls(
    calls: Sequence[tuple[Callable[..., RunRecord], tuple[Any, ...]]],
    jobs: int,
    on_done: Callable[[RunRecord], None] | None = None,
) -> list[RunRecord]:
    """Each ``fn(*args)`` of ``calls`` (in this process, or over ``jobs`` processes), its records in
    the order of ``calls`` whatever finishes first; ``on_done`` is told of each finished run.
    Ctrl-C raises ``BacktestInterrupted`` at once: nothing queued runs, no worker is left running."""
    results: dict[int, RunRecord] = {}

    def finished(index: int, record: RunRecord) -> None:
        results[index] = record
        if on_done is not None:
            on_done(record)

    # Signal handlers belong to the main thread (a test may run a backtest in another one).
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if main else None
    try:
        if jobs <= 1:
            for index, (fn, args) in enumerate(calls):
                finished(index, fn(*args))
        else:
            pool: ProcessPoolExecutor | None = None
            try:
                with _signals_held(main):  # every worker starts and registers before a signal lands
                    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_leave_sigint_to_the_parent)
                    futures = {pool.submit(fn, *args): index for index, (fn, args) in enumerate(calls)}
                for future in as_completed(futures):
                    finished(futures[future], future.result())
            except BaseException:
                if pool is not None:
                    with _signals_held(main):  # a second Ctrl-C does not cut the stop short
                        _stop_now(pool)
                raise
            pool.shutdown()
    except (KeyboardInterrupt, _Terminated):
        raise BacktestInterrupted(len(results), len(calls)) from None
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
    return [results[index] for index in range(len(calls))]


def _seed_ranges(text: str) -> list[tuple[int, int]]:
    """``1-20``, ``3``, ``1,4,9-12`` -> the (first, last) ranges as written, checked."""
    ranges = []
    for part in (p.strip() for p in text.split(",")):
        if not _SEEDS.match(part):
            raise BacktestUsageError(f"--seeds {text!r}: write seeds as 1-20, 7 or 1,4,9-12")
        low, _, high = part.partition("-")
        first, last = int(low), int(high or low)
        if last < first:
            raise BacktestUsageError(f"--seeds {text!r}: range {part} runs backwards")
        ranges.append((first, last))
    return ranges


def seed_count(text: str) -> int:
    """How many distinct seeds ``text`` names, counted without listing them (``1-1000000000``
    is checked against the time it would take before anything is built)."""
    count, covered = 0, -1  # covered: the highest seed counted so far
    for first, last in sorted(_seed_ranges(text)):
        if last > covered:
            count += last - max(first, covered + 1) + 1
            covered = last
    return count


def parse_seeds(text: str) -> list[int]:
    """``1-20``, ``3``, ``1,4,9-12`` -> sorted distinct seeds."""
    seeds: set[int] = set()
    for first, last in _seed_ranges(text):
        seeds.update(range(first, last + 1))
    return sorted(seeds)


def parse_policies(text: str) -> list[str]:
    """Comma-separated specs, each checked by loading it once (a bad spec fails before any run)."""
    specs = [s.strip() for s in text.split(",") if s.strip()]
    if not specs:
        raise BacktestUsageError("--policy: name at least one policy (hold, random, rules, mlp:PATH)")
    for spec in specs:
        try:
            build_policy(spec, 0)
        except Exception as exc:
            raise BacktestUsageError(f"--policy {spec!r}: {exc}") from None
    return list(dict.fromkeys(specs))


@dataclass(frozen=True)
class BacktestOptions:
    policies: Sequence[str]
    seeds: Sequence[int]
    hours: float
    settings: Settings = field(default_factory=Settings)
    markets: int = 20
    jobs: int = 1
    out_dir: Path | None = None


def run_one(spec: str, seed: int, hours: float, settings: Settings, markets: int) -> RunRecord:
    """One run in this process (the worker function of the process pool)."""
    return asyncio.run(BacktestSession(spec, seed, hours, settings, n_markets=markets).run())


def run_all(
    options: BacktestOptions, on_done: Callable[[RunRecord], None] | None = None
) -> dict[str, list[RunRecord]]:
    """Every (policy, seed) run; ``on_done`` is told of each finished run (progress)."""
    tasks = [(spec, seed) for spec in options.policies for seed in options.seeds]
    records = run_calls(
        [(run_one, (spec, seed, options.hours, options.settings, options.markets)) for spec, seed in tasks],
        options.jobs,
        on_done,
    )
    results = dict(zip(tasks, records, strict=True))
    return {spec: [results[(spec, seed)] for seed in options.seeds] for spec in options.policies}


def backtest(
    options: BacktestOptions, on_done: Callable[[RunRecord], None] | None = None
) -> tuple[list[PolicySummary], list[Path]]:
    """Run, summarise and (with ``out_dir``) write the report; returns the summaries and files."""
    runs = run_all(options, on_done)
    summaries = [summarize(spec, runs[spec]) for spec in options.policies]
    files: list[Path] = []
    if options.out_dir is not None:
        seeds = f"{options.seeds[0]}-{options.seeds[-1]}" if len(options.seeds) > 1 else str(options.seeds[0])
        title = (
            f"backtest: {plural(len(options.seeds), 'seed')} ({seeds}) x {options.hours:g} h, "
            f"{plural(options.markets, 'market')}"
        )
        files = write_report(summaries, runs, options.out_dir, title)
    return summaries, files
