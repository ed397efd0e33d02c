#!/usr/bin/env bash
# The test command: formatting and lint, unit tests, then the whole system on a local stack
# (LocalStack in host mode) with the end-to-end suites against it: the Rust suite under tests/
# and the curl checks of scripts/e2e.sh, also with a second stack deployed beside the first under
# another name, and the README's commands for working on one function (scripts/function.sh check).
# Stops what it started, whatever happens.
#
# Usage: scripts/test.sh [--no-e2e] [--release] [--long]
#   --no-e2e   no local stack: the checks and tests up to fuzzing only (nothing of LocalStack is
#              installed or started); with --release, the arm64 build for AWS is still checked
#   --release  also build every function for AWS (release, arm64) and check the artifacts (arm64,
#              no test hooks, sizes), then redeploy the local stack, as on AWS, with no simulated
#              payment outage (scripts/deploy.sh --local --simulated-outage-customer ''), and run
#              the curl checks against it as a user checks a deployment on AWS: given the API's
#              URL only, from a copy of the tree without .local/. Slow on 2 cores (a release
#              build); CI sets it.
#   --long     the hostile-input checks at length: 300 s per fuzz target instead of 20, and
#              1,000 schemathesis cases per API operation and phase instead of 60.
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
        *) unknown_option "$1" ;;
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
# cfn-lint, least-privilege IAM, the API's rules that LocalStack does not enforce (the Cognito
# authorizer, throttling, access logs, the 401's WWW-Authenticate, redeploys), and the alarms and
# the dashboard (LocalStack skips dashboards and some alarms), each check with its
# own tests, so that it is known to catch; and the tests of how e2e.sh finds a stack from its
# API's URL (deployed.py) and of how deploy.sh chooses the account's API logging role (stack.py);
# and that every script answers --help with its usage and starts nothing (test_script_help).
check_template() {
    ensure_tools
    # With awslabs' serverless rules: see template_scanners for how a finding is fixed or waived.
    run cfn-lint "$REPO/infra/template.yaml" --append-rules cfn_lint_serverless.rules \
        || die "cfn-lint found the problems above (a W/E rule: the template; WS/ES: the serverless rules)"
    (cd "$REPO/scripts/lib" && run "$TOOLS_VENV/bin/python" -m unittest -q test_check_iam test_check_api test_check_metrics test_check_data test_retained test_stack test_deployed test_tokens test_bill test_capacity test_sustained_rate test_workflow_breakdown test_localstack_floor test_script_help test_samconfig test_exclusive)
    run "$TOOLS_VENV/bin/python" "$REPO/scripts/lib/check_iam.py" "$REPO/infra/template.yaml"
    run "$TOOLS_VENV/bin/python" "$REPO/scripts/lib/check_api.py" "$REPO/infra/template.yaml"
    # Kept tables, encryption at rest and the bus's archive: what LocalStack does not show.
    run "$TOOLS_VENV/bin/python" "$REPO/scripts/lib/check_data.py" "$REPO/infra/template.yaml"
    run "$TOOLS_VENV/bin/python" "$REPO/scripts/lib/check_metrics.py" "$REPO/infra/template.yaml"
}

# checkov on the template alone (not the tree: no .local, target or node_modules). Each finding is
# printed as its check's id and name, the resource, and the template's lines. Fix it, or waive it
# next to the resource with the reason: `Metadata: checkov: skip: [{id: CKV_..., comment: why}]`
# (cfn-lint's: `Metadata: cfn-lint: config: ignore_checks: [WS...]`, the reason in a comment).
template_scanners() {
    ensure_scanners
    run "$SCANNER_VENV/bin/checkov" --file "$REPO/infra/template.yaml" --framework cloudformation \
        --compact --quiet --skip-download \
        || die "checkov found the problems above: fix each, or waive it in infra/template.yaml next to the resource with its reason"
}

