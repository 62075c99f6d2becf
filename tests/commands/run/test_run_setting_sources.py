"""A wrong ``run`` setting is named where the user wrote it: the flag, the variable or the file.

``--top 0`` was blamed for ``KALSHIFLOW_MARKETS__TOP_N=0`` and ``--policy`` for a policy of the
settings file: a user looking for the flag they never typed finds nothing to change.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kalshiflow.commands.run import RunFlags, RunUsageError, build_options


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
