"""``hot_value``: the same frozen dataclass, constructed faster -- nothing a caller can tell apart."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from kalshiflow.domain.values import hot_value


@dataclass(frozen=True, slots=True)
class Plain:
    a: int
    b: str = "b"
    c: tuple[int, ...] = ()
    d: int = field(default=4, kw_only=True)

    def __post_init__(self) -> None:
        if self.a < 0:
            raise ValueError("a must not be negative")


@hot_value
@dataclass(frozen=True, slots=True)
class Hot:
    a: int
    b: str = "b"
    c: tuple[int, ...] = ()
    d: int = field(default=4, kw_only=True)

    def __post_init__(self) -> None:
        if self.a < 0:
            raise ValueError("a must not be negative")


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((1,), {}), ((1, "x"), {}), ((1, "x", (2, 3)), {"d": 9}), ((), {"a": 5, "c": (1,)})],
)
def test_a_hot_value_holds_what_the_dataclass_init_would_have_stored(
    args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    plain, hot = Plain(*args, **kwargs), Hot(*args, **kwargs)  # type: ignore[arg-type]
    assert dataclasses.astuple(hot) == dataclasses.astuple(plain)
    assert [f.name for f in dataclasses.fields(hot)] == [f.name for f in dataclasses.fields(plain)]
    again = Hot(*args, **kwargs)  # type: ignore[arg-type]
    assert hot == again
    assert hash(hot) == hash(again)


def test_a_hot_value_stays_frozen_and_still_validates() -> None:
    hot = Hot(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        hot.a = 2  # type: ignore[misc]
    with pytest.raises(ValueError, match="negative"):
        Hot(-1)
    with pytest.raises(TypeError):
        Hot(1, "x", (), 4)  # type: ignore[misc]  # d is keyword-only
    with pytest.raises(TypeError):
        Hot()  # type: ignore[call-arg]


def test_only_frozen_slotted_dataclasses_with_plain_fields_qualify() -> None:
    @dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclass(frozen=True, slots=True)
    class Factory:
        a: list[int] = field(default_factory=list)

    for cls in (NoSlots, Factory, int):
        with pytest.raises(TypeError):
            hot_value(cls)
