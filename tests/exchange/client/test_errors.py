"""The ambiguity policy, tested in both directions: each answer maps to its kind, and no answer
that might have acted is ever called rejected."""

from __future__ import annotations

import logging

import httpx
import pytest

from kalshiflow.exchange.errors import (
    CODE_KINDS,
    STATUS_KINDS,
    AmbiguousError,
    AmbiguousOrderError,
    AuthError,
    ErrorKind,
    NotFoundError,
    RateLimitedError,
    RejectedError,
    classify,
    error_from_response,
    error_from_transport,
    kind_for_status,
    poll_log_level,
    retry_log_level,
)

REQUEST = httpx.Request("POST", "http://127.0.0.1/trade-api/v2/portfolio/events/orders")


def _response(status: int, body: object | None = None, content: bytes | None = None) -> httpx.Response:
    if content is not None:
        return httpx.Response(status, content=content, request=REQUEST)
    return httpx.Response(status, json=body, request=REQUEST)


@pytest.mark.parametrize(
    ("status", "code", "kind", "cls"),
    [
        (400, "invalid_price", ErrorKind.REJECTED, RejectedError),
        (401, "invalid_signature", ErrorKind.AUTH, AuthError),
        (403, "insufficient_permissions", ErrorKind.AUTH, AuthError),
        (404, "not_found", ErrorKind.NOT_FOUND, NotFoundError),
        (409, "order_already_exists", ErrorKind.REJECTED, RejectedError),
        (409, "market_closed", ErrorKind.REJECTED, RejectedError),
        (410, "deprecated_v1_order_endpoint", ErrorKind.REJECTED, RejectedError),
        (500, "internal_server_error", ErrorKind.AMBIGUOUS, AmbiguousError),
        (503, None, ErrorKind.AMBIGUOUS, AmbiguousError),
        (504, None, ErrorKind.AMBIGUOUS, AmbiguousError),
        (418, None, ErrorKind.REJECTED, RejectedError),  # unknown 4xx: the venue answered
        (599, None, ErrorKind.AMBIGUOUS, AmbiguousError),  # unknown 5xx: may have acted
        (302, None, ErrorKind.AMBIGUOUS, AmbiguousError),  # nobody expects a redirect
    ],
)
def test_each_answer_maps_to_its_kind(
    status: int, code: str | None, kind: ErrorKind, cls: type[Exception]
) -> None:
    body = {"error": {"code": code, "message": "m", "details": ""}} if code else None
    response = _response(status, body, None if code else b"")
    err = error_from_response(response, "POST", "/portfolio/events/orders")
    assert (err.kind, type(err), err.status, err.code) == (kind, cls, status, code)
    assert classify(response) is kind
    assert classify(err) is kind


def test_bare_429_body_is_rate_limited() -> None:
    err = error_from_response(_response(429, {"error": "too many requests"}), "GET", "/markets")
    assert isinstance(err, RateLimitedError)
    assert err.message == "too many requests"


def test_no_server_error_is_ever_rejected_and_no_client_error_is_ambiguous() -> None:
    """The reverse direction of the table: 'rejected' only for 4xx answers, 'ambiguous' only for 5xx."""
    for status in range(400, 600):
        kind = kind_for_status(status)
        if status >= 500:
            assert kind is ErrorKind.AMBIGUOUS, status
        else:
            assert kind is not ErrorKind.AMBIGUOUS, status
    for (status, _), kind in CODE_KINDS.items():
        assert status < 500
        assert kind is not ErrorKind.AMBIGUOUS
    assert {k for k in STATUS_KINDS.values()} == set(ErrorKind)


def test_success_is_not_an_error() -> None:
    with pytest.raises(ValueError, match="success"):
        kind_for_status(201)


