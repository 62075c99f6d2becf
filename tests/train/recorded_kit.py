"""A recorded session to test with: a few simulated minutes of the simulator, recorded by the
``record`` library path (``Recorder``) into a fresh database -- SQLite under tmp_path always,
PostgreSQL (one schema per test) when ``KALSHIFLOW_TEST_PG_URL`` is set. Never a checked-in file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.store.store_kit import fresh_database_url

from kalshiflow.commands.record_sim import SimRecording, record_simulated_session

SEED = 21
MINUTES = 8.0
MARKETS = 4


@dataclass(frozen=True)
class Recorded:
    url: str
    recording: SimRecording

    @property
    def session_id(self) -> int:
        return self.recording.session_id


@contextmanager
def recorded_session(
    backend: str, tmp_dir: str, *, minutes: float = MINUTES, invalidate_at_s: float | None = None
) -> Iterator[Recorded]:
    with fresh_database_url(backend, tmp_dir) as url:
        recording = record_simulated_session(
            url, SEED, minutes, n_markets=MARKETS, invalidate_at_s=invalidate_at_s, resync_after_s=60.0
        )
        yield Recorded(url, recording)
