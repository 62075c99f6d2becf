"""Real Kalshi statistics the simulated market is measured against (``../shared/market-data/``).

Read from the CSV/JSON files as published (sources and licences in that folder's README), reduced
to the shapes the realism report compares: 10¢ calibration buckets (win rate minus mean price),
maker and taker excess returns, spread shares and spread by mid decile of liquid crypto ladders,
and how often books are two-sided. The trade-size shares by count are the one figure published only
in prose (Becker, quoted in the README); they are kept here with that citation.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

# Becker, "The Microstructure of Wealth Transfer in Prediction Markets": share of trades by size.
TRADE_SIZE_SHARES: Final = {"1": 0.06, "2-10": 0.21, "11-100": 0.44, "101-1000": 0.25, ">1000": 0.04}
DATA_ENV: Final = "KALSHIFLOW_MARKET_DATA"


@dataclass(frozen=True, slots=True)
class Bucket:
    """One 10¢ calibration bucket: trades, win rate and mean traded price (both in percent)."""

    low_cents: int
    trades: float
    win_rate_pct: float
    mean_price_pct: float

    @property
    def excess_pct(self) -> float:
        return self.win_rate_pct - self.mean_price_pct


@dataclass(frozen=True, slots=True)
class RealMarket:
    calibration: tuple[Bucket, ...]
    taker_excess_pp: float
    maker_excess_pp: float
    spread_shares: dict[str, float]  # "<=1", "<=2", "<=5" cents, two-sided snapshots
    spread_by_decile_cents: tuple[float, ...]  # mean spread per mid decile 0..9
    two_sided_share: float
    one_sided_share: float
    trade_size_shares: dict[str, float]


def find_data_dir(start: Path | None = None, environ: Mapping[str, str] | None = None) -> Path | None:
    """``$KALSHIFLOW_MARKET_DATA`` (in ``environ``, which the composition layer reads), else
    ``shared/market-data`` beside the repository (searched upward from ``start``, the working
    directory and this file)."""
    env = (environ or {}).get(DATA_ENV)
    if env:
        return Path(env)
    origins = [p for p in (start, Path.cwd(), Path(__file__).resolve()) if p is not None]
    for origin in origins:
        for folder in (origin, *origin.parents):
            candidate = folder / "shared" / "market-data"
            if (candidate / "becker" / "win_rate_by_price.csv").is_file():
                return candidate
    return None


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def load_real_market(data_dir: Path) -> RealMarket:
    win = _rows(data_dir / "becker" / "win_rate_by_price.csv")
    buckets = []
    for low in range(0, 100, 10):
        rows = [r for r in win if low <= int(r["price"]) < low + 10 and 1 <= int(r["price"]) <= 99]
        trades = sum(float(r["total_trades"]) for r in rows)
        wins = sum(float(r["wins"]) for r in rows)
        mean_price = sum(float(r["total_trades"]) * int(r["price"]) for r in rows) / trades
        buckets.append(Bucket(low, trades, 100 * wins / trades, mean_price))
    mis = _rows(data_dir / "becker" / "mispricing_by_price.csv")

    def excess(role: str) -> float:
        trades = sum(float(r[f"{role}_trades"]) for r in mis)
        wins = sum(float(r[f"{role}_wins"]) for r in mis)
        paid = sum(float(r[f"{role}_trades"]) * int(r["price"]) for r in mis)
        return (100 * wins - paid) / trades

    spread = _rows(data_dir / "himagna16" / "spread_by_bucket.csv")
    total = sum(float(r["n"]) for r in spread)
    shares = {
        f"<={c}": sum(float(r["n"]) for r in spread if int(r["spread_cents"]) <= c) / total for c in (1, 2, 5)
    }
    by_decile = []
    for decile in range(10):
        rows = [r for r in spread if int(r["mid_decile"]) == decile]
        n = sum(float(r["n"]) for r in rows)
        by_decile.append(sum(float(r["n"]) * int(r["spread_cents"]) for r in rows) / n)
    summary = json.loads((data_dir / "himagna16" / "summary.json").read_text())
    states = summary["quote_state"]
    snapshots = sum(states.values())
    return RealMarket(
        calibration=tuple(buckets),
        taker_excess_pp=excess("taker"),
        maker_excess_pp=excess("maker"),
        spread_shares=shares,
        spread_by_decile_cents=tuple(by_decile),
        two_sided_share=states["two_sided"] / snapshots,
        one_sided_share=states["one_sided"] / snapshots,
        trade_size_shares=dict(TRADE_SIZE_SHARES),
    )
