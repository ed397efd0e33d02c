#!/usr/bin/env bash
# Brings the whole system up on this machine, without Docker, and shows it working:
# installs what is missing (LocalStack in host mode, DynamoDB Local, cargo-lambda, zig), builds
# every function for this machine, starts LocalStack if it is not running, deploys
# infra/template.yaml to it, and writes .local/stack.env (API=<base url> and the stack's outputs).
# Running it again redeploys the current code.
#
#   scripts/local-up.sh [--release] [--external]
#     --release   build the functions with the release profile
#     --external  use a LocalStack that is already running at http://127.0.0.1:4566 (for example
#                 the Docker container); nothing of LocalStack is installed or started
set -euo pipefail
LOG_TAG=local-up
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

build_flags=()
external=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --release) build_flags+=(--release) ;;
        --external) external=1 ;;
        -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
        *) die "unknown option $1" ;;
    esac
    shift
done

start=$SECONDS
step() { log "== $* ($((SECONDS - start)) s)"; }

if [[ $external == 1 ]]; then
    step "1/5 using the LocalStack already running at $LOCAL_ENDPOINT"
    curl -sf "$LOCAL_ENDPOINT/_localstack/health" >/dev/null \
        || die "no LocalStack answers at $LOCAL_ENDPOINT/_localstack/health"
else
    step "1/5 installing LocalStack (host mode) and its pieces"
    "$REPO/scripts/localstack/install.sh"
fi

step "2/5 building the functions for $(host_architecture)"
"$REPO/scripts/build.sh" "${build_flags[@]}"

if [[ $external == 0 ]]; then
    step "3/5 starting LocalStack"
    "$REPO/scripts/localstack/start.sh"
fi

step "4/5 deploying infra/template.yaml as stack $LOCAL_STACK_NAME"
AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION="$LOCAL_REGION" \
    "$TOOLS_VENV/bin/python" "$REPO/scripts/lib/deploy_stack.py" \
    --stack-name "$LOCAL_STACK_NAME" \
    --template "$REPO/infra/template.yaml" \
    --artifacts "$REPO/target/lambda" \
    --functions "$FUNCTIONS" \
    "${ASSETS[@]/#/--asset=}" \
    --region "$LOCAL_REGION" \
    --endpoint-url "$LOCAL_ENDPOINT" \
    --parameter "Architecture=$(host_architecture)" \
    --parameter "SimulatedOutageCustomer=$SIMULATED_OUTAGE_CUSTOMER" \
    --parameter "SnapshotEvery=$SNAPSHOT_EVERY" \
    --env-file "$STACK_ENV"

step "5/5 placing an order and following it to the end"
# shellcheck source=/dev/null
source "$STACK_ENV"
run curl -sS -i -X POST "$API/orders" -d '{"id":101,"amount":100}'
echo
log "waiting for the payment to go through (GET /orders/101 until it is no longer CREATED)"
deadline=$((SECONDS + 90))
until curl -sS "$API/orders/101" | grep -q '"status":"\(COMPLETED\|CANCELLED\)"'; do
    ((SECONDS < deadline)) || die "order 101 is still not paid after 90 s: see .local/logs/lambda/"
    sleep 0.25
done
run curl -sS -i "$API/orders/101"
echo

log "the local stack is up in $((SECONDS - start)) s. Try:"
cat <<EOT
    source .local/stack.env
    curl -X POST "\$API/orders" -d '{"id":102,"amount":600}'
    curl "\$API/orders/102"
    scripts/e2e.sh          # the curl checks of the whole flow
    scripts/local-down.sh   # stop it
EOT
