"""Fixtures of the restart tests: the scenario simulator (Alice, Bob, loopback) of ``trader_scenarios``.

Every test ends with the scenario invariants (ledger == exchange, no client_order_id twice, limits).
"""

from __future__ import annotations

from tests.trader.scenarios.conftest import alice_key, bob_key, env

__all__ = ["alice_key", "bob_key", "env"]
