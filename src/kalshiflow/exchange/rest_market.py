"""Market-data endpoints of the REST client: exchange status, markets, order books, events, series.

Every method is a read through ``RestTransport._get`` (paced, retried on ambiguity and 429) and
returns typed models. Lists follow the cursor to the end; ``markets`` is an async iterator so a
caller scanning thousands of markets does not hold them all, ``list_markets`` collects them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Final
from urllib.parse import quote

from kalshiflow.exchange.models_market import (
    EventData,
    ExchangeStatus,
    Market,
    Orderbook,
    Series,
    orderbooks_from_wire,
)
from kalshiflow.exchange.models_wire import Fields
from kalshiflow.exchange.rest_transport import RestTransport, query

MARKETS_PAGE_SIZE: Final = 1000  # the API maximum for /markets
EVENTS_PAGE_SIZE: Final = 200  # the API maximum for /events
ORDERBOOKS_PER_CALL: Final = 100  # GET /markets/orderbooks takes 1..100 tickers


def segment(value: str) -> str:
    """A path segment, escaped so a ticker or id can never change the path."""
    return quote(value, safe="")


class MarketEndpoints(RestTransport):
    async def exchange_status(self) -> ExchangeStatus:
        return ExchangeStatus.from_wire(await self._get("/exchange/status"))

    async def user_data_timestamp(self) -> int:
        """The exchange's ``as_of_time`` (Unix ms): its own clock, as ``exchange_clock`` reads it."""
        return Fields(await self._get("/exchange/user_data_timestamp"), "UserDataTimestamp").time_ms(
            "as_of_time"
        )

    async def markets(
        self,
        *,
        status: str | None = None,
        event_ticker: str | None = None,
        series_ticker: str | None = None,
        tickers: Sequence[str] | None = None,
        min_close_ts: int | None = None,
        max_close_ts: int | None = None,
        mve_filter: str | None = None,
        page_size: int = MARKETS_PAGE_SIZE,
    ) -> AsyncIterator[Market]:
        """Every market matching the filters (``status``: unopened, open, paused, closed, settled)."""
        params = query(
            status=status,
            event_ticker=event_ticker,
            series_ticker=series_ticker,
            tickers=list(tickers) if tickers is not None else None,
            min_close_ts=min_close_ts,
            max_close_ts=max_close_ts,
            mve_filter=mve_filter,
        )
        async for raw in self._pages("/markets", "markets", params, page_size):
            yield Market.from_wire(raw)

    async def list_markets(
        self,
        *,
        status: str | None = None,
        event_ticker: str | None = None,
        series_ticker: str | None = None,
        tickers: Sequence[str] | None = None,
        min_close_ts: int | None = None,
        max_close_ts: int | None = None,
        page_size: int = MARKETS_PAGE_SIZE,
    ) -> list[Market]:
        return [
            m
            async for m in self.markets(
                status=status,
                event_ticker=event_ticker,
                series_ticker=series_ticker,
                tickers=tickers,
                min_close_ts=min_close_ts,
                max_close_ts=max_close_ts,
                page_size=page_size,
            )
        ]

    async def market(self, ticker: str) -> Market:
        answer = Fields(await self._get(f"/markets/{segment(ticker)}"), "GetMarketResponse")
        return Market.from_wire(answer.obj("market").raw)

    async def orderbook(self, ticker: str, depth: int = 0) -> Orderbook:
        """All levels (``depth`` 0) or the best ``depth`` levels per side."""
        params = query(depth=depth or None)
        answer = Fields(
            await self._get(f"/markets/{segment(ticker)}/orderbook", params), "GetMarketOrderbookResponse"
        )
        return Orderbook.from_wire(ticker, answer.obj("orderbook_fp").raw)

    async def orderbooks(self, tickers: Sequence[str], depth: int = 0) -> dict[str, Orderbook]:
        """Books of many markets, ``ORDERBOOKS_PER_CALL`` tickers per request."""
        unique = list(dict.fromkeys(tickers))
        books: dict[str, Orderbook] = {}
        for start in range(0, len(unique), ORDERBOOKS_PER_CALL):
            chunk = unique[start : start + ORDERBOOKS_PER_CALL]
            params = [("tickers", t) for t in chunk] + query(depth=depth or None)
            books.update(orderbooks_from_wire(await self._get("/markets/orderbooks", params)))
        return books

    async def events(
        self,
        *,
        status: str | None = None,
        series_ticker: str | None = None,
        tickers: Sequence[str] | None = None,
        with_nested_markets: bool = False,
        page_size: int = EVENTS_PAGE_SIZE,
    ) -> list[EventData]:
        params = query(
            status=status,
            series_ticker=series_ticker,
            tickers=list(tickers) if tickers is not None else None,
            with_nested_markets=with_nested_markets or None,
        )
        return [EventData.from_wire(raw) async for raw in self._pages("/events", "events", params, page_size)]

    async def event(self, event_ticker: str, with_nested_markets: bool = True) -> EventData:
        params = query(with_nested_markets=with_nested_markets)
        answer = Fields(await self._get(f"/events/{segment(event_ticker)}", params), "GetEventResponse")
        markets = tuple(Market.from_wire(m) for m in answer.opt_array("markets"))
        return EventData.from_wire(answer.obj("event").raw, markets if with_nested_markets else ())

    async def series(self, series_ticker: str) -> Series:
        """``GET /series/{series_ticker}``: the series, with its ``fee_type`` and ``fee_multiplier``."""
        answer = Fields(await self._get(f"/series/{segment(series_ticker)}"), "GetSeriesResponse")
        return Series.from_wire(answer.obj("series").raw)
