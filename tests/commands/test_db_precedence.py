"""``run``, ``status`` and ``record`` find the database the same way: ``--db``, then ``KALSHIFLOW_DB``,
then the settings' ``[run] db`` (the settings file, or ``KALSHIFLOW_RUN__DB``), then
``<data dir>/kalshiflow.db``. Each command is asked through its own entry point; the environment
they see is the one the composition layer read (``kalshiflow.config.process_environ``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kalshiflow.cli import app
from kalshiflow.commands.record import RecordOptions, RecordUsageError, record_db_url
from kalshiflow.commands.run import RunFlags, RunUsageError, build_options

Resolve = Callable[[str | None, str | None, dict[str, str], Path], str]


def run_db(flag: str | None, config: str | None, env: dict[str, str], data_dir: Path) -> str:
    options, _ = build_options(RunFlags(db=flag, config=config, data_dir=str(data_dir)), env)
    assert options.db_url is not None
    return options.db_url


def status_db(flag: str | None, config: str | None, env: dict[str, str], data_dir: Path) -> str:
    """``status`` on a database that does not exist names the file it looked for (and creates none)."""
    args = ["status", "--data-dir", str(data_dir)]
    args += ["--db", flag] if flag else []
    args += ["--config", config] if config else []
    result = CliRunner().invoke(app, args, env={"COLUMNS": "300", **env})
    assert result.exit_code == 1, result.output
    found = re.search(r"no database at (\S+)", result.output)
    assert found, result.output
    return f"sqlite:///{found.group(1)}"


def record_db(flag: str | None, config: str | None, env: dict[str, str], data_dir: Path) -> str:
    assert config is None, "record takes no settings file"
    return record_db_url(RecordOptions(db_url=flag), {"KALSHIFLOW_DATA_DIR": str(data_dir), **env})


COMMANDS: dict[str, Resolve] = {"run": run_db, "status": status_db, "record": record_db}


@pytest.fixture
def places(tmp_path: Path) -> dict[str, str]:
    file_db = f"sqlite:///{tmp_path / 'file.db'}"
    (tmp_path / "settings.toml").write_text(f'[run]\ndb = "{file_db}"\n')
    return {
        "flag": f"sqlite:///{tmp_path / 'flag.db'}",
        "env": f"sqlite:///{tmp_path / 'env.db'}",
        "settings_env": f"sqlite:///{tmp_path / 'settings-env.db'}",
        "file": file_db,
        "config": str(tmp_path / "settings.toml"),
        "default": f"sqlite:///{tmp_path / 'data' / 'kalshiflow.db'}",
    }


@pytest.mark.parametrize("command", COMMANDS)
def test_the_flag_wins_over_the_variable_and_the_settings(
    command: str, places: dict[str, str], tmp_path: Path
) -> None:
    config = None if command == "record" else places["config"]
    env = {"KALSHIFLOW_DB": places["env"], "KALSHIFLOW_RUN__DB": places["settings_env"]}
    assert COMMANDS[command](places["flag"], config, env, tmp_path / "data") == places["flag"]


@pytest.mark.parametrize("command", COMMANDS)
def test_kalshiflow_db_wins_over_the_settings(command: str, places: dict[str, str], tmp_path: Path) -> None:
    config = None if command == "record" else places["config"]
    env = {"KALSHIFLOW_DB": places["env"], "KALSHIFLOW_RUN__DB": places["settings_env"]}
    assert COMMANDS[command](None, config, env, tmp_path / "data") == places["env"]


@pytest.mark.parametrize("command", COMMANDS)
def test_the_settings_variable_wins_over_the_default(
    command: str, places: dict[str, str], tmp_path: Path
) -> None:
    env = {"KALSHIFLOW_RUN__DB": places["settings_env"]}
    assert COMMANDS[command](None, None, env, tmp_path / "data") == places["settings_env"]


@pytest.mark.parametrize("command", ["run", "status"])  # record takes no settings file
def test_the_settings_file_wins_over_the_default(
    command: str, places: dict[str, str], tmp_path: Path
) -> None:
    assert COMMANDS[command](None, places["config"], {}, tmp_path / "data") == places["file"]


@pytest.mark.parametrize("command", COMMANDS)
def test_the_default_is_in_the_data_directory(command: str, places: dict[str, str], tmp_path: Path) -> None:
    assert COMMANDS[command](None, None, {}, tmp_path / "data") == places["default"]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_mistyped_settings_variable_is_one_line_naming_it_and_the_closest_key(
    command: str, tmp_path: Path
) -> None:
    env = {"KALSHIFLOW_RUN__DBB": "sqlite:///x.db"}
    if command == "status":
        result = CliRunner().invoke(
            app, ["status", "--data-dir", str(tmp_path)], env={"COLUMNS": "300", **env}
        )
        assert result.exit_code == 2, result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
        message = result.output
    else:
        with pytest.raises((RunUsageError, RecordUsageError)) as raised:
            COMMANDS[command](None, None, env, tmp_path / "data")
        message = str(raised.value)
    assert "KALSHIFLOW_RUN__DBB" in message
    assert "did you mean 'db'" in message


def test_status_on_a_missing_database_creates_nothing(tmp_path: Path) -> None:
    status_db(None, None, {}, tmp_path / "data")
    assert not (tmp_path / "data" / "kalshiflow.db").exists()
