"""The simulator's rendered texts are remembered by value: the same value gives the same text, and
values the constructors refuse are refused however often their integer twin was rendered."""

from __future__ import annotations

import pytest

from kalshiflow.sim import wire


def test_a_value_rendered_again_gives_the_same_text() -> None:
    assert wire.price(4500) == wire.price(4500) == "0.4500"
    assert wire.count(1250) == wire.count(1250) == "12.50"
    assert wire.ts(1_787_300_000_123) == wire.ts(1_787_300_000_123) == "2026-08-21T08:13:20.123Z"
    assert wire.ts(1_787_300_000_000) == "2026-08-21T08:13:20Z"


@pytest.mark.parametrize("render", [wire.price, wire.count])
@pytest.mark.parametrize("twin", [True, 1.0])
def test_a_bool_or_float_is_refused_after_its_integer_twin_was_rendered(render: object, twin: object) -> None:
    assert callable(render)
    render(1)
    with pytest.raises(TypeError):
        render(twin)
