#!/usr/bin/env bash
# End-to-end checks of the order API with curl, against $API: the local stack's (from
# .local/stack.env) or any deployment's, e.g.  API=https://abc.execute-api.eu-west-1.amazonaws.com/prod scripts/e2e.sh
# Prints each check; exits non-zero on the first failure.
#
# Besides curl it reads two things of the stack behind the API, with the environment's AWS
# credentials (cloudformation:DescribeStacks, dynamodb:Query; LocalStack's need none): its
# outputs, found from the API's URL alone (whether it simulates a payment outage, its event store),
# and its event store, to check that a refused request wrote nothing (the API's reads come from a
# view that lags behind writes, so a 404 would not show it).
set -euo pipefail
LOG_TAG=e2e
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

while [[ $# -gt 0 ]]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
if [[ -z "${API:-}" ]]; then
    [[ -f "$STACK_ENV" ]] || die "API is not set and $STACK_ENV does not exist: run scripts/local-up.sh first"
    API="$(sed -n 's/^API=//p' "$STACK_ENV")"
fi
API="${API%/}"
command -v curl >/dev/null || die "curl is needed"
log "API: $API"
ensure_tools
deployed() { "$TOOLS_VENV/bin/python" "$REPO/scripts/lib/deployed.py" "$@"; }

checks=0
started=$SECONDS
STATUS="" BODY="" HEADERS=""
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

deployed outputs --api "$API" >"$tmp/stack" || die "cannot read the stack behind $API (see above)"
output() { sed -n "s/^$1=//p" "$tmp/stack"; }
log "stack: $(output STACK_NAME) in $(output AWS_REGION)"

# request METHOD PATH [BODY [HEADER...]]: sets STATUS, BODY and HEADERS.
request() {
    local method="$1" path="$2" data="${3-}" args=()
    shift $(($# < 3 ? $# : 3))
    for header in "$@"; do args+=(-H "$header"); done
    [[ -n "$data" ]] && args+=(--data-binary "@$tmp/request")
    printf '%s' "$data" >"$tmp/request"
    STATUS="$(curl -sS -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' -X "$method" "${args[@]}" "$API$path")" \
        || die "$method $path: curl failed"
    BODY="$(cat "$tmp/body")"
    HEADERS="$(tr -d '\r' <"$tmp/headers")"
}

# json EXPRESSION: evaluates a Python expression over the body, bound to `b`.
json() {
    python3 -c 'import json, sys; b = json.loads(sys.argv[1]); v = eval(sys.argv[2]); print(v if isinstance(v, str) else json.dumps(v))' \
        "$BODY" "$1" 2>/dev/null || echo "<not JSON: $BODY>"
}

header() { printf '%s\n' "$HEADERS" | sed -n "s/^$1: *//Ip" | head -n1; }

# wait_for_order ID: polls GET /orders/ID until it answers 200: reads come from the order views,
# which the projection keeps up to date a moment after each write (eventual consistency).
wait_for_order() {
    local deadline=$((SECONDS + FLOW_TIMEOUT))
    request GET "/orders/$1"
    while [[ "$STATUS" != 200 ]] && ((SECONDS < deadline)); do
        sleep 0.25
        request GET "/orders/$1"
    done
}

# wait_for_status ID STATUS: polls GET /orders/ID until it shows STATUS, for at most FLOW_TIMEOUT
# seconds (no fixed sleeps: it returns as soon as the order gets there). Prints the last status.
FLOW_TIMEOUT="${FLOW_TIMEOUT:-90}"
wait_for_status() {
    local deadline=$((SECONDS + FLOW_TIMEOUT)) status=""
    while ((SECONDS < deadline)); do
        request GET "/orders/$1"
        status="$(json 'b.get("status")')"
        [[ "$status" == "$2" ]] && break
        sleep 0.25
    done
    printf '%s' "$status"
}

check() { # check DESCRIPTION ACTUAL EXPECTED
    checks=$((checks + 1))
    if [[ "$2" == "$3" ]]; then
        log "ok $checks - $1"
    else
        log "FAILED $checks - $1"
        log "    expected: $3"
        log "    actual:   $2"
        log "    response: $STATUS $BODY"
        exit 1
    fi
}

run_id="e2e-sh-$(date +%s)-$$"
# The original demo's ids are numbers (101, 102): these are numbers of this run's own, so that no
# check can pass on an earlier run's order (microseconds since 1970: below 2^53, as ids must be).
paid=$(($(date +%s%N) / 1000)) refused=$((paid + 1))

# The original demo's request, on both paths.
request POST /order "{\"id\":$paid,\"amount\":100}"
check "POST /order {id:$paid, amount:100} is accepted" "$STATUS" 202
check "  with status CREATED" "$(json 'b["status"]')" CREATED
check "  and its id" "$(json 'b["id"]')" "$paid"
check "  and a Location header" "$(header location)" "/orders/$paid"

wait_for_order "$paid"
check "GET /orders/$paid finds the order (once the views caught up)" "$STATUS" 200
check "  with its amount" "$(json 'b["amount"]')" 100
check "  in USD" "$(json 'b["currency"]')" USD
check "  placed, or paid already" "$(json '(b["version"], b["status"]) in ((1, "CREATED"), (2, "COMPLETED"))')" true

# A new order, with the caller's correlation id; then the same again, then a conflicting one.
order="{\"id\":\"$run_id\",\"amount\":59.98,\"items\":[{\"productId\":\"PROD_001\",\"quantity\":2,\"price\":29.99}]}"
request POST /orders "$order" "X-Correlation-Id: corr-$run_id"
check "POST /orders with items is accepted" "$STATUS" 202
check "  keeping the caller's correlation id" "$(json 'b["correlationId"]')" "corr-$run_id"
first="$BODY"
request POST /orders "$order"
check "the same POST again is accepted again" "$STATUS" 202
check "  with the same answer" "$BODY" "$first"
request POST /orders "{\"id\":\"$run_id\",\"amount\":60}"
check "the same id with another amount is a conflict" "$STATUS" 409
wait_for_order "$run_id"
check "GET shows the order as placed" "$(json '(b["amount"], b["items"][0]["productId"])')" '[59.98, "PROD_001"]'

# The flow of the original demo: payment, then the order's final state.
check "order $paid (100 USD) is paid and COMPLETED" "$(wait_for_status "$paid" COMPLETED)" COMPLETED
request POST /order "{\"id\":$refused,\"amount\":600}"
check "POST {id:$refused, amount:600} is accepted" "$STATUS" 202
check "order $refused (600 USD, over the fraud threshold) is CANCELLED" "$(wait_for_status "$refused" CANCELLED)" CANCELLED
request POST /orders "{\"id\":\"$run_id-500\",\"amount\":500}"
check "an order of exactly 500 USD (the threshold) is accepted" "$STATUS" 202
check "  and COMPLETED" "$(wait_for_status "$run_id-500" COMPLETED)" COMPLETED
check "the order placed above is COMPLETED too" "$(wait_for_status "$run_id" COMPLETED)" COMPLETED
# Only a stack that says it simulates a payment outage (its SimulatedOutageCustomer output, set by
# the template parameter of that name: `deploy.sh --local` sets it, a deployment to AWS does not).
outage_customer="$(output SIMULATED_OUTAGE_CUSTOMER)"
if [[ -n "$outage_customer" ]]; then
    request POST /orders "{\"id\":\"$run_id-down\",\"amount\":20,\"customerId\":\"$outage_customer\"}"
    check "an order while the payment provider is down is accepted" "$STATUS" 202
    check "  and CANCELLED once the payment retries run out" "$(wait_for_status "$run_id-down" CANCELLED)" CANCELLED
else
    log "no payment outage check: the stack simulates none (it has no SimulatedOutageCustomer output)"
fi

# Bad input: 400, every offending field named, nothing written.
bad_id="$run_id-bad"
request POST /orders "{\"id\":\"$bad_id\",\"amount\":"
check "malformed JSON is a 400" "$STATUS" 400
check "  naming the body" "$(json '[e["field"] for e in b["errors"]]')" '["body"]'
request POST /orders "{\"id\":\"$bad_id\",\"amount\":-5,\"currency\":\"usd\",\"colour\":\"red\"}"
check "invalid fields are a 400" "$STATUS" 400
check "  naming each field" "$(json '[e["field"] for e in b["errors"]]')" '["amount", "currency", "colour"]'
check "  and nothing was written (the event store holds no event of $bad_id)" \
    "$(deployed stored-events --api "$API" --order "$bad_id")" 0

# Unknown routes and methods.
request GET /nowhere
check "an unknown route is a JSON 404" "$STATUS $(json 'b["error"]')" "404 not_found"
request GET /orders
check "a wrong method is a JSON 405" "$STATUS $(json 'b["error"]')" "405 method_not_allowed"

log "all $checks checks passed in $((SECONDS - started)) s"
