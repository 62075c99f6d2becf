"""The realism report: run the market headless, measure it, compare with real Kalshi.

``run_report(options)`` drives a ``HeadlessMarket`` for ``hours`` of simulated time (sampling every
book once a simulated minute), then ``summarize`` reduces what the ``Observer`` saw to one JSON-able
dict: calibration (10¢ buckets, against realised outcomes and against the exact true probability,
overall and by archetype), maker and taker excess returns, spreads, quote states, depth and levels,
book changes and trades per market-minute, trade sizes, |mid − true probability|, ladder
violations, and the reference strategies' per-contract P&L with 95% confidence intervals
(clustered by market). Each figure sits beside its real counterpart when the real data is found.

Calibration is measured as the *excess* of a bucket (win rate minus mean traded price, in
percentage points), which is what the favourite–longshot bias is; comparing raw win rates would
mix in how prices are spread inside a 10¢ bucket.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kalshiflow.domain.settlement import MarketResult
from kalshiflow.sim.market.headless import HeadlessMarket
from kalshiflow.sim.market.observe import Observer, TradeRow
from kalshiflow.sim.market.profile import MarketProfile
from kalshiflow.sim.market.realdata import RealMarket

SAMPLE_EVERY_S = 60
LIQUID_ARCHETYPES = ("finance",)
# Compared with himagna16's quote states: 62% of its snapshots are not two-sided (the thin crypto
# series alone are near 76%, KXBTCD 34%): the thin archetypes are held to the whole data set's share.
THIN_ARCHETYPES = ("weather", "politics")
SIZE_BUCKETS = (
    ("1", 0, 1),
    ("2-10", 1, 10),
    ("11-100", 10, 100),
    ("101-1000", 100, 1000),
    (">1000", 1000, math.inf),
)


# The default run settles >= 2,000 markets: at 400 markets seeds 1-4 settled 2,432, 2,193, 2,556 and
# 1,964; at 480 about a fifth more (about 2.5 minutes on one free core).
DEFAULT_HOURS = 8.0
DEFAULT_MARKETS = 480


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """``seed``, simulated ``hours``, concurrent ``markets``, ``life_scale`` (multiplies every
    archetype's lifetime, so short runs settle many markets) and the ``profile``."""

    seed: int = 1
    hours: float = DEFAULT_HOURS
    markets: int = DEFAULT_MARKETS
    life_scale: float = 0.05
    profile: MarketProfile | None = None


@dataclass
class ReportRun:
    observer: Observer
    results: dict[str, MarketResult]
    options: ReportOptions


def run_market(options: ReportOptions) -> ReportRun:
    profile = (options.profile or MarketProfile()).scaled_life(options.life_scale)
    market = HeadlessMarket(options.seed, options.markets, profile)
    observer = Observer(market, options.seed)
    end = market.now_ms() + round(options.hours * 3_600_000)
    while market.now_ms() < end:
        market.advance(SAMPLE_EVERY_S)
        observer.sample()
    results = {t: o.result for t, o in market.model.outcomes.items()}
    return ReportRun(observer, results, options)


# ------------------------------------------------------------------------------ statistics
def _sides(rows: Iterable[TradeRow]) -> Iterable[tuple[str, str, float, float, bool, bool]]:
    """(ticker, role, price of the side bought in %, its win probability, side is YES, role is taker)."""
    for r in rows:
        yes_price = r.price_cents
        taker_yes = r.taker_bought_yes
        for is_taker in (True, False):
            bought_yes = taker_yes if is_taker else not taker_yes
            price = yes_price if bought_yes else 100 - yes_price
            win_q = r.q if bought_yes else 1 - r.q
            yield r.ticker, r.archetype, price, 100 * win_q, bought_yes, is_taker


def _won(result: MarketResult | None, bought_yes: bool) -> float | None:
    if result is None:
        return None
    return 100.0 if (result is MarketResult.YES) == bought_yes else 0.0


def _clustered_mean(values: list[tuple[str, float]]) -> dict[str, float]:
    """Mean and 95% interval of ``values`` with errors clustered by market."""
    n = len(values)
    if n == 0:
        return {"mean": math.nan, "ci95": math.nan, "n": 0}
    mean = sum(v for _, v in values) / n
    by_market: dict[str, float] = defaultdict(float)
    for ticker, v in values:
        by_market[ticker] += v - mean
    se = math.sqrt(sum(s * s for s in by_market.values())) / n
    return {"mean": mean, "ci95": 1.96 * se, "n": n, "markets": len(by_market)}


def calibration(run: ReportRun, archetype: str | None = None) -> list[dict[str, float]]:
    buckets: dict[int, list[tuple[float, float, float | None]]] = defaultdict(list)
    for ticker, arch, price, win_q, bought_yes, _ in _sides(run.observer.trades):
        if archetype is not None and arch != archetype:
            continue
        low = min(9, int(price // 10)) * 10
        buckets[low].append((price, win_q, _won(run.results.get(ticker), bought_yes)))
    table = []
    for low in range(0, 100, 10):
        rows = buckets.get(low, [])
        if not rows:
            continue
        realised = [w for _, _, w in rows if w is not None]
        mean_price = statistics.fmean(p for p, _, _ in rows)
        expected = statistics.fmean(q for _, q, _ in rows)
        table.append(
            {
                "low_cents": low,
                "n": len(rows),
                "mean_price": mean_price,
                "win_rate_expected": expected,
                "excess_expected": expected - mean_price,
                "win_rate_realised": statistics.fmean(realised) if realised else math.nan,
                "n_realised": len(realised),
            }
        )
    return table


def excess_returns(run: ReportRun) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for role, taker in (("taker", True), ("maker", False)):
        expected = [
            (t, q - p) for t, _, p, q, _, is_taker in _sides(run.observer.trades) if is_taker == taker
        ]
        realised = []
        for t, _, p, _, yes, is_taker in _sides(run.observer.trades):
            won = _won(run.results.get(t), yes)
            if is_taker == taker and won is not None:
                realised.append((t, won - p))
        out[role] = {
            "expected": _clustered_mean(expected)["mean"],
            **{f"realised_{k}": v for k, v in _clustered_mean(realised).items()},
        }
    return out


def spreads(run: ReportRun, archetypes: tuple[str, ...] | None = None) -> dict[str, Any]:
    rows = [b for b in run.observer.books if archetypes is None or b.archetype in archetypes]
    two = [b for b in rows if b.spread_cents is not None]
    if not two:
        return {"n": 0}
    cents = [b.spread_cents for b in two if b.spread_cents is not None]
    by_decile: dict[int, list[float]] = defaultdict(list)
    for b in two:
        if b.mid_cents is not None and b.spread_cents is not None:
            by_decile[min(9, int(b.mid_cents // 10))].append(b.spread_cents)
    return {
        "n": len(two),
        "share": {f"<={c}": sum(1 for s in cents if s <= c + 1e-9) / len(cents) for c in (1, 2, 5, 10)},
        "median_cents": statistics.median(cents),
        "mean_cents": statistics.fmean(cents),
        "median_ticks": statistics.median(b.spread_ticks or 0 for b in two),
        "by_mid_decile": {d: statistics.fmean(v) for d, v in sorted(by_decile.items())},
        "quote_state": {
            s: sum(1 for b in rows if b.state == s) / len(rows) for s in ("two_sided", "one_sided", "empty")
        },
        "levels_median": statistics.median(b.levels for b in rows),
        "depth_median_contracts": statistics.median(b.depth_contracts for b in rows),
    }


def trade_sizes(run: ReportRun) -> dict[str, float]:
    sizes = [r.contracts for r in run.observer.trades]
    if not sizes:
        return {}
    return {name: sum(1 for s in sizes if lo < s <= hi) / len(sizes) for name, lo, hi in SIZE_BUCKETS}


def mid_error(run: ReportRun) -> dict[str, float]:
    errors = sorted(abs(b.mid_cents - 100 * b.q) for b in run.observer.books if b.mid_cents is not None)
    if not errors:
        return {}
    return {
        "median_cents": errors[len(errors) // 2],
        "p90_cents": errors[int(len(errors) * 0.9)],
        "p99_cents": errors[int(len(errors) * 0.99)],
    }


def activity(run: ReportRun) -> dict[str, dict[str, float]]:
    obs = run.observer
    return {
        arch: {
            "book_changes_per_market_minute": obs.deltas_by_archetype[arch] / minutes,
            "trades_per_market_minute": obs.trades_by_archetype[arch] / minutes,
        }
        for arch, minutes in sorted(obs.samples.items())
        if minutes
    }


def strategies(run: ReportRun) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {"hold": {"mean": 0.0, "ci95": 0.0, "n": 0}}
    rows: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for row in run.observer.strategies:
        won = _won(run.results.get(row.ticker), row.bought_yes)
        if won is not None:
            rows[row.strategy].append((row.ticker, won - row.price_cents - row.fee_cents))
    for ticker, _, price, _, yes, is_taker in _sides(run.observer.trades):
        won = _won(run.results.get(ticker), yes)
        if not is_taker and won is not None:
            rows["join_touch_maker"].append((ticker, won - price))
    for name, values in sorted(rows.items()):
        out[name] = _clustered_mean(values)
    return out


def summarize(run: ReportRun, real: RealMarket | None) -> dict[str, Any]:
    obs = run.observer
    archetypes = sorted(obs.samples)
    report: dict[str, Any] = {
        "options": {k: getattr(run.options, k) for k in ("seed", "hours", "markets", "life_scale")},
        "settled_markets": len(run.results),
        "trades": len(obs.trades),
        "calibration": calibration(run),
        "calibration_by_archetype": {a: calibration(run, a) for a in archetypes},
        "excess_returns_pp": excess_returns(run),
        "spreads_liquid": spreads(run, LIQUID_ARCHETYPES),
        "not_two_sided_thin": {
            a: 1.0 - states["quote_state"]["two_sided"]
            for a in THIN_ARCHETYPES
            if (states := spreads(run, (a,))).get("quote_state")
        },
        "spreads_by_archetype": {a: spreads(run, (a,)) for a in archetypes},
        "trade_sizes": trade_sizes(run),
        "mid_minus_true_probability": mid_error(run),
        "activity": activity(run),
        "ladder": {
            "checks": obs.ladder_checks,
            "true_probability_violations": obs.ladder_true_violations,
            "book_violations": obs.ladder_book_violations,
        },
        "strategies_cents_per_contract": strategies(run),
    }
    if real is not None:
        real_excess = {b.low_cents: b.excess_pct for b in real.calibration}
        for row in report["calibration"]:
            row["real_excess"] = real_excess[row["low_cents"]]
            row["gap_pp"] = row["excess_expected"] - row["real_excess"]
        report["real"] = {
            "taker_excess_pp": real.taker_excess_pp,
            "maker_excess_pp": real.maker_excess_pp,
            "spread_shares": real.spread_shares,
            "spread_by_decile_cents": list(real.spread_by_decile_cents),
            "two_sided_share": real.two_sided_share,
            "not_two_sided_share": 1.0 - real.two_sided_share,
            "trade_size_shares": real.trade_size_shares,
        }
    return report


def write_report(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """``report.json`` and the PNG plots in ``out_dir``; returns the files written."""
    import json

    from kalshiflow.sim.market.report_plots import write_plots

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.json"
    # A figure with nothing to measure (no trades) is NaN in memory; JSON has no NaN (JSON.parse and
    # strict readers refuse the file), so it is written as null.
    path.write_text(json.dumps(_finite(report), indent=2, default=str, allow_nan=False))
    return [path, *write_plots(report, out_dir)]


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float (at any depth) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
