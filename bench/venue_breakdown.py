"""Where a backtest run's wall time goes: the simulator's own work vs the venue plumbing vs the trader.

    PYTHONPATH=src python bench/venue_breakdown.py [--policy rules] [--seed 1] [--hours 0.5]
                                                   [--env hold|random --markets 20 --plumbing direct|wire]

One ``BacktestSession`` (or, with ``--env``, one ``TradingEnv`` episode stepping the hold action or
uniform random actions) in this process with exclusive timers (time spent in a nested bucket is
not counted again in its parent) around:

* ``simulator market``: ``HeadlessMarket.advance_to`` -- participants, the engine's matching;
* ``WS hub fan-out``: ``WsHub.on_event`` -- the simulator's frames for the trader's session (JSON);
* ``venue pump``: ``SimVenue.pump`` -- parsing those frames, applying them to the books;
* ``REST over ASGI``: ``RestTransport._send`` -- the client (signing, httpx) and the simulator's
  server application behind ``httpx.ASGITransport``;
* ``REST in process``: ``InProcessRestClient._send`` -- with ``--plumbing direct`` (the environment's
  default, ``train.inprocess``), the simulator's handlers called through its request pipeline;
* ``typed book deltas``: ``BookDeltas.on_event`` -- with ``--plumbing direct``, the engine's book
  changes handed over typed (the hub's rendering of the other frames nested in it is counted there);
* ``features``: ``MarketObserver.observe`` -- the schema-v1 observation (``features/*``);
* ``trader and driver``: everything else (core, exits, actor, features, the backtest's recording).

Answers the question the issue asks of the venue: what REST-over-ASGI and frame parsing cost next
to the simulator's own work. A wall-clock figure: say how busy the machine was (printed).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import inspect
import os
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from kalshiflow.commands.backtest.session import BacktestSession
from kalshiflow.config import Settings
from kalshiflow.exchange.rest_transport import RestTransport
from kalshiflow.sim.market.headless import HeadlessMarket
from kalshiflow.sim.server.ws_hub import WsHub
from kalshiflow.trader.decisions.observer import MarketObserver
from kalshiflow.train.env import TradingEnv
from kalshiflow.train.inprocess import BookDeltas, InProcessRestClient, Plumbing
from kalshiflow.train.session import SessionConfig
from kalshiflow.train.venue import SimVenue

SPENT: defaultdict[str, float] = defaultdict(float)
_STACK: list[list[float]] = []  # [started, nested seconds]


def _close(bucket: str) -> None:
    started, nested = _STACK.pop()
    total = time.perf_counter() - started
    SPENT[bucket] += total - nested
    if _STACK:
        _STACK[-1][1] += total


def timed(owner: Any, name: str, bucket: str) -> None:
    original: Callable[..., Any] = getattr(owner, name)
    if inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def wrapper_async(*args: Any, **kwargs: Any) -> Any:
            _STACK.append([time.perf_counter(), 0.0])
            try:
                return await original(*args, **kwargs)
            finally:
                _close(bucket)

        setattr(owner, name, wrapper_async)
    else:

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            _STACK.append([time.perf_counter(), 0.0])
            try:
                return original(*args, **kwargs)
            finally:
                _close(bucket)

        setattr(owner, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--policy", default="rules")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hours", type=float, default=0.5)
    parser.add_argument("--env", choices=("hold", "random"), default=None)
    parser.add_argument("--markets", type=int, default=20)
    parser.add_argument("--plumbing", choices=[p.value for p in Plumbing], default=Plumbing.DIRECT.value)
    args = parser.parse_args()
    timed(HeadlessMarket, "advance_to", "simulator market")
    timed(WsHub, "on_event", "WS hub fan-out")
    timed(SimVenue, "pump", "venue pump (frame parsing, books)")
    timed(RestTransport, "_send", "REST over ASGI (client + server app)")
    timed(InProcessRestClient, "_send", "REST in process (handlers + pipeline)")
    timed(BookDeltas, "on_event", "typed book deltas (engine listener)")
    timed(MarketObserver, "observe", "features (observation)")
    started = time.perf_counter()
    steps = 0
    if args.env is None:
        asyncio.run(
            BacktestSession(args.policy, args.seed, args.hours, Settings(), n_markets=args.markets).run()
        )
        what = f"{args.policy} seed {args.seed}, {args.hours:g} h"
    else:
        config = SessionConfig(n_markets=args.markets, plumbing=Plumbing(args.plumbing))
        env = TradingEnv(seeds=(args.seed,), episode_s=args.hours * 3600, config=config)
        rng = np.random.default_rng(args.seed)
        env.reset(seed=0)
        started = time.perf_counter()
        SPENT.clear()
        truncated = False
        while not truncated:
            *_, truncated, _ = env.step(0 if args.env == "hold" else int(rng.integers(0, 5)))
            steps += 1
        env.close()
        what = (
            f"env {args.env} ({args.plumbing}) seed {args.seed}, {args.hours:g} h, {args.markets} markets: "
            f"{steps} steps"
        )
    wall = time.perf_counter() - started
    SPENT["trader and driver"] = wall - sum(SPENT.values())
    rate = f", {steps / wall:.0f} steps/s" if steps else ""
    print(f"{what}: {wall:.2f} s wall{rate}, load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cpus")
    for bucket, seconds in sorted(SPENT.items(), key=lambda item: -item[1]):
        print(f"  {bucket:<38}{seconds:>7.2f} s {seconds / wall:>6.0%}")


if __name__ == "__main__":
    main()
