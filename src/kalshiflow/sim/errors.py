"""Errors the simulated exchange answers with, as Kalshi does.

Every rejection carries the HTTP status and the ``error.code`` string of the real API, so the
server can render the real envelope ``{"error": {"code", "message", "details"}}`` and the engine
can be tested without HTTP. Codes follow the reference (section 9); where Kalshi's code is not
documented, the choice is written here once.
"""

from __future__ import annotations


class ExchangeError(Exception):
    """A request the exchange refuses. Raising it leaves the engine's state unchanged."""

    def __init__(self, status: int, code: str, message: str, details: str = "") -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


def bad_request(message: str, code: str = "invalid_order", details: str = "") -> ExchangeError:
    return ExchangeError(400, code, message, details)


def invalid_price(message: str = "invalid price") -> ExchangeError:
    return ExchangeError(400, "invalid_price", message)


def invalid_size(message: str = "invalid order size") -> ExchangeError:
    return ExchangeError(400, "invalid_order_size", message)


def insufficient_balance() -> ExchangeError:
    return ExchangeError(400, "insufficient_balance", "available balance too low for this order")


def not_found(what: str, ident: str) -> ExchangeError:
    return ExchangeError(404, "not_found", f"{what} {ident!r} not found")


def market_not_found(ticker: str) -> ExchangeError:
    return ExchangeError(404, "market_not_found", f"market {ticker!r} not found")


def market_closed(ticker: str) -> ExchangeError:
    return ExchangeError(409, "market_closed", f"market {ticker!r} is not open for trading")


def duplicate_client_order_id(client_order_id: str) -> ExchangeError:
    return ExchangeError(409, "order_already_exists", f"client_order_id {client_order_id!r} already used")


def trading_paused() -> ExchangeError:
    return ExchangeError(400, "trading_is_paused", "trading is paused on the exchange")
