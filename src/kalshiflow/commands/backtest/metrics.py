"""What a backtest says about a policy: pure functions from ``RunRecord``s to figures.

P&L is exact money (``Money``) per run; what is computed across runs (mean, confidence interval,
Sharpe) and per contract (cents of fee, spread and edge) are floats, statistics of exact figures.

Per-contract decomposition of every fill of ours (``direction`` +1 when it added YES exposure), in
cents per contract, positive = cost for ``spread`` and ``fee``, positive = gain for the markouts:

* ``fee`` = fee paid / contracts;
* ``spread_vs_mid`` = direction * (fill price - mid just before the fill): what was paid to the
  book (negative for a maker fill inside the spread: the spread was earned);
* ``spread_vs_true`` = direction * (fill price - the simulator's true probability at the fill);
* ``markout_10s`` / ``markout_60s`` / ``markout_settle`` = direction * (mid 10 s / 60 s later, or
  the settlement value -- the true probability at the end when not determined -- minus the mid at
  the fill): the residual edge, what the fill predicted beyond the spread it paid.

So per contract, before what the exits add or lose: P&L ≈ -fee - spread_vs_mid + markout_settle.

The confidence interval is the normal approximation (mean ± 1.96 · sd / √n) over seeds; Sharpe is
the mean over the sd of the per-run P&L (per run of H hours, not annualised).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kalshiflow.commands.backtest.session import FillRecord, RunRecord
from kalshiflow.domain.units import MONEY_SCALE, PRICE_SCALE, Money

HORIZONS = ("10s", "60s", "settle")


def run_pnl(run: RunRecord) -> Money:
    """Equity at the end minus equity at the start, after fees, open positions marked at the exit."""
    return Money(run.end_equity - run.start_equity)


def max_drawdown(equity: Sequence[tuple[int, Money]]) -> Money:
    """Largest fall of equity from a previous peak (exact, >= 0)."""
    peak: int | None = None
    worst = 0
    for _, value in equity:
        peak = value if peak is None else max(peak, value)
        worst = max(worst, peak - value)
    return Money(worst)


def mean_ci95(values: Sequence[float]) -> tuple[float, float]:
    """(mean, half-width of the 95% interval); the half-width is 0 for fewer than two values."""
    if not values:
        return 0.0, 0.0
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, 1.96 * statistics.stdev(values) / math.sqrt(len(values))


def sharpe(values: Sequence[float]) -> float | None:
    if len(values) < 2:
        return None
    sd = statistics.stdev(values)
    return None if sd == 0 else statistics.fmean(values) / sd


@dataclass(frozen=True)
class Decomposition:
    """Contract-weighted means in cents per contract (see the module docstring)."""

    contracts: float
    fee: float
    spread_vs_mid: float | None
    spread_vs_true: float | None
    markouts: dict[str, float | None]


def _weighted(pairs: list[tuple[float, float]]) -> float | None:
    total = sum(w for _, w in pairs)
    return None if total == 0 else sum(v * w for v, w in pairs) / total


def decompose(fills: Sequence[FillRecord]) -> Decomposition:
    contracts = sum(f.count for f in fills) / 100
    fee = sum(f.fee for f in fills) / MONEY_SCALE * 100 / contracts if contracts else 0.0
    vs_mid, vs_true = [], []
    marks: dict[str, list[tuple[float, float]]] = {h: [] for h in HORIZONS}
    for f in fills:
        price = int(f.yes_price) / PRICE_SCALE
        weight = f.count / 100
        if f.mid is not None:
            vs_mid.append((f.direction * (price - f.mid) * 100, weight))
        if f.true_probability is not None:
            vs_true.append((f.direction * (price - f.true_probability) * 100, weight))
        base = price if f.mid is None else f.mid
        for horizon in HORIZONS:
            later = f.markouts.get(horizon)
            if later is not None:
                marks[horizon].append((f.direction * (later - base) * 100, weight))
    return Decomposition(
        contracts,
        fee,
        _weighted(vs_mid),
        _weighted(vs_true),
        {h: _weighted(v) for h, v in marks.items()},
    )


@dataclass
class PolicySummary:
    """Every figure of one policy over its seeds."""

    policy: str
    seeds: list[int]
    pnl_dollars: list[float]
    pnl_mean: float
    pnl_ci95: float
    pnl_at_true_mean: float  # open positions at the true probability instead of the exit price
    pnl_at_true_ci95: float
    pnl_at_true: list[float]
    sharpe: float | None
    max_drawdown_dollars: float  # worst over seeds
    orders: int
    open_orders: int
    close_orders: int
    fills: int
    fill_rate: float | None  # fills per order sent
    maker_share: float | None  # share of contracts filled as maker
    decomposition: Decomposition
    open_decomposition: Decomposition  # opening fills only: what the policy's signals predicted
    exit_reasons: dict[str, int]
    state_share: dict[str, float]
    per_market: list[tuple[str, float]] = field(default_factory=list)  # ticker, P&L $ summed over seeds


def summarize(policy: str, runs: Sequence[RunRecord]) -> PolicySummary:
    pnls = [run_pnl(r) / MONEY_SCALE for r in runs]
    mean, half = mean_ci95(pnls)
    true_mean, true_half = mean_ci95([r.pnl_at_true_dollars for r in runs])
    fills = [f for r in runs for f in r.fills]
    contracts = sum(f.count for f in fills)
    maker = sum(f.count for f in fills if not f.is_taker)
    orders = sum(r.orders_sent for r in runs)
    reasons: Counter[str] = Counter()
    states: Counter[str] = Counter()
    markets: Counter[str] = Counter()
    for r in runs:
        reasons.update(r.exit_reasons)
        states.update(r.state_ms)
        for ticker, pnl in r.per_market.items():
            markets[ticker] += pnl
    total_ms = sum(states.values())
    fill_orders = len({(r.seed, f.client_order_id) for r in runs for f in r.fills if f.client_order_id})
    return PolicySummary(
        policy=policy,
        seeds=[r.seed for r in runs],
        pnl_dollars=pnls,
        pnl_mean=mean,
        pnl_ci95=half,
        pnl_at_true_mean=true_mean,
        pnl_at_true_ci95=true_half,
        pnl_at_true=[r.pnl_at_true_dollars for r in runs],
        sharpe=sharpe(pnls),
        max_drawdown_dollars=max((max_drawdown(r.equity) / MONEY_SCALE for r in runs), default=0.0),
        orders=orders,
        open_orders=sum(r.open_orders for r in runs),
        close_orders=sum(r.close_orders for r in runs),
        fills=len(fills),
        fill_rate=None if orders == 0 else min(1.0, fill_orders / orders),
        maker_share=None if contracts == 0 else maker / contracts,
        decomposition=decompose(fills),
        open_decomposition=decompose([f for f in fills if f.purpose == "open"]),
        exit_reasons=dict(reasons.most_common()),
        state_share={k: v / total_ms for k, v in states.items()} if total_ms else {},
        per_market=sorted(((t, v / MONEY_SCALE) for t, v in markets.items() if v), key=lambda x: x[1]),
    )


def as_json(summary: PolicySummary) -> dict[str, Any]:
    d = summary.decomposition
    o = summary.open_decomposition
    return {
        "policy": summary.policy,
        "seeds": summary.seeds,
        "pnl_dollars": summary.pnl_dollars,
        "pnl_mean_dollars": summary.pnl_mean,
        "pnl_ci95_dollars": summary.pnl_ci95,
        "pnl_at_true_dollars": [round(v, 6) for v in summary.pnl_at_true],
        "pnl_at_true_mean_dollars": summary.pnl_at_true_mean,
        "pnl_at_true_ci95_dollars": summary.pnl_at_true_ci95,
        "sharpe_per_run": summary.sharpe,
        "max_drawdown_dollars": summary.max_drawdown_dollars,
        "orders": summary.orders,
        "open_orders": summary.open_orders,
        "close_orders": summary.close_orders,
        "fills": summary.fills,
        "fill_rate": summary.fill_rate,
        "maker_share": summary.maker_share,
        "cents_per_contract": {
            "contracts": d.contracts,
            "fee": d.fee,
            "spread_vs_mid": d.spread_vs_mid,
            "spread_vs_true": d.spread_vs_true,
            "markouts": d.markouts,
        },
        "opening_fills_cents_per_contract": {
            "contracts": o.contracts,
            "spread_vs_mid": o.spread_vs_mid,
            "markouts": o.markouts,
        },
        "exit_reasons": summary.exit_reasons,
        "time_in_state": summary.state_share,
        "per_market_dollars": dict(summary.per_market),
    }
