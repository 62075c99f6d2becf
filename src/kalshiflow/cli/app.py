"""The ``kalshiflow`` application every command registers on: one-line usage errors, the version flag,
and what the commands share (the consoles, ``fail``, ``split_tickers``, the environment).

Exit codes: 0 on success and on a clean Ctrl-C/SIGTERM stop, 2 on a usage error (bad flag value,
unreadable key file, port in use). Error messages name the flag and what to fix; no traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

try:  # typer >= 0.2x carries its own copy of click; older typer uses click itself
    from typer._click.exceptions import NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - depends on the installed typer
    from click.exceptions import NoArgsIsHelpError, UsageError  # type: ignore[assignment]

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)

USAGE_ERROR = 2


def print_error(message: str) -> None:
    """``error: <message>`` on stderr; the message is text, not markup ('.[rl]' or '[run] db' print as written)."""
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True)


def fail(message: str) -> NoReturn:
    """A usage error: one line, exit code 2."""
    print_error(message)
    raise typer.Exit(USAGE_ERROR)


class _OneLineUsageErrors(TyperGroup):
    """A flag that does not parse (``--duration abc``, ``--sim-markets -3``, an unknown option) is
    one line naming it and exit code 2, like every other wrong setting, instead of click's framed
    usage box: a script or a person reading stderr sees the same shape of error whatever was wrong."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        prog_name = prog_name or "kalshiflow"  # as the user typed it, also under ``python -c``
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except NoArgsIsHelpError as exc:  # bare `kalshiflow`: the error's message is the help
            typer.echo(exc.format_message(), err=True)
            sys.exit(exc.exit_code)
        except UsageError as exc:
            command = exc.ctx.command_path if exc.ctx is not None else "kalshiflow"
            print_error(f"{exc.format_message()} (see {command} --help)")
            sys.exit(USAGE_ERROR)
        except typer.Abort:
            err.print("aborted")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=_OneLineUsageErrors,
    add_completion=False,
    no_args_is_help=True,
    help="Kalshi trader and local simulator.",
    rich_markup_mode=None,
)


def split_tickers(values: Sequence[str] | None) -> tuple[str, ...]:
    """``["A,B", "C"]`` -> ``("A", "B", "C")``: commas and repeated flags both work."""
    return tuple(dict.fromkeys(t.strip() for v in values or () for t in v.split(",") if t.strip()))


def process_environ() -> Mapping[str, str]:
    """The environment the commands read (``config.process_environ``, imported when a command runs)."""
    from kalshiflow.config import process_environ as environ

    return environ()


def package_version() -> str:
    try:
        return version("kalshiflow")
    except PackageNotFoundError:
        return "unknown"


def _show_version(value: bool) -> None:
    if value:
        out.print(f"kalshiflow {package_version()}")
        raise typer.Exit()


@app.callback()
def main(
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Kalshi trader and local simulator."""
