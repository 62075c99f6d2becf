#!/usr/bin/env bash
# Start the trader: install the project into .venv (shared with scripts/test.sh) and run
# `kalshiflow run`, passing every argument through. With no connection flags it starts the embedded
# simulator and trades it with the default policy (ppo, the shipped network; --paper sends nothing), e.g.
#
#   bash scripts/run.sh                      # embedded simulator, live terminal view
#   bash scripts/run.sh --speed 10 --top 5   # a faster simulated clock, five markets
set -uo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT" || exit 1
VENV="$REPO_ROOT/.venv"
EXTRAS=""
# shellcheck source=scripts/lib.sh
source "$REPO_ROOT/scripts/lib.sh"

ensure_venv
exec "$VENV/bin/kalshiflow" run "$@"
