#!/usr/bin/env bash
# Start the trader: install the project into .venv (shared with scripts/test.sh) and run
# `kalshiflow run`, passing every argument through. With no connection flags it starts the embedded
# simulator and trades it with the default policy (ppo, the shipped network; --paper sends nothing), e.g.
#
#   bash scripts/run.sh                      # embedded simulator, live terminal view
#   bash scripts/run.sh --speed 10 --top 5   # a faster simulated clock, five markets
set -uo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO_ROOT/.venv"
EXTRAS=""
# shellcheck source=scripts/lib.sh
source "$REPO_ROOT/scripts/lib.sh"

# Install from the repository, run from where the caller is: relative paths in the arguments
# (--config, --data-dir, mlp:PATH) and the default ./.kalshiflow mean what they mean there.
(cd "$REPO_ROOT" && ensure_venv) || exit 1
exec "$VENV/bin/kalshiflow" run "$@"
