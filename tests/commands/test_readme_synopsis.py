"""The README's command synopses against the commands themselves.

A new user reads ``kalshiflow backtest [--seeds 1-20] ...`` as "the default is 1-20" (the synopses
of ``sim`` and ``sim-report`` write their defaults that way) while ``--help`` said 1-5, and the
``run`` synopsis left out ``--seed`` and ``--sim-markets``. Every option of every command is in its
synopsis, and a number written as an option's value there is the command's default.
"""

from __future__ import annotations

import re

import typer
from tests.paths import REPO

from kalshiflow.cli import app


def _synopses() -> dict[str, str]:
    """``{command: its synopsis text}`` from the README's code blocks (continuation lines start with '[')."""
    found: dict[str, list[str]] = {}
    inside, current = False, None
    for line in (REPO / "README.md").read_text().splitlines():
        if line.startswith("```"):
            inside, current = not inside, None
            continue
        match = re.match(r"kalshiflow ([a-z-]+)\b(.*)", line) if inside else None
        if match:
            current = match.group(1)
            found.setdefault(current, []).append(match.group(2))
        elif inside and current and line.startswith(" ") and line.strip().startswith("["):
            found[current].append(line)
        else:
            current = None
    return {name: " ".join(lines) for name, lines in found.items()}


def _commands() -> dict[str, typer.core.TyperCommand]:
    group = typer.main.get_command(app)
    return dict(group.commands)  # type: ignore[attr-defined]


def test_every_option_of_every_command_is_in_its_readme_synopsis() -> None:
    synopses = _synopses()
    missing = {}
    for name, command in _commands().items():
        text = synopses.get(name, "")
        absent = [
            option
            for param in command.params
            if (spelled := [o for o in (*param.opts, *param.secondary_opts) if o.startswith("--")])
            and not any(re.search(re.escape(o) + r"(?![\w-])", text) for o in spelled)
            for option in spelled[:1]
        ]
        if absent:
            missing[name] = absent
    assert missing == {}


def test_a_number_shown_as_an_options_value_is_its_default() -> None:
    synopses = _synopses()
    wrong = []
    for name, command in _commands().items():
        for param in command.params:
            if param.default is None:
                continue  # a placeholder or an example value, not a default
            for option in param.opts:
                for match in re.finditer(re.escape(option) + r" ([0-9][0-9.,\-]*)\]", synopses.get(name, "")):
                    shown, default = match.group(1), str(param.default)
                    if shown != default and not (
                        _number(shown) is not None and _number(shown) == _number(default)
                    ):
                        wrong.append(f"{name} {option}: README {shown}, --help {default}")
    assert wrong == []


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
