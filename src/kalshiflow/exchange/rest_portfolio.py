"""Account endpoints of the REST client: balance, positions, orders, fills, settlements, order groups.

Reads go through ``RestTransport._get`` (paced, retried on ambiguity and 429) and follow cursors
to the last page, so reconciliation always sees the whole account. Reads may lag writes by a
moment on Kalshi: a "not found" here is evidence, not proof (see ``resolve_order``). Order-group
mutations are writes: never re-sent after an ambiguous outcome (they are idempotent in effect, so
the caller may simply call again).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from kalshiflow.domain.orders import OrderStatus
from kalshiflow.domain.units import Count
from kalshiflow.exchange.models_portfolio import (
    Balance,
    Fill,
    MarketPosition,
    Order,
    OrderGroup,
    Settlement,
)
from kalshiflow.exchange.models_wire import Fields
from kalshiflow.exchange.rest_market import segment
from kalshiflow.exchange.rest_transport import RestTransport, query

PORTFOLIO_PAGE_SIZE: Final = 1000  # the API maximum for orders, fills, positions, settlements
GROUPS: Final = "/portfolio/order_groups"


class PortfolioEndpoints(RestTransport):
    async def balance(self, subaccount: int | None = None) -> Balance:
        return Balance.from_wire(await self._get("/portfolio/balance", query(subaccount=subaccount)))

    async def positions(
        self,
        *,
        ticker: str | None = None,
        event_ticker: str | None = None,
        count_filter: Sequence[str] | None = None,
        subaccount: int | None = None,
        page_size: int = PORTFOLIO_PAGE_SIZE,
    ) -> list[MarketPosition]:
        """Unsettled market positions (settled ones are in ``settlements``)."""
        params = query(
            ticker=ticker,
            event_ticker=event_ticker,
            count_filter=list(count_filter) if count_filter else None,
            subaccount=subaccount,
        )
        pages = self._pages("/portfolio/positions", "market_positions", params, page_size)
        return [MarketPosition.from_wire(raw) async for raw in pages]

    async def orders(
        self,
        *,
        ticker: str | None = None,
        event_ticker: str | None = None,
        status: OrderStatus | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        subaccount: int | None = None,
        page_size: int = PORTFOLIO_PAGE_SIZE,
    ) -> list[Order]:
        """Orders, newest first (``min_ts``/``max_ts`` in Unix seconds)."""
        params = query(
            ticker=ticker,
            event_ticker=event_ticker,
            status=status.value if status is not None else None,
            min_ts=min_ts,
            max_ts=max_ts,
            subaccount=subaccount,
        )
        return [
            Order.from_wire(raw)
            async for raw in self._pages("/portfolio/orders", "orders", params, page_size)
        ]

    async def order(self, order_id: str) -> Order:
        answer = Fields(await self._get(f"/portfolio/orders/{segment(order_id)}"), "GetOrderResponse")
        return Order.from_wire(answer.obj("order").raw)

    async def fills(
        self,
        *,
        ticker: str | None = None,
        order_id: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        subaccount: int | None = None,
        page_size: int = PORTFOLIO_PAGE_SIZE,
    ) -> list[Fill]:
        """Fills, newest first (``min_ts``/``max_ts`` in Unix seconds)."""
        params = query(ticker=ticker, order_id=order_id, min_ts=min_ts, max_ts=max_ts, subaccount=subaccount)
        return [
            Fill.from_wire(raw) async for raw in self._pages("/portfolio/fills", "fills", params, page_size)
        ]

    async def settlements(
        self,
        *,
        ticker: str | None = None,
        event_ticker: str | None = None,
        min_ts: int | None = None,
        max_ts: int | None = None,
        page_size: int = PORTFOLIO_PAGE_SIZE,
    ) -> list[Settlement]:
        params = query(ticker=ticker, event_ticker=event_ticker, min_ts=min_ts, max_ts=max_ts)
        pages = self._pages("/portfolio/settlements", "settlements", params, page_size)
        return [Settlement.from_wire(raw) async for raw in pages]

    # ------------------------------------------------------------------------------ order groups
    async def create_order_group(self, contracts_limit: Count, subaccount: int | None = None) -> OrderGroup:
        """A group that cancels its orders once more than ``contracts_limit`` fill within 15 s."""
        body: dict[str, object] = {"contracts_limit_fp": contracts_limit.fp_str()}
        if subaccount is not None:
            body["subaccount"] = subaccount
        answer = Fields(await self._write("POST", f"{GROUPS}/create", body), "CreateOrderGroupResponse")
        return OrderGroup(answer.text("order_group_id"), contracts_limit)

    async def order_groups(self, subaccount: int | None = None) -> list[OrderGroup]:
        answer = Fields(await self._get(GROUPS, query(subaccount=subaccount)), "GetOrderGroupsResponse")
        return [OrderGroup.from_list_item(raw) for raw in answer.opt_array("order_groups")]

    async def order_group(self, order_group_id: str) -> OrderGroup:
        return OrderGroup.from_detail(order_group_id, await self._get(f"{GROUPS}/{segment(order_group_id)}"))

    async def reset_order_group(self, order_group_id: str) -> None:
        """Clear the triggered state and the rolling 15 s counter."""
        await self._write("PUT", f"{GROUPS}/{segment(order_group_id)}/reset", {})

    async def trigger_order_group(self, order_group_id: str) -> None:
        """Cancel the group's orders and block new ones until reset."""
        await self._write("PUT", f"{GROUPS}/{segment(order_group_id)}/trigger", {})

    async def update_order_group_limit(self, order_group_id: str, contracts_limit: Count) -> None:
        body = {"contracts_limit_fp": contracts_limit.fp_str()}
        await self._write("PUT", f"{GROUPS}/{segment(order_group_id)}/limit", body)

    async def delete_order_group(self, order_group_id: str) -> None:
        """Delete the group and cancel its orders."""
        await self._write("DELETE", f"{GROUPS}/{segment(order_group_id)}")
