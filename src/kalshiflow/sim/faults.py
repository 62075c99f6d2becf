"""Fault injection for the simulator: what goes wrong, decided reproducibly from a seed.

The trader has to survive a flaky exchange — slow responses, 5xx, 429 bursts, responses lost after
the order took effect, dropped/duplicated/out-of-sequence WebSocket messages, forced disconnects and
reads that lag writes. This module only *decides* which faults happen; the server executes them.

Invariants:

* Same seed + same sequence of calls ⇒ same decisions. Each kind of decision draws from its own
  ``random.Random`` (seeded from ``seed`` and the kind's name), so turning one fault on or off does
  not change which requests another fault hits. A rate decision always draws, even at rate 0.
* One-shot faults (scheduled 5xx, scheduled lost responses, the 429 burst) win over random ones and
  are consumed one request at a time.
* The default configuration injects nothing.
* The configuration is a frozen, validated value: rates in [0, 1], counts and durations >= 0,
  unknown keys rejected. ``update`` replaces it atomically or not at all.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

WsAction = Literal["send", "drop", "duplicate", "gap"]
WsSessionAction = Literal["send", "drop", "duplicate", "gap", "disconnect"]


class FaultConfig(BaseModel):
    """Which faults the simulator injects. All defaults inject nothing.

    * ``latency_ms`` (0, ms): added before every REST response.
    * ``latency_jitter_ms`` (0, ms): plus a uniform extra of 0..this many ms per response.
    * ``http_5xx_rate`` (0, probability per request): answer 500 without acting on the request.
    * ``rate_limit_burst_requests`` (0, requests): the next N requests get 429; setting the field
      (at construction or in ``update``) arms the count.
    * ``lost_response_rate`` (0, probability per request): the request takes effect but the response
      is lost (the server closes the connection without answering).
    * ``ws_drop_rate`` (0, probability per WS message): the message is not sent, its seq is used.
    * ``ws_duplicate_rate`` (0, probability per WS message): the message is sent twice.
    * ``ws_seq_gap_rate`` (0, probability per WS message): a seq number is skipped before it.
    * ``ws_disconnect_after_messages`` (0 = never, messages): force-close each WS session after it
      has handed this many messages to the fault layer.
    * ``read_lag_ms`` (0, ms): order and position reads see state this much older than writes.

    The three WS rates are exclusive outcomes of one draw, so their sum must be <= 1.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    latency_ms: int = Field(default=0, ge=0)
    latency_jitter_ms: int = Field(default=0, ge=0)
    http_5xx_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    rate_limit_burst_requests: int = Field(default=0, ge=0)
    lost_response_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    ws_drop_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    ws_duplicate_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    ws_seq_gap_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    ws_disconnect_after_messages: int = Field(default=0, ge=0)
    read_lag_ms: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _ws_rates_fit_one_draw(self) -> Self:
        if self.ws_drop_rate + self.ws_duplicate_rate + self.ws_seq_gap_rate > 1.0:
            raise ValueError("ws_drop_rate + ws_duplicate_rate + ws_seq_gap_rate must be <= 1")
        return self


