"""V2 order mutations of the REST client, and resolution of creates whose outcome is unknown.

The invariant this module keeps: an order is never placed twice. Every create carries a
``client_order_id`` (generated when the caller gives none, and returned). A create that times out,
gets a 5xx or loses its response raises ``AmbiguousOrderError``; the order may exist. It is then
looked up by ``client_order_id`` (``resolve_order``), never re-sent. Reads lag writes on Kalshi, so
one miss proves nothing: the caller decides after several consecutive misses
(``create_order_resolving`` polls a few times with backoff, then gives up with the same error).

Mutations are retried only after a 429 (refused before processing); see ``rest_transport``.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable, Sequence
from typing import Final

import httpx

from kalshiflow.clock import Clock
from kalshiflow.domain.orders import BookSide, SelfTradePrevention, TimeInForce
from kalshiflow.domain.units import Count, Price
from kalshiflow.exchange.auth import RequestSigner
from kalshiflow.exchange.errors import (
    AmbiguousBatchError,
    AmbiguousOrderError,
    ErrorKind,
    ExchangeError,
    never_sent,
)
from kalshiflow.exchange.models_orders import (
    AmendResult,
    BatchCancelItem,
    BatchCreateItem,
    CancelResult,
    CreateOrderResult,
    DecreaseResult,
    NewOrder,
    OrderPlacement,
)
from kalshiflow.exchange.models_portfolio import Order
from kalshiflow.exchange.models_wire import Fields, WireFormatError
from kalshiflow.exchange.ratelimit import Pacer
from kalshiflow.exchange.rest_market import segment
from kalshiflow.exchange.rest_portfolio import PortfolioEndpoints
from kalshiflow.exchange.rest_transport import RestSettings, query

log = logging.getLogger("kalshiflow.exchange.rest")

ORDERS: Final = "/portfolio/events/orders"


def uuid4_text() -> str:
    return str(uuid.uuid4())


class OrderEndpoints(PortfolioEndpoints):
    def __init__(
        self,
        rest_url: str,
        signer: RequestSigner | None = None,
        *,
        clock: Clock | None = None,
        pacer: Pacer | None = None,
        settings: RestSettings | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        client_order_id_factory: Callable[[], str] = uuid4_text,
    ) -> None:
        super().__init__(rest_url, signer, clock=clock, pacer=pacer, settings=settings, transport=transport)
        self._new_client_order_id = client_order_id_factory
        self._resolve_rng = random.Random(f"resolve/{self.settings.seed}")

    def new_order(
        self,
        ticker: str,
        side: BookSide,
        price: Price,
        count: Count,
        *,
        client_order_id: str | None = None,
        time_in_force: TimeInForce = TimeInForce.GOOD_TILL_CANCELED,
        self_trade_prevention: SelfTradePrevention = SelfTradePrevention.TAKER_AT_CROSS,
        post_only: bool = False,
        reduce_only: bool = False,
        expiration_ts_s: int | None = None,
        order_group_id: str | None = None,
        cancel_order_on_pause: bool = False,
        subaccount: int | None = None,
    ) -> NewOrder:
        """A ``NewOrder`` with a fresh ``client_order_id`` unless one is given."""
        return NewOrder(
            ticker=ticker,
            side=side,
            price=price,
            count=count,
            client_order_id=client_order_id or self._new_client_order_id(),
            time_in_force=time_in_force,
            self_trade_prevention=self_trade_prevention,
            post_only=post_only,
            reduce_only=reduce_only,
            expiration_ts_s=expiration_ts_s,
            order_group_id=order_group_id,
            cancel_order_on_pause=cancel_order_on_pause,
            subaccount=subaccount,
        )

    # ------------------------------------------------------------------------------ create
    async def place(self, order: NewOrder) -> CreateOrderResult:
        """Send one create; an unknown outcome raises ``AmbiguousOrderError`` (never re-sent)."""
        try:
            answer = await self._write("POST", ORDERS, order.to_wire())
        except ExchangeError as err:
            if err.kind is ErrorKind.AMBIGUOUS:
                log.log(  # not sent: no doubt to warn about (the executor rejects it; the outage warned)
                    logging.INFO if never_sent(err) else logging.WARNING,
                    "order.ambiguous ticker=%s client_order_id=%s error=%s",
                    order.ticker,
                    order.client_order_id,
                    err.message,
                )
                raise AmbiguousOrderError(order.client_order_id, order.ticker, err) from None
            raise
        result = CreateOrderResult.from_wire(answer, order.client_order_id)
        log.info(
            "order.placed ticker=%s client_order_id=%s order_id=%s side=%s price=%s count=%s filled=%s",
            order.ticker,
            result.client_order_id,
            result.order_id,
            order.side,
            order.price.dollars_str(),
            order.count.fp_str(),
            result.fill_count.fp_str(),
        )
        return result

    async def create_order(
        self,
        ticker: str,
        side: BookSide,
        price: Price,
        count: Count,
        *,
        client_order_id: str | None = None,
        time_in_force: TimeInForce = TimeInForce.GOOD_TILL_CANCELED,
        self_trade_prevention: SelfTradePrevention = SelfTradePrevention.TAKER_AT_CROSS,
        post_only: bool = False,
        reduce_only: bool = False,
        expiration_ts_s: int | None = None,
        order_group_id: str | None = None,
        cancel_order_on_pause: bool = False,
        subaccount: int | None = None,
    ) -> CreateOrderResult:
        """Create a V2 order (``side`` bid buys YES, ask buys NO; ``price`` is the YES price)."""
        order = self.new_order(
            ticker,
            side,
            price,
            count,
            client_order_id=client_order_id,
            time_in_force=time_in_force,
            self_trade_prevention=self_trade_prevention,
            post_only=post_only,
            reduce_only=reduce_only,
            expiration_ts_s=expiration_ts_s,
            order_group_id=order_group_id,
            cancel_order_on_pause=cancel_order_on_pause,
            subaccount=subaccount,
        )
        return await self.place(order)

    async def resolve_order(self, client_order_id: str, ticker: str) -> Order | None:
        """The order with ``client_order_id`` in ``ticker``, or None if the reads do not show it (yet)."""
        for order in await self.orders(ticker=ticker):
            if order.client_order_id == client_order_id:
                return order
        return None

    async def place_resolving(self, order: NewOrder, polls: int | None = None) -> OrderPlacement:
        """``place``; on an unknown outcome poll ``resolve_order`` with backoff, never re-sending.

        Raises the ``AmbiguousOrderError`` again when ``polls`` consecutive lookups miss.
        """
        try:
            result = await self.place(order)
            return OrderPlacement(order.client_order_id, result.order_id, response=result)
        except AmbiguousOrderError as ambiguous:
            backoff = self.settings.resolve_backoff
            attempts = polls if polls is not None else backoff.max_attempts
            for poll in range(attempts):
                await self.clock.sleep(backoff.delay_s(poll, self._resolve_rng))
                try:
                    found = await self.resolve_order(order.client_order_id, order.ticker)
                except (ExchangeError, WireFormatError) as err:
                    log.warning(
                        "order.resolve_failed client_order_id=%s error=%s", order.client_order_id, err
                    )
                    continue
                if found is not None:
                    log.info(
                        "order.resolved client_order_id=%s order_id=%s polls=%d",
                        order.client_order_id,
                        found.order_id,
                        poll + 1,
                    )
                    return OrderPlacement(order.client_order_id, found.order_id, resolved=found)
            raise ambiguous

    async def create_order_resolving(
        self,
        ticker: str,
        side: BookSide,
        price: Price,
        count: Count,
        *,
        client_order_id: str | None = None,
        time_in_force: TimeInForce = TimeInForce.GOOD_TILL_CANCELED,
        self_trade_prevention: SelfTradePrevention = SelfTradePrevention.TAKER_AT_CROSS,
        post_only: bool = False,
        reduce_only: bool = False,
        order_group_id: str | None = None,
        polls: int | None = None,
    ) -> OrderPlacement:
        order = self.new_order(
            ticker,
            side,
            price,
            count,
            client_order_id=client_order_id,
            time_in_force=time_in_force,
            self_trade_prevention=self_trade_prevention,
            post_only=post_only,
            reduce_only=reduce_only,
            order_group_id=order_group_id,
        )
        return await self.place_resolving(order, polls)

    # ------------------------------------------------------------------------------ change
    async def cancel_order(self, order_id: str) -> CancelResult:
        return CancelResult.from_wire(await self._write("DELETE", f"{ORDERS}/{segment(order_id)}"))

    async def amend_order(
        self,
        order_id: str,
        ticker: str,
        side: BookSide,
        price: Price,
        total_count: Count,
        *,
        client_order_id: str | None = None,
        updated_client_order_id: str | None = None,
    ) -> AmendResult:
        """New YES price and new *total* count (already filled + desired remaining)."""
        body: dict[str, object] = {
            "ticker": ticker,
            "side": side.value,
            "price": price.dollars_str(),
            "count": total_count.fp_str(),
        }
        if client_order_id is not None:
            body["client_order_id"] = client_order_id
        if updated_client_order_id is not None:
            body["updated_client_order_id"] = updated_client_order_id
        return AmendResult.from_wire(await self._write("POST", f"{ORDERS}/{segment(order_id)}/amend", body))

    async def decrease_order(
        self, order_id: str, *, reduce_by: Count | None = None, reduce_to: Count | None = None
    ) -> DecreaseResult:
        """Shrink a resting order; exactly one of ``reduce_by`` / ``reduce_to``."""
        if (reduce_by is None) == (reduce_to is None):
            raise ValueError("pass exactly one of reduce_by and reduce_to")
        body = {"reduce_by": reduce_by.fp_str()} if reduce_by is not None else {"reduce_to": _fp(reduce_to)}
        return DecreaseResult.from_wire(
            await self._write("POST", f"{ORDERS}/{segment(order_id)}/decrease", body)
        )

    async def batch_create(self, orders: Sequence[NewOrder]) -> list[BatchCreateItem]:
        """Create several orders in one call; each item answers for itself, in request order."""
        if not orders:
            return []
        body = {"orders": [o.to_wire() for o in orders]}
        try:
            answer = await self._write("POST", f"{ORDERS}/batched", body, batch_items=len(orders))
        except ExchangeError as err:
            if err.kind is ErrorKind.AMBIGUOUS:
                sent = tuple((o.client_order_id, o.ticker) for o in orders)
                raise AmbiguousBatchError(sent, err) from None
            raise
        items = Fields(answer, "BatchCreateOrdersV2Response").array("orders")
        if len(items) != len(orders):
            raise WireFormatError(f"batch create answered {len(items)} items for {len(orders)} orders")
        return [BatchCreateItem.from_wire(raw, sent) for raw, sent in zip(items, orders, strict=True)]

    async def batch_cancel(self, order_ids: Sequence[str]) -> list[BatchCancelItem]:
        if not order_ids:
            return []
        body = {"orders": [{"order_id": oid} for oid in order_ids]}
        answer = await self._write("DELETE", f"{ORDERS}/batched", body, batch_items=len(order_ids))
        items = Fields(answer, "BatchCancelOrdersV2Response").array("orders")
        if len(items) != len(order_ids):
            raise WireFormatError(f"batch cancel answered {len(items)} items for {len(order_ids)} orders")
        return [BatchCancelItem.from_wire(raw, oid) for raw, oid in zip(items, order_ids, strict=True)]

    async def cancel_all(self, subaccount: int | None = None) -> None:
        """Cancel every resting order (of ``subaccount``, or of all subaccounts)."""
        await self._write("DELETE", ORDERS, params=query(subaccount=subaccount))


def _fp(count: Count | None) -> str:
    assert count is not None
    return count.fp_str()
