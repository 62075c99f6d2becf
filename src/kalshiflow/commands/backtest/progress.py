"""The progress bar a backtest shows while its runs complete, over seeds or recorded sessions."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kalshiflow.commands.backtest.session import RunRecord

T = TypeVar("T")


def with_progress(
    console: Console, title: str, unit: str, total: int, run: Callable[[Callable[[RunRecord], None]], T]
) -> T:
    """``run(done)`` with a transient bar of ``total`` runs; ``done`` advances it, naming the run
    (``unit`` is what the record's ``seed`` stands for: a simulator seed or a session id)."""
    with Progress(
        TextColumn(title),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("", total=total)

        def done(record: RunRecord) -> None:
            progress.update(task, advance=1, description=f"{record.policy} {unit} {record.seed}")

        return run(done)
