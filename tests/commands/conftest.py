"""Fixtures of the command tests: the scenario simulator (Alice, Bob, loopback) of the view and
restart tests; every test that uses it ends with the scenario invariants (ledger == exchange, no
client_order_id twice, limits)."""

from __future__ import annotations

from tests.trader.scenarios.conftest import env

__all__ = ["env"]
