"""The in-process plumbing (``Plumbing.DIRECT``) is the same environment as the full wire (``WIRE``):
the same episode -- observations bit for bit, rewards, the trader's fills and the exchange's -- over a
recorded session and over the seeded simulator, with seeded random actions that send orders which
fill, rest and get cancelled."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from starlette.routing import Match, Route
from tests.train.recorded_kit import Recorded, recorded_session

from kalshiflow.domain.orders import OrderStatus
from kalshiflow.marketdata.bookstore import BookStore
from kalshiflow.sim.server.app import build_app
from kalshiflow.sim.server.rest import rest_specs
from kalshiflow.sim.server.rest_pipeline import PREFIX
from kalshiflow.sim.server.ws_frames import DataFrame, Outbox
from kalshiflow.train.env import SessionEnv, TradingEnv
from kalshiflow.train.inprocess import InProcessRestClient, Plumbing, RouteMiss, Router
from kalshiflow.train.recorded_env import RecordedTradingEnv
from kalshiflow.train.session import SessionConfig
from kalshiflow.train.venue import TRADER_ACCOUNT, SimVenue

WIRE = SessionConfig(plumbing=Plumbing.WIRE)
DIRECT = SessionConfig(plumbing=Plumbing.DIRECT)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    with recorded_session("sqlite", str(tmp_path_factory.mktemp("rec"))) as rec:
        yield rec


@dataclasses.dataclass
class Episode:
    observations: list[bytes]
    rewards: list[float]
    infos: list[dict[str, Any]]
    ledger_fills: list[tuple[object, ...]]
    exchange_fills: list[tuple[object, ...]]
    order_states: list[tuple[object, ...]]
    state_version: int


def _play(env: SessionEnv, seed: int, steps: int) -> Episode:
    """Uniform random actions (seeded) until the episode ends or ``steps`` were taken."""
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=0)
    observations, rewards, infos = [obs.tobytes()], [], [info]
    try:
        for _ in range(steps):
            obs, reward, _, truncated, info = env.step(int(rng.integers(0, 5)))
            observations.append(obs.tobytes())
            rewards.append(reward)
            infos.append(info)
            if truncated:
                break
        session = env._session
        assert session is not None
        venue = session.venue
        account = venue.engine.accounts[TRADER_ACCOUNT]
        ledger_fills = [
            (
                f.trade_id,
                f.order_id,
                f.ticker,
                f.side,
                f.yes_price,
                f.count,
                f.fee,
                f.is_taker,
                f.ts_ms,
                f.source,
            )
            for f in session.core.ledger.fills
        ]
        exchange_fills = [
            (f.trade_id, f.order_id, f.ticker, f.side, f.yes_price, f.count, f.fee, f.is_taker, f.ts_ms)
            for f in account.fills
        ]
        orders = venue.engine.orders
        order_states = [
            (o.order_id, o.ticker, o.side, o.yes_price, o.status, o.remaining_count, o.fill_count)
            for o in (orders[i] for i in account.order_ids)
        ]
        version = venue.state_version()
    finally:
        env.close()
    return Episode(observations, rewards, infos, ledger_fills, exchange_fills, order_states, version)


def _assert_same(wire: Episode, direct: Episode) -> None:
    assert direct.observations == wire.observations
    assert direct.rewards == wire.rewards
    assert direct.infos == wire.infos
    assert direct.ledger_fills == wire.ledger_fills
    assert direct.exchange_fills == wire.exchange_fills
    assert direct.order_states == wire.order_states
    assert direct.state_version == wire.state_version


def _assert_traded(episode: Episode, *, passive: bool) -> None:
    """The actions exercised the order paths: orders crossing the spread fill at once; passive
    ones rest, some fill as makers, some are cancelled."""
    takers = [f for f in episode.exchange_fills if f[7]]
    makers = [f for f in episode.exchange_fills if not f[7]]
    cancelled = [o for o in episode.order_states if o[4] is OrderStatus.CANCELED]
    if passive:
        assert makers
        assert cancelled
    else:
        assert takers


@pytest.mark.parametrize("passive", [False, True], ids=["aggressive", "passive"])
def test_a_recorded_episode_is_the_same_over_the_wire_and_in_process(
    recorded: Recorded, passive: bool
) -> None:
    def env(config: SessionConfig) -> RecordedTradingEnv:
        return RecordedTradingEnv([(recorded.url, recorded.session_id)], config=config, passive=passive)

    wire = _play(env(WIRE), seed=7, steps=100_000)
    direct = _play(env(DIRECT), seed=7, steps=100_000)
    assert len(wire.observations) > 200
    _assert_same(wire, direct)
    _assert_traded(wire, passive=passive)


@pytest.mark.parametrize("passive", [False, True], ids=["aggressive", "passive"])
def test_a_simulator_episode_is_the_same_over_the_wire_and_in_process(passive: bool) -> None:
    def env(config: SessionConfig) -> TradingEnv:
        return TradingEnv(seeds=(1000,), episode_s=600.0, config=config, passive=passive)

    wire = _play(env(WIRE), seed=11, steps=100_000)
    direct = _play(env(DIRECT), seed=11, steps=100_000)
    assert len(wire.observations) > 200
    _assert_same(wire, direct)
    _assert_traded(wire, passive=passive)


def _same_json(decoded: object, value: object) -> bool:
    """Equal and of the same exact types all the way down (``==`` alone lets an int subclass or a
    str enum pass for the plain value a reader decodes)."""
    if type(decoded) is not type(value):
        return False
    if isinstance(decoded, dict):
        assert isinstance(value, dict)
        return list(decoded) == list(value) and all(_same_json(decoded[k], value[k]) for k in decoded)
    if isinstance(decoded, list):
        assert isinstance(value, list)
        return len(decoded) == len(value) and all(
            _same_json(d, v) for d, v in zip(decoded, value, strict=True)
        )
    return decoded == value


def test_in_process_frames_hand_over_exactly_what_their_text_decodes_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``Plumbing.DIRECT`` parses the hub's payloads without encoding them: each must be what a
    socket reader decodes from the frame's text, types included. (Our fills, orders and positions
    skip the hub in process: ``test_inprocess_private`` compares those with the parsed frames.)"""
    frames: list[DataFrame] = []
    put_data = Outbox.put_data

    def recording(outbox: Outbox, frame: DataFrame) -> bool:
        frames.append(frame)
        return put_data(outbox, frame)

    monkeypatch.setattr(Outbox, "put_data", recording)
    _play(TradingEnv(seeds=(1000,), episode_s=300.0, config=DIRECT), seed=11, steps=100_000)
    kinds = {frame.msg_type for frame in frames}
    assert "orderbook_snapshot" in kinds
    mismatched = [f.text() for f in frames if not _same_json(json.loads(f.text()), f.value())]
    assert not mismatched


