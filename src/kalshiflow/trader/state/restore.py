"""What a new run takes over from the store a previous run left (``kalshiflow run`` startup).

Orders in flight go back into the new ledger before the startup calibration: reconciliation then
resolves them with their purpose and close reason instead of adopting them as external, and a
create that never reached the exchange is rejected after the usual "not found" reads -- never
re-sent. Positions are not taken over (the calibration reads them from the exchange); after it,
the store's positions the exchange no longer holds are written flat.
"""

from __future__ import annotations

import asyncio
import logging

from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.store.trader_reads import StoredOrder
from kalshiflow.store.trader_repo import TraderStore
from kalshiflow.trader.state.ledger import Ledger, LedgerError
from kalshiflow.trader.state.orders import OrderPurpose, OrderState, TrackedOrder

log = logging.getLogger(__name__)


async def restore_orders(ledger: Ledger, store: TraderStore) -> int:
    """Put the orders a previous run left in flight back into a new ledger, before its startup
    calibration: reconciliation then resolves them with their purpose and close reason instead of
    adopting them as external, and a create that never reached the exchange is rejected after the
    usual "not found" reads -- never re-sent. Returns how many were restored."""
    restored = 0
    for row in await asyncio.to_thread(store.resting_orders):
        try:
            ledger.restore(stored_to_tracked(row))
        except (LedgerError, ValueError) as exc:
            log.warning("restore.skipped %s: %s", row.client_order_id, exc)
            continue
        restored += 1
    if restored:
        log.info("restore.orders %d orders in flight restored from the store", restored)
    return restored


def stored_to_tracked(row: StoredOrder) -> TrackedOrder:
    """A persisted order row as the ledger tracks it (``ValueError`` for a row it cannot read)."""
    return TrackedOrder(
        client_order_id=row.client_order_id,
        ticker=row.ticker,
        side=BookSide(row.side),
        yes_price=Price(row.yes_price_e4),
        count=Count(row.count_e2),
        purpose=OrderPurpose(row.purpose),
        created_ms=row.created_ms,
        state=OrderState(row.state),
        order_id=row.order_id,
        filled=Count(row.filled_e2),
        remaining=Count(row.remaining_e2),
        close_reason=row.close_reason,
        reduce_only=row.reduce_only,
        order_group_id=row.order_group_id,
        updated_ms=row.updated_ms,
        detail=row.detail,
        fees=Money(row.fees_e6),
    )


async def forget_positions_gone(ledger: Ledger, store: TraderStore, now_ms: int) -> list[str]:
    """After the startup calibration: write flat the positions the store still shows open but the
    exchange no longer holds (settled or closed while no trader ran, or another exchange: each
    ``run`` on the embedded simulator starts a fresh one). The ledger already equals the exchange
    here; without this the store's cache -- what ``status`` and the dashboard read -- kept showing a
    position nobody holds. Goes through the ledger so the store and every subscriber see it as any
    position change. Returns the tickers written flat."""
    stored = await asyncio.to_thread(store.latest_positions)
    gone = sorted(p.ticker for p in stored if ledger.position(p.ticker).position == 0)
    for ticker in gone:  # no await between the check and the write: a fill cannot slip in between
        ledger.overwrite_position(ticker, Count(0), Money(0), now_ms)
    if gone:
        log.info(
            "restore.positions_gone %d stored positions not on the exchange, written flat: %s",
            len(gone),
            ", ".join(gone),
        )
    return gone
