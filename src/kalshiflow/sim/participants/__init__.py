"""Synthetic traders that make the simulator's books move like Kalshi's.

* ``fair``: the latent fair probability per market (a random walk with news jumps that resolves
  toward 0 or 1 by the close).
* ``makers``: market makers quoting ladders around fair value, with inventory skew.
* ``takers``: noise IOC flow at the touch, and an informed trader that picks off stale quotes.
* ``crowd``: the accounts, per-market profiles and the order in which everyone acts.
* ``scheduler``: one step of sim time — lifecycle, outcome draws and determinations, fresh
  listings, then the crowd.
"""

from __future__ import annotations

from kalshiflow.sim.participants.config import ParticipantsConfig
from kalshiflow.sim.participants.crowd import Participants
from kalshiflow.sim.participants.scheduler import SimScheduler

__all__ = ["Participants", "ParticipantsConfig", "SimScheduler"]
