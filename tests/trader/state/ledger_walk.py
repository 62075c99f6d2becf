"""The random walk both ledger-tracking tests run: the trader's orders recorded before they are
sent, counterparties crossing them, cancels -- with the ledger fed only by the engine's events."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable

from tests.sim.engine.engine_kit import TICKER

from kalshiflow.domain.orders import BookSide, SelfTradePrevention, TimeInForce
from kalshiflow.domain.units import Count, Price
from kalshiflow.sim.engine import Engine, OrderRequest
from kalshiflow.sim.errors import ExchangeError
from kalshiflow.sim.events import EngineEvent, FillEvent, OrderEvent
from kalshiflow.trader.state.ledger import FillData, Ledger
from kalshiflow.trader.state.orders import OrderPurpose, OrderState, TrackedOrder

TRADER = "alice"


def wire(engine: Engine, ledger: Ledger) -> None:
    def on_event(event: EngineEvent) -> None:
        if isinstance(event, FillEvent) and event.fill.account_id == TRADER:
            f = event.fill
            ledger.apply_fill(
                FillData(
                    f.trade_id,
                    f.order_id,
                    f.ticker,
                    f.side,
                    Price(f.yes_price),
                    Count(f.count),
                    f.is_taker,
                    f.fee,
                    f.ts_ms,
                    f.client_order_id,
                    Count(f.post_position),
                )
            )
        elif isinstance(event, OrderEvent) and event.order.account_id == TRADER:
            o = event.order
            if o.client_order_id in ledger.orders and ledger.orders[o.client_order_id].order_id is None:
                return  # the create's own ack links it; updates after that flow through
            ledger.on_exchange_order(
                order_id=o.order_id,
                client_order_id=o.client_order_id,
                ticker=o.ticker,
                side=o.side,
                yes_price=Price(o.yes_price),
                status=o.status.value,
                filled=Count(o.fill_count),
                remaining=Count(o.remaining_count),
                initial=Count(o.initial_count),
                now_ms=event.ts_ms,
                created_ms=o.created_ms,
            )

    engine.add_listener(on_event)


def place(
    engine: Engine, ledger: Ledger, n: int, side: BookSide, price: int, size: int, tif: TimeInForce
) -> None:
    cid = f"t-{n}"
    now = engine.clock.now_ms()
    ledger.record_pending(TrackedOrder(cid, TICKER, side, Price(price), Count(size), OrderPurpose.OPEN, now))
    try:
        result = engine.create_order(
            TRADER, OrderRequest(TICKER, side, price, size, tif, SelfTradePrevention.TAKER_AT_CROSS, cid)
        )
    except ExchangeError as err:
        ledger.on_rejected(cid, err.code, now)
        return
    order = result.order
    ledger.on_acknowledged(cid, order.order_id, Count(order.fill_count), Count(order.remaining_count), now)


def walk(
    engine: Engine,
    ledger: Ledger,
    seed: int,
    steps: int = 300,
    after_step: Callable[[Ledger], None] | None = None,
) -> list[int]:
    """The random walk; returns the steps after which the ledger's cash differed from the exchange's.

    ``after_step(ledger)`` (optional) runs after every step, to check an invariant along the way.
    """
    rng = random.Random(seed)
    off: list[int] = []
    for n in range(steps):
        side = rng.choice((BookSide.BID, BookSide.ASK))
        price = rng.randrange(30, 71) * 100
        size = rng.randrange(1, 20) * 100 + rng.choice((0, 0, 0, 37))
        roll = rng.random()
        if roll < 0.45:
            tif = rng.choice((TimeInForce.GOOD_TILL_CANCELED, TimeInForce.IMMEDIATE_OR_CANCEL))
            place(engine, ledger, n, side, price, size, tif)
        elif roll < 0.85:
            with contextlib.suppress(ExchangeError):
                engine.create_order(
                    rng.choice(("bob", "carol")),
                    OrderRequest(
                        TICKER,
                        side,
                        price,
                        size,
                        TimeInForce.GOOD_TILL_CANCELED,
                        SelfTradePrevention.TAKER_AT_CROSS,
                    ),
                )
        else:
            live = [o for o in ledger.live_orders() if o.order_id and o.state is not OrderState.PENDING]
            if live:
                target = rng.choice(live)
                assert target.order_id is not None
                if engine.orders[target.order_id].is_resting:
                    engine.cancel_order(TRADER, target.order_id)
        account = engine.accounts[TRADER]
        if ledger.cash != account.balance:
            off.append(n)
        engine_pos = account.positions.get(TICKER)
        assert ledger.position(TICKER).position == (engine_pos.position if engine_pos else 0)
        if after_step is not None:
            after_step(ledger)
    return off
