"""Sub-accounts: up to 63 numbered accounts beside a user's primary one, each with its own cash,
positions and orders.

The engine already keeps cash, positions, reservations and settlement per account, so a numbered
sub-account is an engine account of its own, named ``"<primary>#sub<n>"``; the primary account is
sub-account 0. Everything that maps between the user a request (or WebSocket session) belongs to
and the engine account that holds the money goes through this module, so the convention lives in
one place. Transfers move cash between two of one user's sub-accounts, exactly (whole cents, as
Kalshi's ``amount_cents``) and idempotently by ``client_transfer_id``.

Choice where Kalshi is silent (deliberate): self-trade prevention applies per sub-account (two
sub-accounts of one user may trade with each other).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from kalshiflow.sim import errors
from kalshiflow.sim.events import BalanceEvent
from kalshiflow.sim.state import Account, SimOrder, SubaccountTransfer

if TYPE_CHECKING:
    from kalshiflow.sim.engine import Engine

SEPARATOR: Final = "#sub"
MAX_NUMBER: Final = 63
CENT: Final = 10_000  # Money units per cent


def engine_account_id(primary: str, number: int) -> str:
    return primary if number == 0 else f"{primary}{SEPARATOR}{number}"


def primary_of(account_id: str) -> str:
    """The user (primary account) an engine account belongs to."""
    return account_id.split(SEPARATOR, 1)[0]


def number_of(account_id: str) -> int:
    _, sep, number = account_id.partition(SEPARATOR)
    return int(number) if sep else 0


def numbers(engine: Engine, primary: str) -> list[int]:
    """0 and every numbered sub-account the user created, ascending."""
    found = [0]
    n = 1
    while n <= MAX_NUMBER and engine_account_id(primary, n) in engine.accounts:
        found.append(n)  # numbers are handed out sequentially, so the first gap ends the list
        n += 1
    return found


def account(engine: Engine, primary: str, number: int) -> Account:
    """The engine account of sub-account ``number``; 400 if the user has not created it."""
    if not 0 <= number <= MAX_NUMBER:
        raise errors.bad_request("subaccount must be between 0 and 63", code="invalid_parameters")
    found = engine.accounts.get(engine_account_id(primary, number))
    if found is None:
        raise errors.bad_request(f"subaccount {number} does not exist", code="invalid_parameters")
    return found


def create(engine: Engine, primary: str) -> int:
    """Open the next numbered sub-account (empty); its number."""
    owner = engine.account(primary)
    number = numbers(engine, primary)[-1] + 1
    if number > MAX_NUMBER:
        raise errors.bad_request("a user has at most 63 numbered subaccounts", code="invalid_parameters")
    created = engine.add_account(engine_account_id(primary, number), 0, owner.balance_precision)
    created.user_id = owner.user_id  # one user: WebSocket messages name the same user_id
    created.updated_ms = engine.clock.now_ms()
    return number


def transfer(
    engine: Engine, primary: str, client_transfer_id: str, from_n: int, to_n: int, amount_cents: int
) -> SubaccountTransfer:
    """Move ``amount_cents`` between two of the user's sub-accounts; a repeated id is a no-op."""
    owner = engine.account(primary)
    for done in owner.transfers:
        if done.client_transfer_id == client_transfer_id:
            return done
    if amount_cents <= 0:
        raise errors.bad_request("amount_cents must be positive", code="invalid_parameters")
    if from_n == to_n:
        raise errors.bad_request("from_subaccount and to_subaccount must differ", code="invalid_parameters")
    source, target = account(engine, primary, from_n), account(engine, primary, to_n)
    amount = amount_cents * CENT
    if amount > source.balance:
        raise errors.insufficient_balance()
    now = engine.clock.now_ms()
    source.balance -= amount
    target.balance += amount
    source.updated_ms = target.updated_ms = now
    record = SubaccountTransfer(engine.new_id(), client_transfer_id, from_n, to_n, amount, now)
    owner.transfers.append(record)
    if engine.listeners:
        engine.emit(BalanceEvent(source.account_id, now))
        engine.emit(BalanceEvent(target.account_id, now))
    return record


def own_order(engine: Engine, primary: str, order_id: str) -> SimOrder:
    """An order of any of the user's sub-accounts; 404 for anyone else's."""
    order = engine.orders.get(order_id)
    if order is None or primary_of(order.account_id) != primary:
        raise errors.not_found("order", order_id)
    return order
