"""The recorded venue's market listing: the session lists markets again only when one was added.

Why: a scheduled calibration used to ask the exchange for the open markets every minute to find
new ones; a recording only ever adds markets (all listed active until a day past its end), so the
venue's ``listing_version`` (the number of markets) says when the answer can differ. These tests
check both halves: no listing call while nothing was added, and a market the recording adds later
still reaches the trader at the next calibration.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.train.recorded_kit import Recorded, recorded_session

from kalshiflow.domain.grid import PriceGrid
from kalshiflow.store import db
from kalshiflow.train.recorded_env import start_recorded_session
from kalshiflow.train.recorded_venue import RecordedVenue
from kalshiflow.train.session import SessionConfig, TradingSession

NEW_TICKER = "KXLATE-26JAN01-T1"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    with recorded_session("sqlite", str(tmp_path_factory.mktemp("rec")), minutes=3.0) as rec:
        yield rec


async def _run(recorded: Recorded, add_market_at_s: float | None) -> tuple[TradingSession, int]:
    """Run the actor path for 130 s (two scheduled calibrations); count the listing calls after start."""
    database = db.open_engine(recorded.url)
    session = await start_recorded_session(database, recorded.session_id, SessionConfig())
    venue = session.venue
    assert isinstance(venue, RecordedVenue)
    calls = 0
    listing = venue.rest.list_markets

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return await listing(*args, **kwargs)

    venue.rest.list_markets = counted  # type: ignore[method-assign]
    start_ms = session.now_ms()
    if add_market_at_s is not None:
        await session.run_actor(start_ms + round(add_market_at_s * 1000))
        venue.tape.list_market(NEW_TICKER, PriceGrid.named("linear_cent"), venue.end_ms + 86_400_000)
        venue.tape.snapshot(NEW_TICKER, [(40_00, 10_00)], [(55_00, 10_00)])
    await session.run_actor(start_ms + 130_000)
    await session.aclose()
    database.dispose()
    return session, calls


def test_no_listing_call_while_the_recording_adds_no_market(recorded: Recorded, tmp_path: Path) -> None:
    session, calls = asyncio.run(_run(recorded, None))
    assert NEW_TICKER not in session.core.markets
    recal_listings = session._recal.stats.runs - 1  # each calibration's reconcile lists markets once
    assert calls == recal_listings  # none of the session's own: nothing new could be listed


def test_a_market_the_recording_adds_reaches_the_trader_at_the_next_calibration(
    recorded: Recorded, tmp_path: Path
) -> None:
    session, calls = asyncio.run(_run(recorded, 30.0))
    assert NEW_TICKER in session.core.markets
    assert session.books.book(NEW_TICKER) is not None
    assert calls == session._recal.stats.runs - 1 + 1  # one listing of the session's, after the add
