#!/usr/bin/env bash
# End-to-end checks of the order API with curl, against $API: the local stack's (from
# .local/stack.env) or any deployment's, e.g.  API=https://abc.execute-api.eu-west-1.amazonaws.com/prod scripts/e2e.sh
# Prints each check; exits non-zero on the first failure.
set -euo pipefail
LOG_TAG=e2e
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

if [[ -z "${API:-}" ]]; then
    [[ -f "$STACK_ENV" ]] || die "API is not set and $STACK_ENV does not exist: run scripts/local-up.sh first"
    API="$(sed -n 's/^API=//p' "$STACK_ENV")"
fi
API="${API%/}"
command -v curl >/dev/null || die "curl is needed"
log "API: $API"

checks=0
started=$SECONDS
STATUS="" BODY="" HEADERS=""
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

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

# The original demo's request, on both paths.
request POST /order '{"id":101,"amount":100}'
check "POST /order {id:101, amount:100} is accepted" "$STATUS" 202
check "  with status CREATED" "$(json 'b["status"]')" CREATED
check "  and id 101" "$(json 'b["id"]')" 101
check "  and a Location header" "$(header location)" /orders/101

wait_for_order 101
check "GET /orders/101 finds the order (once the views caught up)" "$STATUS" 200
check "  with its amount" "$(json 'b["amount"]')" 100
check "  in USD" "$(json 'b["currency"]')" USD
check "  and a status" "$(json 'b["status"] in ("CREATED", "COMPLETED", "CANCELLED")')" true

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
check "order 101 (100 USD) is paid and COMPLETED" "$(wait_for_status 101 COMPLETED)" COMPLETED
request POST /order '{"id":102,"amount":600}'
check "POST {id:102, amount:600} is accepted" "$STATUS" 202
check "order 102 (600 USD, over the fraud threshold) is CANCELLED" "$(wait_for_status 102 CANCELLED)" CANCELLED
request POST /orders "{\"id\":\"$run_id-500\",\"amount\":500}"
check "an order of exactly 500 USD (the threshold) is accepted" "$STATUS" 202
check "  and COMPLETED" "$(wait_for_status "$run_id-500" COMPLETED)" COMPLETED
check "the order placed above is COMPLETED too" "$(wait_for_status "$run_id" COMPLETED)" COMPLETED
outage_customer="${SIMULATED_OUTAGE_CUSTOMER:-$(sed -n 's/^SIMULATED_OUTAGE_CUSTOMER=//p' "$STACK_ENV" 2>/dev/null)}"
if [[ -n "$outage_customer" ]]; then
    request POST /orders "{\"id\":\"$run_id-down\",\"amount\":20,\"customerId\":\"$outage_customer\"}"
    check "an order while the payment provider is down is accepted" "$STATUS" 202
    check "  and CANCELLED once the payment retries run out" "$(wait_for_status "$run_id-down" CANCELLED)" CANCELLED
else
    log "skipping the payment outage check: the stack simulates none (SimulatedOutageCustomer)"
fi

# Bad input: 400, every offending field named, nothing written.
bad_id="$run_id-bad"
request POST /orders "{\"id\":\"$bad_id\",\"amount\":"
check "malformed JSON is a 400" "$STATUS" 400
check "  naming the body" "$(json '[e["field"] for e in b["errors"]]')" '["body"]'
request POST /orders "{\"id\":\"$bad_id\",\"amount\":-5,\"currency\":\"usd\",\"colour\":\"red\"}"
check "invalid fields are a 400" "$STATUS" 400
check "  naming each field" "$(json '[e["field"] for e in b["errors"]]')" '["amount", "currency", "colour"]'
request GET "/orders/$bad_id"
check "  and nothing was written" "$STATUS" 404

# Unknown routes and methods.
request GET /nowhere
check "an unknown route is a JSON 404" "$STATUS $(json 'b["error"]')" "404 not_found"
request GET /orders
check "a wrong method is a JSON 405" "$STATUS $(json 'b["error"]')" "405 method_not_allowed"

log "all $checks checks passed in $((SECONDS - started)) s"