def test_the_in_process_client_sends_nothing_over_http() -> None:
    venue = SimVenue(1, 2, DIRECT.balance, plumbing=Plumbing.DIRECT)
    assert isinstance(venue.rest, InProcessRestClient)
    assert venue.transport is None


def _sample(path: str) -> str:
    return "/".join("x-1" if part.startswith("{") else part for part in path.split("/"))


def test_the_in_process_router_picks_the_endpoint_the_http_app_routes_to() -> None:
    """Every endpoint, with sample path parameters: the same route as Starlette's (literal segments
    win over parameters), and unknown paths / other methods are the fallback's 404 / 405."""
    venue = SimVenue(1, 2, DIRECT.balance, plumbing=Plumbing.WIRE)
    routes = [r for r in build_app(venue.sim).router.routes if isinstance(r, Route)]
    router = Router(rest_specs())

    def starlette(method: str, path: str) -> str:
        scope = {"type": "http", "method": method, "path": PREFIX + path}
        return next(r.path for r in routes if r.matches(scope)[0] is Match.FULL)

    for spec in rest_specs():
        path = _sample(spec.path)
        found = router.match(spec.method, path)
        assert not isinstance(found, RouteMiss)
        assert PREFIX + found[0].path == starlette(spec.method, path), (spec.method, path)
    assert router.match("GET", "/no/such/endpoint") is RouteMiss.NO_PATH
    assert starlette("GET", "/no/such/endpoint") == PREFIX + "/{path:path}"
    assert router.match("PATCH", "/portfolio/balance") is RouteMiss.OTHER_METHOD


def _watched_books(plumbing: Plumbing) -> tuple[list[tuple[object, ...]], int, list[str]]:
    """Books of a venue that follows all but one market, then (``watch``) the last one too."""
    venue = SimVenue(1000, 4, DIRECT.balance, plumbing=plumbing)
    tickers = sorted(t for t, m in venue.engine.markets.items() if m.is_trading)
    books = BookStore(venue.clock)
    for ticker in tickers:
        books.register(ticker, venue.engine.markets[ticker].grid)
    private: list[str] = []
    venue.connect(books, tickers[:-1], lambda message: private.append(type(message).__name__))
    start = venue.clock.now_ms()
    venue.advance_to(start + 60_000)
    late = books.book(tickers[-1])
    assert late is not None
    assert not late.valid  # not followed yet: no snapshot, no deltas
    venue.watch([tickers[-1]])
    venue.advance_to(start + 180_000)
    state: list[tuple[object, ...]] = []
    for ticker in tickers:
        book = books.book(ticker)
        assert book is not None
        state.append((ticker, book.valid, dict(book.yes_bids.sizes), dict(book.no_bids.sizes)))
    return state, venue.frames, private


def test_a_market_watched_later_gets_its_snapshot_and_deltas_in_both_plumbings() -> None:
    wire, direct = _watched_books(Plumbing.WIRE), _watched_books(Plumbing.DIRECT)
    assert direct == wire
    assert all(valid for _, valid, _, _ in wire[0])
