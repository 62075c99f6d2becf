#!/usr/bin/env bash
# Start the simulator: install the project into .venv (shared with scripts/test.sh) and run
# `kalshiflow sim`, passing every argument through, e.g.
#
#   bash scripts/run.sh --port 8900 --seed 7 --markets 20
set -uo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT" || exit 1
VENV="$REPO_ROOT/.venv"
EXTRAS=""
# shellcheck source=scripts/lib.sh
source "$REPO_ROOT/scripts/lib.sh"

ensure_venv
exec "$VENV/bin/kalshiflow" sim "$@"
