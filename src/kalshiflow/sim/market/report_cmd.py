"""``kalshiflow sim-report``: run the market headless, print the realism figures, write JSON + PNGs.

The command body behind the CLI: options in, files out, a short text summary back for the
terminal. Everything measured is in ``report.py``; the real-market reference is read from
``shared/market-data`` beside the repository (or ``$KALSHIFLOW_MARKET_DATA``) when it is there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kalshiflow.sim.market.profile import load_profile
from kalshiflow.sim.market.realdata import find_data_dir, load_real_market
from kalshiflow.sim.market.report import ReportOptions, run_market, summarize, write_report


def sim_report(
    seed: int,
    hours: float,
    markets: int,
    out_dir: Path,
    life_scale: float,
    profile_path: Path | None,
    environ: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], list[Path]]:
    """Run, measure and write the report; returns it with the files written."""
    profile = load_profile(profile_path) if profile_path is not None else None
    options = ReportOptions(seed=seed, hours=hours, markets=markets, life_scale=life_scale, profile=profile)
    data_dir = find_data_dir(environ=environ)
    real = load_real_market(data_dir) if data_dir is not None else None
    report = summarize(run_market(options), real)
    return report, write_report(report, out_dir)


def render(report: dict[str, Any]) -> str:
    """The report's headline figures as terminal text."""
    lines = [
        f"settled markets {report['settled_markets']}  trades {report['trades']}",
        "calibration (10¢ buckets):",
    ]
    for row in report["calibration"]:
        real = f"  Kalshi {row['real_excess']:+.2f}" if "real_excess" in row else ""
        lines.append(
            f"  {row['low_cents']:>2}-{row['low_cents'] + 9:<2}¢ n={row['n']:>6}  win−price {row['excess_expected']:+.2f} pp"
            f"{real}"
        )
    excess = report["excess_returns_pp"]
    taker, maker = excess["taker"]["expected"], excess["maker"]["expected"]
    if math.isnan(taker) and math.isnan(maker):
        lines.append("excess return: no trades")
    else:
        lines.append(f"excess return: taker {taker:+.2f} pp, maker {maker:+.2f} pp")
    liquid = report["spreads_liquid"]
    if liquid.get("n"):
        shares = "  ".join(f"{k}¢ {v:.0%}" for k, v in liquid["share"].items())
        lines.append(f"liquid spreads: {shares}  median {liquid['median_cents']:.1f}¢")
    thin = report.get("not_two_sided_thin", {})
    if thin:
        real = report.get("real", {}).get("not_two_sided_share")
        kalshi = f"  (Kalshi {real:.0%})" if real is not None else ""
        lines.append(
            "thin books not two-sided: " + "  ".join(f"{a} {v:.0%}" for a, v in thin.items()) + kalshi
        )
    sizes = "  ".join(f"{k}: {v:.0%}" for k, v in report["trade_sizes"].items())
    lines.append(f"trade sizes: {sizes or 'no trades'}")
    err = report["mid_minus_true_probability"]
    if err:
        lines.append(f"|mid − true p|: median {err['median_cents']:.2f}¢  p90 {err['p90_cents']:.1f}¢")
    ladder = report["ladder"]
    lines.append(
        f"ladder violations: {ladder['true_probability_violations']} true, {ladder['book_violations']} book"
    )
    for name, row in report["strategies_cents_per_contract"].items():
        lines.append(f"strategy {name}: {row['mean']:+.2f}¢ ± {row['ci95']:.2f} per contract")
    return "\n".join(lines)
