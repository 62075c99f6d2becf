"""Policy benchmark: ``decide()`` latency of the rule policy and of an MLP (52 -> 64 -> 64 -> 5).

Observations are pre-built so only ``decide`` is timed, one call per ``perf_counter_ns`` pair (the
timer's own cost, ~50-100 ns, is included). Rule observations are realistic enough to reach every
branch: tight one- or two-tick books with random touch and depth pressure and random positions,
plus some wide-spread, one-sided and near-close books; the branch mix is printed. The MLP is a
random network written with ``write_mlp_policy`` and loaded back with ``load_mlp_policy`` (with
VecNormalize statistics), fed observations drawn uniformly from the schema v1 ranges.

Target (issue 5): the whole delta -> order path has p99 <= 300 µs, so a policy should stay <= ~50 µs.

    PYTHONPATH=src python bench/bench_policy.py [--calls 100000] [--seed 1]
"""

from __future__ import annotations

import argparse
import itertools
import random
import tempfile
import time
from collections import Counter
from collections.abc import Sequence

import numpy as np

from kalshiflow.features.schema import SCHEMA_V1
from kalshiflow.policy.base import Policy
from kalshiflow.policy.export_tools import write_mlp_policy
from kalshiflow.policy.mlp import load_mlp_policy
from kalshiflow.policy.rules import RulePolicy, normalised_time_to_close

TARGET_P99_US = 50.0


def rule_observations(n: int, rng: random.Random) -> list[tuple[float, ...]]:
    index = {name: i for i, name in enumerate(SCHEMA_V1.names)}
    out = []
    for _ in range(n):
        obs = [0.0] * SCHEMA_V1.size
        tick = rng.choice((1.0, 1.0, 1.0, 0.1))
        ticks = rng.choice((1, 1, 1, 2, 2, 3, 5))
        spread = ticks * tick / 100.0
        mid = rng.uniform(0.02, 0.98)
        imbalance_l1 = rng.uniform(-1.0, 1.0)
        obs[index["mid"]] = mid
        obs[index["yes_bid"]] = mid - spread / 2
        obs[index["yes_ask"]] = mid + spread / 2
        obs[index["spread"]] = spread
        obs[index["tick_size"]] = tick
        obs[index["microprice_offset"]] = imbalance_l1 * spread / 2
        obs[index["imbalance_l1"]] = imbalance_l1
        obs[index["imbalance_l3"]] = max(-1.0, min(1.0, imbalance_l1 * 0.6 + rng.uniform(-0.4, 0.4)))
        obs[index["imbalance_l5"]] = max(-1.0, min(1.0, imbalance_l1 * 0.4 + rng.uniform(-0.5, 0.5)))
        obs[index["bid_depth_l1"]] = 0.0 if rng.random() < 0.03 else rng.uniform(0.1, 0.8)
        obs[index["ask_depth_l1"]] = 0.0 if rng.random() < 0.03 else rng.uniform(0.1, 0.8)
        obs[index["time_to_close"]] = normalised_time_to_close(rng.choice((60, 300, 3_600, 86_400, 86_400)))
        obs[index["position"]] = rng.choice((0.0, 0.0, 0.1, -0.1, 0.3, -0.3, 0.5, -0.5))
        out.append(tuple(obs))
    return out


def mlp_observations(n: int, rng: np.random.Generator) -> list[tuple[float, ...]]:
    values = rng.uniform(SCHEMA_V1.lows, SCHEMA_V1.highs, (n, SCHEMA_V1.size))
    return [tuple(row) for row in values.tolist()]


def time_decide(policy: Policy, observations: Sequence[tuple[float, ...]], calls: int) -> list[int]:
    decide = policy.decide
    clock = time.perf_counter_ns
    for obs in observations[:1_000]:  # warm caches and numpy's dispatch
        decide(obs)
    samples = [0] * calls
    n = len(observations)
    for i in range(calls):
        obs = observations[i % n]
        start = clock()
        decide(obs)
        samples[i] = clock() - start
    return samples


def report(label: str, samples: list[int]) -> float:
    ordered = sorted(samples)
    n = len(ordered)
    mean_us = sum(ordered) / n / 1_000
    p50, p99, p999 = (ordered[min(n - 1, int(q * n))] / 1_000 for q in (0.5, 0.99, 0.999))
    print(
        f"{label:<28} calls={n:>7}  mean={mean_us:6.2f} µs  p50={p50:6.2f} µs  p99={p99:6.2f} µs  "
        f"p99.9={p999:6.2f} µs  max={ordered[-1] / 1_000:7.1f} µs"
    )
    return p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    rules = RulePolicy(SCHEMA_V1)
    rule_obs = rule_observations(10_000, random.Random(args.seed))
    mix = Counter(str(rules.decide(obs).reason) for obs in rule_obs)
    print(
        "rule branch mix:",
        ", ".join(f"{reason}={count / len(rule_obs):.0%}" for reason, count in mix.most_common()),
    )

    np_rng = np.random.default_rng(args.seed)
    n = SCHEMA_V1.size
    sizes = (n, 64, 64, 5)
    layers = [
        (np_rng.normal(0.0, n_in**-0.5, (n_in, n_out)), np_rng.normal(0.0, 0.1, n_out))
        for n_in, n_out in itertools.pairwise(sizes)
    ]
    with tempfile.TemporaryDirectory() as directory:
        write_mlp_policy(
            directory,
            layers,
            schema=SCHEMA_V1,
            obs_mean=np_rng.uniform(0.0, 0.5, n).tolist(),
            obs_std=np_rng.uniform(0.1, 1.0, n).tolist(),
        )
        mlp = load_mlp_policy(directory, SCHEMA_V1)
    mlp_obs = mlp_observations(10_000, np_rng)

    worst = max(
        report("rules", time_decide(rules, rule_obs, args.calls)),
        report("mlp 52-64-64-5 (tanh)", time_decide(mlp, mlp_obs, args.calls)),
    )
    verdict = "OK" if worst <= TARGET_P99_US else "ABOVE TARGET"
    print(f"target p99 <= {TARGET_P99_US:.0f} µs per decide: {verdict}")


if __name__ == "__main__":
    main()
