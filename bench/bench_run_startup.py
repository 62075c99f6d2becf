"""``kalshiflow run`` start -> first ``trading`` state, against the embedded simulator (target <= 3 s).

    PYTHONPATH=src:. python bench/bench_run_startup.py [--repeats 5] [--sim-markets 20] [--no-cli]

1. In-process: ``TraderApp(RunOptions(settings, connection=None, ...), build_decider).run(stop)``,
   the composition ``kalshiflow run`` uses, with default settings (``load_settings(environ={})``,
   rules policy) except a fresh SQLite store and simulator data directory in a temporary directory
   each time. Timed from calling ``run()`` to the lifecycle listener seeing the first entry whose
   status is ``trading``; then the stop event is set and the time to a clean return is printed too.
   Included: store open, embedded simulator start on loopback with a generated key, exchange status
   and balance reads, discovery, WebSocket connect and subscriptions, books valid, private channels,
   order groups, the startup calibration and the policy load. Excluded: interpreter start and
   imports (already done), the rich view.
2. For reference, the command itself: ``kalshiflow run --duration 1 --no-view`` as a subprocess in
   a temporary working directory (fresh store), timed from spawn to the first stdout line showing
   ``trading`` (includes interpreter start and imports) and to exit (adds the 1 s run and shutdown).

Expect a starlette ``ClientDisconnect`` ERROR traceback from the embedded simulator after most
in-process starts: stopping right at ``trading`` cancels the actor while its first create request
is in flight, and the server logs the dropped request. It does not affect the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kalshiflow.commands.decider import build_decider
from kalshiflow.commands.run_app import RunOptions, TraderApp
from kalshiflow.config import load_settings
from kalshiflow.trader.lifecycle.states import StatusEntry

ROOT = Path(__file__).resolve().parents[1]


async def one_start(directory: Path, sim_markets: int, seed: int) -> tuple[float, float, list[str]]:
    """(seconds to first trading, seconds to clean return, status lines up to trading)."""
    settings = load_settings(
        environ={},
        overrides={"run": {"db": f"sqlite:///{directory / 'kf.db'}", "log_file": str(directory / "kf.log")}},
    )
    options = RunOptions(
        settings=settings,
        connection=None,
        sim_seed=seed,
        sim_markets=sim_markets,
        sim_data_dir=directory / "sim",
    )
    app = TraderApp(options, build_decider)
    stop = asyncio.Event()
    trading_at: list[float] = []
    lines: list[str] = []

    def on_status(entry: StatusEntry) -> None:
        if not trading_at:
            lines.append(
                f"{(time.perf_counter() - start) * 1000:7.0f} ms  {entry.status:<30} {entry.result_text}"
            )
        if entry.status == "trading" and not trading_at:
            trading_at.append(time.perf_counter())
            stop.set()

    def drain_status() -> None:
        for item in watching.drain():
            if isinstance(item, StatusEntry):
                on_status(item)

    watching = app.bus.subscribe("bench", [StatusEntry], on_ready=drain_status)
    start = time.perf_counter()
    code = await asyncio.wait_for(app.run(stop), timeout=60)
    done = time.perf_counter()
    if code != 0 or not trading_at:
        raise RuntimeError(f"run() returned {code} without reaching trading: {lines}")
    return trading_at[0] - start, done - start, lines


def cli_start(sim_markets: int) -> tuple[float | None, float, int]:
    """(seconds to the first stdout line showing trading, seconds to exit, exit code)."""
    exe = Path(sys.executable).parent / "kalshiflow"
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "kalshiflow.cli"]
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    with tempfile.TemporaryDirectory() as directory:
        start = time.perf_counter()
        process = subprocess.Popen(
            [*command, "run", "--duration", "1", "--no-view", "--db", f"sqlite:///{directory}/kf.db"],
            cwd=directory,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        trading: float | None = None
        assert process.stdout is not None
        for line in process.stdout:
            if trading is None and " trading " in f" {line.split('  ', 1)[-1].strip()} ":
                trading = time.perf_counter() - start
        code = process.wait()
        return trading, time.perf_counter() - start, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sim-markets", type=int, default=20, help="markets the embedded simulator lists")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-cli", action="store_true", help="skip the subprocess measurement")
    args = parser.parse_args()

    to_trading: list[float] = []
    for i in range(args.repeats):
        with tempfile.TemporaryDirectory() as directory:
            first, total, lines = asyncio.run(one_start(Path(directory), args.sim_markets, args.seed))
        to_trading.append(first)
        print(
            f"run {i + 1}: run() -> first 'trading' {first:.3f} s   (run() returned after stop: {total:.3f} s)"
        )
        if i == 0:
            for line in lines:
                print(f"    {line}")
    median = statistics.median(to_trading)
    print(
        f"in-process, {args.repeats} starts: median {median:.3f} s, min {min(to_trading):.3f} s, "
        f"max {max(to_trading):.3f} s -> target <= 3 s {'met' if max(to_trading) <= 3.0 else 'NOT met'}"
    )
    if not args.no_cli:
        trading, total, code = cli_start(args.sim_markets)
        shown = "not seen" if trading is None else f"{trading:.3f} s"
        print(
            f"subprocess `kalshiflow run --duration 1 --no-view`: spawn -> first 'trading' line {shown}, "
            f"spawn -> exit {total:.3f} s (exit code {code})"
        )


if __name__ == "__main__":
    main()
