"""The in-process venue lives in ``kalshiflow.train.venue`` (training steps the same market); re-exported."""

from kalshiflow.train.venue import TRADER_ACCOUNT, SimVenue, VenueClock

__all__ = ["TRADER_ACCOUNT", "SimVenue", "VenueClock"]
