"""The ``kalshiflow`` command line (entry point ``kalshiflow.cli:app``).

``app`` holds the application and what its commands share; each ``*_commands`` module registers its
commands on it, in the order ``--help`` lists them. Building the command line imports no command's
body (a test holds it to that): ``--help``, ``status`` and ``ctl`` start in a fraction of a second.
"""

try:
    from kalshiflow.cli.app import app

    # Registration, in the order ``--help`` lists the commands.
    # isort: off
    from kalshiflow.cli import sim_commands  # noqa: F401
    from kalshiflow.cli import evaluation_commands  # noqa: F401
    from kalshiflow.cli import trading_commands  # noqa: F401
    # isort: on
except KeyboardInterrupt:
    # Ctrl-C while the command line is still loading (its first ~0.1 s): nothing has started, so
    # leave as an interrupted command does (status 130), not with a traceback of an import.
    raise SystemExit(130) from None

__all__ = ["app"]
