"""PNG plots of the realism report (matplotlib, Agg backend: no display needed).

One figure per question a reader asks: is it calibrated like Kalshi (sim against real, by
archetype), what do books look like (spread shares, spread by mid), how big are trades, and who
makes money (maker/taker excess, reference strategies).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def write_plots(report: dict[str, Any], out_dir: Path) -> list[Path]:
    return [
        _calibration(report, out_dir / "calibration.png"),
        _spreads(report, out_dir / "spreads.png"),
        _sizes(report, out_dir / "trade_sizes.png"),
        _returns(report, out_dir / "returns.png"),
    ]


def _calibration(report: dict[str, Any], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 5))
    rows = report["calibration"]
    ax.plot([r["mean_price"] for r in rows], [r["excess_expected"] for r in rows], "o-", label="sim (all)")
    if rows and "real_excess" in rows[0]:
        ax.plot(
            [r["mean_price"] for r in rows], [r["real_excess"] for r in rows], "k--", label="Kalshi (Becker)"
        )
    for archetype, table in report["calibration_by_archetype"].items():
        ax.plot(
            [r["mean_price"] for r in table], [r["excess_expected"] for r in table], ".:", label=archetype
        )
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.set_xlabel("traded price of the side bought (¢)")
    ax.set_ylabel("win rate − price (pp)")
    ax.set_title("Calibration: excess win rate by 10¢ bucket")
    ax.legend(fontsize=8)
    return _save(fig, path)


def _spreads(report: dict[str, Any], path: Path) -> Path:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    liquid = report["spreads_liquid"]
    labels = ["<=1", "<=2", "<=5", "<=10"]
    left.bar(
        [x - 0.2 for x in range(4)],
        [liquid.get("share", {}).get(k, 0) for k in labels],
        0.4,
        label="sim liquid",
    )
    real = report.get("real", {}).get("spread_shares", {})
    left.bar([x + 0.2 for x in range(4)], [real.get(k, 0) for k in labels], 0.4, label="Kalshi crypto")
    left.set_xticks(range(4), [f"{k}¢" for k in labels])
    left.set_title("Share of two-sided books by spread")
    left.legend()
    deciles = liquid.get("by_mid_decile", {})
    right.plot(list(deciles), list(deciles.values()), "o-", label="sim liquid")
    real_deciles = report.get("real", {}).get("spread_by_decile_cents", [])
    right.plot(range(len(real_deciles)), real_deciles, "k--", label="Kalshi crypto")
    right.set_xlabel("mid decile")
    right.set_ylabel("mean spread (¢)")
    right.legend()
    return _save(fig, path)


def _sizes(report: dict[str, Any], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    sim = report["trade_sizes"]
    real = report.get("real", {}).get("trade_size_shares", {})
    names = list(sim)
    ax.bar([x - 0.2 for x in range(len(names))], [sim[n] for n in names], 0.4, label="sim")
    ax.bar(
        [x + 0.2 for x in range(len(names))], [real.get(n, 0) for n in names], 0.4, label="Kalshi (Becker)"
    )
    ax.set_xticks(range(len(names)), names)
    ax.set_xlabel("contracts per trade")
    ax.set_title("Trade size distribution (by count)")
    ax.legend()
    return _save(fig, path)


def _returns(report: dict[str, Any], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(8, 4.5))
    strategies = report["strategies_cents_per_contract"]
    names = list(strategies)
    ax.bar(
        names, [strategies[n]["mean"] for n in names], yerr=[strategies[n]["ci95"] for n in names], capsize=4
    )
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.set_ylabel("P&L per contract, realised (¢)")
    excess = report["excess_returns_pp"]
    ax.set_title(
        f"Reference strategies · taker excess {excess['taker']['expected']:+.2f} pp, "
        f"maker {excess['maker']['expected']:+.2f} pp"
    )
    return _save(fig, path)


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
