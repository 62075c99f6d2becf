"""``run`` trades a policy under the exits it was measured with: ``maker`` without take profit,
stop loss or max hold (they cross the spread it quotes to earn), unless the configuration sets them."""

from __future__ import annotations

from pathlib import Path

from kalshiflow.commands.run import RunFlags, build_options


def _exit_rules(tmp_path: Path, policy: str, config: str | None = None) -> tuple[bool, bool, bool]:
    path = None
    if config is not None:
        path = tmp_path / "kalshiflow.toml"
        path.write_text(config)
    flags = RunFlags(
        policy=policy, config=None if path is None else str(path), data_dir=str(tmp_path / "data")
    )
    options, _ = build_options(flags, {})
    rules = options.settings.exit_rules
    return rules.take_profit_enabled, rules.stop_loss_enabled, rules.max_hold_enabled


def test_maker_runs_without_the_exits_that_cross(tmp_path: Path) -> None:
    assert _exit_rules(tmp_path, "maker") == (False, False, False)
    assert _exit_rules(tmp_path, "rules") == (True, True, True)


def test_an_exit_the_config_sets_wins_over_the_policy(tmp_path: Path) -> None:
    assert _exit_rules(tmp_path, "maker", "[exit_rules]\nstop_loss_enabled = true\n") == (False, True, False)
