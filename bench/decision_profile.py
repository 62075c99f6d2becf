"""Where the decision path's time goes, by sampling: the rig's loop for a profiler, and its summary.

    # run the loop under py-spy (pip install py-spy; not a dependency), then summarise:
    PYTHONPATH=src:bench py-spy record -r 2000 -f raw -o /tmp/rules.txt -- \\
        python bench/decision_profile.py run --policy rules:signal --samples 150000
    PYTHONPATH=src:bench python bench/decision_profile.py summary /tmp/rules.txt
    # or a flame graph (bench/profiles/ holds the ones quoted in the README):
    PYTHONPATH=src:bench py-spy record -r 2000 -f flamegraph -o rules.svg -- python bench/decision_profile.py run

``run`` drives ``bench_decision_path``'s rig (``decision_rig``: 500 markets, one bus with five
subscribers of every event type, reactive exits with 50 positions held, the real ``Actor`` on the stub
venue) one delta at a time, without timing anything: a sampling profiler then sees the path as the
bench times it, plus what follows the stub venue's ``place`` (the acknowledgement, the ``TraderAction``
report), which the bench's figure excludes. Every delta is applied in ``one_delta`` so the summary can
root the stacks there and leave out the setup and the event loop's own turns.

``summary`` reads py-spy's collapsed stacks (``-f raw``) and prints each function's inclusive share of
the samples under ``one_delta`` and the lines with the most samples of their own. Why sampling rather
than ``cProfile``: the path is some 120 Python calls of 0.1-2 µs each, and a deterministic profiler's
per-call cost inflates exactly those; a sampler at 2 kHz leaves them at their weight.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
from collections import Counter
from pathlib import Path

from decision_rig import (
    attach_subscribers,
    build_rig,
    forget_placed,
    hold_positions,
    pick_markets,
    rig_actor,
)
from kalshiflow.commands.run_app import settle_startup_heap
from kalshiflow.exchange.ws_models import OrderbookDelta
from kalshiflow.features import SCHEMA_V1
from kalshiflow.policy.registry import load_policy

ROOT = "one_delta"  # its frames read "run.<locals>.one_delta (decision_profile.py:N)"


def run(spec: str, samples: int, markets: int, seed: int) -> None:
    policy = load_policy(spec, SCHEMA_V1)
    rig = build_rig(markets, seed)
    attach_subscribers(rig.core.bus, 5)
    hold_positions(rig, 50)
    settle_startup_heap()
    actor = rig_actor(rig, policy)

    async def one_delta(delta: OrderbookDelta) -> None:
        rig.books.apply_delta(delta)
        await actor.drain()

    async def loop() -> None:
        for i in pick_markets(markets, samples, random.Random(seed)):
            await one_delta(rig.models[i].next_delta())
            forget_placed(rig)
            await asyncio.sleep(0)  # the bus consumers drain, as in the bench

    asyncio.run(loop())


def summary(raw: Path, functions: int, lines: int) -> None:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        start = next((k for k, frame in enumerate(frames) if _function(frame) == ROOT), None)
        if start is None:
            continue
        n = int(count)
        total += n
        # A function counts once per stack (recursion would count it twice); lines are dropped.
        for name in {re.sub(r":\d+\)$", ")", frame) for frame in frames[start:]}:
            inclusive[name] += n
        own[frames[-1]] += n
    if not total:
        print(
            f"no stack under {ROOT!r} in {raw}: was it recorded with -f raw from 'decision_profile.py run'?"
        )
        return
    print(f"{total} samples under one_delta")
    print("inclusive share by function:")
    for name, n in inclusive.most_common(functions):
        print(f"  {100 * n / total:5.1f}%  {name}")
    print("own share by line:")
    for name, n in own.most_common(lines):
        print(f"  {100 * n / total:5.1f}%  {name}")


def _function(frame: str) -> str:
    """The bare function name of a py-spy frame ``qualified.name (file.py:line)``."""
    return frame.partition(" (")[0].rpartition(".")[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="the rig's decision loop, untimed, for a sampling profiler")
    r.add_argument("--policy", default="rules:signal")
    r.add_argument("--samples", type=int, default=150_000)
    r.add_argument("--markets", type=int, default=500)
    r.add_argument("--seed", type=int, default=1)
    s = sub.add_parser("summary", help="inclusive and own shares from py-spy's collapsed stacks (-f raw)")
    s.add_argument("raw", type=Path)
    s.add_argument("--functions", type=int, default=40)
    s.add_argument("--lines", type=int, default=25)
    args = parser.parse_args()
    if args.command == "run":
        run(args.policy, args.samples, args.markets, args.seed)
    else:
        summary(args.raw, args.functions, args.lines)


if __name__ == "__main__":
    main()
