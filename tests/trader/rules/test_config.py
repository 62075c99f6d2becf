"""Config models: defaults, unknown keys, ranges, exact dollar and contract parsing, immutability."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from kalshiflow.domain.units import Count, Money
from kalshiflow.trader.config import (
    CalibrationConfig,
    ExitRulesConfig,
    OrderGroupConfig,
    OrderGroupMode,
    RiskLimits,
)

MODELS: tuple[type[BaseModel], ...] = (ExitRulesConfig, RiskLimits, CalibrationConfig, OrderGroupConfig)


def test_exit_rule_defaults_match_the_architecture() -> None:
    config = ExitRulesConfig()
    assert config.take_profit_pct == Decimal(20)
    assert config.stop_loss_pct == Decimal(10)
    assert config.max_hold_s == 3600
    assert config.market_closing_s == 300
    assert isinstance(config.cash_reserve_dollars, Money)
    assert config.cash_reserve_dollars == Money.dollars(100)


def test_other_defaults() -> None:
    assert CalibrationConfig().interval_s == 60
    assert CalibrationConfig().not_found_misses_before_gone == 3
    assert OrderGroupConfig().mode is OrderGroupMode.OFF
    assert RiskLimits().max_order_contracts == Count.contracts(10)


@pytest.mark.parametrize("model", MODELS)
def test_unknown_key_is_an_error_naming_it(model: type[BaseModel]) -> None:
    with pytest.raises(ValidationError, match="take_profit_percent"):
        model.model_validate({"take_profit_percent": 20})


@pytest.mark.parametrize("model", MODELS)
def test_every_model_is_frozen(model: type[BaseModel]) -> None:
    config = model()
    field = next(iter(type(config).model_fields))
    with pytest.raises(ValidationError):
        setattr(config, field, getattr(config, field))


@pytest.mark.parametrize(
    ("model", "field", "value"),
    [
        (ExitRulesConfig, "take_profit_pct", -1),
        (ExitRulesConfig, "take_profit_pct", 0),
        (ExitRulesConfig, "stop_loss_pct", -5),
        (ExitRulesConfig, "stop_loss_pct", 101),
        (ExitRulesConfig, "max_hold_s", -1),
        (ExitRulesConfig, "market_closing_s", -1),
        (ExitRulesConfig, "cash_reserve_dollars", "-1.00"),
        (ExitRulesConfig, "cash_recovery_buffer_dollars", "-0.000001"),
        (ExitRulesConfig, "stuck_reprice_steps", 0),
        (RiskLimits, "max_order_contracts", 0),
        (RiskLimits, "max_order_contracts", "-1.00"),
        (RiskLimits, "max_total_exposure_dollars", "0"),
        (RiskLimits, "min_cash_reserve_dollars", "-10"),
        (RiskLimits, "per_market_min_interval_s", -1),
        (RiskLimits, "circuit_breaker_errors", 0),
        (RiskLimits, "daily_loss_limit_dollars", "-200.00"),
        (RiskLimits, "max_spread_cents", 0),
        (RiskLimits, "max_spread_cents", 101),
        (CalibrationConfig, "interval_s", 0),
        (CalibrationConfig, "cash_drift_tolerance_dollars", "-0.01"),
        (CalibrationConfig, "position_drift_tolerance_contracts", -1),
        (OrderGroupConfig, "contracts_limit", 0),
        (OrderGroupConfig, "max_resets_per_hour", -1),
    ],
)
def test_out_of_range_values_are_rejected(model: type[BaseModel], field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        model.model_validate({field: value})


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("500.00", 500_000_000),
        ("500", 500_000_000),
        ("0.000001", 1),
        ("1234.567891", 1_234_567_891),
        ("0", 0),
    ],
)
def test_dollar_strings_are_parsed_exactly(text: str, units: int) -> None:
    config = ExitRulesConfig(cash_reserve_dollars=text)  # type: ignore[arg-type]
    assert type(config.cash_reserve_dollars) is Money
    assert config.cash_reserve_dollars == Money(units)


def test_whole_dollars_and_money_values_are_accepted() -> None:
    assert ExitRulesConfig.model_validate({"cash_reserve_dollars": 250}).cash_reserve_dollars == Money(
        250_000_000
    )
    assert ExitRulesConfig(cash_reserve_dollars=Money(7)).cash_reserve_dollars == Money(7)


@pytest.mark.parametrize("bad", [500.0, 0.1, True, "1.0000001", "abc", None])
def test_dollars_reject_floats_and_excess_precision(bad: object) -> None:
    with pytest.raises(ValidationError, match="cash_reserve_dollars"):
        ExitRulesConfig.model_validate({"cash_reserve_dollars": bad})


@pytest.mark.parametrize(("raw", "units"), [(10, 1000), ("10.50", 1050), ("0.01", 1), (Count(5), 5)])
def test_contract_fields_parse_exactly(raw: object, units: int) -> None:
    limits = RiskLimits.model_validate({"max_order_contracts": raw})
    assert type(limits.max_order_contracts) is Count
    assert limits.max_order_contracts == Count(units)


@pytest.mark.parametrize("bad", [10.5, "10.001", False])
def test_contract_fields_reject_floats_and_excess_precision(bad: object) -> None:
    with pytest.raises(ValidationError, match="max_order_contracts"):
        RiskLimits.model_validate({"max_order_contracts": bad})


def test_stuck_cross_must_not_come_before_the_first_reprice() -> None:
    with pytest.raises(ValidationError, match="stuck_cross_after_s"):
        ExitRulesConfig(stuck_close_after_s=120, stuck_cross_after_s=60)


@pytest.mark.parametrize("model", MODELS)
def test_json_dump_round_trips_exactly(model: type[BaseModel]) -> None:
    config = model()
    dumped = config.model_dump(mode="json")
    assert model.model_validate(dumped) == config


def test_money_serialises_as_a_dollar_string() -> None:
    dumped = ExitRulesConfig(cash_reserve_dollars="12.345678").model_dump(mode="json")  # type: ignore[arg-type]
    assert dumped["cash_reserve_dollars"] == "12.345678"


def test_order_group_mode_parses_from_text() -> None:
    assert OrderGroupConfig.model_validate({"mode": "per_market"}).mode is OrderGroupMode.PER_MARKET
    with pytest.raises(ValidationError, match="mode"):
        OrderGroupConfig.model_validate({"mode": "sometimes"})
