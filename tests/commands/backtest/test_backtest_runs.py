"""The backtest runs policies through the real trader core against the in-process simulated market.

Small runs (a few simulated minutes, a few markets) keep these fast; what they check does not
depend on the length: the same seed gives the same run, ``hold`` never trades, the trader's ledger
ends equal to the exchange's account, and the P&L the report gives is the equity change.
"""

from __future__ import annotations

import asyncio

import pytest

from kalshiflow.commands.backtest.metrics import run_pnl, summarize
from kalshiflow.commands.backtest.runner import BacktestOptions, run_all
from kalshiflow.commands.backtest.session import BacktestSession, RunRecord
from kalshiflow.commands.backtest.venue import TRADER_ACCOUNT
from kalshiflow.config import Settings, load_settings

HOURS = 0.08  # ~5 simulated minutes
MARKETS = 6
SEED = 6  # a market where the random policy trades in five minutes (seed 5's six are thin now)


def _run(spec: str, seed: int) -> tuple[BacktestSession, RunRecord]:
    session = BacktestSession(spec, seed, HOURS, Settings(), n_markets=MARKETS)
    return session, asyncio.run(session.run())


def test_same_seed_gives_the_same_run_fill_for_fill() -> None:
    _, first = _run("random", SEED)
    _, second = _run("random", SEED)
    assert first.fills, "the random policy should trade in five minutes"
    assert [(f.ts_ms, f.ticker, f.yes_price, f.count, f.fee) for f in first.fills] == [
        (f.ts_ms, f.ticker, f.yes_price, f.count, f.fee) for f in second.fills
    ]
    assert run_pnl(first) == run_pnl(second)


def test_another_seed_gives_another_market() -> None:
    _, first = _run("random", SEED)
    _, other = _run("random", SEED + 1)
    assert [(f.ticker, f.yes_price) for f in first.fills] != [(f.ticker, f.yes_price) for f in other.fills]


def test_hold_never_trades_and_ends_where_it_started() -> None:
    _, record = _run("hold", 2)
    assert record.fills == []
    assert record.orders_sent == 0
    assert run_pnl(record) == 0
    assert record.pnl_at_true_dollars == 0.0
    assert record.decisions > 0  # it was asked: the actor ran on book changes
    assert sum(record.state_ms.values()) == round(HOURS * 3_600_000)


@pytest.mark.parametrize("spec", ["random", "rules"])
def test_ledger_ends_equal_to_the_exchange_account(spec: str) -> None:
    session, record = _run(spec, 4)
    assert session.core is not None
    assert session.venue is not None
    account = session.venue.engine.accounts[TRADER_ACCOUNT]
    ledger = session.core.ledger
    assert int(ledger.cash) == account.balance
    exchange_positions = {t: p.position for t, p in account.positions.items() if p.position}
    ledger_positions = {t: int(p.position) for t, p in ledger.positions.items() if p.position}
    assert ledger_positions == exchange_positions
    assert record.fees_paid == sum(p.fees_paid for p in account.positions.values())


def test_fills_carry_mid_true_probability_and_markouts() -> None:
    _, record = _run("random", SEED)
    summary = summarize("random", [record])
    assert summary.fills == len(record.fills)
    assert all(f.true_probability is not None for f in record.fills)
    assert any(f.mid is not None for f in record.fills)
    assert all("settle" in f.markouts for f in record.fills)
    assert summary.decomposition.fee > 0
    assert summary.orders >= summary.open_orders + summary.close_orders


def test_positions_opened_in_a_run_carry_their_exit_price_at_entry() -> None:
    # The price exits are off, so what the policy opens is still held at the end (max hold is an
    # hour); with them on, the one position is stopped out and there is nothing to check.
    settings = load_settings(
        environ={}, overrides={"exit_rules": {"take_profit_enabled": False, "stop_loss_enabled": False}}
    )
    session = BacktestSession("random", SEED, HOURS, settings, n_markets=MARKETS)
    record = asyncio.run(session.run())
    assert session.core is not None
    views = session.core.position_views()
    opened = {f.ticker for f in record.fills if f.purpose == "open"}
    held = [v for t, v in views.items() if t in opened]
    assert held, "the run must end holding a position it opened"
    assert all(v.entry_exit_price is not None for v in held)


