"""The ``kalshiflow`` command line (entry point ``kalshiflow.cli:app``).

``app`` holds the application and what its commands share; each ``*_commands`` module registers its
commands on it, in the order ``--help`` lists them. Building the command line imports no command's
body (a test holds it to that): ``--help``, ``status`` and ``ctl`` start in a fraction of a second.
"""

from kalshiflow.cli.app import app

# Registration, in the order ``--help`` lists the commands.
# isort: off
from kalshiflow.cli import sim_commands  # noqa: F401
from kalshiflow.cli import evaluation_commands  # noqa: F401
from kalshiflow.cli import trading_commands  # noqa: F401
# isort: on

__all__ = ["app"]
