"""A decoded session leaves the collector's generations once (``settle_decoded_heap``): the
replayed values are frozen at the reset that decodes them, and later resets freeze nothing."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from tests.train.recorded_kit import recorded_session

from kalshiflow.train.recorded_env import RecordedTradingEnv


def _in_generations(objects: list[object]) -> bool:
    return any(any(o is item for item in objects) for o in gc.get_objects())


def test_the_decoded_session_is_frozen_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    freezes: list[int] = []
    freeze = gc.freeze

    def counting() -> None:
        freezes.append(1)
        freeze()

    monkeypatch.setattr(gc, "freeze", counting)
    with recorded_session("sqlite", str(tmp_path)) as rec:
        env = RecordedTradingEnv([(rec.url, rec.session_id)])
        try:
            env.reset(seed=0)
            ((_, decoded),) = env._recordings.values()
            assert decoded is not None
            items: list[object] = [i for i in decoded.items[:50] if gc.is_tracked(i)]
            assert items  # the replayed values are objects the collector follows...
            assert not _in_generations(items)  # ...but no longer walks: frozen
            assert len(freezes) == 1
            env.reset(seed=0)  # replayed from memory: nothing decoded, nothing frozen
            env.reset(seed=0)
            assert len(freezes) == 1
        finally:
            env.close()
            gc.unfreeze()
