"""``run --speed`` scales the trader's clock only for the embedded simulator: against an external
exchange (a running simulator included) the trader's market time follows the exchange's own clock
(``exchange.exchange_clock``, tested against a fast simulator there) and it signs with the wall clock."""

from __future__ import annotations

from kalshiflow.clock import FollowingClock, ScaledClock, SystemClock, signing_clock
from kalshiflow.commands.decider import build_decider
from kalshiflow.commands.run_app import RunOptions, TraderApp
from kalshiflow.config import load_settings
from kalshiflow.exchange.environments import Environment, ExchangeConnection


def test_speed_scales_the_clock_of_an_embedded_simulator_run() -> None:
    app = TraderApp(RunOptions(load_settings(environ={}, overrides={}), sim_speed=20.0), build_decider)
    assert isinstance(app.clock, ScaledClock)
    assert app.clock.speed == 20.0


def test_external_exchange_time_is_the_exchanges_and_signatures_the_wall_clocks() -> None:
    connection = ExchangeConnection(
        Environment.SIM, "http://127.0.0.1:8900/trade-api/v2", "ws://127.0.0.1:8900/trade-api/ws/v2", "key"
    )
    options = RunOptions(load_settings(environ={}, overrides={}), connection=connection, sim_speed=20.0)
    app = TraderApp(options, build_decider)
    assert isinstance(app.clock, FollowingClock)
    assert isinstance(app.clock.local, SystemClock)
    assert not app.clock.following, "the wall clock until the exchange answers"
    assert signing_clock(app.clock) is app.clock.local
