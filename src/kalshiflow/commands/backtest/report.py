"""The backtest's files: ``report.json``, equity and markout PNGs (matplotlib, Agg) and one HTML page.

Why one HTML page: a reader compares policies side by side -- P&L with its interval, the cost
decomposition, exits, the per-market table -- without a notebook. The page embeds the PNGs by file
name (they sit beside it) and contains no script.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from kalshiflow.commands.backtest.metrics import HORIZONS, PolicySummary, as_json
from kalshiflow.commands.backtest.session import RunRecord
from kalshiflow.domain.units import MONEY_SCALE


def _fmt(value: float | None, digits: int = 2, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:+.{digits}f}{suffix}"


def _pm(mean: float, half: float, seeds: int) -> str:
    """Mean ± half-width; one seed has no interval, so none is shown (a ``± 0.00`` would claim one)."""
    return f"{mean:+.2f} ± {half:.2f}" if seeds >= 2 else f"{mean:+.2f} ± n/a"


def render_text(summaries: Sequence[PolicySummary]) -> str:
    """The headline table for the terminal; the policy column is as wide as the longest spec."""
    width = max([len("policy"), *(len(s.policy) for s in summaries)]) + 2
    lines = [
        f"{'policy':<{width}}{'P&L $ (95% CI)':>24}{'Sharpe':>8}{'fills':>7}{'maker':>7}"
        f"{'fee¢':>7}{'sprd¢':>7}{'10s¢':>7}{'60s¢':>7}{'settle¢':>9}{'maxDD $':>9}{'held $ (95% CI)':>18}"
    ]
    for s in summaries:
        d = s.decomposition
        n = len(s.seeds)
        lines.append(
            f"{s.policy:<{width}}{_pm(s.pnl_mean, s.pnl_ci95, n):>24}{_fmt(s.sharpe):>8}{s.fills:>7}"
            f"{'n/a' if s.maker_share is None else f'{s.maker_share:.0%}':>7}{d.fee:>7.2f}"
            f"{_fmt(d.spread_vs_mid):>7}{_fmt(d.markouts['10s']):>7}{_fmt(d.markouts['60s']):>7}"
            f"{_fmt(d.markouts['settle']):>9}{s.max_drawdown_dollars:>9.2f}"
            f"{_pm(s.pnl_at_true_mean, s.pnl_at_true_ci95, n):>18}"
        )
    return "\n".join(lines)


def _equity_png(runs_by_policy: dict[str, list[RunRecord]], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for i, (policy, runs) in enumerate(runs_by_policy.items()):
        colour = f"C{i}"
        for j, run in enumerate(runs):
            if not run.equity:
                continue
            t0, e0 = run.equity[0]
            xs = [(t - t0) / 3_600_000 for t, _ in run.equity]
            ys = [(e - e0) / MONEY_SCALE for _, e in run.equity]
            ax.plot(xs, ys, color=colour, alpha=0.35, linewidth=0.8, label=policy if j == 0 else None)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xlabel("simulated hours")
    ax.set_ylabel("equity change, $ (after fees, marked at the exit price)")
    ax.set_title("equity by seed")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _markout_png(summaries: Sequence[PolicySummary], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(9, 4.5))
    labels = ["-fee", "-spread vs mid", *(f"markout {h}" for h in HORIZONS)]
    width = 0.8 / max(1, len(summaries))
    for i, s in enumerate(summaries):
        d = s.decomposition
        values = [-d.fee, -(d.spread_vs_mid or 0.0), *((d.markouts[h] or 0.0) for h in HORIZONS)]
        xs = [k + i * width for k in range(len(labels))]
        ax.bar(xs, values, width=width, label=s.policy)
    ax.set_xticks([k + width * (len(summaries) - 1) / 2 for k in range(len(labels))], labels)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_ylabel("cents per contract")
    ax.set_title("where the money goes, per contract traded")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _html(summaries: Sequence[PolicySummary], title: str) -> str:
    headline = _table(
        [
            "policy",
            "seeds",
            "P&L $ mean",
            "95% CI ±",
            "Sharpe/run",
            "max DD $",
            "orders",
            "fills",
            "fill rate",
            "maker share",
            "fee ¢/c",
            "spread vs mid ¢/c",
            "spread vs true ¢/c",
            "markout 10 s ¢/c",
            "60 s",
            "settle",
            "P&L $ held to settlement (open positions at the true probability) ± 95%",
        ],
        [
            [
                s.policy,
                str(len(s.seeds)),
                f"{s.pnl_mean:+.2f}",
                f"{s.pnl_ci95:.2f}" if len(s.seeds) >= 2 else "n/a",
                _fmt(s.sharpe),
                f"{s.max_drawdown_dollars:.2f}",
                str(s.orders),
                str(s.fills),
                "n/a" if s.fill_rate is None else f"{s.fill_rate:.0%}",
                "n/a" if s.maker_share is None else f"{s.maker_share:.0%}",
                f"{s.decomposition.fee:.2f}",
                _fmt(s.decomposition.spread_vs_mid),
                _fmt(s.decomposition.spread_vs_true),
                *(_fmt(s.decomposition.markouts[h]) for h in HORIZONS),
                _pm(s.pnl_at_true_mean, s.pnl_at_true_ci95, len(s.seeds)),
            ]
            for s in summaries
        ],
    )
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        headline,
        '<p><img src="equity.png" alt="equity curves"> <img src="markouts.png" alt="markouts"></p>',
    ]
    for s in summaries:
        o = s.open_decomposition
        sections.append(f"<h2>{html.escape(s.policy)}</h2>")
        sections.append(
            "<p>P&amp;L per seed ($): " + html.escape(", ".join(f"{p:+.2f}" for p in s.pnl_dollars)) + "</p>"
        )
        sections.append(
            "<p>opening fills (what the signals predicted), ¢/contract: spread vs mid "
            + html.escape(_fmt(o.spread_vs_mid))
            + ", markouts "
            + html.escape(", ".join(f"{h} {_fmt(o.markouts[h])}" for h in HORIZONS))
            + "</p>"
        )
        sections.append(
            _table(["exit reason", "closing orders"], [[k, str(v)] for k, v in s.exit_reasons.items()])
        )
        sections.append(
            _table(["state", "share of time"], [[k, f"{v:.1%}"] for k, v in s.state_share.items()])
        )
        sections.append(_table(["market", "P&L $ (all seeds)"], [[t, f"{v:+.2f}"] for t, v in s.per_market]))
    style = "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #999;padding:2px 6px}"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>{''.join(sections)}</body></html>"
    )


def write_report(
    summaries: Sequence[PolicySummary], runs_by_policy: dict[str, list[RunRecord]], out_dir: Path, title: str
) -> list[Path]:
    """Write the report files into ``out_dir`` (created); returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [
        out_dir / "report.json",
        out_dir / "equity.png",
        out_dir / "markouts.png",
        out_dir / "report.html",
    ]
    paths[0].write_text(json.dumps({"title": title, "policies": [as_json(s) for s in summaries]}, indent=2))
    _equity_png(runs_by_policy, paths[1])
    _markout_png(summaries, paths[2])
    paths[3].write_text(_html(summaries, title))
    return paths
