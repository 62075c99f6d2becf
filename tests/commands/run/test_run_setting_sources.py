"""A wrong ``run`` setting is named where the user wrote it: the flag, the variable or the file;
a flag that would do nothing where it was typed is refused.

``--top 0`` was blamed for ``KALSHIFLOW_MARKETS__TOP_N=0`` and ``--policy`` for a policy of the
settings file: a user looking for the flag they never typed finds nothing to change.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kalshiflow.cli import app
from kalshiflow.commands.run import RunFlags, RunUsageError, build_options
from kalshiflow.exchange.auth import generate_key_pair


def _error(tmp_path: Path, environ: dict[str, str], **flags: object) -> str:
    with pytest.raises(RunUsageError) as raised:
        build_options(RunFlags(data_dir=str(tmp_path / "data"), **flags), environ)  # type: ignore[arg-type]
    return str(raised.value)


def test_no_markets_names_the_setting_that_said_top_0(tmp_path: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text("[markets]\ntop_n = 0\n")
    assert _error(tmp_path, {}, top=0).startswith("no markets to trade: --top 0 trades only")
    assert _error(tmp_path, {"KALSHIFLOW_MARKETS__TOP_N": "0"}).startswith(
        "no markets to trade: KALSHIFLOW_MARKETS__TOP_N=0 trades only"
    )
    assert _error(tmp_path, {}, config=str(config)).startswith(
        f"no markets to trade: [markets] top_n = 0 in {config} trades only"
    )


def test_a_bad_policy_is_named_where_it_was_set(tmp_path: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text('[run]\npolicy = "bogus"\n')
    assert _error(tmp_path, {}, policy="bogus").startswith("--policy bogus: unknown policy spec")
    assert _error(tmp_path, {"KALSHIFLOW_RUN__POLICY": "nope"}).startswith(
        "KALSHIFLOW_RUN__POLICY=nope: unknown policy spec"
    )
    assert _error(tmp_path, {}, config=str(config)).startswith(
        f'[run] policy = "bogus" in {config}: unknown policy spec'
    )
    # The flag wins over the file, and so does its name in the error.
    assert _error(tmp_path, {}, config=str(config), policy="nope2").startswith("--policy nope2:")


@pytest.mark.parametrize(
    ("typed", "named"),
    [(["--speed", "10"], "--speed"), (["--seed", "3", "--sim-markets", "5"], "--seed, --sim-markets")],
)
def test_embedded_simulator_flags_against_another_exchange_are_refused(
    tmp_path: Path, typed: list[str], named: str
) -> None:
    """``--speed 10`` against a running simulator (``--url``) or Kalshi did nothing: the exchange keeps
    its own clock. Typed there it is a usage error before anything is contacted."""
    key = tmp_path / "key.pem"
    key.write_bytes(generate_key_pair()[0])
    url = "http://127.0.0.1:1/trade-api/v2"  # nothing listens: the error must come before any request
    args = ["run", "--url", url, "--key-id", "k", "--key-file", str(key), "--data-dir", str(tmp_path / "d")]
    result = CliRunner().invoke(app, [*args, "--no-view", "--no-dashboard", *typed])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {named}: for the embedded simulator only"), result.output
    assert "cannot connect" not in result.output
