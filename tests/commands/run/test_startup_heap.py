"""After startup the trader's long-lived state leaves the collector's generations (``gc.freeze``)."""

from __future__ import annotations

import gc

from kalshiflow.commands.run_app import settle_startup_heap


def test_what_startup_built_is_no_longer_walked_by_the_collector() -> None:
    state = [{"book": i} for i in range(1_000)]  # stands for the markets, books and indexes
    try:
        frozen = settle_startup_heap()
        assert frozen >= len(state)
        assert not any(item is state for item in gc.get_objects())
        assert gc.isenabled(), "collection stays on for what trading allocates"
    finally:
        gc.unfreeze()
