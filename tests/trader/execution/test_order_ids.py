"""Client order ids: unique within a session and across sessions, without a system call per order."""

from __future__ import annotations

import re

from kalshiflow.trader.execution.in_flight import SessionOrderIds


def test_ids_of_one_session_share_its_random_part_and_never_repeat() -> None:
    ids = SessionOrderIds()
    drawn = [ids() for _ in range(10_000)]
    assert len(set(drawn)) == len(drawn)
    assert len({d[:20] for d in drawn}) == 1  # one random draw per session
    assert all(re.fullmatch(r"[0-9a-f]{32}", d) for d in drawn)  # the shape a uuid4 hex had


def test_two_sessions_never_hand_out_the_same_id() -> None:
    """A restart (or a second trader on the account) starts a new session: its counter starts over,
    its random part does not."""
    first, second = SessionOrderIds(), SessionOrderIds()
    a = {first() for _ in range(1_000)}
    b = {second() for _ in range(1_000)}
    assert not a & b
