#!/usr/bin/env bash
# Builds every function once with cargo lambda, into target/lambda/<function>/bootstrap: by
# default a debug build for this machine's architecture (the local stack's).
#
# Usage: scripts/build.sh [--release] [--arch arm64|x86_64] [--with-baseline] [--test-hooks]
#   --release            release build (the profile in Cargo.toml)
#   --arch arm64|x86_64  arm64 for AWS Graviton (cross-compiled with zig); default: this machine's
#   --with-baseline      also hello-lambda, the smallest function: the baseline the benchmarks
#                        compare every function with (scripts/bench.sh)
#   --test-hooks         with the test suites' hooks (cargo feature test-hooks: the injected
#                        faults, the simulated payment outage): the local stack's build only; what
#                        goes to AWS never has them
set -euo pipefail
LOG_TAG=build
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

release=()
baseline=0
features=()
arch=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --release) release=(--release) ;;
        --arch) need_value "arm64 or x86_64" "$@"; arch="$2"; shift ;;
        --with-baseline) baseline=1 ;;
        --test-hooks) features=(--features "$TEST_HOOK_FEATURES") ;;
        -h | --help) usage; exit 0 ;;
        *) unknown_option "$1" ;;
    esac
    shift
done
arch="${arch:-$(host_architecture)}"
case "$arch" in
    arm64) target=aarch64-unknown-linux-gnu ;;
    x86_64) target=x86_64-unknown-linux-gnu ;;
    *) die "--arch must be arm64 or x86_64, not $arch" ;;
esac

ensure_tools
cd "$REPO"
packages=()
built="${FUNCTIONS//,/ }"
[[ $baseline == 1 ]] && built+=" hello-lambda"
for function in $built; do packages+=(--package "$function"); done
start=$SECONDS
run cargo lambda build "${release[@]}" --target "$target" "${packages[@]}" "${features[@]}"
for function in $built; do
    binary="target/lambda/$function/bootstrap"
    [[ -x "$binary" ]] || die "$binary was not built"
    log "$binary: $(du -h "$binary" | cut -f1) ($arch)"
done
log "built in $((SECONDS - start)) s"