class FaultInjector:
    """Decides, per request or message, which fault (if any) happens."""

    def __init__(self, config: FaultConfig | None = None, seed: int = 0) -> None:
        self.seed = seed
        self._config = config if config is not None else FaultConfig()
        self._latency_rng = random.Random(f"{seed}/latency")
        self._5xx_rng = random.Random(f"{seed}/http_5xx")
        self._lost_rng = random.Random(f"{seed}/lost_response")
        self._ws_rng = random.Random(f"{seed}/ws")
        self._rate_limit_burst_left = self._config.rate_limit_burst_requests
        self._scheduled_5xx = 0
        self._scheduled_lost = 0
        self._disconnect_generation = 0

    # -- configuration -------------------------------------------------------------------------

    @property
    def config(self) -> FaultConfig:
        return self._config

    def update(self, partial: Mapping[str, object]) -> FaultConfig:
        """Change some fields at run time; raises ``pydantic.ValidationError`` (nothing changes)."""
        merged = {**self._config.model_dump(), **partial}
        new_config = FaultConfig.model_validate(merged)
        self._config = new_config
        if "rate_limit_burst_requests" in partial:
            self._rate_limit_burst_left = new_config.rate_limit_burst_requests
        return new_config

    def reset(self) -> None:
        """No faults: default config, scheduled one-shots cleared (random streams continue)."""
        self._config = FaultConfig()
        self._rate_limit_burst_left = 0
        self._scheduled_5xx = 0
        self._scheduled_lost = 0

    @property
    def read_lag_ms(self) -> int:
        return self._config.read_lag_ms

    # -- REST ----------------------------------------------------------------------------------

    def latency_s(self) -> float:
        """Seconds to delay this response: ``latency_ms`` + U{0..latency_jitter_ms} ms."""
        jitter_ms = self._latency_rng.randint(0, self._config.latency_jitter_ms)
        return (self._config.latency_ms + jitter_ms) / 1000

    def should_fail_5xx(self) -> bool:
        draw = self._5xx_rng.random()
        if self._scheduled_5xx > 0:
            self._scheduled_5xx -= 1
            return True
        return draw < self._config.http_5xx_rate

    def take_rate_limit_burst(self) -> bool:
        """True if this request is one of the armed burst of 429s (consumes one)."""
        if self._rate_limit_burst_left > 0:
            self._rate_limit_burst_left -= 1
            return True
        return False

    def should_lose_response(self) -> bool:
        """True if the server should act on this request but not answer it."""
        draw = self._lost_rng.random()
        if self._scheduled_lost > 0:
            self._scheduled_lost -= 1
            return True
        return draw < self._config.lost_response_rate

    def schedule_5xx(self, n: int) -> None:
        """The next ``n`` calls of ``should_fail_5xx`` return True (adds to any already scheduled)."""
        self._scheduled_5xx += _non_negative(n)

    def schedule_lost_responses(self, n: int) -> None:
        """The next ``n`` calls of ``should_lose_response`` return True (adds to any scheduled)."""
        self._scheduled_lost += _non_negative(n)

    @property
    def pending_5xx(self) -> int:
        return self._scheduled_5xx

    @property
    def pending_lost_responses(self) -> int:
        return self._scheduled_lost

    @property
    def pending_rate_limit_burst(self) -> int:
        return self._rate_limit_burst_left

    # -- WebSocket -----------------------------------------------------------------------------

    def ws_action(self) -> WsAction:
        """What to do with the next WS data message (one draw over the three exclusive rates)."""
        draw = self._ws_rng.random()
        cfg = self._config
        threshold = cfg.ws_drop_rate
        if draw < threshold:
            return "drop"
        threshold += cfg.ws_duplicate_rate
        if draw < threshold:
            return "duplicate"
        threshold += cfg.ws_seq_gap_rate
        if draw < threshold:
            return "gap"
        return "send"

    def trigger_ws_disconnect(self) -> int:
        """Ask every WS session open now to close; returns the new disconnect generation."""
        self._disconnect_generation += 1
        return self._disconnect_generation

    @property
    def disconnect_generation(self) -> int:
        return self._disconnect_generation

    def disconnect_requested(self, seen_generation: int) -> bool:
        """True if a disconnect was triggered after a session recorded ``seen_generation``."""
        return self._disconnect_generation > seen_generation

    def ws_session(self) -> WsSessionFaults:
        """Per-connection fault state; create one when a WS session opens."""
        return WsSessionFaults(self)


class WsSessionFaults:
    """One WS session's view of the injector: counts its messages and remembers its generation.

    Call ``next_action()`` for each data message; on ``"disconnect"`` close the socket.
    """

    def __init__(self, injector: FaultInjector) -> None:
        self._injector = injector
        self._generation = injector.disconnect_generation
        self.messages = 0

    def quiet(self) -> bool:
        """Whether ``next_action`` is sure to answer "send": no disconnect asked for or due, no
        drop, duplicate or gap rate (an in-process reader may then skip the frame, see
        ``train.inprocess``; it still calls ``next_action``, whose count and draw go on as before)."""
        injector = self._injector
        cfg = injector.config
        return (
            not injector.disconnect_requested(self._generation)
            and not cfg.ws_disconnect_after_messages
            and not (cfg.ws_drop_rate or cfg.ws_duplicate_rate or cfg.ws_seq_gap_rate)
        )

    def next_action(self) -> WsSessionAction:
        injector = self._injector
        if injector.disconnect_requested(self._generation):
            self._generation = injector.disconnect_generation
            return "disconnect"
        limit = injector.config.ws_disconnect_after_messages
        if limit and self.messages >= limit:
            return "disconnect"
        self.messages += 1
        return injector.ws_action()


def _non_negative(n: int) -> int:
    if n < 0:
        raise ValueError("n must be >= 0")
    return n
