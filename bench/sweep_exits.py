"""Sweep of the price-space exit thresholds (and the old pnl% rule) through ``kalshiflow backtest``.

Usage: ``PYTHONPATH=src python bench/sweep_exits.py [--seeds 1-4] [--hours 1] [--policies random,rules]
[--only "move 2/2;no tp/sl/max-hold"]``.
Prints, per exit setting and policy, P&L after fees (mean ± 95% CI over seeds), fills and exit
reasons. The defaults of ``ExitRulesConfig`` are chosen from this table (README, "Exits").
"""

from __future__ import annotations

import argparse
import time

from kalshiflow.commands.backtest.runner import BacktestOptions, backtest, parse_seeds
from kalshiflow.config import load_settings

SETTINGS = {
    "pct 20/10 (old)": {"price_exit_metric": "pct"},
    "move 2/2": {"take_profit_cents": "2", "stop_loss_cents": "2"},
    "move 4/4": {"take_profit_cents": "4", "stop_loss_cents": "4"},
    "move 6/6": {"take_profit_cents": "6", "stop_loss_cents": "6"},
    "move 10/10": {"take_profit_cents": "10", "stop_loss_cents": "10"},
    "move 6/6 scaled": {"take_profit_cents": "6", "stop_loss_cents": "6", "scale_to_range": True},
    "no tp/sl": {"take_profit_enabled": False, "stop_loss_enabled": False},
    "no tp/sl/max-hold": {
        "take_profit_enabled": False,
        "stop_loss_enabled": False,
        "max_hold_enabled": False,
    },
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="1-4")
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--policies", default="random,rules")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    seeds = parse_seeds(args.seeds)
    policies = args.policies.split(",")
    names = [n for n in SETTINGS if not args.only or n in args.only.split(";")]
    print(f"seeds {args.seeds}, {args.hours:g} h, policies {args.policies}")
    for name in names:
        started = time.perf_counter()
        settings = load_settings(environ={}, overrides={"exit_rules": SETTINGS[name]})
        options = BacktestOptions(policies, seeds, args.hours, settings, jobs=args.jobs)
        summaries, _ = backtest(options)
        for s in summaries:
            d = s.decomposition
            reasons = ", ".join(f"{k} {v}" for k, v in s.exit_reasons.items())
            print(
                f"{name:<18} {s.policy:<8} P&L ${s.pnl_mean:+7.2f} ± {s.pnl_ci95:5.2f}  "
                f"held ${s.pnl_at_true_mean:+7.2f} ± {s.pnl_at_true_ci95:5.2f}  fills {s.fills:5d}  "
                f"fee {d.fee:.2f}¢ spread {d.spread_vs_mid or 0:+.2f}¢ settle-edge {d.markouts['settle'] or 0:+.2f}¢"
                f"  exits: {reasons}",
                flush=True,
            )
        print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
