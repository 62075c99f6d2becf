"""The decisions' log subscriber: one info line per decision that did something, HOLDs counted.

A HOLD is the policy's most common answer (every book change of every market), so logging each one
at info drowned everything else (issue 8). They are counted (``holds``) and every
``hold_sample_every``-th is logged at debug with the running count; every other result is one info
line with its fields (market, action, price, size, result, reason, client_order_id and the named
observation as JSON).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from kalshiflow.events.trader import ActionResult, TraderAction

log = logging.getLogger("kalshiflow.commands.actions")


class ActionLogger:
    def __init__(self, hold_sample_every: int = 1_000) -> None:
        if hold_sample_every < 1:
            raise ValueError("hold_sample_every must be >= 1")
        self.hold_sample_every = hold_sample_every
        self.holds = 0

    def __call__(self, action: TraderAction, observation: Mapping[str, float]) -> None:
        if action.result is ActionResult.HOLD:
            self.holds += 1
            if self.holds % self.hold_sample_every == 0:
                log.debug(
                    "trader_action.hold_sampled",
                    extra={"ticker": action.ticker, "reason": action.reason, "holds": self.holds},
                )
            return
        log.info(
            "trader_action",
            extra={
                "ticker": action.ticker,
                "action": action.action,
                "price": None if action.price is None else action.price.dollars_str(),
                "size": action.size.fp_str(),
                "result": action.result_text,
                "reason": action.reason,
                "client_order_id": action.client_order_id,
                "observation": json.dumps(dict(observation)),
            },
        )
