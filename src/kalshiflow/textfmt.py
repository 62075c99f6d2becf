"""Small text helpers for what the operator reads (CLI, logs, status, dashboard, terminal view).

A count beside a noun is the commonest text a trader prints ("1 position", "3 orders"), and a
wrong plural reads as a bug in a system that claims to be exact: one helper, used everywhere.
"""

from __future__ import annotations


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """``"1 order"``, ``"0 orders"``, ``"1,204 orders"``; ``plural_form`` for irregular nouns."""
    return f"{count:,} {noun if count == 1 else (plural_form or noun + 's')}"
