"""Schema v1: 52 unique named features, a pinned hash, a lossless JSON form and load-time checks."""

from __future__ import annotations

import dataclasses
import json

import pytest

from kalshiflow.features import SCHEMA_V1, FeatureSchema, FeatureSpec, SchemaError

# Recompute with: PYTHONPATH=src python -c "from kalshiflow.features import SCHEMA_V1; print(SCHEMA_V1.hash)"
# A change here means every stored model is invalidated: bump the version, do not just re-pin.
GOLDEN_V1_HASH = "d08e13ce444db9017e7b249ea8981b49aacb52bea3186021b163c3516b92ec43"


def test_v1_has_52_unique_identifier_names() -> None:
    assert SCHEMA_V1.version == 1
    assert SCHEMA_V1.size == 52 == len(SCHEMA_V1.features) == len(set(SCHEMA_V1.names))
    assert all(name.isidentifier() for name in SCHEMA_V1.names)
    assert [SCHEMA_V1.index(name) for name in SCHEMA_V1.names] == list(range(52))


def test_every_spec_documents_unit_range_and_normalisation() -> None:
    for spec in SCHEMA_V1.features:
        assert spec.unit, spec.name
        assert spec.normalisation, spec.name
        assert spec.description, spec.name
        assert spec.low < spec.high


def test_hash_is_pinned() -> None:
    assert SCHEMA_V1.hash == GOLDEN_V1_HASH
    assert len(SCHEMA_V1.hash) == 64


def test_json_round_trip_keeps_the_hash() -> None:
    text = SCHEMA_V1.to_json()
    again = FeatureSchema.from_json(text)
    assert again == SCHEMA_V1
    assert again.hash == SCHEMA_V1.hash
    assert again.to_json() == text
    assert json.loads(text)["version"] == 1


def test_any_change_changes_the_hash() -> None:
    first = SCHEMA_V1.features[0]
    edited = dataclasses.replace(first, description=first.description + " ")
    other = FeatureSchema(1, (edited, *SCHEMA_V1.features[1:]))
    assert other.hash != SCHEMA_V1.hash
    assert FeatureSchema(2, SCHEMA_V1.features).hash != SCHEMA_V1.hash
    with pytest.raises(SchemaError, match="mismatch"):
        other.check_hash(SCHEMA_V1.hash)
    SCHEMA_V1.check_hash(SCHEMA_V1.hash)


def test_malformed_schemas_are_refused() -> None:
    spec = SCHEMA_V1.features[0]
    with pytest.raises(SchemaError, match="twice"):
        FeatureSchema(1, (spec, spec))
    with pytest.raises(SchemaError, match="range"):
        FeatureSpec("x", "u", 1.0, 0.0, "n", "d")
    with pytest.raises(SchemaError, match="identifier"):
        FeatureSpec("not a name", "u", 0.0, 1.0, "n", "d")
    with pytest.raises(SchemaError):
        FeatureSchema.from_json('{"version": 1}')
    with pytest.raises(KeyError, match="nope"):
        SCHEMA_V1.index("nope")
