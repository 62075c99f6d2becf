"""The market model's parts: outcome processes, makers' ladders, takers' sizes, the TOML profile,
and the ``sim-report`` command."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from kalshiflow.cli import app
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import COUNT_SCALE
from kalshiflow.sim.market import agents
from kalshiflow.sim.market.outcome import EventOutcome, NewsItem, OutcomeSpec, Payoff
from kalshiflow.sim.market.profile import CrowdConfig, EventShape, ProfileError, load_profile

HOUR_MS = 3_600_000


@given(
    x=st.floats(-3, 3),
    sd=st.floats(0.01, 2),
    strikes=st.lists(st.floats(-3, 3), min_size=2, max_size=8, unique=True),
)
def test_ladder_probabilities_fall_with_the_strike_and_ranges_sum_to_one(
    x: float, sd: float, strikes: list[float]
) -> None:
    edges = sorted(strikes)
    above = [Payoff(k, None).probability(x, sd) for k in edges]
    assert all(a >= b for a, b in itertools.pairwise(above))
    partition = [Payoff(None, edges[0]), *(Payoff(a, b) for a, b in itertools.pairwise(edges))]
    partition.append(Payoff(edges[-1], None))
    assert sum(p.probability(x, sd) for p in partition) == pytest.approx(1.0, abs=1e-9)


def test_the_outcome_path_does_not_depend_on_when_it_is_looked_at() -> None:
    spec = OutcomeSpec(0.0, 1.0, 0, 4 * HOUR_MS, (NewsItem(HOUR_MS + 123, 0.4),))
    often, rarely = EventOutcome.start(spec, random.Random(5)), EventOutcome.start(spec, random.Random(5))
    for t in range(0, 4 * HOUR_MS, 7_919):
        often.advance(t)
    rarely.advance(2 * HOUR_MS)
    assert often.resolve() == rarely.resolve()
    assert often.jumps == rarely.jumps


def test_true_probability_is_a_martingale_and_resolves_to_the_outcome() -> None:
    """Averaged over many paths, the probability at the start equals the share that win."""
    payoff = Payoff(0.3, None)
    spec = OutcomeSpec(0.0, 0.9, 0, HOUR_MS, (NewsItem(HOUR_MS // 2, 0.4),))
    wins = 0
    for seed in range(2_000):
        outcome = EventOutcome.start(spec, random.Random(seed))
        wins += payoff.wins(outcome.resolve())
        assert outcome.true_probability(payoff, HOUR_MS) in (0.0, 1.0)
    start = EventOutcome.start(spec, random.Random(0)).true_probability(payoff, 0)
    assert abs(wins / 2_000 - start) < 0.03


def test_a_lagged_view_does_not_see_news_yet() -> None:
    spec = OutcomeSpec(0.0, 0.5, 0, HOUR_MS, (NewsItem(600_000, 1.0),))
    outcome = EventOutcome.start(spec, random.Random(2))
    outcome.advance(600_000)
    (_, jump), now = outcome.jumps[0], 610_000
    informed, lagged = outcome.view(now, 0), outcome.view(now, 30_000)
    assert informed[0] - lagged[0] == pytest.approx(jump)
    assert lagged[1] > informed[1], "the unheard news still counts as uncertainty"


@pytest.mark.parametrize("side", [BookSide.BID, BookSide.ASK])
@pytest.mark.parametrize(
    "structure", ["linear_cent", "deci_cent", "tapered_deci_cent", "center_half_edge_deci_cent"]
)
def test_maker_never_quotes_through_its_own_centre(side: BookSide, structure: str) -> None:
    grid, rng = PriceGrid.named(structure), random.Random(0)
    for _ in range(300):
        belief = rng.uniform(0.005, 0.995)
        quotes = agents.maker_quotes(
            grid, belief, rng.uniform(0.3, 4), rng.randint(1, 4), rng.randint(1, 4), 50, 0, 0.4, 1_000, None
        )
        prices = [q.yes_price for q in quotes if q.side is side]
        assert all(grid.is_valid(p) for p in prices)
        if side is BookSide.BID:
            assert all(p < belief * 10_000 for p in prices)
            assert prices == sorted(prices, reverse=True)
        else:
            assert all(p > belief * 10_000 for p in prices)
            assert prices == sorted(prices)


@pytest.mark.parametrize("held_sign", [1, -1])
def test_inventory_skews_quotes_against_the_position(held_sign: int) -> None:
    grid = PriceGrid.named("linear_cent")
    flat = agents.maker_quotes(grid, 0.5, 1.0, 1, 1, 50, 0, 0.4, 20_000, None)
    skewed = agents.maker_quotes(grid, 0.5, 1.0, 1, 1, 50, held_sign * 1_000, 0.4, 20_000, None)
    bid = {q.side: q.yes_price for q in flat}[BookSide.BID]
    skewed_bid = {q.side: q.yes_price for q in skewed}[BookSide.BID]
    assert (skewed_bid - bid) * held_sign < 0, "long YES lowers the quotes, long NO raises them"


def test_uninformed_sizes_follow_the_configured_buckets() -> None:
    rng, shares = random.Random(1), CrowdConfig().size_shares
    sizes = [agents.uninformed_size(rng, shares) for _ in range(20_000)]
    for (low, high), share in zip(agents.SIZE_BUCKETS, shares, strict=True):
        seen = sum(1 for s in sizes if low <= s <= high) / len(sizes)
        assert abs(seen - share) < 0.015, (low, high, seen, share)
    assert all(s * COUNT_SCALE > 0 for s in sizes)


def test_optimism_favours_yes_on_longshots_only() -> None:
    crowd, rng = CrowdConfig(), random.Random(3)
    longshot = sum(agents.taker_valuation(0.05, rng, crowd) for _ in range(20_000)) / 20_000
    favourite = sum(agents.taker_valuation(0.95, rng, crowd) for _ in range(20_000)) / 20_000
    assert longshot - 0.05 > 0.005
    assert abs(favourite - 0.95) < 0.002


def test_profile_overrides_defaults_and_names_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "market.toml"
    path.write_text(
        '[crowd]\nyes_optimism = 0.5\n[archetypes.finance]\nlife_h = [0.5, 2.0]\nshape = "ranges"\n'
    )
    profile = load_profile(path)
    assert profile.crowd.yes_optimism == 0.5
    assert profile.archetypes["finance"].life_h == (0.5, 2.0)
    assert profile.archetypes["finance"].shape is EventShape.RANGES
    path.write_text("[crowd]\nyes_optimisim = 0.5\n")
    with pytest.raises(ProfileError, match=r"crowd\.yes_optimisim"):
        load_profile(path)
    path.write_text("[archetypes.crypto]\nweight = 1\n")
    with pytest.raises(ProfileError, match=r"archetypes\.crypto"):
        load_profile(path)


def test_sim_report_prints_and_writes_json_and_plots(tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(
        app,
        [
            "sim-report",
            "--seed",
            "2",
            "--hours",
            "0.5",
            "--markets",
            "30",
            "--life-scale",
            "0.05",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "calibration" in result.output
    report = json.loads((out / "report.json").read_text())
    assert report["settled_markets"] > 0
    assert report["ladder"]["book_violations"] == 0
    for name in ("calibration.png", "spreads.png", "trade_sizes.png", "returns.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def test_a_sim_report_without_trades_is_valid_json_and_says_so(tmp_path: Path) -> None:
    """One market for 36 s trades nothing: report.json held NaN (which JSON.parse and strict readers
    refuse) and the terminal read "excess return: taker +nan pp" and an empty "trade sizes: "."""
    out = tmp_path / "report"
    args = ["sim-report", "--hours", "0.01", "--markets", "1", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "trades 0" in result.output
    assert "nan" not in result.output.lower()
    assert "excess return: no trades" in result.output
    assert "trade sizes: no trades" in result.output
    report = json.loads((out / "report.json").read_text(), parse_constant=_no_constant)
    assert report["excess_returns_pp"]["taker"]["expected"] is None


def test_sim_report_writes_into_the_data_directory_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``--out`` the report lands in ``<data dir>/sim-report``, nothing in the working dir."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("KALSHIFLOW_DATA_DIR", raising=False)
    args = ["sim-report", "--seed", "3", "--hours", "0.2", "--markets", "10", "--life-scale", "0.05"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert [p.name for p in work.iterdir()] == [".kalshiflow"]
    assert (work / ".kalshiflow" / "sim-report" / "report.json").is_file()
    elsewhere = tmp_path / "data"
    monkeypatch.setenv("KALSHIFLOW_DATA_DIR", str(elsewhere))
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (elsewhere / "sim-report" / "report.json").is_file()


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (None, "file not found"),
        ("[crowd\n", "not valid TOML"),
        ("[crowd]\nyes_optimsm = 0.3\n", "unknown key"),
    ],
)
@pytest.mark.parametrize(
    "command", [["sim", "--port", "0"], ["sim-report", "--hours", "0.01", "--markets", "2"]]
)
def test_a_bad_profile_is_one_line_naming_it_in_sim_and_sim_report(
    tmp_path: Path, command: list[str], text: str | None, said: str
) -> None:
    """A profile that is missing, not TOML or has an unknown key stops ``sim`` and ``sim-report``
    with one line naming ``--profile PATH`` and exit 2 (a TOML typo was a parser traceback, exit 1)."""
    path = tmp_path / "market.toml"
    if text is not None:
        path.write_text(text)
    out = ["--out", str(tmp_path / "report")] if command[0] == "sim-report" else []
    data = ["--data-dir", str(tmp_path / "sim")] if command[0] == "sim" else []
    result = CliRunner().invoke(app, [*command, *out, *data, "--profile", str(path)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: --profile {path}: "), result.output
    assert said in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
