"""One settings object for ``kalshiflow run``: a TOML file, then environment variables, validated once.

Built with pydantic-settings. Precedence: defaults < TOML file (``--config FILE``) < environment
(``KALSHIFLOW_SECTION__KEY``: the ``KALSHIFLOW_`` prefix, ``__`` between section and key, e.g.
``KALSHIFLOW_RISK__MAX_ORDER_CONTRACTS=5``; lists as JSON, ``["A", "B"]``) < command-line flags
(applied by the CLI). ``load_settings`` is the one place that reads the ``KALSHIFLOW_`` variables of
the settings. Unknown keys and bad values are errors that name the key -- with the closest valid
key when there is one -- so a typo never silently falls back to a default. Connection settings (exchange, URL, key id, key file) are read by
``kalshiflow.exchange.environments.ExchangeConnection`` from the same flags and variables.

Sections (see each model for every field, its default and unit): ``[run]`` (this module),
``[markets]``, ``[exit_rules]`` (ExitRulesConfig), ``[risk]`` (RiskLimits), ``[calibration]``
(CalibrationConfig), ``[order_groups]`` (OrderGroupConfig), ``[open_orders]`` (OpenOrdersConfig),
``[queue_positions]`` (QueuePositionsConfig).
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings import SettingsError as PydanticSettingsError

from kalshiflow.policy.base import PolicyLoadError
from kalshiflow.policy.registry import exit_overrides
from kalshiflow.trader.config import (
    CalibrationConfig,
    Contracts,
    Dollars,
    ExitRulesConfig,
    OpenOrdersConfig,
    OrderGroupConfig,
    QueuePositionsConfig,
    RiskLimits,
)

ENV_PREFIX = "KALSHIFLOW_"
NESTED = "__"


class SettingsError(ValueError):
    """A configuration problem, phrased for the person who has to fix it."""


class RunSettings(BaseModel):
    """How the trader runs.

    * ``policy`` ("ppo"): a policy spec (``hold``, ``rules``, ``rules:signal``, ``mm``,
      ``longshot``, ``maker``, ``random``, ``ppo``, ``mlp:PATH``). The default is the policy with the
      best held-out P&L after fees: the shipped PPO network (+0.25 ± 0.12 $ per 2 h on seeds 11-30,
      +0.22 ± 0.10 over seeds 11-40, against ``maker``'s +0.16 ± 0.13 and +0.15 ± 0.11; README
      "Training"), which beats ``hold`` beyond its interval.
    * ``paper`` (none: by exchange): paper mode -- the trader connects, calibrates and decides,
      records every decision with its price, and sends no order. Unset, ``run`` trades on the
      simulator and on Kalshi's demo (no real money) and stays on paper on production, where real
      money needs an explicit ``paper = false`` (``--live``); ``true`` is paper everywhere.
    * ``order_size_contracts`` (1): size of each policy order.
    * ``db`` (none: ``KALSHIFLOW_DB``, else ``<data dir>/kalshiflow.db``): the store (SQLite file or
      PostgreSQL URL); ``--db`` wins over it.
    * ``log_file`` (none: ``<data dir>/kalshiflow.log``): structured JSON log lines go here.
    * ``log_max_mb`` (10, megabytes, >= 1) and ``log_backups`` (5, files, >= 0): the log file
      rotates at that size and keeps that many old files.
    * ``log_hold_sample_every`` (1000, decisions, >= 1): HOLD decisions are counted, and every
      N-th is logged at debug (never one info line each).
    * ``bankroll_dollars`` ("1000"): scale for the portfolio features of the observation.
    * ``flatten_on_stop`` (false): close every position when stopping.
    * ``pause_after_errors`` (5): consecutive errors that pause the trader.
    * ``resume_backoff_s`` (30): first wait before an automatic resume; doubles up to 10 minutes.
    * ``drift_recalibrate_dollars`` ("1.00"): cash drift above this triggers a recalibration.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: str = "ppo"
    paper: bool | None = None
    order_size_contracts: Contracts = Field(default=1, validate_default=True)
    db: str | None = None
    log_file: str | None = None
    log_max_mb: int = Field(default=10, ge=1)
    log_backups: int = Field(default=5, ge=0)
    log_hold_sample_every: int = Field(default=1_000, ge=1)
    bankroll_dollars: Dollars = Field(default="1000", validate_default=True)
    flatten_on_stop: bool = False
    pause_after_errors: int = Field(default=5, ge=1)
    resume_backoff_s: int = Field(default=30, ge=1)
    drift_recalibrate_dollars: Dollars = Field(default="1.00", validate_default=True)

    def paper_on(self, exchange: str) -> bool:
        """Whether ``run`` stays on paper against ``exchange`` (``sim``, ``demo`` or ``prod``): the
        setting when given, else on production only -- a policy measured on a simulator does not
        put real money at risk until the operator says so."""
        return self.paper if self.paper is not None else exchange == "prod"


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


