"""Connection state machine, reconnect backoff and the observable status of the stream.

Why: the dashboard, the trader and the tests all need to know whether market data can be trusted
right now, and why not. The state is an enum with an explicit transition table (an illegal
transition is a bug and raises); the counters are plain integers that only grow; ``StreamStatus``
is a frozen copy that can be handed to anyone.

States::

    disconnected -> connecting -> subscribing -> live
         connecting/subscribing/live -> backing_off -> connecting
         any -> closed (terminal)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Final


class ConnectionState(StrEnum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    SUBSCRIBING = "subscribing"
    LIVE = "live"
    BACKING_OFF = "backing_off"
    CLOSED = "closed"


_S = ConnectionState
TRANSITIONS: Final[dict[ConnectionState, frozenset[ConnectionState]]] = {
    _S.DISCONNECTED: frozenset({_S.CONNECTING, _S.CLOSED}),
    _S.CONNECTING: frozenset({_S.SUBSCRIBING, _S.BACKING_OFF, _S.CLOSED}),
    _S.SUBSCRIBING: frozenset({_S.LIVE, _S.BACKING_OFF, _S.CLOSED}),
    _S.LIVE: frozenset({_S.BACKING_OFF, _S.CLOSED}),
    _S.BACKING_OFF: frozenset({_S.CONNECTING, _S.CLOSED}),
    _S.CLOSED: frozenset(),
}


class IllegalTransition(RuntimeError):
    """A transition the table does not allow: a bug in the stream, never a network condition."""


class ErrorKind(StrEnum):
    """Why the last connection attempt or connection ended; decides the backoff schedule."""

    AUTH = "auth"  # handshake rejected with 401/403: retrying fast cannot help
    CONNECT = "connect"  # refused, unknown host, timeout, bad handshake status
    CONNECTION_LOST = "connection_lost"  # closed by the server or the network
    HEARTBEAT = "heartbeat"  # no traffic and no pong: the connection is dead
    RESYNC = "resync"  # books could not be refreshed in time
    SUBSCRIBE = "subscribe"  # restoring subscriptions failed


@dataclass(frozen=True, slots=True)
class StreamError:
    kind: ErrorKind
    detail: str

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.detail}"


@dataclass(slots=True)
class StreamMetrics:
    """Counters since the stream was created; they only grow."""

    messages_received: int = 0
    snapshots_applied: int = 0
    deltas_applied: int = 0
    deltas_skipped: int = 0  # arrived for a book awaiting its snapshot: not applied
    deltas_rejected: int = 0  # the sink refused them (book inconsistent): resynced
    gaps: int = 0
    stale_messages: int = 0  # duplicate or out-of-order seq
    resyncs: int = 0  # snapshot requests and resubscriptions sent for invalid books
    reconnects: int = 0  # connections opened after the first
    connect_failures: int = 0
    auth_failures: int = 0
    malformed_frames: int = 0
    unknown_messages: int = 0
    terminal_errors: int = 0  # error 10/25 on a subscription
    queue_overflows: int = 0  # channel messages that did not fit the consumer queue
    channel_messages: int = 0  # handed to the consumer queue

    def copy(self) -> StreamMetrics:
        return StreamMetrics(**{f.name: getattr(self, f.name) for f in fields(self)})


@dataclass(frozen=True, slots=True)
class StreamStatus:
    state: ConnectionState
    attempt: int  # consecutive failed connection attempts (0 while live)
    last_error: StreamError | None
    invalid_books: tuple[str, ...]
    metrics: StreamMetrics = field(default_factory=StreamMetrics)
    retry_delay_s: float | None = None  # the last backoff delay chosen


class StateMachine:
    def __init__(self) -> None:
        self.state = ConnectionState.DISCONNECTED

    def to(self, new: ConnectionState) -> None:
        if new not in TRANSITIONS[self.state]:
            raise IllegalTransition(f"{self.state.value} -> {new.value}")
        self.state = new


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """Exponential backoff with full jitter in [delay/2, delay].

    * ``initial_s`` (0.1 s): first delay after a failure.
    * ``max_s`` (30 s): cap of the delay.
    * ``multiplier`` (2.0): growth per consecutive failure.
    * ``auth_initial_s`` (5 s): first delay after an authentication failure, which a quick retry
      cannot fix (a wrong key or a skewed clock); the same multiplier and cap apply.
    """

    initial_s: float = 0.1
    max_s: float = 30.0
    multiplier: float = 2.0
    auth_initial_s: float = 5.0


class Backoff:
    """Delays for consecutive failures; seeded so a test run is reproducible."""

    def __init__(self, policy: BackoffPolicy, seed: int = 0) -> None:
        self.policy = policy
        self._rng = random.Random(seed)
        self.failures = 0

    def next_delay(self, kind: ErrorKind) -> float:
        policy = self.policy
        base = policy.auth_initial_s if kind is ErrorKind.AUTH else policy.initial_s
        delay = min(policy.max_s, base * policy.multiplier**self.failures)
        self.failures += 1
        return delay * (0.5 + 0.5 * self._rng.random())

    def reset(self) -> None:
        self.failures = 0
