#!/usr/bin/env bash
# The test command: formatting and lint, unit tests, then the whole system on a local stack
# (LocalStack in host mode) with the end-to-end suites against it: the Rust suite under tests/
# and the curl checks of scripts/e2e.sh. Stops what it started, whatever happens.
#
#   scripts/test.sh [--no-e2e] [--release] [--long]
#     --release  also build every function for AWS (release, arm64) and check the artifacts, then
#                redeploy the local stack with a release build (scripts/deploy.sh --local) and run
#                the curl checks against it. Slow on 2 cores (two release builds); CI sets it.
#     --long     the hostile-input checks at length: 300 s per fuzz target instead of 20, and
#                1,000 schemathesis cases per API operation and phase instead of 60.
set -euo pipefail
LOG_TAG=test
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

e2e=1 release=0 fuzz_seconds=20 api_examples=60
while [[ $# -gt 0 ]]; do
    case "$1" in
        --no-e2e) e2e=0 ;;
        --release) release=1 ;;
        --long) fuzz_seconds=300 api_examples=1000 ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown option $1" ;;
    esac
    shift
done

cd "$REPO"
start=$SECONDS
timings=()
phase() { # phase NAME COMMAND...: runs a phase and records how long it took
    local name="$1" t0=$SECONDS
    shift
    log "== $name"
    "$@"
    timings+=("$(printf '%-28s %5d s' "$name" $((SECONDS - t0)))")
}
# cfn-lint, and least-privilege IAM (with the check's own tests, so it is known to catch).
check_template() {
    ensure_tools
    run cfn-lint "$REPO/infra/template.yaml"
    (cd "$REPO/scripts/lib" && run "$TOOLS_VENV/bin/python" -m unittest -q test_check_iam)
    run "$TOOLS_VENV/bin/python" "$REPO/scripts/lib/check_iam.py" "$REPO/infra/template.yaml"
}

# The functions as they would go to AWS: release, arm64, and really built for arm64.
check_aws_artifacts() {
    "$REPO/scripts/build.sh" --release --arch arm64
    local function description
    for function in ${FUNCTIONS//,/ }; do
        description="$(file -b "$REPO/target/lambda/$function/bootstrap")"
        log "$function: $description"
        [[ "$description" == *aarch64* ]] || die "$function's bootstrap is not an arm64 binary"
    done
    "$TOOLS_VENV/bin/python" "$REPO/scripts/lib/stack.py" sizes --artifacts "$REPO/target/lambda" --functions "$FUNCTIONS"
}

# The patches our LocalStack plugin makes, as installed in LocalStack's venv (by local-up).
check_localstack_patches() {
    run "$VENV/bin/python" -m unittest discover -q -s "$REPO/infra/localstack/host-lambda/tests"
}

run_admin_commands() {
    local admin=(cargo run --quiet --locked -p admin --)
    run "${admin[@]}" publish-pending --older-than 0 --dry-run
    run "${admin[@]}" replay --order 101 --dry-run
    run "${admin[@]}" rebuild-views --in-place
}
report() {
    log "timings:"
    local line
    for line in "${timings[@]}"; do log "  $line"; done
    log "  total                        $((SECONDS - start)) s"
}

# The fuzz targets are a workspace of their own (built with the fuzzer's instrumentation).
check_format() {
    cargo fmt --all --check
    cargo fmt --manifest-path "$REPO/tests/fuzz/Cargo.toml" --check
}

# Licences, duplicate crates and sources, offline (deny.toml says what and why).
check_dependencies() {
    ensure_tools
    run cargo deny --offline --log-level warn check --hide-inclusion-graph --show-stats licenses bans sources
}

phase "format" check_format
phase "lint" cargo clippy --workspace --all-targets --locked -- -D warnings
phase "template" check_template
phase "dependencies" check_dependencies
phase "unit tests" cargo test --workspace --exclude e2e --locked
phase "fuzzing (${fuzz_seconds} s a target)" "$REPO/scripts/fuzz.sh" --seconds "$fuzz_seconds"

if [[ $e2e == 1 ]]; then
    # Leave a LocalStack that was already running as it is; stop one this run starts.
    if curl -sf "$LOCAL_ENDPOINT/_localstack/health" >/dev/null 2>&1; then
        log "LocalStack is already running: it will be left running"
    else
        trap '"$REPO/scripts/local-down.sh" || true' EXIT
    fi
    phase "local stack up" "$REPO/scripts/local-up.sh"
    phase "LocalStack patches" check_localstack_patches
    phase "e2e: Rust suite" cargo test -p e2e --locked -- --nocapture
    phase "e2e: curl checks" "$REPO/scripts/e2e.sh"
    phase "e2e: API against its OpenAPI document" "$REPO/scripts/api-conformance.sh" --examples "$api_examples"
    # The operations commands as people run them (their logic is exercised by the Rust suite).
    phase "ops: eda-admin" run_admin_commands
    # Every benchmark briefly, so none can rot; nothing is compared with a target here.
    phase "benchmarks (quick)" "$REPO/scripts/bench.sh" --quick
    if [[ $release == 1 ]]; then
        phase "release: arm64 for AWS" check_aws_artifacts
        phase "release: deploy --local" "$REPO/scripts/deploy.sh" --local
        phase "release: curl checks" "$REPO/scripts/e2e.sh"
    fi
elif [[ $release == 1 ]]; then
    phase "release: arm64 for AWS" check_aws_artifacts
fi

report
log "all tests passed"
