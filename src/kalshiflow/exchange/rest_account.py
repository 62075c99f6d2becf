"""Account-level reads of the REST client: queue positions, API limits, endpoint costs, fee changes.

Every method is a read through ``RestTransport._get`` (paced, retried on ambiguity and 429). They
exist so the trader can use the exchange's own answers: where its resting orders stand in the
queue, what its token buckets really are (to size the pacer), and which fee schedules change when.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from kalshiflow.domain.units import Count
from kalshiflow.exchange.models_account import (
    AccountLimits,
    EndpointCosts,
    EventFeeChange,
    QueuePosition,
    SeriesFeeChange,
)
from kalshiflow.exchange.models_wire import Fields
from kalshiflow.exchange.rest_market import segment
from kalshiflow.exchange.rest_transport import RestTransport, query

FEE_CHANGES_PAGE_SIZE: Final = 100


class AccountEndpoints(RestTransport):
    async def queue_position(self, order_id: str) -> Count:
        """Contracts ahead of a resting order (404 -> ``NotFound`` once it no longer rests)."""
        path = f"/portfolio/orders/{segment(order_id)}/queue_position"
        return Fields(await self._get(path), "GetOrderQueuePositionResponse").count("queue_position_fp")

    async def queue_positions(
        self,
        *,
        market_tickers: Sequence[str] | None = None,
        event_ticker: str | None = None,
        subaccount: int | None = None,
    ) -> list[QueuePosition]:
        """Queue positions of every resting order matching the filters, in one request."""
        params = query(
            market_tickers=",".join(market_tickers) if market_tickers else None,
            event_ticker=event_ticker,
            subaccount=subaccount,
        )
        answer = Fields(
            await self._get("/portfolio/orders/queue_positions", params), "GetOrderQueuePositions"
        )
        return [QueuePosition.from_wire(raw) for raw in answer.array("queue_positions")]

    async def account_limits(self) -> AccountLimits:
        return AccountLimits.from_wire(await self._get("/account/limits"))

    async def endpoint_costs(self) -> EndpointCosts:
        return EndpointCosts.from_wire(await self._get("/account/endpoint_costs"))

    async def series_fee_changes(
        self, *, series_ticker: str | None = None, show_historical: bool = False
    ) -> list[SeriesFeeChange]:
        """Scheduled series fee changes (pending only unless ``show_historical``)."""
        params = query(series_ticker=series_ticker, show_historical=show_historical or None)
        answer = Fields(await self._get("/series/fee_changes", params), "GetSeriesFeeChangesResponse")
        return [SeriesFeeChange.from_wire(raw) for raw in answer.array("series_fee_change_arr")]

    async def event_fee_changes(self, *, event_ticker: str | None = None) -> list[EventFeeChange]:
        """Event fee override changes, every page."""
        params = query(event_ticker=event_ticker)
        pages = self._pages("/events/fee_changes", "event_fee_changes", params, FEE_CHANGES_PAGE_SIZE)
        return [EventFeeChange.from_wire(raw) async for raw in pages]
