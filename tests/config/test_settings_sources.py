"""One settings object: defaults < TOML < environment < flags; every mistake names its key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kalshiflow.config import SettingsError, load_settings
from kalshiflow.domain.units import Count, Money


def test_defaults_are_valid_and_exact() -> None:
    settings = load_settings(environ={})
    assert settings.run.policy == "ppo"  # the best held-out P&L after fees (README, "Training")
    assert settings.run.paper is None  # by exchange: see the next test
    assert settings.run.order_size_contracts == Count.contracts(1)
    assert settings.run.bankroll_dollars == Money.dollars(1000)


@pytest.mark.parametrize(
    ("paper", "exchange", "expected"),
    [
        (None, "sim", False),  # no real money: the default policy trades
        (None, "demo", False),
        (None, "prod", True),  # real money waits for paper = false / --live
        (True, "sim", True),
        (True, "prod", True),
        (False, "prod", False),
        (False, "sim", False),
    ],
)
def test_paper_mode_by_exchange_unless_set(paper: bool | None, exchange: str, expected: bool) -> None:
    overrides = {} if paper is None else {"run": {"paper": paper}}
    assert load_settings(environ={}, overrides=overrides).run.paper_on(exchange) is expected


def test_toml_then_environment_then_flags(tmp_path: Path) -> None:
    path = tmp_path / "kf.toml"
    path.write_text('[run]\npolicy = "hold"\nbankroll_dollars = "250.50"\n[risk]\nmax_order_contracts = 3\n')
    env = {"KALSHIFLOW_RISK__MAX_ORDER_CONTRACTS": "4", "KALSHIFLOW_RUN__DRIFT_RECALIBRATE_DOLLARS": "2.25"}
    settings = load_settings(path, env, overrides={"run": {"policy": "rules"}})
    assert settings.run.policy == "rules"  # the flag wins over the file
    assert settings.run.bankroll_dollars == Money.parse("250.50")
    assert settings.risk.max_order_contracts == Count.contracts(4)  # env wins over the file
    assert settings.run.drift_recalibrate_dollars == Money.parse("2.25")  # never a float


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ("[risk]\nmax_ordr_contracts = 3\n", "risk.max_ordr_contracts: unknown setting"),
        ("[rsik]\nx = 1\n", "rsik: unknown setting"),
        ("[run]\nbankroll_dollars = 1.5\n", "run.bankroll_dollars"),
        ("[markets]\ntop_n = -1\n", "markets.top_n"),
        ("policy = 'hold'\n", "must be a [section]"),
        ("[run\n", "not valid TOML"),
    ],
)
def test_mistakes_in_a_file_name_the_key_and_the_file(tmp_path: Path, toml: str, needle: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(SettingsError) as info:
        load_settings(path, environ={})
    assert needle in str(info.value)
    assert str(path) in str(info.value)


def test_a_missing_config_file_says_which_flag(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"--config .*: file not found"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_a_malformed_environment_name_is_an_error() -> None:
    with pytest.raises(SettingsError, match="KALSHIFLOW__RISK: expected KALSHIFLOW_SECTION__KEY"):
        load_settings(environ={"KALSHIFLOW__RISK": "1"})


@pytest.mark.parametrize(
    ("environ", "needle"),
    [
        ({"KALSHIFLOW_RISK__MAX_ORDR_CONTRACTS": "3"}, "did you mean 'max_order_contracts'"),
        ({"KALSHIFLOW_RSIK__MAX_ORDER_CONTRACTS": "3"}, "did you mean 'risk'"),
    ],
)
def test_an_unknown_variable_names_itself_and_the_closest_valid_key(
    environ: dict[str, str], needle: str
) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(environ=environ)
    assert next(iter(environ)) in str(info.value)
    assert needle in str(info.value)


def test_an_unknown_key_in_a_file_suggests_the_closest_valid_key(tmp_path: Path) -> None:
    path = tmp_path / "kf.toml"
    path.write_text("[run]\npolcy = 'hold'\n")
    with pytest.raises(SettingsError, match=r"run.polcy: unknown setting \(did you mean 'policy'\?\)"):
        load_settings(path, environ={})


def test_lists_come_from_the_environment_as_json_and_plain_variables_are_not_sections() -> None:
    settings = load_settings(
        environ={"KALSHIFLOW_MARKETS__TICKERS": '["A", "B"]', "KALSHIFLOW_DB": "sqlite:///x"}
    )
    assert settings.markets.tickers == ("A", "B")


def test_queue_position_timing_is_a_section_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "kf.toml"
    path.write_text("[queue_positions]\ncheck_s = 2.5\n")
    settings = load_settings(path, {"KALSHIFLOW_QUEUE_POSITIONS__MAX_AGE_S": "30"})
    assert (settings.queue_positions.check_s, settings.queue_positions.max_age_s) == (2.5, 30.0)
    path.write_text("[queue_positions]\ncheck_s = 0\n")
    with pytest.raises(SettingsError) as info:
        load_settings(path, environ={})
    assert "queue_positions.check_s" in str(info.value)


@pytest.mark.parametrize("value", ["KX-A,KX-B", "[1,", "KX-A"])
def test_a_list_variable_that_is_not_json_names_itself(value: str) -> None:
    """``KALSHIFLOW_MARKETS__TICKERS=KX-A,KX-B`` (the README says lists are JSON) escaped as
    pydantic-settings' own ``SettingsError``: a traceback and exit 1 instead of one line and exit 2."""
    with pytest.raises(SettingsError, match=r"KALSHIFLOW_MARKETS__TICKERS=.*not JSON"):
        load_settings(environ={"KALSHIFLOW_MARKETS__TICKERS": value, "KALSHIFLOW_RUN__POLICY": "maker"})


