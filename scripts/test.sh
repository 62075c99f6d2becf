#!/usr/bin/env bash
# Install the project into .venv and run the whole check: ruff, mypy, pytest.
#
#   bash scripts/test.sh                 # everything
#   bash scripts/test.sh tests/domain    # extra arguments go to pytest
#
# Works on a fresh Debian machine with Python 3.11, 3.12 or 3.13 (3.11 preferred): creates the venv, installs '.[dev,postgres]',
# makes PostgreSQL reachable on 127.0.0.1:5432 (installing and starting it with apt when running as
# root) and exports KALSHIFLOW_TEST_PG_URL. Without PostgreSQL it warns and the PG tests skip.
set -uo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT" || exit 1

VENV="${KALSHIFLOW_VENV:-$REPO_ROOT/.venv}"  # KALSHIFLOW_VENV: a second interpreter's venv (.ci/run)
EXTRAS="dev,postgres"
PG_HOST="127.0.0.1"
PG_PORT="5432"
PG_DB="test"
PG_URL="postgresql+psycopg://postgres@${PG_HOST}:${PG_PORT}/${PG_DB}"

# shellcheck source=scripts/lib.sh
source "$REPO_ROOT/scripts/lib.sh"
IMPORT_CHECK="kalshiflow, pytest, xdist, hypothesis, psycopg"

# ---------------------------------------------------------------------------------------------
# PostgreSQL for the store tests (optional: they skip without KALSHIFLOW_TEST_PG_URL)
# ---------------------------------------------------------------------------------------------

pg_answers() {
    if have pg_isready; then
        pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 3
        return $?
    fi
    "$VENV/bin/python" - "$PG_HOST" "$PG_PORT" <<'EOF'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()
except OSError:
    sys.exit(1)
EOF
}

# Connect as postgres without a password and create the test database if it is missing.
pg_prepare_database() {
    "$VENV/bin/python" - "$PG_HOST" "$PG_PORT" "$PG_DB" <<'EOF'
import sys

import psycopg
from psycopg import sql

host, port, dbname = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    with psycopg.connect(host=host, port=port, user="postgres", dbname="postgres",
                         connect_timeout=5, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
except psycopg.Error as exc:
    print(f"postgres check failed: {exc}".strip(), file=sys.stderr)
    sys.exit(1)
EOF
}

pg_latest_version() {
    ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1
}

pg_wait_ready() {
    local _
    for _ in $(seq 1 30); do
        pg_answers && return 0
        sleep 1
    done
    return 1
}

# Trust auth for the loopback address, added ahead of the cluster's own rules (first match wins).
pg_trust_loopback() {
    local version="$1"
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    [ -f "$hba" ] || return 1
    if grep -Eq '^[[:space:]]*host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
        return 0
    fi
    log "adding trust auth for 127.0.0.1 to $hba (test machine)"
    { echo "host all all 127.0.0.1/32 trust  # added by kalshiflow scripts/test.sh"; cat "$hba"; } >"$hba.new" \
        && cat "$hba.new" >"$hba" && rm -f "$hba.new"
}

pg_reload() {
    pg_ctlcluster --skip-systemctl-redirect "$1" main reload || return 1
    sleep 1  # the reload is a signal; give the postmaster a moment to re-read pg_hba.conf
}

pg_install_and_start() {
    is_root && have apt-get || return 1
    if ! have pg_ctlcluster || [ -z "$(pg_latest_version)" ]; then
        log "installing PostgreSQL from Debian"
        apt_install postgresql || return 1
    fi
    local version
    version="$(pg_latest_version)"
    [ -n "$version" ] || return 1
    if [ ! -d "/etc/postgresql/$version/main" ]; then
        pg_createcluster "$version" main || return 1
    fi
    pg_trust_loopback "$version" || warn "could not configure trust auth in pg_hba.conf"
    log "starting PostgreSQL $version cluster 'main'"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    pg_wait_ready || return 1
    # Harmless after a fresh start; needed when the cluster was already running with the old rules.
    pg_reload "$version" >/dev/null 2>&1 || true
}

ensure_postgres() {
    if [ -n "${KALSHIFLOW_TEST_PG_URL:-}" ]; then
        log "using KALSHIFLOW_TEST_PG_URL from the environment"
        return 0
    fi
    if ! pg_answers; then
        log "PostgreSQL does not answer on $PG_HOST:$PG_PORT"
        if ! pg_install_and_start; then
            warn "PostgreSQL is not available (not root, no apt-get, or the install failed); PostgreSQL tests will skip"
            return 0
        fi
    fi
    if ! pg_prepare_database; then
        local version
        version="$(pg_latest_version)"
        if is_root && [ -n "$version" ] && pg_trust_loopback "$version" && pg_reload "$version" \
            && pg_prepare_database; then
            :
        else
            warn "PostgreSQL answers on $PG_HOST:$PG_PORT but user postgres cannot log in without a password; PostgreSQL tests will skip"
            return 0
        fi
    fi
    export KALSHIFLOW_TEST_PG_URL="$PG_URL"
    log "KALSHIFLOW_TEST_PG_URL=$KALSHIFLOW_TEST_PG_URL"
}

# ---------------------------------------------------------------------------------------------
# Browser tests: the dashboard's tests drive Debian's chromium through Playwright (the pip package,
# never `playwright install`: no browser download). Installed with apt when missing and allowed;
# otherwise the browser tests skip with a message saying so.
# ---------------------------------------------------------------------------------------------
ensure_chromium() {
    [ -x /usr/bin/chromium ] && return 0
    if is_root && have apt-get; then
        log "installing chromium from Debian for the dashboard's browser tests"
        apt_install chromium || warn "chromium install failed; browser tests will skip"
    else
        warn "no /usr/bin/chromium and cannot install it (not root or no apt-get); browser tests will skip"
    fi
}

# ---------------------------------------------------------------------------------------------

main() {
    ensure_venv
    ensure_postgres
    ensure_chromium

    local failed=()
    log "ruff check src tests bench"
    "$VENV/bin/ruff" check src tests bench || failed+=(ruff)
    log "ruff format --check src tests bench"
    "$VENV/bin/ruff" format --check src tests bench || failed+=(ruff-format)
    log "mypy"
    "$VENV/bin/mypy" || failed+=(mypy)
    # One pytest worker per core (pytest-xdist), each test file on one worker (its module fixtures
    # are built once); `-n 0` among the arguments runs it in one process.
    log "pytest -n auto --dist loadfile $*"
    "$VENV/bin/python" -m pytest -n auto --dist loadfile "$@" || failed+=(pytest)

    if [ "${#failed[@]}" -gt 0 ]; then
        printf 'FAILED: %s\n' "${failed[*]}" >&2
        exit 1
    fi
    log "all checks passed"
}

main "$@"