class Settings(BaseSettings):
    """Every section; read by ``load_settings`` from a TOML file, the environment and flags."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter=NESTED, extra="forbid", frozen=True, case_sensitive=False
    )

    run: RunSettings = Field(default_factory=RunSettings)
    markets: MarketSettings = Field(default_factory=MarketSettings)
    exit_rules: ExitRulesConfig = Field(default_factory=ExitRulesConfig)
    risk: RiskLimits = Field(default_factory=RiskLimits)
    calibration: CalibrationConfig = Field(default_factory=CalibrationConfig)
    order_groups: OrderGroupConfig = Field(default_factory=OrderGroupConfig)
    open_orders: OpenOrdersConfig = Field(default_factory=OpenOrdersConfig)
    queue_positions: QueuePositionsConfig = Field(default_factory=QueuePositionsConfig)


class _Environment(EnvSettingsSource):
    """The ``KALSHIFLOW_`` variables of a given mapping (``os.environ`` unless a test passes one)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = {name.lower(): value for name, value in environ.items()}
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return self._environ


class _Toml(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, dict[str, Any]]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def process_environ() -> Mapping[str, str]:
    """The process environment: the one place that reads it (library layers get values as parameters).

    Besides the settings' ``KALSHIFLOW_SECTION__KEY`` variables, the commands read these documented
    names from the mapping returned here: ``KALSHIFLOW_DB`` (the database; ``[run] db``),
    ``KALSHIFLOW_DATA_DIR``, ``KALSHIFLOW_EXCHANGE`` / ``_URL`` / ``_KEY_ID`` / ``_KEY_FILE`` and
    ``KALSHI_PRIVATE_KEY`` (the connection), ``KALSHIFLOW_DASHBOARD_*`` and ``KALSHIFLOW_WEBHOOK_URL``.
    """
    return os.environ


