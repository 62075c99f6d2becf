"""An exported MLP trades as it was trained: passive trades and the exits recorded in its manifest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.policy.policy_kit import random_layers, small_schema

from kalshiflow.config import policy_exit_rules
from kalshiflow.policy.base import Action, PolicyLoadError
from kalshiflow.policy.export_tools import write_mlp_policy
from kalshiflow.policy.manifest import MANIFEST_FILENAME
from kalshiflow.policy.mlp import load_mlp_policy
from kalshiflow.policy.registry import exit_overrides
from kalshiflow.trader.config import ExitRulesConfig

SCHEMA = small_schema(6)
SIZES = (6, 16, 8, 5)
MAKER_EXITS = {"take_profit_enabled": False, "stop_loss_enabled": False, "max_hold_enabled": False}


def _decisions(path: Path) -> list[tuple[Action, bool]]:
    policy = load_mlp_policy(path, SCHEMA)
    rng = np.random.default_rng(2)
    return [(d.action, d.passive) for d in (policy.decide(tuple(o)) for o in rng.normal(0.0, 2.0, (300, 6)))]


def test_a_passive_model_rests_every_trade_and_never_a_hold(tmp_path: Path) -> None:
    write_mlp_policy(tmp_path, random_layers(SIZES, seed=3), schema=SCHEMA, passive=True)
    decisions = _decisions(tmp_path)
    assert {a for a, _ in decisions} - {Action.HOLD}, (
        "the random network never trades: the test means nothing"
    )
    for action, passive in decisions:
        assert passive is (action is not Action.HOLD)


def test_a_manifest_without_the_fields_keeps_crossing_trades_and_default_exits(tmp_path: Path) -> None:
    manifest = write_mlp_policy(tmp_path, random_layers(SIZES, seed=3), schema=SCHEMA)
    document = json.loads(manifest.read_text())
    del document["passive"], document["exit_overrides"]  # as written before these fields existed
    manifest.write_text(json.dumps(document))
    assert not any(passive for _, passive in _decisions(tmp_path))
    assert exit_overrides(f"mlp:{tmp_path}") == {}
    assert policy_exit_rules(ExitRulesConfig(), f"mlp:{tmp_path}") == ExitRulesConfig()


def test_the_manifest_exit_overrides_reach_the_exit_rules_unless_the_config_sets_them(tmp_path: Path) -> None:
    write_mlp_policy(tmp_path, random_layers(SIZES), schema=SCHEMA, passive=True, exit_overrides=MAKER_EXITS)
    assert exit_overrides(f"mlp:{tmp_path / MANIFEST_FILENAME}") == MAKER_EXITS
    rules = policy_exit_rules(ExitRulesConfig(), f"mlp:{tmp_path}")
    assert not any((rules.take_profit_enabled, rules.stop_loss_enabled, rules.max_hold_enabled))
    explicit = policy_exit_rules(ExitRulesConfig(stop_loss_enabled=True), f"mlp:{tmp_path}")
    assert explicit.stop_loss_enabled
    assert not explicit.take_profit_enabled


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("passive", "yes", "passive is 'yes'"),
        ("exit_overrides", {"stop_loss_enabled": 0}, "exit_overrides.stop_loss_enabled is 0"),
        ("exit_overrides", [], "exit_overrides must be a JSON object"),
    ],
)
def test_a_malformed_trading_mode_stops_loading(
    tmp_path: Path, field: str, value: object, message: str
) -> None:
    manifest = write_mlp_policy(tmp_path, random_layers(SIZES), schema=SCHEMA)
    document = json.loads(manifest.read_text())
    document[field] = value
    manifest.write_text(json.dumps(document))
    with pytest.raises(PolicyLoadError, match=message):
        load_mlp_policy(tmp_path, SCHEMA)


def test_an_exit_override_that_is_no_exit_rule_stops_startup(tmp_path: Path) -> None:
    write_mlp_policy(
        tmp_path, random_layers(SIZES), schema=SCHEMA, exit_overrides={"stop_loss_enable": False}
    )
    with pytest.raises(PolicyLoadError, match="stop_loss_enable"):
        policy_exit_rules(ExitRulesConfig(), f"mlp:{tmp_path}")
