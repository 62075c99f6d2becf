"""Market selection and the subscription diff used on refresh."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.units import ZERO_COUNT, Count
from kalshiflow.exchange.models_market import Market
from kalshiflow.marketdata.discovery import (
    DiscoveryConfig,
    MarketInfo,
    SkippedMarket,
    SkipReason,
    plan_refresh,
    select_markets,
    series_of,
)

NOW = 1_790_000_000_000
HOUR_MS = 3_600_000
CENT = PriceGrid.named("linear_cent")


@dataclass(frozen=True)
class FakeMarket:
    ticker: str
    event_ticker: str
    status: str = "active"
    close_time_ms: int = NOW + 24 * HOUR_MS
    volume: Count = ZERO_COUNT
    grid: PriceGrid = CENT


def market(ticker: str, volume: int = 0, **kwargs: object) -> FakeMarket:
    event = ticker.rsplit("-", 1)[0]
    return FakeMarket(ticker, event, volume=Count.contracts(volume), **kwargs)  # type: ignore[arg-type]


MARKETS: list[MarketInfo] = [
    market("KXA-26JAN01-T1", 500),
    market("KXA-26JAN01-T2", 900),
    market("KXA-26JAN02-T1", 100),
    market("KXB-26JAN01-T1", 1_000),
    market("KXB-26JAN01-T2", 50),
    market("KXC-26JAN01-T1", 2_000, status="closed"),
    market("KXC-26JAN01-T2", 3_000, close_time_ms=NOW + 60_000),
    market("KXC-26JAN01-T3", 3_000, status="inactive"),
]


def as_market_info(market: Market) -> MarketInfo:
    """The REST model is a MarketInfo as it is (mypy checks this signature)."""
    return market


def test_top_n_by_volume_over_all_markets_skips_closed_and_closing() -> None:
    selection = select_markets(MARKETS, DiscoveryConfig(top_n=3), NOW)
    assert selection.tickers == ("KXB-26JAN01-T1", "KXA-26JAN01-T2", "KXA-26JAN01-T1")
    reasons = {s.ticker: s.reason for s in selection.skipped}
    assert reasons["KXC-26JAN01-T1"] is SkipReason.NOT_TRADABLE
    assert reasons["KXC-26JAN01-T3"] is SkipReason.NOT_TRADABLE
    assert reasons["KXC-26JAN01-T2"] is SkipReason.CLOSING_SOON
    assert reasons["KXA-26JAN02-T1"] is SkipReason.BELOW_TOP_N
    assert reasons["KXB-26JAN01-T2"] is SkipReason.BELOW_TOP_N
    assert selection.grids() == dict.fromkeys(selection.tickers, CENT)


def test_closing_window_is_inclusive_and_configurable() -> None:
    closing = [
        market("KXD-1-T1", close_time_ms=NOW + 300_000),
        market("KXD-1-T2", close_time_ms=NOW + 300_001),
    ]
    assert select_markets(closing, DiscoveryConfig(closing_window_s=300), NOW).tickers == ("KXD-1-T2",)
    assert len(select_markets(closing, DiscoveryConfig(closing_window_s=0), NOW).tickers) == 2


def test_equal_volume_ranks_by_ticker_so_the_choice_is_stable() -> None:
    ties = [market("KXE-1-T3", 10), market("KXE-1-T1", 10), market("KXE-1-T2", 10)]
    assert select_markets(ties, DiscoveryConfig(top_n=2), NOW).tickers == ("KXE-1-T1", "KXE-1-T2")


def test_explicit_tickers_are_always_chosen_when_eligible_and_add_to_top_n() -> None:
    config = DiscoveryConfig(tickers=("KXB-26JAN01-T2", "KXC-26JAN01-T1", "KXZ-GONE"), top_n=0)
    selection = select_markets(MARKETS, config, NOW)
    assert selection.tickers == ("KXB-26JAN01-T2",)
    assert SkippedMarket("KXC-26JAN01-T1", SkipReason.NOT_TRADABLE) in selection.skipped
    assert selection.missing == ("KXZ-GONE",)


def test_series_and_event_filters_restrict_the_ranked_pool() -> None:
    by_series = select_markets(MARKETS, DiscoveryConfig(series_tickers=("KXA",), top_n=None), NOW)
    assert by_series.tickers == ("KXA-26JAN01-T2", "KXA-26JAN01-T1", "KXA-26JAN02-T1")
    by_event = select_markets(MARKETS, DiscoveryConfig(event_tickers=("KXA-26JAN01",), top_n=1), NOW)
    assert by_event.tickers == ("KXA-26JAN01-T2",)
    both = select_markets(
        MARKETS, DiscoveryConfig(tickers=("KXB-26JAN01-T2",), event_tickers=("KXA-26JAN02",)), NOW
    )
    assert both.tickers == ("KXB-26JAN01-T2", "KXA-26JAN02-T1")


def test_series_comes_from_the_market_field_when_it_has_one() -> None:
    @dataclass(frozen=True)
    class WithSeries(FakeMarket):
        series_ticker: str = "KXSERIES"

    odd = WithSeries("ODD-1-T1", "ODD-1")
    assert series_of(odd) == "KXSERIES"
    assert series_of(market("KXHIGHNY-24JAN01-T60")) == "KXHIGHNY"
    assert select_markets([odd], DiscoveryConfig(series_tickers=("KXSERIES",)), NOW).tickers == ("ODD-1-T1",)


def test_pinned_markets_stay_selected_even_when_closing_or_closed() -> None:
    pinned = ["KXC-26JAN01-T1", "KXC-26JAN01-T2"]
    selection = select_markets(MARKETS, DiscoveryConfig(top_n=1), NOW, pinned=pinned)
    assert selection.tickers == ("KXC-26JAN01-T1", "KXC-26JAN01-T2", "KXB-26JAN01-T1")
    assert all(s.ticker not in pinned for s in selection.skipped)


def test_refresh_plan_lists_what_to_subscribe_and_unsubscribe() -> None:
    plan = plan_refresh(["A", "B", "C"], ["C", "D", "B"])
    assert plan.to_subscribe == ("D",)
    assert plan.to_unsubscribe == ("A",)
    assert plan.unchanged == ("B", "C")
    assert not plan.is_empty
    assert plan_refresh(["A"], ["A"]).is_empty


def test_refresh_plan_accepts_a_selection() -> None:
    first = select_markets(MARKETS, DiscoveryConfig(top_n=2), NOW)
    later = [*MARKETS, market("KXNEW-1-T1", 5_000)]
    plan = plan_refresh(first.tickers, select_markets(later, DiscoveryConfig(top_n=2), NOW))
    assert plan.to_subscribe == ("KXNEW-1-T1",)
    assert plan.to_unsubscribe == ("KXA-26JAN01-T2",)


@pytest.mark.parametrize("bad", [{"top_n": -1}, {"closing_window_s": -5}])
def test_config_rejects_negative_values(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must be"):
        DiscoveryConfig(**bad)  # type: ignore[arg-type]
