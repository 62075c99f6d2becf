"""Parsing frames into typed messages: exact units, and bad input as values, never exceptions."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from kalshiflow.domain.orders import BookSide, OutcomeSide
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.exchange.ws_models import (
    ErrorReply,
    EventFeeUpdate,
    FillMessage,
    MalformedFrame,
    OkReply,
    OrderbookDelta,
    OrderbookSnapshot,
    OrderGroupUpdate,
    Subscribed,
    UnknownMessage,
)
from kalshiflow.exchange.ws_parse import parse_frame
from kalshiflow.exchange.ws_sequence import BookGate, Escalation, SequenceTracker, SeqVerdict
from kalshiflow.exchange.ws_status import (
    Backoff,
    BackoffPolicy,
    ConnectionState,
    ErrorKind,
    IllegalTransition,
    StateMachine,
)


def _frame(msg_type: str, msg: object, **env: object) -> str:
    return json.dumps({"type": msg_type, **env, "msg": msg})


def test_snapshot_levels_are_exact_and_an_omitted_side_is_empty() -> None:
    frame = _frame(
        "orderbook_snapshot",
        {"market_ticker": "T", "market_id": "m", "yes_dollars_fp": [["0.5600", "10.00"], ["0.0850", "1.50"]]},
        sid=2,
        seq=1,
    )
    msg = parse_frame(frame)
    assert msg == OrderbookSnapshot(
        2, 1, "T", ((Price(850), Count(150)), (Price(5600), Count(1000))), (), msg.received_ns
    )


@pytest.mark.parametrize("side", [OutcomeSide.YES, OutcomeSide.NO])
def test_delta_parses_side_price_and_signed_count(side: OutcomeSide) -> None:
    body = {
        "market_ticker": "T",
        "market_id": "m",
        "price_dollars": "0.9600",
        "delta_fp": "-54.00",
        "side": side.value,
        "ts_ms": 5,
        "client_order_id": "c1",
    }
    msg = parse_frame(_frame("orderbook_delta", body, sid=2, seq=3))
    assert isinstance(msg, OrderbookDelta)
    assert (msg.side, msg.price, msg.delta, msg.ts_ms, msg.client_order_id) == (
        side,
        Price(9600),
        Count(-5400),
        5,
        "c1",
    )


def test_fill_parses_money_and_signed_position() -> None:
    body = {
        "trade_id": "t",
        "order_id": "o",
        "client_order_id": "c",
        "market_ticker": "T",
        "exchange_index": 0,
        "is_taker": True,
        "side": "yes",
        "yes_price_dollars": "0.7500",
        "count_fp": "2.00",
        "fee_cost": "0.010000",
        "action": "buy",
        "ts": 1,
        "ts_ms": 1000,
        "post_position_fp": "-3.00",
        "purchased_side": "no",
        "outcome_side": "no",
        "book_side": "ask",
    }
    msg = parse_frame(_frame("fill", body, sid=4))
    assert isinstance(msg, FillMessage)
    assert (msg.fee, msg.post_position, msg.book_side, msg.outcome_side) == (
        Money(10_000),
        Count(-300),
        BookSide.ASK,
        OutcomeSide.NO,
    )


def test_order_group_update_limit_is_optional() -> None:
    msg = parse_frame(
        _frame(
            "order_group_updates",
            {"event_type": "triggered", "order_group_id": "g", "ts_ms": 7},
            sid=1,
            seq=4,
        )
    )
    assert msg == OrderGroupUpdate(1, 4, "triggered", "g", None, 7, msg.received_ns)


@pytest.mark.parametrize(
    ("body", "fee_type", "multiplier"),
    [
        (  # the AsyncAPI's two examples: an override set, an override cleared
            {
                "event_ticker": "KXBTCD-26MAY2018",
                "fee_type_override": "quadratic",
                "fee_multiplier_override": 1,
            },
            "quadratic",
            Fraction(1),
        ),
        (
            {"event_ticker": "KXBTCD-26MAY2018", "fee_type_override": None, "fee_multiplier_override": None},
            None,
            None,
        ),
        (  # a JSON number is read from its decimal text: 0.1 is exactly 1/10, not the binary float
            {"event_ticker": "KXBTCD-26MAY2018", "fee_type_override": "flat", "fee_multiplier_override": 0.1},
            "flat",
            Fraction(1, 10),
        ),
    ],
)
def test_event_fee_update_parses_exact_overrides(
    body: dict[str, object], fee_type: str | None, multiplier: Fraction | None
) -> None:
    msg = parse_frame(_frame("event_fee_update", body, sid=5, seq=9))
    assert msg == EventFeeUpdate(5, 9, "KXBTCD-26MAY2018", fee_type, multiplier, msg.received_ns)


@pytest.mark.parametrize("multiplier", ["1.5", True, -1])
def test_an_event_fee_update_with_a_bad_multiplier_is_malformed(multiplier: object) -> None:
    body = {"event_ticker": "E", "fee_type_override": "flat", "fee_multiplier_override": multiplier}
    msg = parse_frame(_frame("event_fee_update", body, sid=5, seq=9))
    assert isinstance(msg, MalformedFrame)
    assert "fee_multiplier_override" in msg.reason


def test_replies_parse_into_their_types() -> None:
    assert parse_frame('{"id":1,"type":"subscribed","msg":{"channel":"ticker","sid":3}}') == Subscribed(
        1, "ticker", 3
    )
    listing = parse_frame('{"id":3,"type":"ok","msg":[{"channel":"trade","sid":1}]}')
    assert isinstance(listing, OkReply)
    assert listing.subscriptions is not None
    assert listing.subscriptions[0].channel == "trade"
    error = parse_frame(
        '{"type":"error","sid":2,"seq":9,"msg":{"code":25,"msg":"Subscription buffer overflow"}}'
    )
    assert isinstance(error, ErrorReply)
    assert error.is_terminal
    assert error.sid == 2


@pytest.mark.parametrize(
    ("frame", "reason_part"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "not an object"),
        ('{"sid": 1}', "frame.type is missing"),
        (
            _frame(
                "orderbook_delta",
                {"market_ticker": "T", "price_dollars": "0.96001", "delta_fp": "1.00", "side": "yes"},
                sid=1,
                seq=1,
            ),
            "more than 4 decimal",
        ),
        (
            _frame(
                "orderbook_delta",
                {"market_ticker": "T", "price_dollars": "0.96", "delta_fp": "1.00", "side": "maybe"},
                sid=1,
                seq=1,
            ),
            "msg.side",
        ),
        (
            _frame(
                "orderbook_delta",
                {"market_ticker": "T", "price_dollars": "0.96", "delta_fp": "1.00", "side": "yes"},
                sid="1",
                seq=1,
            ),
            "frame.sid is not an integer",
        ),
        (
            _frame("orderbook_snapshot", {"market_ticker": "T", "yes_dollars_fp": [["0.50"]]}, sid=1, seq=1),
            "not [price, count]",
        ),
        (_frame("ticker", "oops", sid=1), "msg is not an object"),
    ],
)
def test_bad_frames_become_malformed_values(frame: str, reason_part: str) -> None:
    msg = parse_frame(frame)
    assert isinstance(msg, MalformedFrame)
    assert reason_part in msg.reason


_DELTA_BODY = {"market_ticker": "T", "price_dollars": "0.96", "delta_fp": "1.00", "side": "yes"}


@pytest.mark.parametrize(
    ("envelope", "body", "reason_part"),
    [
        ({"sid": True, "seq": 1}, _DELTA_BODY, "frame.sid is not an integer"),
        ({"sid": 1, "seq": 2.0}, _DELTA_BODY, "frame.seq is not an integer"),
        ({"sid": 1}, _DELTA_BODY, "frame.seq is missing"),
        ({"sid": 1, "seq": 1}, {**_DELTA_BODY, "market_ticker": 7}, "msg.market_ticker is not a string"),
        (
            {"sid": 1, "seq": 1},
            {k: v for k, v in _DELTA_BODY.items() if k != "delta_fp"},
            "msg.delta_fp is missing",
        ),
        ({"sid": 1, "seq": 1}, {**_DELTA_BODY, "ts_ms": "soon"}, "msg.ts_ms is not an integer"),
        ({"sid": 1, "seq": 1}, {**_DELTA_BODY, "delta_fp": "1.001"}, "more than 2 decimal"),
        ({"sid": 1, "seq": 1}, "oops", "msg is not an object"),
    ],
)
def test_delta_the_fast_path_cannot_take_is_named_by_the_field_checked_path(
    envelope: dict[str, object], body: object, reason_part: str
) -> None:
    msg = parse_frame(_frame("orderbook_delta", body, **envelope))
    assert isinstance(msg, MalformedFrame)
    assert reason_part in msg.reason


@pytest.mark.parametrize("as_bytes", [False, True])
def test_delta_fast_path_matches_the_field_checked_builder(as_bytes: bool) -> None:
    """The typed fast path and the general builder agree on every field of well-formed deltas."""
    from kalshiflow.exchange.ws_parse import _fast_delta
    from kalshiflow.exchange.ws_parse_data import DATA
    from kalshiflow.exchange.ws_parse_fields import Fields

    bodies = [
        _DELTA_BODY,
        {**_DELTA_BODY, "side": "no", "delta_fp": "-12.50", "ts_ms": 1_790_000_000_123},
        {**_DELTA_BODY, "client_order_id": "kf-1", "market_id": "ignored", "ts": "2026-01-01T00:00:00Z"},
        {**_DELTA_BODY, "ts_ms": None, "client_order_id": None, "price_dollars": "0.0150"},
    ]
    for body in bodies:
        text = json.dumps({"msg": body, "seq": 9, "sid": 4, "type": "orderbook_delta"})  # type last
        fast = _fast_delta(text.encode() if as_bytes else text, 5)  # taken, not fallen back from
        assert parse_frame(text, received_ns=5) == fast
        env = Fields(json.loads(text), "frame")
        slow = DATA["orderbook_delta"](env, Fields(env.obj["msg"], "msg"), 5)
        assert fast == slow
        assert isinstance(fast, OrderbookDelta)
        assert type(fast.price) is Price
        assert type(fast.delta) is Count


def test_unknown_type_is_a_value_not_an_error() -> None:
    msg = parse_frame('{"type":"rfq_created","sid":5,"seq":2,"msg":{}}', received_ns=1)
    assert msg == UnknownMessage("rfq_created", 5, 2, 1)


def test_sequence_tracker_classifies_next_gap_and_stale() -> None:
    tracker = SequenceTracker()
    verdicts = [tracker.observe(1, s) for s in (5, 6, 8, 9, 9, 7)]
    assert verdicts == [
        SeqVerdict.FIRST,
        SeqVerdict.NEXT,
        SeqVerdict.GAP,
        SeqVerdict.NEXT,
        SeqVerdict.STALE,
        SeqVerdict.STALE,
    ]


def test_gap_in_seq_invalidates_book_until_snapshot() -> None:
    gate = BookGate(resync_deadline_s=1.0)
    gate.track(["A"], now=0.0)
    assert not gate.accepts_delta("A")
    gate.on_snapshot("A")
    assert gate.invalidate(["A"], now=1.0) == ["A"]
    assert gate.invalidate(["A"], now=1.0) == []  # reported once
    assert not gate.accepts_delta("A")
    overdue = gate.overdue(now=2.5)
    assert overdue is not None
    assert overdue.action is Escalation.RESUBSCRIBED
    overdue = gate.overdue(now=4.0)
    assert overdue is not None
    assert overdue.action is Escalation.RECONNECT
    gate.on_snapshot("A")
    assert gate.accepts_delta("A")
    assert gate.overdue(now=10.0) is None


def test_state_table_rejects_illegal_transitions() -> None:
    fsm = StateMachine()
    for state in (
        ConnectionState.CONNECTING,
        ConnectionState.SUBSCRIBING,
        ConnectionState.LIVE,
        ConnectionState.BACKING_OFF,
    ):
        fsm.to(state)
    with pytest.raises(IllegalTransition):
        fsm.to(ConnectionState.LIVE)
    fsm.to(ConnectionState.CLOSED)
    with pytest.raises(IllegalTransition):
        fsm.to(ConnectionState.CONNECTING)


def test_backoff_grows_is_capped_seeded_and_slower_after_auth_failures() -> None:
    policy = BackoffPolicy(initial_s=1.0, max_s=8.0, auth_initial_s=5.0)
    delays = [Backoff(policy, seed=3).next_delay(ErrorKind.CONNECT) for _ in range(2)]
    assert delays[0] == delays[1]  # same seed, same jitter
    backoff = Backoff(policy, seed=3)
    series = [backoff.next_delay(ErrorKind.CONNECT) for _ in range(6)]
    assert all(0.5 * min(8.0, 2.0**i) <= d <= min(8.0, 2.0**i) for i, d in enumerate(series))
    assert Backoff(policy).next_delay(ErrorKind.AUTH) >= 2.5