# Whether the functions in target/lambda hold test hooks, by the strings only the hooks hold:
# `present`, every marker is in some function (the local stack's build, so that this check is
# seen to find them); `absent`, none is in any (the build for AWS).
check_test_hooks() {
    local want="$1" function marker found=()
    for marker in "${TEST_HOOK_MARKERS[@]}"; do
        for function in ${FUNCTIONS//,/ }; do
            if grep -qaF "$marker" "$REPO/target/lambda/$function/bootstrap"; then
                log "$function holds $marker"
                found+=("$marker")
                break
            fi
        done
    done
    case "$want" in
        present) ((${#found[@]} == ${#TEST_HOOK_MARKERS[@]})) \
            || die "the local stack's build should hold every test hook (${TEST_HOOK_MARKERS[*]}); it holds: ${found[*]:-none}" ;;
        absent) ((${#found[@]} == 0)) || die "the build for AWS holds test hooks: ${found[*]}" ;;
    esac
    log "test hooks: $want"
}

# The functions as they would go to AWS: release, arm64, really built for arm64, no test hooks.
check_aws_artifacts() {
    "$REPO/scripts/build.sh" --release --arch arm64
    local function description
    for function in ${FUNCTIONS//,/ }; do
        description="$(file -b "$REPO/target/lambda/$function/bootstrap")"
        log "$function: $description"
        [[ "$description" == *aarch64* ]] || die "$function's bootstrap is not an arm64 binary"
    done
    check_test_hooks absent
    "$TOOLS_VENV/bin/python" "$REPO/scripts/lib/artifacts.py" sizes --artifacts "$REPO/target/lambda" --functions "$FUNCTIONS"
}

# The patches our LocalStack plugin makes, as installed in LocalStack's venv (by local-up).
check_localstack_patches() {
    run "$VENV/bin/python" -m unittest discover -q -s "$REPO/infra/localstack/host-lambda/tests"
    # And the executor end to end in the running LocalStack, with resources of its own (~20 s).
    run "$VENV/bin/python" "$REPO/scripts/localstack/smoke.py"
}

# `API=<url> scripts/e2e.sh` as someone checking a deployment on AWS runs it: nothing but the URL,
# and none of what deploying wrote under .local/ (the tools installed there are shared).
curl_checks_given_only_the_api() {
    local api copy
    api="$(sed -n 's/^API=//p' "$STACK_ENV")"
    copy="$(mktemp -d)"
    tar -C "$REPO" --exclude=./.local --exclude=./target --exclude=./.aws-sam --exclude=./.git -cf - . | tar -C "$copy" -xf -
    [[ ! -e "$copy/.local" ]] || die "the copy has a .local/"
    log "a copy of the tree without .local/: $copy"
    # The local issuer's key, as the operator of a deployment has their Cognito credentials.
    (cd "$copy" && run env API="$api" EDA_TOOLS_VENV="$TOOLS_VENV" EDA_LOCAL_ISSUER="$LOCAL_ISSUER" bash scripts/e2e.sh) || {
        rm -rf "$copy"
        return 1
    }
    rm -rf "$copy"
}

# Stacks side by side: a second stack, named otherwise, deployed to the same LocalStack (what
# target/lambda holds, the build local-up.sh deployed), the curl checks against it and then against
# the first, which must not have noticed; then the second goes, its kept tables too, even when a
# check failed.
second_stack_beside_the_first() {
    local name="$LOCAL_STACK_NAME-2" status=0
    "$REPO/scripts/deploy.sh" --local --skip-build --stack-name "$name" \
        && "$REPO/scripts/e2e.sh" --stack-name "$name" \
        && "$REPO/scripts/e2e.sh" \
        || status=$?
    "$REPO/scripts/destroy.sh" --local --stack-name "$name" --delete-retained-tables
    return "$status"
}

# The SAM CLI's path (README, "Deploy with the SAM CLI"), with the project's samconfig.toml.
sam() { (cd "$REPO" && SAM_CLI_TELEMETRY=0 run "$SAM_VENV/bin/sam" "$@"); }

sam_validate() {
    ensure_sam
    sam validate # samconfig.toml: the template, and --lint
}

# Each function's bootstrap sam build made (infra/Makefile) must be the one scripts/build.sh made.
sam_built_what_build_sh_built() {
    local logical function built checked=0 functions=(${FUNCTIONS//,/ })
    while read -r logical function; do
        built="$REPO/.aws-sam/build/$logical/bootstrap"
        cmp -s "$built" "$REPO/target/lambda/$function/bootstrap" \
            || die "$built is not what scripts/build.sh built (target/lambda/$function/bootstrap)"
        log "$logical: target/lambda/$function/bootstrap"
        checked=$((checked + 1))
    done < <(sed -n 's/^build-\([A-Za-z]*\): FUNCTION = \(.*\)$/\1 \2/p' "$REPO/infra/Makefile")
    ((checked == ${#functions[@]})) || die "sam build made $checked functions, not ${#functions[@]}"
}

sam_build_for_aws() {
    ensure_sam
    sam build
    sam_built_what_build_sh_built
}

# sam build and sam deploy to the local stack: AWS_ENDPOINT_URL (read by the AWS SDKs) points the
# SAM CLI at LocalStack. A stack beside the first, given the curl checks, then destroyed. The build
# is --parallel, as sam sync's always is: the seven make targets start at once and must take turns
# (infra/Makefile); this build, without test hooks, compiles again, so a race would show.
sam_deploy_to_the_local_stack() {
    local name="$LOCAL_STACK_NAME-sam" arch issuer audience status=0
    ensure_sam
    arch="$(host_architecture)"
    read -r issuer audience < <(local_issuer) || return 1
    (
        export AWS_ENDPOINT_URL="$LOCAL_ENDPOINT" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
        unset AWS_SESSION_TOKEN AWS_PROFILE
        ARCH="$arch" PROFILE=debug sam build --config-env local --parallel \
            && sam_built_what_build_sh_built \
            && sam deploy --config-env local --stack-name "$name" --no-progressbar --parameter-overrides \
                "Architecture=$arch" "OidcIssuer=$issuer" "OidcAudience=$audience" \
            && "$TOOLS_VENV/bin/python" "$REPO/scripts/lib/stack.py" outputs --stack-name "$name" \
                --region "$LOCAL_REGION" --endpoint-url "$LOCAL_ENDPOINT" --env-file "$(local_stack_env "$name")" \
            && "$REPO/scripts/e2e.sh" --stack-name "$name"
    ) || status=$?
    "$REPO/scripts/destroy.sh" --local --stack-name "$name" --delete-retained-tables
    return "$status"
}

run_admin_commands() {
    local admin=("$REPO/target/debug/eda-admin") api id key token listed deadline
    # An order of this run's own, ended, so that the replay's dry run has two events to list: a
    # dry run that lists nothing would pass just as well.
    api="$(sed -n 's/^API=//p' "$STACK_ENV")"
    id="ops-$(date +%s%N)" key="ops.$id"
    token="$("$REPO/scripts/token.sh" ops)"
    # The token stays out of the log.
    log "\$ curl -sS -X POST $api/orders -H 'Authorization: Bearer \$TOKEN' -d '{\"id\":\"$id\",\"amount\":3}'"
    curl -sS -X POST "$api/orders" -H "Authorization: Bearer $token" -d "{\"id\":\"$id\",\"amount\":3}"
    echo
    deadline=$((SECONDS + 90))
    until curl -sS -H "Authorization: Bearer $token" "$api/orders/$id" | grep -q '"status":"COMPLETED"'; do
        ((SECONDS < deadline)) || die "order $key is not COMPLETED after 90 s"
        sleep 0.25
    done
    run "${admin[@]}" publish-pending --older-than 0 --dry-run
    listed="$(run "${admin[@]}" replay --order "$key" --dry-run)"
    printf '%s\n' "$listed"
    [[ "$(grep -c "would replay .* order $key event [12] Order" <<<"$listed")" == 2 ]] \
        || die "replay --order $key --dry-run did not list its 2 events"
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

# Licences, duplicate crates and sources, offline (deny.toml says what and why). cargo deny reads
# the whole graph, every platform's crates too, which a build for this one has not downloaded.
check_dependencies() {
    ensure_tools
    run cargo fetch --locked
    run cargo deny --offline --log-level warn check --hide-inclusion-graph --show-stats licenses bans sources
}

phase "format" check_format
phase "lint" cargo clippy --workspace --all-targets --locked -- -D warnings
phase "template" check_template
phase "template: checkov" template_scanners
phase "template: sam validate --lint" sam_validate
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
    # Before the suites, whose fault tests run it as an operator would (and wait for a build).
    # With the e2e crate, so that the SDK is built once for both (tests/src/operator.rs).
    phase "build eda-admin" cargo build --locked -p admin -p e2e
    phase "LocalStack patches" check_localstack_patches
    phase "e2e: Rust suite" cargo test -p e2e --locked -- --nocapture
    phase "e2e: curl checks" "$REPO/scripts/e2e.sh"
    phase "e2e: a second stack beside" second_stack_beside_the_first
    # README, "Work on one function": cargo lambda watch and invoke against the stack.
    phase "e2e: one function (watch)" "$REPO/scripts/function.sh" check
    phase "e2e: API against its OpenAPI document" "$REPO/scripts/api-conformance.sh" --examples "$api_examples"
    # The operations commands as people run them (their logic is exercised by the Rust suite).
    phase "ops: eda-admin" run_admin_commands
    # Every benchmark briefly, so none can rot; nothing is compared with a target here.
    phase "benchmarks (quick)" "$REPO/scripts/bench.sh" --quick
    if [[ $release == 1 ]]; then
        phase "release: the local build has test hooks" check_test_hooks present
        phase "release: arm64 for AWS" check_aws_artifacts
        phase "release: sam build for AWS" sam_build_for_aws
        phase "release: sam deploy to the local stack" sam_deploy_to_the_local_stack
        # The debug build the suites ran (cached): a release build for this machine is slow to
        # make and is not what goes to AWS.
        phase "release: deploy --local, no outage" "$REPO/scripts/deploy.sh" --local --debug --simulated-outage-customer ''
        phase "release: curl checks, API only" curl_checks_given_only_the_api
        log "the local stack now simulates no payment outage: scripts/local-up.sh puts it back"
    fi
elif [[ $release == 1 ]]; then
    phase "release: arm64 for AWS" check_aws_artifacts
    phase "release: sam build for AWS" sam_build_for_aws
fi

report
log "all tests passed"
