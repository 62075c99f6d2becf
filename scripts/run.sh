#!/usr/bin/env bash
# Start the simulator: install the project into .venv (shared with scripts/test.sh) and run
# `kalshiflow sim`, passing every argument through, e.g.
#
#   bash scripts/run.sh --port 8900 --seed 7 --markets 20
set -uo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT" || exit 1

VENV="$REPO_ROOT/.venv"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

find_python() {
    local candidate
    for candidate in python3.11 python3 python; do
        if have "$candidate" && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

venv_is_usable() {
    [ -x "$VENV/bin/python" ] \
        && "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null \
        && "$VENV/bin/python" -m pip --version >/dev/null 2>&1
}

create_venv() {
    local python
    python="$(find_python)" || die "Python 3.11 not found (tried python3.11, python3, python)"
    rm -rf "$VENV"
    log "creating $VENV with $python"
    if ! "$python" -m venv "$VENV"; then
        # Debian ships venv/ensurepip separately from the interpreter.
        rm -rf "$VENV"
        if [ "$(id -u)" = "0" ] && have apt-get; then
            log "venv failed; installing Debian's python3.11-venv"
            DEBIAN_FRONTEND=noninteractive apt-get update -q \
                && { DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3.11-venv \
                    || DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv; } \
                || die "could not install python3.11-venv"
        fi
        "$python" -m venv "$VENV" || die "cannot create a venv: install python3.11-venv"
    fi
    "$VENV/bin/python" -m pip install -q --upgrade pip || log "could not upgrade pip; continuing"
}

# Same stamp scheme as scripts/test.sh: an install with the dev,postgres extras also covers this one.
# The install is editable, like test.sh's, so the two scripts never fight over the package copy.
ensure_installed() {
    venv_is_usable || create_venv
    # Keep the venv out of git (a Python 3.13+ venv writes this file itself).
    [ -f "$VENV/.gitignore" ] || echo '*' >"$VENV/.gitignore"
    local hash stamp
    hash="$(sha256sum pyproject.toml | cut -d' ' -f1)"
    for stamp in "$VENV"/.kalshiflow-install-*; do
        [ -f "$stamp" ] || continue
        if [ "$(cut -d' ' -f2 "$stamp")" = "$hash" ] && [ -x "$VENV/bin/kalshiflow" ] \
            && "$VENV/bin/python" -c 'import kalshiflow' 2>/dev/null; then
            return 0
        fi
    done
    log "installing -e ."
    rm -f "$VENV"/.kalshiflow-install-*
    "$VENV/bin/python" -m pip install -q -e . || die "pip install failed"
    printf '%s %s\n' "base" "$hash" >"$VENV/.kalshiflow-install-base"
}

ensure_installed
exec "$VENV/bin/kalshiflow" sim "$@"
