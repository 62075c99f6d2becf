"""Observations for policies: the versioned feature schema, per-market history and the one
function that computes an observation, shared by live trading and training (ARCHITECTURE §7);
``MarketObservation`` keeps the same values current per market at the cost of what changed."""

from kalshiflow.features.compute import ObservationScales, compute_observation
from kalshiflow.features.incremental import MarketObservation
from kalshiflow.features.market_state import MarketHistory
from kalshiflow.features.schema import SCHEMA_V1, FeatureSchema, FeatureSpec, SchemaError

__all__ = [
    "SCHEMA_V1",
    "FeatureSchema",
    "FeatureSpec",
    "MarketHistory",
    "MarketObservation",
    "ObservationScales",
    "SchemaError",
    "compute_observation",
]
