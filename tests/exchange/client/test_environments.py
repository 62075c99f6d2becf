"""Connection settings: defaults per environment, flags over variables, errors that name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.exchange.client.exchange_client_kit import make_key

from kalshiflow.exchange.auth import KeyConfigError
from kalshiflow.exchange.environments import (
    DEFAULT_URLS,
    ConnectionConfigError,
    Environment,
    ExchangeConnection,
    derive_ws_url,
)

KEYED = {"KALSHIFLOW_KEY_ID": "k-1", "KALSHIFLOW_KEY_FILE": "/nonexistent/key.pem"}


@pytest.mark.parametrize(
    ("name", "rest", "ws"),
    [
        (
            "prod",
            "https://external-api.kalshi.com/trade-api/v2",
            "wss://external-api-ws.kalshi.com/trade-api/ws/v2",
        ),
        (
            "demo",
            "https://external-api.demo.kalshi.co/trade-api/v2",
            "wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2",
        ),
        ("sim", "http://127.0.0.1:8900/trade-api/v2", "ws://127.0.0.1:8900/trade-api/ws/v2"),
    ],
)
def test_each_environment_has_the_recommended_hosts(name: str, rest: str, ws: str) -> None:
    conn = ExchangeConnection.from_settings(environ={**KEYED, "KALSHIFLOW_EXCHANGE": name})
    assert (conn.environment, conn.rest_url, conn.ws_url) == (Environment(name), rest, ws)
    assert DEFAULT_URLS[Environment(name)].rest_url == rest


def test_sim_url_derives_the_ws_url() -> None:
    conn = ExchangeConnection.from_settings(url="http://127.0.0.1:54321", environ=KEYED)
    assert conn.rest_url == "http://127.0.0.1:54321/trade-api/v2"
    assert conn.ws_url == "ws://127.0.0.1:54321/trade-api/ws/v2"
    assert derive_ws_url("https://api.elections.kalshi.com/trade-api/v2") == (
        "wss://api.elections.kalshi.com/trade-api/ws/v2"
    )


def test_flags_win_over_environment_variables() -> None:
    env = {**KEYED, "KALSHIFLOW_EXCHANGE": "prod", "KALSHIFLOW_URL": "https://external-api.kalshi.com"}
    conn = ExchangeConnection.from_settings(
        exchange="sim", url="http://localhost:9/trade-api/v2", key_id="flag-key", environ=env
    )
    assert (conn.environment, conn.rest_url, conn.key_id) == (
        Environment.SIM,
        "http://localhost:9/trade-api/v2",
        "flag-key",
    )


@pytest.mark.parametrize(
    ("kwargs", "environ", "needle"),
    [
        ({"exchange": "live"}, KEYED, "--exchange 'live': expected one of sim, demo, prod"),
        ({}, {**KEYED, "KALSHIFLOW_EXCHANGE": "staging"}, "KALSHIFLOW_EXCHANGE 'staging'"),
        ({"url": "ftp://x"}, KEYED, "--url 'ftp://x': expected an http(s) URL"),
        (
            {"url": "http://h/api"},
            KEYED,
            "--url 'http://h/api': the path must be empty or end with /trade-api/v2",
        ),
        (
            {"exchange": "prod", "url": "https://demo-api.kalshi.co"},
            KEYED,
            "is a Kalshi demo host but --exchange is prod",
        ),
        (
            {"url": "https://external-api.kalshi.com"},
            KEYED,
            "is a Kalshi prod host but KALSHIFLOW_EXCHANGE is sim",
        ),
        ({"exchange": "demo", "url": "http://127.0.0.1:1"}, KEYED, "is not a Kalshi demo host"),
        ({}, {"KALSHIFLOW_KEY_FILE": "/x"}, "pass --key-id or set KALSHIFLOW_KEY_ID"),
        (
            {},
            {"KALSHIFLOW_KEY_ID": "k"},
            "pass --key-file, set KALSHIFLOW_KEY_FILE, or put the PEM in KALSHI_PRIVATE_KEY",
        ),
    ],
)
def test_invalid_settings_name_the_setting_to_fix(
    kwargs: dict[str, str], environ: dict[str, str], needle: str
) -> None:
    with pytest.raises(ConnectionConfigError) as excinfo:
        ExchangeConnection.from_settings(environ=environ, **kwargs)
    assert needle in str(excinfo.value)


def test_missing_key_file_names_the_flag(tmp_path: Path) -> None:
    missing = tmp_path / "absent.pem"
    conn = ExchangeConnection.from_settings(key_id="k", key_file=str(missing), environ={})
    with pytest.raises(KeyConfigError, match=rf"^--key-file {missing}: file not found$"):
        conn.signer()
    from_env = ExchangeConnection.from_settings(
        environ={"KALSHIFLOW_KEY_ID": "k", "KALSHIFLOW_KEY_FILE": str(missing)}
    )
    with pytest.raises(KeyConfigError, match=r"^KALSHIFLOW_KEY_FILE "):
        from_env.signer()


def test_key_from_file_or_pem_variable_signs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = make_key("k-7")
    path = tmp_path / "key.pem"
    path.write_bytes(key.private_pem)
    by_file = ExchangeConnection.from_settings(key_id="k-7", key_file=str(path), environ={})
    assert by_file.signer().key_id == "k-7"
    variables = {"KALSHI_PRIVATE_KEY": key.private_pem.decode(), "KALSHIFLOW_KEY_ID": "k-7"}
    monkeypatch.setenv("KALSHIFLOW_KEY_ID", "not-read")  # the library reads only what it is given
    by_env = ExchangeConnection.from_settings(environ=variables)
    assert by_env.key_file is None
    assert by_env.signer().key_id == "k-7"
    assert "PRIVATE KEY" not in repr(by_env)