def test_run_with_a_list_variable_that_is_not_json_is_one_line_and_exit_2(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from kalshiflow.cli import app

    env = {"KALSHIFLOW_MARKETS__TICKERS": "KX-A,KX-B"}
    result = CliRunner().invoke(
        app, ["run", "--data-dir", str(tmp_path), "--no-view", "--no-dashboard"], env=env
    )
    assert result.exit_code == 2, result.output
    assert "KALSHIFLOW_MARKETS__TICKERS='KX-A,KX-B': not JSON" in result.output


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("KALSHIFLOW_DATADIR", "KALSHIFLOW_DATA_DIR"),
        ("KALSHIFLOW_KEYFILE", "KALSHIFLOW_KEY_FILE"),
        ("kalshiflow_dashboard_tokn", "KALSHIFLOW_DASHBOARD_TOKEN"),
        ("KALSHIFLOW_EXCHANGES", "KALSHIFLOW_EXCHANGE"),
    ],
)
def test_a_near_miss_of_a_known_variable_is_named(name: str, meant: str) -> None:
    """Ignored, ``KALSHIFLOW_DATADIR`` would put the database and logs in ./.kalshiflow unannounced."""
    with pytest.raises(
        SettingsError, match=f"^{name}: not a kalshiflow variable \\(did you mean {meant}\\?\\)$"
    ):
        load_settings(environ={name: "/somewhere"})


@pytest.mark.parametrize("name", ["KALSHIFLOW_HOME", "KALSHIFLOW_DEBUG", "KALSHIFLOW_LOG", "KALSHIFLOW_DB"])
def test_other_prefixed_variables_are_left_alone(name: str) -> None:
    load_settings(environ={name: "1"})


def test_the_known_variables_are_the_ones_the_code_reads() -> None:
    """``FLAT_VARIABLES`` equals every ``KALSHIFLOW_NAME`` (no section) that the source, the scripts
    and the tests mention, so a new variable cannot be refused as a near miss of an old one."""
    from tests.paths import REPO

    from kalshiflow.config import FLAT_VARIABLES

    mentioned: set[str] = set()
    for folder in ("src", "scripts", "tests", ".ci"):
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and path.suffix in (".py", ".sh", "") and "__pycache__" not in path.parts:
                mentioned |= set(
                    re.findall(r"\bKALSHIFLOW_[A-Z][A-Z0-9_]*[A-Z0-9]\b", path.read_text(errors="ignore"))
                )
    flat = {name for name in mentioned if "__" not in name}
    examples = {"KALSHIFLOW_DATADIR", "KALSHIFLOW_KEYFILE", "KALSHIFLOW_EXCHANGES", "KALSHIFLOW_HOME"}
    examples |= {"KALSHIFLOW_DEBUG", "KALSHIFLOW_LOG", "KALSHIFLOW_DASHBOARD_TOKN"}
    examples |= {"KALSHIFLOW_NAME", "KALSHIFLOW_DATA_DI"}  # this docstring; a cut-off help text's test
    assert flat - examples == set(FLAT_VARIABLES)
