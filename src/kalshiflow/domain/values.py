"""A faster ``__init__`` for the frozen values built on every trading decision.

Why: ``@dataclass(frozen=True)`` stores each field through ``object.__setattr__`` -- a generic
attribute lookup and call per field, about 100 ns -- because the class's own ``__setattr__``
refuses. The values the decision path builds for every order (the risk context and the order
intents, the order and cash events) pay that some seventy times per order. ``hot_value`` replaces
the generated ``__init__`` by one that stores each field through its slot's own descriptor (what
``object.__setattr__`` ends up calling, without the lookup): about twice as fast.

Nothing else changes: same signature (positional, keyword and keyword-only parameters, defaults),
``__post_init__`` still runs, instances stay frozen (assignment still raises), equal, hashable and
visible to ``dataclasses.fields``. Only frozen, slotted dataclasses without ``default_factory`` or
``init=False`` fields qualify; anything else is refused when the class is defined.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def hot_value(cls: type[T]) -> type[T]:
    """Decorate a ``@dataclass(frozen=True, slots=True)`` class (above the ``@dataclass`` line)."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__}: hot_value is for frozen, slotted dataclasses")
    names: dict[str, Any] = {}
    positional: list[str] = []
    keyword_only: list[str] = []
    body: list[str] = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]  # checked above: a dataclass
        if not f.init or f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: hot_value needs plain fields with plain defaults")
        param = f.name
        if f.default is not dataclasses.MISSING:
            names[f"_default_{f.name}"] = f.default
            param = f"{f.name}=_default_{f.name}"
        (keyword_only if f.kw_only else positional).append(param)
        names[f"_set_{f.name}"] = cls.__dict__[f.name].__set__
        body.append(f"    _set_{f.name}(self, {f.name})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    signature = ", ".join(["self", *positional, *(["*", *keyword_only] if keyword_only else [])])
    source = f"def __init__({signature}) -> None:\n" + "\n".join(body or ["    pass"]) + "\n"
    exec(source, names)  # source built above from the class's own field names
    init = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    setattr(cls, "__init__", init)  # noqa: B010  # mypy refuses assigning a method
    return cls
