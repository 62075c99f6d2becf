"""Binding beyond loopback is allowed but announced: the admin API has no authentication."""

from __future__ import annotations

import logging

import pytest

from kalshiflow.sim.server.serve import is_loopback, warn_if_exposed


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_hosts_bind_silently(host: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert not warn_if_exposed(host)
    assert is_loopback(host)
    assert not caplog.records


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "sim.example"])
def test_non_loopback_hosts_are_warned_about(host: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert warn_if_exposed(host)
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert "/sim/admin" in record.getMessage()
