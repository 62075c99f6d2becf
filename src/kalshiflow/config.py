"""One settings object for ``kalshiflow run``: a TOML file, then environment variables, validated once.

Precedence: defaults < TOML file (``--config FILE``) < environment (``KALSHIFLOW__SECTION__KEY``,
e.g. ``KALSHIFLOW__RISK__MAX_ORDER_CONTRACTS=5``; values are read as TOML literals, so ``5``,
``"500.00"``, ``true`` and ``["A", "B"]`` all work) < command-line flags (applied by the CLI).
Unknown keys and bad values are errors that name the key, so a typo never silently falls back to a
default. Connection settings (exchange, URL, key id, key file) are read by
``kalshiflow.exchange.environments.ExchangeConnection`` from the same flags and variables.

Sections (see each model for every field, its default and unit): ``[run]`` (this module),
``[markets]``, ``[exit_rules]`` (ExitRulesConfig), ``[risk]`` (RiskLimits), ``[calibration]``
(CalibrationConfig), ``[order_groups]`` (OrderGroupConfig), ``[open_orders]`` (OpenOrdersConfig).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kalshiflow.trader.config import (
    CalibrationConfig,
    Contracts,
    Dollars,
    ExitRulesConfig,
    OpenOrdersConfig,
    OrderGroupConfig,
    RiskLimits,
)

ENV_PREFIX = "KALSHIFLOW__"


class SettingsError(ValueError):
    """A configuration problem, phrased for the person who has to fix it."""


class RunSettings(BaseModel):
    """How the trader runs.

    * ``policy`` ("rules"): ``hold``, ``rules`` or ``mlp:PATH``.
    * ``paper`` (true): paper mode -- the trader connects, calibrates and decides, records every
      decision with its price, and sends no order. On by default because no policy beat ``hold``
      after fees in the held-out backtest (README "Policies"); set ``paper = false`` to trade.
    * ``order_size_contracts`` (1): size of each policy order.
    * ``db`` ("sqlite:///kalshiflow.db"): the store (SQLite file or PostgreSQL URL).
    * ``log_file`` ("kalshiflow.log"): structured JSON log lines go here.
    * ``bankroll_dollars`` ("1000"): scale for the portfolio features of the observation.
    * ``flatten_on_stop`` (false): close every position when stopping.
    * ``pause_after_errors`` (5): consecutive errors that pause the trader.
    * ``resume_backoff_s`` (30): first wait before an automatic resume; doubles up to 10 minutes.
    * ``drift_recalibrate_dollars`` ("1.00"): cash drift above this triggers a recalibration.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: str = "rules"
    paper: bool = True
    order_size_contracts: Contracts = Field(default=1, validate_default=True)
    db: str = "sqlite:///kalshiflow.db"
    log_file: str = "kalshiflow.log"
    bankroll_dollars: Dollars = Field(default="1000", validate_default=True)
    flatten_on_stop: bool = False
    pause_after_errors: int = Field(default=5, ge=1)
    resume_backoff_s: int = Field(default=30, ge=1)
    drift_recalibrate_dollars: Dollars = Field(default="1.00", validate_default=True)


class MarketSettings(BaseModel):
    """Which markets to trade.

    * ``tickers`` ([]): explicit market tickers.
    * ``series`` ([]), ``events`` ([]): restrict the volume-ranked selection.
    * ``top_n`` (10): add the N most traded active markets (0: only ``tickers``).
    * ``closing_window_s`` (900): skip markets closing sooner than this.
    * ``refresh_s`` (300): how often the selection is refreshed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tickers: tuple[str, ...] = ()
    series: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    top_n: int = Field(default=10, ge=0)
    closing_window_s: int = Field(default=900, ge=0)
    refresh_s: int = Field(default=300, ge=0)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    run: RunSettings = Field(default_factory=RunSettings)
    markets: MarketSettings = Field(default_factory=MarketSettings)
    exit_rules: ExitRulesConfig = Field(default_factory=ExitRulesConfig)
    risk: RiskLimits = Field(default_factory=RiskLimits)
    calibration: CalibrationConfig = Field(default_factory=CalibrationConfig)
    order_groups: OrderGroupConfig = Field(default_factory=OrderGroupConfig)
    open_orders: OpenOrdersConfig = Field(default_factory=OpenOrdersConfig)


def load_settings(
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Settings:
    """Defaults, then the TOML file, then ``KALSHIFLOW__*`` variables, then ``overrides`` (CLI flags)."""
    data: dict[str, dict[str, Any]] = {}
    if path is not None:
        data = _read_toml(Path(path))
    for section, values in _from_environment(os.environ if environ is None else environ).items():
        data.setdefault(section, {}).update(values)
    for section, flags in (overrides or {}).items():
        data.setdefault(section, {}).update(flags)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(_describe(exc, path)) from None


def _read_toml(path: Path) -> dict[str, dict[str, Any]]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"--config {path}: file not found") from None
    except OSError as exc:
        raise SettingsError(f"--config {path}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"--config {path}: not valid TOML ({exc})") from None
    for key, value in raw.items():
        if not isinstance(value, dict):
            raise SettingsError(f"--config {path}: '{key}' must be a [section], not a value")
    return raw


def _from_environment(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name, text in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        if len(parts) != 2 or not all(parts):
            raise SettingsError(f"{name}: expected {ENV_PREFIX}SECTION__KEY")
        section, key = parts
        found.setdefault(section, {})[key] = _toml_value(name, text)
    return found


def _toml_value(name: str, text: str) -> Any:
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word such as rules or sqlite:///x.db is a string
    # Settings hold no floats: 1.50 means the exact decimal the person wrote (dollars, percent).
    return text if isinstance(value, float) else value


def _describe(exc: ValidationError, path: str | Path | None) -> str:
    where = f"--config {path}" if path is not None else "settings"
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            problems.append(f"{key}: unknown setting")
        else:
            problems.append(f"{key}: {error['msg']}")
    return f"{where}: " + "; ".join(problems)