def load_settings(
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Settings:
    """Defaults, then the TOML file, then ``KALSHIFLOW_SECTION__KEY`` variables, then ``overrides``."""
    data: dict[str, dict[str, Any]] = {} if path is None else _read_toml(Path(path))
    env = process_environ() if environ is None else environ
    _check_environment(env)

    class _Loaded(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return init_settings, _Environment(settings_cls, env), _Toml(settings_cls, data)

    flags: dict[str, Any] = {section: dict(values) for section, values in (overrides or {}).items()}
    try:
        loaded = _Loaded(**flags)
    except ValidationError as exc:
        raise SettingsError(_describe(exc, path)) from None
    except PydanticSettingsError as exc:  # a list or table variable that is not JSON
        raise SettingsError(_describe_not_json(env, str(exc))) from None
    return Settings.model_construct(**{name: getattr(loaded, name) for name in Settings.model_fields})


def _describe_not_json(environ: Mapping[str, str], fallback: str) -> str:
    """Name the ``KALSHIFLOW_SECTION__KEY`` variable of a list or table setting whose value is not JSON."""
    for name, value in environ.items():
        section, _, key = name.upper().removeprefix(ENV_PREFIX).lower().partition(NESTED)
        if not name.upper().startswith(ENV_PREFIX) or section not in Settings.model_fields:
            continue
        model = Settings.model_fields[section].annotation
        fields = model.model_fields if isinstance(model, type) and issubclass(model, BaseModel) else {}
        annotation = fields[key].annotation if key in fields else None
        if get_origin(annotation) not in (list, tuple, dict, set, frozenset):
            continue
        try:
            json.loads(value)
        except ValueError:
            return f'{name}={value!r}: not JSON (lists are written as JSON, e.g. {name}=\'["A", "B"]\')'
    return f"settings from the environment: {fallback}"


def _suggest(name: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else f" (valid: {', '.join(sorted(valid))})"


def _section_keys(section: str) -> list[str]:
    annotation = Settings.model_fields[section].annotation
    assert isinstance(annotation, type)
    assert issubclass(annotation, BaseModel)
    return list(annotation.model_fields)


# The variables outside the settings sections that kalshiflow, its scripts and its tests read
# (``tests/config`` keeps this list equal to the names the source mentions).
FLAT_VARIABLES: Final = (
    "KALSHIFLOW_DASHBOARD_HOST",
    "KALSHIFLOW_DASHBOARD_PORT",
    "KALSHIFLOW_DASHBOARD_TOKEN",
    "KALSHIFLOW_DASHBOARD_URL",
    "KALSHIFLOW_DATA_DIR",
    "KALSHIFLOW_DB",
    "KALSHIFLOW_EXCHANGE",
    "KALSHIFLOW_KEY_FILE",
    "KALSHIFLOW_KEY_ID",
    "KALSHIFLOW_MARKET_DATA",
    "KALSHIFLOW_PYTHON",
    "KALSHIFLOW_TEST_PG_URL",
    "KALSHIFLOW_URL",
    "KALSHIFLOW_VENV",
    "KALSHIFLOW_WEBHOOK_URL",
)


def _check_flat_variable(name: str, upper: str) -> None:
    """A near miss of a known variable (``KALSHIFLOW_DATADIR``) stops here: ignored, it would send
    the data, the database or the orders somewhere the operator did not ask for. Other names are
    left alone (a script of the operator's own may use the prefix)."""
    if upper in FLAT_VARIABLES:
        return
    # Compared without the shared prefix, which would make every name look close to every other.
    suffixes = [known[len(ENV_PREFIX) :] for known in FLAT_VARIABLES]
    close = difflib.get_close_matches(upper[len(ENV_PREFIX) :], suffixes, n=1, cutoff=0.8)
    if close:
        raise SettingsError(f"{name}: not a kalshiflow variable (did you mean {ENV_PREFIX}{close[0]}?)")


def _check_environment(environ: Mapping[str, str]) -> None:
    """Name a mistyped ``KALSHIFLOW_SECTION__KEY`` variable instead of ignoring it."""
    sections = list(Settings.model_fields)
    for name in environ:
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX):
            continue
        rest = upper[len(ENV_PREFIX) :].lower()
        if rest.startswith("_"):
            raise SettingsError(
                f"{name}: expected {ENV_PREFIX}SECTION{NESTED}KEY (one underscore after KALSHIFLOW), "
                f"e.g. {ENV_PREFIX}RISK{NESTED}MAX_ORDER_CONTRACTS"
            )
        if NESTED not in rest:  # KALSHIFLOW_DB, KALSHIFLOW_URL, ...: not a settings section
            _check_flat_variable(name, upper)
            continue
        section, _, key = rest.partition(NESTED)
        if section not in sections:
            raise SettingsError(f"{name}: unknown section {section!r}{_suggest(section, sections)}")
        keys = _section_keys(section)
        if key.split(NESTED)[0] not in keys:
            raise SettingsError(f"{name}: unknown setting {section}.{key}{_suggest(key, keys)}")


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


def _describe(exc: ValidationError, path: str | Path | None) -> str:
    where = f"--config {path}" if path is not None else "settings"
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            loc = [str(part) for part in error["loc"]]
            valid = list(Settings.model_fields) if len(loc) == 1 else _section_keys(loc[0])
            problems.append(f"{key}: unknown setting{_suggest(loc[-1], valid)}")
        else:
            problems.append(f"{key}: {error['msg']}")
    return f"{where}: " + "; ".join(problems)


def policy_exit_rules(rules: ExitRulesConfig, spec: str) -> ExitRulesConfig:
    """``rules`` with the exits the policy ``spec`` is built for (``maker``: no take profit, stop
    loss or max hold) in every field the configuration did not set itself: ``run`` and each policy of
    a backtest trade under the exits the policy was measured with, and an explicit ``[exit_rules]``
    setting (file, environment) still wins."""
    overrides = exit_overrides(spec)
    unknown = sorted(set(overrides) - set(ExitRulesConfig.model_fields))
    if unknown:  # ``model_copy`` does not validate: a manifest's stray key must not pass silently
        raise PolicyLoadError(f"policy {spec!r} overrides exit rules that do not exist: {unknown}")
    update = {k: v for k, v in overrides.items() if k not in rules.model_fields_set}
    return rules.model_copy(update=update) if update else rules
