# Shared by the project's scripts (sourced, not run): paths, logging, and the build tools.

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCAL="$REPO/.local"
STACK_ENV="$LOCAL/stack.env"
LOCAL_ENDPOINT="http://127.0.0.1:4566"
LOCAL_REGION="us-east-1"
LOCAL_STACK_NAME="eda-demo"
# Every function of the system: one crate and one binary each, built once by cargo lambda.
FUNCTIONS="create-order,outbox-processor"

# Build tools from PyPI, pinned: cargo-lambda, and zig as the cross linker it drives.
BUILD_VENV="$LOCAL/build-venv"
CARGO_LAMBDA_VERSION="1.9.2"
ZIGLANG_VERSION="0.17.1"

log() { printf '[%s] %s\n' "${LOG_TAG:-eda-demo}" "$*"; }
die() { printf '[%s] ERROR: %s\n' "${LOG_TAG:-eda-demo}" "$*" >&2; exit 1; }

# Runs a command, printing it first.
run() { log "\$ $*"; "$@"; }

# Installs cargo-lambda and zig into .local/build-venv (once) and puts them first on PATH:
# cargo-lambda finds zig as `python3 -m ziglang`, so that venv's python must come first.
ensure_build_tools() {
    local stamp="$BUILD_VENV/.installed-$CARGO_LAMBDA_VERSION-$ZIGLANG_VERSION"
    if [[ ! -f "$stamp" ]]; then
        log "installing cargo-lambda $CARGO_LAMBDA_VERSION and zig $ZIGLANG_VERSION into $BUILD_VENV"
        command -v python3 >/dev/null || die "python3 is needed to install cargo-lambda"
        rm -rf "$BUILD_VENV"
        python3 -m venv "$BUILD_VENV" || die "cannot create a venv (is python3-venv installed?)"
        "$BUILD_VENV/bin/pip" install --quiet --disable-pip-version-check \
            "cargo-lambda==$CARGO_LAMBDA_VERSION" "ziglang==$ZIGLANG_VERSION" \
            || die "pip could not install cargo-lambda/ziglang"
        touch "$stamp"
    fi
    export PATH="$BUILD_VENV/bin:$PATH"
    command -v cargo-lambda >/dev/null || die "cargo-lambda is not on PATH after install"
}

# The host's architecture in Lambda's terms (functions on LocalStack run as host processes).
host_architecture() {
    case "$(uname -m)" in
        x86_64 | amd64) echo x86_64 ;;
        aarch64 | arm64) echo arm64 ;;
        *) die "unsupported host architecture $(uname -m)" ;;
    esac
}
