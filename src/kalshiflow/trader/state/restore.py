"""Restoring a previous run's orders in flight into a new ledger (``kalshiflow run`` startup).

Reconciliation then resolves them with their purpose and close reason instead of adopting them as
external, and a create that never reached the exchange is rejected after the usual "not found"
reads -- never re-sent.
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
