"""The trader's own fills, order updates and positions reach it typed in process
(``train.inprocess_private``): each message must be the one the hub's frame parses into."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable

import numpy as np
import pytest

from kalshiflow.domain.orders import BookSide, OrderStatus, SelfTradePrevention, TimeInForce, UpdateReason
from kalshiflow.exchange.ws_models import (
    FillMessage,
    MarketPositionUpdate,
    StreamEvent,
    UserOrderUpdate,
    WsMessage,
)
from kalshiflow.exchange.ws_parse import parse_value
from kalshiflow.marketdata.bookstore import BookStore
from kalshiflow.sim import subaccounts
from kalshiflow.sim import ws_messages as render
from kalshiflow.sim.events import FillEvent, OrderEvent, PositionEvent
from kalshiflow.sim.faults import FaultConfig, FaultInjector
from kalshiflow.sim.server.ws_frames import Body, DataFrame
from kalshiflow.sim.state import Fill, Position, SimOrder
from kalshiflow.train.env import TradingEnv
from kalshiflow.train.inprocess import Plumbing
from kalshiflow.train.inprocess_private import fill_message, order_message, position_message
from kalshiflow.train.session import SessionConfig
from kalshiflow.train.venue import SimVenue

SID = 7


def _parsed(msg_type: str, payload: render.Payload) -> WsMessage:
    """What the client parses off the hub's frame for ``payload``."""
    return parse_value(DataFrame(msg_type, SID, None, Body(payload), None).value(), 0, lambda: "")


def _order(**changes: object) -> SimOrder:
    order = SimOrder(
        order_id="o-1",
        client_order_id="c-1",
        account_id="trader",
        ticker="MKT-1",
        side=BookSide.ASK,
        yes_price=4_200,
        initial_count=1_000,
        time_in_force=TimeInForce.GOOD_TILL_CANCELED,
        self_trade_prevention=SelfTradePrevention.TAKER_AT_CROSS,
        created_ms=1_700_000_000_123,
        priority=3,
        fill_count=300,
        remaining_count=700,
        status=OrderStatus.RESTING,
        updated_ms=1_700_000_000_456,
        taker_fill_cost=1_234_567,
        maker_fill_cost=7,
        taker_fees=20_001,
        maker_fees=0,
    )
    return dataclasses.replace(order, **changes)  # type: ignore[arg-type]


ORDERS = [
    (_order(), UpdateReason.CREATED),
    (_order(client_order_id="", side=BookSide.BID, status=OrderStatus.EXECUTED), UpdateReason.TRADE),
    (_order(order_group_id="g-1", expiration_ms=1_700_000_900_000, subaccount=3), UpdateReason.AMEND),
    (_order(status=OrderStatus.CANCELED, remaining_count=0, yes_price=1), UpdateReason.EXPIRY_CANCEL),
]


@pytest.mark.parametrize(("order", "reason"), ORDERS)
def test_an_order_update_is_the_parsed_frame(order: SimOrder, reason: UpdateReason) -> None:
    expected = _parsed("user_order", render.user_order(order, "user", reason))
    assert order_message(OrderEvent(order, reason, 0), SID, 0) == expected


FILLS = [
    Fill(
        "t-1",
        "o-1",
        "c-1",
        "trader",
        "MKT-1",
        BookSide.BID,
        5_600,
        1_000,
        True,
        12_345,
        1_700_000_000_999,
        -250,
    ),
    Fill("t-2", "o-2", "", "trader:2", "MKT-2", BookSide.ASK, 9_999, 1, False, 0, 1_700_000_001_000, 1, 2),
]


@pytest.mark.parametrize("record", FILLS)
def test_a_fill_is_the_parsed_frame(record: Fill) -> None:
    expected = _parsed("fill", render.fill(record))
    assert fill_message(FillEvent(record), SID, 0) == expected


@pytest.mark.parametrize(
    ("account", "position"),
    [
        ("trader", Position(position=-700, cost=2_940_000, realized_pnl=-15, fees_paid=31_000, volume=900)),
        ("trader:5", Position(position=0, cost=0, realized_pnl=1_000_001, fees_paid=7, volume=2)),
    ],
)
def test_a_position_is_the_parsed_frame(account: str, position: Position) -> None:
    payload = render.market_position("user", "MKT-1", position, subaccounts.number_of(account))
    assert position_message(PositionEvent(account, "MKT-1", position), SID, 0) == _parsed(
        "market_position", payload
    )


def _delivered(plumbing: Plumbing, faults: FaultConfig | None) -> list[StreamEvent]:
    """The private messages the trader received in a seeded random-action episode, with ``faults``
    set on the exchange before it starts. Received times are zeroed (the reader's clock) and client
    order ids numbered by first appearance (each trader draws a random prefix for its ids)."""
    seen: list[StreamEvent] = []
    client_ids: dict[str | None, str] = {None: ""}
    connect = SimVenue.connect

    def spying(
        venue: SimVenue, books: BookStore, tickers: list[str], on_event: Callable[[StreamEvent], None]
    ) -> None:
        if faults is not None:
            venue.sim.faults.update(faults.model_dump())

        def spy(message: StreamEvent) -> None:
            if isinstance(message, FillMessage | UserOrderUpdate):
                client_id = client_ids.setdefault(message.client_order_id, f"c{len(client_ids)}")
                seen.append(dataclasses.replace(message, received_ns=0, client_order_id=client_id))
            elif isinstance(message, MarketPositionUpdate):
                seen.append(dataclasses.replace(message, received_ns=0))
            on_event(message)

        connect(venue, books, tickers, spy)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SimVenue, "connect", spying)
        env = TradingEnv(seeds=(1000,), episode_s=300.0, config=SessionConfig(plumbing=plumbing))
        rng = np.random.default_rng(5)
        env.reset(seed=0)
        try:
            while not env.step(int(rng.integers(0, 5)))[3]:
                pass
        finally:
            env.close()
    return seen


def test_the_trader_receives_the_same_private_messages_in_process_as_over_the_wire() -> None:
    wire = _delivered(Plumbing.WIRE, None)
    direct = _delivered(Plumbing.DIRECT, None)
    kinds = {type(m).__name__ for m in wire}
    assert kinds == {"FillMessage", "UserOrderUpdate", "MarketPositionUpdate"}
    assert direct == wire


def test_with_stream_faults_private_messages_go_through_the_hub_in_process() -> None:
    """A fault may touch any frame, so the hub sends them: some arrive twice (the typed path never
    duplicates). Not compared with the wire: there the book deltas draw faults too."""
    direct = _delivered(Plumbing.DIRECT, FaultConfig(ws_duplicate_rate=0.3))
    assert any(a == b for a, b in itertools.pairwise(direct))


def test_quiet_faults_promise_a_send() -> None:
    injector = FaultInjector(FaultConfig(ws_drop_rate=0.0))
    session = injector.ws_session()
    assert session.quiet()
    assert session.next_action() == "send"
    injector.trigger_ws_disconnect()
    assert not session.quiet()
    assert session.next_action() == "disconnect"
    assert session.quiet()
    injector.update({"ws_seq_gap_rate": 0.01})
    assert not session.quiet()
    injector.update({"ws_seq_gap_rate": 0.0, "ws_disconnect_after_messages": 10})
    assert not session.quiet()
