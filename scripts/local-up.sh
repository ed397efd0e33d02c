#!/usr/bin/env bash
# Brings the whole system up on this machine, without Docker, and shows it working:
# installs what is missing (LocalStack in host mode, DynamoDB Local, cargo-lambda, zig), builds
# every function for this machine, starts LocalStack if it is not running, makes the local token
# issuer (its signing key in .local/issuer/, its public keys on the local stack's S3), deploys
# infra/template.yaml to it, writes .local/stack.env (API=<base url> and the stack's outputs), and
# places an order with a token of scripts/token.sh. Running it again redeploys the current code
# (and keeps the issuer's key, so tokens made before stay valid).
#
# Usage: scripts/local-up.sh [--release] [--external] [--lambda-concurrency N]
#   --release   build the functions with the release profile
#   --external  use a LocalStack that is already running at http://127.0.0.1:4566 (for example
#               the Docker container); nothing of LocalStack is installed or started
#   --lambda-concurrency N
#               cap the Lambda concurrency of LocalStack's whole account at N (at least 34: the
#               stack reserves 24, 10 stay unreserved), so that under an overload it throttles
#               instead of starting function processes and threads until it falls over
#               (BENCHMARKS.md: the 20 orders/s run). LocalStack must not be running yet.
set -euo pipefail
LOG_TAG=local-up
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

build_flags=(--debug)
external=0 lambda_concurrency=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --release) build_flags=() ;;
        --external) external=1 ;;
        --lambda-concurrency)
            # LocalStack, like AWS, keeps some concurrency unreserved; ours is set to 10.
            need=$((LOCAL_PAYMENT_MAX_CONCURRENCY + 2 * LOCAL_STREAM_CONSUMER_CONCURRENCY + 10))
            need_value "a number of at least $need" "$@"
            lambda_concurrency="$2"
            [[ "$lambda_concurrency" =~ ^[0-9]+$ ]] && ((lambda_concurrency >= need)) \
                || die "--lambda-concurrency needs a number of at least $need, not '$lambda_concurrency'"
            shift
            ;;
        -h | --help) usage; exit 0 ;;
        *) unknown_option "$1" ;;
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

if [[ -n "$lambda_concurrency" ]]; then
    [[ $external == 0 ]] || die "--lambda-concurrency cannot change a LocalStack this script does not start"
    if curl -sf "$LOCAL_ENDPOINT/_localstack/health" >/dev/null 2>&1; then
        die "LocalStack is already running, so --lambda-concurrency would not apply: stop it first (scripts/local-down.sh)"
    fi
    export LAMBDA_LIMITS_CONCURRENT_EXECUTIONS="$lambda_concurrency" LAMBDA_LIMITS_MINIMUM_UNRESERVED_CONCURRENCY=10
    log "Lambda concurrency capped at $lambda_concurrency for the account"
fi

if [[ $external == 0 ]]; then
    step "2/5 starting LocalStack"
    "$REPO/scripts/localstack/start.sh"
fi

# The issuer of the local stack's tokens, which the order function trusts (deploy.sh --local reads
# its issuer.json): it must be there before the stack is deployed.
step "3/5 the local token issuer: its keys in ${LOCAL_ISSUER#"$REPO"/}, the public ones on the local stack's S3"
ensure_tools
run "$TOOLS_VENV/bin/python" "$REPO/scripts/lib/tokens.py" issuer --dir "$LOCAL_ISSUER" --endpoint-url "$LOCAL_ENDPOINT"

step "4/5 building the functions for $(host_architecture) and deploying the stack $LOCAL_STACK_NAME"
"$REPO/scripts/deploy.sh" --local "${build_flags[@]}"

step "5/5 placing an order as the customer alice and following it to the end"
# shellcheck source=/dev/null
source "$STACK_ENV"
log "\$ TOKEN=\$(scripts/token.sh alice)"
TOKEN="$("$REPO/scripts/token.sh" alice)"
# A new order each time (a number, as the original demo's ids are: microseconds since 1970), so
# that what follows shows this deployment working, not an order an earlier one finished.
id=$(($(date +%s%N) / 1000))
# The token is long: the commands are printed with $TOKEN, as one types them.
log "\$ curl -sS -i -X POST \"\$API/orders\" -H \"Authorization: Bearer \$TOKEN\" -d '{\"id\":$id,\"amount\":100}'"
curl -sS -i --fail-with-body -X POST "$API/orders" -H "Authorization: Bearer $TOKEN" -d "{\"id\":$id,\"amount\":100}" \
    || die "the order was not accepted (the answer is above)"
echo
log "waiting for the payment to go through (GET /orders/$id until it is no longer CREATED)"
deadline=$((SECONDS + 90))
until curl -sS -H "Authorization: Bearer $TOKEN" "$API/orders/$id" | grep -q '"status":"\(COMPLETED\|CANCELLED\)"'; do
    ((SECONDS < deadline)) || die "order $id is still not paid after 90 s: see .local/logs/lambda/"
    sleep 0.25
done
log "\$ curl -sS -i -H \"Authorization: Bearer \$TOKEN\" \"\$API/orders/$id\""
curl -sS -i -H "Authorization: Bearer $TOKEN" "$API/orders/$id"
echo

log "the local stack is up in $((SECONDS - start)) s. Try:"
cat <<EOT
    source .local/stack.env
    TOKEN=\$(scripts/token.sh alice)   # a token for the customer alice (--help: options)
    curl -X POST "\$API/orders" -H "Authorization: Bearer \$TOKEN" -d '{"id":102,"amount":600}'
    curl -H "Authorization: Bearer \$TOKEN" "\$API/orders/102"
    scripts/e2e.sh          # the curl checks of the whole flow
    scripts/local-down.sh   # stop it
EOT
