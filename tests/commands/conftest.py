"""Fixtures of the command tests: the scenario simulator (Alice, Bob, loopback) for the view tests."""

from __future__ import annotations

from tests.trader.scenarios.conftest import alice_key, bob_key, env

__all__ = ["alice_key", "bob_key", "env"]
