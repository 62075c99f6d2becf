"""Durable, honest records (issue 8): what the store holds after a crash and what a restart learns.

* an order is committed to the store before its create request leaves the process;
* fills that happened while the trader was down are matched to the orders restored from the store
  (no false ``order_canceled_outside``) and written to the store;
* an order with our ``client_order_id`` prefix found resting after a restart is ours, not external;
* a release of reserved cash writes a cash row;
* drift rows carry their sizes in ``count_e2`` / ``money_e6``;
* the first sync of an empty ledger is a baseline, not drift.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from tests.commands.restart.test_restore_orders import db_url, die, first_run, hold, restart
from tests.trader.scenarios.scenario_kit import PREFIX, Scenario, buy

from kalshiflow.domain.orders import BookSide, OutcomeSide
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.exchange.models_orders import CreateOrderResult, NewOrder
from kalshiflow.store.trader_models import DriftEventRow, TraderFillRow, TraderOrderRow
from kalshiflow.store.trader_repo import TraderStore
from kalshiflow.trader.calibration.drift import DriftKind
from kalshiflow.trader.execution.in_flight import ExecOutcome
from kalshiflow.trader.state.orders import OrderPurpose, OrderState

CONTRACTS = Count.contracts(4)


def stored_order_ids(store: TraderStore) -> set[str]:
    with store.engine.connect() as connection:
        return set(connection.execute(select(TraderOrderRow.client_order_id)).scalars())


def stored_fill_ids(store: TraderStore) -> set[str]:
    with store.engine.connect() as connection:
        return set(connection.execute(select(TraderFillRow.trade_id)).scalars())


async def test_order_is_committed_to_the_store_before_its_create_is_sent(
    env: Scenario, tmp_path: Path
) -> None:
    db, ticker = db_url(tmp_path), env.tickers[0]
    env.quote(ticker)
    core, store = await first_run(env, db)
    core.executor.journal = store.commit_order
    seen_at_send: list[set[str]] = []
    real_place = core.rest.place

    async def spy(order: NewOrder) -> CreateOrderResult:
        # A second store on the same database: what a restarted process would read right now.
        reader = TraderStore(db, env.clock)
        try:
            seen_at_send.append(stored_order_ids(reader))
        finally:
            reader.close()
        assert order.client_order_id is not None
        assert order.client_order_id in seen_at_send[-1]
        return await real_place(order)

    core.rest.place = spy  # type: ignore[method-assign]
    try:
        result = await core.open_position(ticker, buy(OutcomeSide.YES), Price.parse("0.30"), CONTRACTS)
        assert result.execution is not None
        assert result.execution.outcome is ExecOutcome.PLACED
        assert seen_at_send
        assert result.execution.client_order_id in seen_at_send[0]
    finally:
        core.rest.place = real_place  # type: ignore[method-assign]
        await die(env, store)


async def test_failed_journal_write_sends_nothing(env: Scenario, tmp_path: Path) -> None:
    db, ticker = db_url(tmp_path), env.tickers[0]
    env.quote(ticker)
    core, store = await first_run(env, db)

    async def broken(_order: object) -> None:
        raise OSError("disk full")

    core.executor.journal = broken
    try:
        result = await core.open_position(ticker, buy(OutcomeSide.YES), Price.parse("0.30"), CONTRACTS)
        assert result.execution is not None
        assert result.execution.outcome is ExecOutcome.REJECTED
        assert "disk full" in result.execution.detail
        cid = result.execution.client_order_id
        assert [o for o in env.sim.engine.orders.values() if o.client_order_id == cid] == []
        assert core.ledger.orders[cid].reserved == 0
    finally:
        await die(env, store)


async def test_order_filled_while_down_is_recorded_filled_not_canceled_outside(
    env: Scenario, tmp_path: Path
) -> None:
    db, ticker = db_url(tmp_path), env.tickers[0]
    env.quote(ticker)
    first, store = await first_run(env, db)
    result = await first.open_position(ticker, buy(OutcomeSide.YES), Price.parse("0.40"), CONTRACTS)
    assert result.execution is not None
    assert result.execution.outcome is ExecOutcome.PLACED
    cid = result.execution.client_order_id
    await die(env, store)
    env.cancel_bob(ticker)  # Bob's own bid would stop his sell (self-trade prevention)
    env.sell_to_bids(ticker, OutcomeSide.YES, "0.40", 4)  # Bob fills it while the trader is down
    env.quote(ticker)
    env.clock.advance(30)

    second, store, restored = await restart(env, db)
    try:
        assert restored == 1
        order = second.ledger.orders[cid]
        assert order.state is OrderState.FILLED
        assert order.filled == CONTRACTS
        assert env.startup is not None
        kinds = {e.kind for e in env.startup.report.corrections}
        assert DriftKind.ORDER_CANCELED_OUTSIDE not in kinds
        assert second.ledger.position(ticker).position == CONTRACTS
        store.flush()
        assert env.engine_fill_ids() <= stored_fill_ids(store)
        with store.engine.connect() as connection:
            row = connection.execute(
                select(TraderOrderRow.state, TraderOrderRow.filled_e2).where(
                    TraderOrderRow.client_order_id == cid
                )
            ).one()
        assert (row.state, row.filled_e2) == ("filled", int(CONTRACTS))
    finally:
        store.close()


async def test_our_order_found_resting_after_restart_is_ours_and_stored(
    env: Scenario, tmp_path: Path
) -> None:
    db, ticker = db_url(tmp_path), env.tickers[0]
    env.quote(ticker)
    cid = f"{PREFIX}journal-lost"
    # A create that reached the exchange but whose journal row never did (a previous version).
    await env.by_hand.place(
        NewOrder(
            ticker=ticker,
            side=BookSide.BID,
            price=Price.parse("0.30"),
            count=CONTRACTS,
            client_order_id=cid,
        )
    )
    env.clock.advance(30)
    second, store, restored = await restart(env, db)
    try:
        assert restored == 0
        order = second.ledger.orders[cid]
        assert order.purpose is not OrderPurpose.EXTERNAL
        assert env.startup is not None
        assert DriftKind.EXTERNAL_ORDER not in {e.kind for e in env.startup.report.corrections}
        store.flush()
        assert cid in stored_order_ids(store)
        await second.executor.cancel(cid)
        assert order.state is OrderState.CANCELED
    finally:
        store.close()


async def test_release_of_a_cancelled_order_writes_a_cash_row(env: Scenario, tmp_path: Path) -> None:
    db, ticker = db_url(tmp_path), env.tickers[0]
    env.quote(ticker)
    core, store = await first_run(env, db)
    try:
        result = await core.open_position(ticker, buy(OutcomeSide.YES), Price.parse("0.30"), CONTRACTS)
        assert result.execution is not None
        cid = result.execution.client_order_id
        assert core.ledger.orders[cid].reserved > 0
        await core.executor.cancel(cid)
        assert core.ledger.orders[cid].state is OrderState.CANCELED
        store.flush()
        last = store.last_cash()
        assert last is not None
        assert last.cash_e6 == core.ledger.cash
    finally:
        await die(env, store)


async def test_drift_rows_carry_count_and_money(env: Scenario, tmp_path: Path) -> None:
    db, ticker = db_url(tmp_path), env.tickers[0]
    env.quote(ticker)
    core, store = await first_run(env, db)
    try:
        cash = core.ledger.cash
        await env.admin.post(
            f"/accounts/{env.alice_key.key_id}/balance",
            json={"balance_dollars": Money(cash + 12_500_000).dollars_str()},
        )
        store.save_calibration((await env.calibrate()).report)
        store.flush()
        with store.engine.connect() as connection:
            rows = connection.execute(select(DriftEventRow.kind, DriftEventRow.money_e6)).all()
        assert ("cash", 12_500_000) in [(r.kind, r.money_e6) for r in rows]
    finally:
        await die(env, store)


async def test_first_sync_of_an_empty_ledger_is_not_drift(env: Scenario, tmp_path: Path) -> None:
    db, ticker = db_url(tmp_path), env.tickers[0]
    env.quote(ticker)
    _, store = await first_run(env, db)
    await hold(env, ticker, OutcomeSide.NO, 3)
    await die(env, store)

    _second, store, _ = await restart(env, db)
    try:
        assert env.startup is not None
        report = env.startup.report
        assert report.drift == ()
        assert report.totals.cash == 0
        assert report.totals.is_zero
        assert {e.kind for e in report.corrections} <= {DriftKind.INITIAL_SYNC}
    finally:
        store.close()