@pytest.mark.parametrize(
    ("exc", "sent"),
    [
        (httpx.ConnectError("refused"), False),
        (httpx.ConnectTimeout("slow"), False),
        (httpx.PoolTimeout("busy"), False),
        (httpx.ReadTimeout("slow"), True),
        (httpx.WriteTimeout("slow"), True),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), True),
        (httpx.ReadError("reset"), True),
        (TimeoutError(), True),
        (ConnectionResetError(), True),
    ],
)
def test_transport_failures_are_ambiguous(exc: BaseException, sent: bool) -> None:
    assert classify(exc) is ErrorKind.AMBIGUOUS
    err = error_from_transport(exc, "POST", "/portfolio/events/orders", "http://h/trade-api/v2")
    assert err.kind is ErrorKind.AMBIGUOUS
    assert err.request_sent is sent
    if not sent:
        assert "cannot connect to http://h/trade-api/v2" in str(err)


def test_non_json_error_body_still_classifies() -> None:
    err = error_from_response(_response(502, content=b"<html>bad gateway</html>"), "GET", "/markets")
    assert err.kind is ErrorKind.AMBIGUOUS
    assert "non-JSON" in err.message


def test_messages_name_the_request_and_never_the_headers() -> None:
    err = error_from_response(
        _response(401, {"error": {"code": "invalid_signature", "message": "bad signature"}}),
        "GET",
        "/portfolio/balance",
    )
    text = str(err)
    assert text.startswith("GET /portfolio/balance: 401 invalid_signature: bad signature")
    assert "--key-id" in text
    assert "KALSHI-ACCESS" not in text


def test_ambiguous_order_error_carries_the_client_order_id() -> None:
    cause = error_from_transport(httpx.ReadTimeout("slow"), "POST", "/portfolio/events/orders")
    err = AmbiguousOrderError("cid-9", "T-1", cause)
    assert (err.client_order_id, err.ticker, err.kind, err.request_sent) == (
        "cid-9",
        "T-1",
        ErrorKind.AMBIGUOUS,
        True,
    )
    assert "cid-9" in str(err)
    assert "outcome unknown" in str(err)


def test_classify_refuses_what_is_not_a_failure() -> None:
    with pytest.raises(TypeError):
        classify(ValueError("not a transport error"))


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_refused_connection_says_nothing_was_sent(method: str) -> None:
    err = error_from_transport(httpx.ConnectError("refused"), method, "/markets", "http://h/trade-api/v2")
    assert err.kind is ErrorKind.AMBIGUOUS  # the callers' policy is unchanged
    assert "nothing was sent" in str(err)
    assert "may have taken effect" not in str(err)


def test_read_without_answer_does_not_claim_it_may_have_taken_effect() -> None:
    err = error_from_transport(httpx.ReadTimeout("slow"), "GET", "/portfolio/balance")
    assert err.request_sent
    assert "a read changes nothing" in str(err)
    assert "may have taken effect" not in str(err)


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_write_without_answer_still_says_it_may_have_taken_effect(method: str) -> None:
    err = error_from_transport(httpx.ReadTimeout("slow"), method, "/portfolio/events/orders")
    assert err.kind is ErrorKind.AMBIGUOUS
    assert "may have taken effect" in str(err)


def test_unanswered_5xx_read_does_not_claim_it_may_have_taken_effect() -> None:
    err = error_from_response(_response(503, {"error": {"code": "x", "message": "down"}}), "GET", "/markets")
    assert err.kind is ErrorKind.AMBIGUOUS
    assert "may have taken effect" not in str(err)


def test_a_poller_logs_an_unreachable_exchange_at_info_and_other_failures_as_warnings() -> None:
    """The REST transport warns once per outage (``rest.unreachable``); a poller failing on the same
    outage every few seconds stays at info, any other failure still warns."""
    assert poll_log_level(AmbiguousError("cannot connect", request_sent=False)) == logging.INFO
    assert poll_log_level(AmbiguousError("timed out", request_sent=True)) == logging.WARNING
    assert poll_log_level(ValueError("bad answer")) == logging.WARNING


def test_a_retry_during_an_outage_is_at_info_and_first_failures_and_refusals_warn() -> None:
    assert retry_log_level(retry=True, unreachable=True) == logging.INFO
    assert retry_log_level(retry=False, unreachable=True) == logging.WARNING  # the first failure
    assert retry_log_level(retry=True, unreachable=False) == logging.WARNING  # the exchange refused
    assert retry_log_level(retry=False, unreachable=False) == logging.WARNING
