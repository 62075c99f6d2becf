# Shared by scripts/test.sh and scripts/run.sh: logging helpers, apt, and the project's venv.
# Callers set REPO_ROOT, VENV and EXTRAS ("" for the runtime only, "dev,postgres" for tests)
# before calling ensure_venv. The install is editable, so source changes never need a reinstall;
# a stamp (extras + hash of pyproject.toml) says when dependencies do.

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = "0" ]; }
have() { command -v "$1" >/dev/null 2>&1; }

APT_UPDATED=0
apt_install() {
    is_root && have apt-get || return 1
    export DEBIAN_FRONTEND=noninteractive
    if [ "$APT_UPDATED" = 0 ]; then
        apt-get update -q || return 1
        APT_UPDATED=1
    fi
    apt-get install -y -q "$@"
}

# ---------------------------------------------------------------------------------------------
# Python virtual environment
# ---------------------------------------------------------------------------------------------

SUPPORTED_PYTHONS="3.11 3.12 3.13"  # requires-python >= 3.11; 3.11 preferred when present

# True when "$1" runs a supported Python version (3.11, 3.12 or 3.13).
python_supported() {
    "$1" -c 'import sys; sys.exit(sys.version_info[:2] not in ((3, 11), (3, 12), (3, 13)))' 2>/dev/null
}

find_python() {
    local candidate
    for candidate in python3.11 python3.12 python3.13 python3 python; do
        if have "$candidate" && python_supported "$candidate"; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

# Every supported interpreter on the machine whose version differs from "$1"'s (for a second CI
# run). Each must actually run: a pyenv shim of a version that is not installed does not count.
other_pythons() {
    local used_version version
    used_version="$("$1" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
    for version in $SUPPORTED_PYTHONS; do
        if [ "$version" != "$used_version" ] && have "python$version" && python_supported "python$version"; then
            echo "python$version"
        fi
    done
}

venv_is_usable() {
    [ -x "$VENV/bin/python" ] \
        && python_supported "$VENV/bin/python" \
        && "$VENV/bin/python" -m pip --version >/dev/null 2>&1
}

create_venv() {
    local python
    python="${KALSHIFLOW_PYTHON:-}"
    [ -n "$python" ] || python="$(find_python)" \
        || die "no supported Python ($SUPPORTED_PYTHONS) found (tried python3.11, python3.12, python3.13, python3, python)"
    rm -rf "$VENV"
    log "creating $VENV with $python"
    if ! "$python" -m venv "$VENV"; then
        # Debian ships venv/ensurepip separately from the interpreter.
        rm -rf "$VENV"
        local version
        version="$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
        log "venv failed; installing Debian's python$version-venv"
        apt_install "python$version-venv" || apt_install python3-venv \
            || die "cannot create a venv: install python$version-venv (needs root and apt-get)"
        "$python" -m venv "$VENV" || die "cannot create a venv at $VENV"
    fi
    "$VENV/bin/python" -m pip install -q --upgrade pip || warn "could not upgrade pip; continuing"
}

# The stamp records what was installed (extras + hash of pyproject.toml); the install is editable,
# so source changes never need a reinstall, only dependency changes do.
# A stamp with the same pyproject hash satisfies a runtime-only install whatever its extras.
venv_has() {
    local want="$1" stamp line
    for stamp in "$VENV"/.kalshiflow-install-*; do
        [ -f "$stamp" ] || continue
        line="$(cat "$stamp")"
        [ "$line" = "$want" ] && return 0
        [ -z "$EXTRAS" ] && [ "${line#* }" = "${want#* }" ] && return 0
    done
    return 1
}

install_stamp() {
    printf '%s %s\n' "$1" "$(sha256sum pyproject.toml | cut -d' ' -f1)"
}

ensure_venv() {
    venv_is_usable || create_venv
    # Keep the venv out of git (a Python 3.13+ venv writes this file itself).
    [ -f "$VENV/.gitignore" ] || echo '*' >"$VENV/.gitignore"
    local stamp_file="$VENV/.kalshiflow-install-$EXTRAS"
    local want
    want="$(install_stamp "$EXTRAS")"
    if venv_has "$want" && "$VENV/bin/python" -c "import ${IMPORT_CHECK:-kalshiflow}" 2>/dev/null; then
        log "venv up to date ($EXTRAS)"
        return 0
    fi
    log "installing -e .${EXTRAS:+[$EXTRAS]}"
    rm -f "$VENV"/.kalshiflow-install-*
    local spec="."
    [ -n "$EXTRAS" ] && spec=".[$EXTRAS]"
    "$VENV/bin/python" -m pip install -q -e "$spec" || die "pip install failed"
    echo "$want" >"$stamp_file"
}