def test_paper_mode_decides_and_records_but_sends_nothing() -> None:
    session = BacktestSession("random", SEED, HOURS, Settings(), n_markets=MARKETS, paper=True)
    record = asyncio.run(session.run())
    assert record.paper > 0
    assert record.orders_sent == 0
    assert record.fills == []
    assert session.venue is not None
    assert session.venue.engine.accounts[TRADER_ACCOUNT].balance == 10_000 * 1_000_000


def test_runs_spread_over_processes_give_the_one_process_result_in_seed_order() -> None:
    def figures(jobs: int) -> list[tuple[str, int, int, list[tuple[int, str, int]]]]:
        options = BacktestOptions(["random", "longshot"], [3, 1, 2], 0.03, markets=4, jobs=jobs)
        runs = run_all(options)
        return [
            (spec, r.seed, int(run_pnl(r)), [(f.ts_ms, f.ticker, int(f.yes_price)) for f in r.fills])
            for spec in options.policies
            for r in runs[spec]
        ]

    one, two = figures(1), figures(2)
    assert [(spec, seed) for spec, seed, *_ in two] == [
        (spec, seed) for spec in ("random", "longshot") for seed in (3, 1, 2)
    ]
    assert any(fills for *_, fills in one)
    assert two == one


def test_held_to_settlement_pnl_values_open_positions_at_the_true_probability() -> None:
    session, record = _run("longshot:max_close_s=2592000+max_volatility=1", 4)
    assert session.core is not None
    assert session.venue is not None
    ledger, model = session.core.ledger, session.venue.market.model
    open_no = {t: -int(p.position) / 100 for t, p in ledger.positions.items() if int(p.position) < 0}
    assert open_no, "the longshot seller should end the run holding NO"
    expected = (int(ledger.cash) + int(ledger.reserved) - int(record.start_equity)) / 1_000_000
    for ticker, contracts in open_no.items():
        q = model.true_probability(ticker)
        assert q is not None
        expected += contracts * (1.0 - q)
    assert record.pnl_at_true_dollars == pytest.approx(expected, abs=1e-9)
    assert record.pnl_at_true_dollars != float(run_pnl(record)) / 1_000_000


def test_price_exits_always_measure_from_the_exit_price_at_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ledger shows a new position at once; its exit price at entry is set when the core
    handles the fill. Exits evaluated in between measured from the fee-inclusive cost and stopped
    out on the entry spread alone, milliseconds after the fill (every stop loss of a random run)."""
    from kalshiflow.trader.exit_rules import base, stop_loss, take_profit

    seen: list[bool] = []

    def recording(holding: base.Holding, config: object) -> base.PriceMove | None:
        seen.append(holding.position.entry_exit_price is not None)
        return base.price_move(holding, config)  # type: ignore[arg-type]

    monkeypatch.setattr(stop_loss, "price_move", recording)
    monkeypatch.setattr(take_profit, "price_move", recording)
    _run("random", SEED)
    assert seen, "the random policy should hold a position the price rules look at"
    assert all(seen), f"{seen.count(False)} of {len(seen)} price-rule reads had no entry reference"


def test_each_policy_runs_under_its_own_exits_unless_the_config_sets_them() -> None:
    """``maker`` is built to keep a position until its passive unwind fills: no take profit, stop
    loss or max hold (which cross the spread). Other policies keep the configured exits, and a rule
    the configuration sets explicitly stays as set."""
    maker = BacktestSession("maker", 1, HOURS, Settings()).core_config.exit_rules
    assert (maker.take_profit_enabled, maker.stop_loss_enabled, maker.max_hold_enabled) == (
        False,
        False,
        False,
    )
    assert maker.market_closing_enabled
    assert maker.stuck_enabled
    assert BacktestSession("mm", 1, HOURS, Settings()).core_config.exit_rules == Settings().exit_rules
    explicit = Settings.model_validate({"exit_rules": {"stop_loss_enabled": True}})
    kept = BacktestSession("maker:min_spread_ticks=5", 1, HOURS, explicit).core_config.exit_rules
    assert (kept.stop_loss_enabled, kept.take_profit_enabled) == (True, False)
