#!/usr/bin/env bash
# End-to-end checks of the order API with curl, against $API: the local stack's (from
# .local/stack.env) or any deployment's, e.g.  API=https://abc.execute-api.eu-west-1.amazonaws.com/prod scripts/e2e.sh
# Prints each check; exits non-zero on the first failure.
#
# Usage: scripts/e2e.sh [--stack-name NAME]
#   --stack-name NAME  a local stack deployed beside eda-demo under another name (scripts/deploy.sh
#                      --local --stack-name NAME): its API, from .local/stacks/NAME.env
# and these variables of the environment:
#   API           the API's base URL (default: the local stack's, from .local/stack.env)
#   FLOW_TIMEOUT  seconds an order may take to get through the flow (default 90)
#
# Every order route needs a token: it gets its customers' (and an operator's) from
# scripts/token.sh, from the local issuer on the local stack (.local/issuer/, or the folder
# $EDA_LOCAL_ISSUER names), and with `token.sh --aws` from the stack's Cognito user pool on AWS
# (it creates the users e2e-alice, e2e-bob and e2e-operator there if missing). It checks that
# requests without a valid token get 401 and nothing is written, that a customer reaches only
# their own orders, and the whole flow with the owner's token.
#
# Besides curl it reads two things of the stack behind the API, with the environment's AWS
# credentials (cloudformation:DescribeStacks, dynamodb:Query; on AWS also the Cognito calls of
# `scripts/token.sh --help`; LocalStack's need none): its outputs, found from the API's URL alone
# (whether it runs on AWS, its issuer, whether it simulates a payment outage, its event store),
# and its event store, to check that a refused request wrote nothing (the API's reads come from a
# view that lags behind writes, so a 404 would not show it).
set -euo pipefail
LOG_TAG=e2e
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

stack_name=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --stack-name) need_value "a stack name" "$@"; stack_name="$2"; shift ;;
        -h | --help) usage; exit 0 ;;
        *) unknown_option "$1" ;;
    esac
    shift
done
[[ -z "$stack_name" || -z "${API:-}" ]] || die "API and --stack-name each name a stack: give one"
API="$(local_api "$stack_name")"
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
# deployed.py names the endpoint of a LocalStack; a stack on AWS has none.
on_aws=1
[[ -z "$(output AWS_ENDPOINT_URL)" ]] || on_aws=0

# request METHOD PATH [BODY [HEADER...]]: sets STATUS, BODY and HEADERS. Sends TOKEN, when it is
# not empty, as `Authorization: Bearer $TOKEN`: `TOKEN=$bob_token request GET ...` asks as bob.
TOKEN=""
request() {
    local method="$1" path="$2" data="${3-}" args=()
    shift $(($# < 3 ? $# : 3))
    [[ -z "$TOKEN" ]] || args+=(-H "Authorization: Bearer $TOKEN")
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

# token CUSTOMER [OPTION...]: prints a token for CUSTOMER from the stack's issuer (scripts/token.sh).
# Use it in an assignment of its own (x="$(token ...)"), which set -e stops on when it fails.
token() {
    local customer="$1"
    shift
    if [[ $on_aws == 1 ]]; then
        "$REPO/scripts/token.sh" --aws --stack-name "$(output STACK_NAME)" --region "$(output AWS_REGION)" "$@" "$customer"
    else
        "$REPO/scripts/token.sh" "$@" "$customer"
    fi || die "scripts/token.sh could not make a token for $customer (see above)"
}

# claim TOKEN NAME: a claim of the token's payload, read without checking the signature (the API
# checks it): the customer id is the token's sub.
claim() {
    python3 -c 'import base64, json, sys; p = sys.argv[1].split(".")[1]; v = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))).get(sys.argv[2]); print(v if isinstance(v, str) else json.dumps(v))' \
        "$1" "$2" || die "cannot read the claim $2 of a token"
}

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

# Who is who: two customers and an operator, each with a token of the stack's issuer (their
# customer id is the token's sub: their name on the local stack, a UUID Cognito gave them on AWS).
if [[ $on_aws == 1 ]]; then
    log "tokens: from the stack's Cognito user pool (scripts/token.sh --aws)"
else
    log "tokens: from the local issuer (scripts/token.sh)"
fi
alice_token="$(token e2e-alice)"
bob_token="$(token e2e-bob)"
operator_token="$(token e2e-operator --operator)"
alice="$(claim "$alice_token" sub)"
bob="$(claim "$bob_token" sub)"
log "customers: e2e-alice is $alice, e2e-bob is $bob"
check "the tokens' issuer is the stack's (its OidcIssuer output)" "$(claim "$alice_token" iss)" "$(output OIDC_ISSUER)"
[[ "$alice" != "$bob" ]] || die "alice and bob have the same customer id $alice"
TOKEN="$alice_token"

# The original demo's request, on both paths, as alice: the order is hers, its id scoped to her.
request POST /order "{\"id\":$paid,\"amount\":100}"
check "POST /order {id:$paid, amount:100} is accepted" "$STATUS" 202
check "  with status CREATED" "$(json 'b["status"]')" CREATED
check "  and its id, scoped to the customer" "$(json 'b["id"]')" "$alice.$paid"
check "  and a Location header" "$(header location)" "/orders/$alice.$paid"

request GET "/orders/$paid"
check "GET /orders/$paid right after the 202 finds the order (read your own writes)" "$STATUS" 200
check "  as alice's, though the body named no customer" "$(json '(b["id"], b.get("customerId"))')" "[\"$alice.$paid\", \"$alice\"]"
check "  with its amount" "$(json 'b["amount"]')" 100
check "  in USD" "$(json 'b["currency"]')" USD
check "  placed, or paid already" "$(json '(b["version"], b["status"]) in ((1, "CREATED"), (2, "COMPLETED"))')" true
request GET "/orders/$alice.$paid"
check "GET /orders/$alice.$paid (its full id) finds it too" "$STATUS $(json 'b["id"]')" "200 $alice.$paid"
stored="$(deployed stored-events --api "$API" --order "$alice.$paid")"
check "the event store holds its events under $alice.$paid (so that the counts of 0 below can fail)" "$((stored > 0))" 1

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
# The order must be that customer's: placed with a token whose customer id it is (the body's
# customerId, the same, is accepted).
outage_customer="$(output SIMULATED_OUTAGE_CUSTOMER)"
if [[ -n "$outage_customer" && $on_aws == 1 ]]; then
    log "no payment outage check: the stack simulates one for $outage_customer, but on AWS a customer id is a"
    log "  token's sub, a UUID Cognito chooses, so no token of this script's can be that customer's"
elif [[ -n "$outage_customer" ]]; then
    outage_token="$(token "$outage_customer")"
    check "the outage customer's token is theirs" "$(claim "$outage_token" sub)" "$outage_customer"
    TOKEN="$outage_token" request POST /orders "{\"id\":\"$run_id-down\",\"amount\":20,\"customerId\":\"$outage_customer\"}"
    check "an order while the payment provider is down is accepted (its body's customerId, the token's, too)" "$STATUS" 202
    check "  and CANCELLED once the payment retries run out" \
        "$(TOKEN="$outage_token" wait_for_status "$run_id-down" CANCELLED)" CANCELLED
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
check "  and nothing was written (the event store holds no event of $alice.$bad_id)" \
    "$(deployed stored-events --api "$API" --order "$alice.$bad_id")" 0

# Unknown routes and methods.
request GET /nowhere
check "an unknown route is a JSON 404" "$STATUS $(json 'b["error"]')" "404 not_found"
request GET /orders
check "a wrong method is a JSON 405" "$STATUS $(json 'b["error"]')" "405 method_not_allowed"

# No valid token: 401 on every order route, with the API's JSON error and a WWW-Authenticate
# challenge, and nothing written. A bad signature: alice's header and claims, bob's signature.
anon_id="$run_id-anon"
routes=(
    "POST /orders {\"id\":\"$anon_id\",\"amount\":10}"
    "POST /order {\"id\":\"$anon_id\",\"amount\":10}"
    "GET /orders/$paid"
    "GET /orders/$alice.$paid"
    "GET /customers/$alice/orders"
)
bad_tokens=(
    "no token="
    "a garbage token=garbage"
    "a token with a bad signature=${alice_token%.*}.${bob_token##*.}"
)
# Tokens only the local issuer makes on request (scripts/token.sh's test options).
if [[ $on_aws == 0 ]]; then
    expired="$(token e2e-alice --lifetime -600)"
    foreign_audience="$(token e2e-alice --audience someone-else)"
    foreign_issuer="$(token e2e-alice --issuer https://issuer.example.com)"
    not_yet_valid="$(token e2e-alice --not-before 600)"
    bad_tokens+=(
        "an expired token=$expired"
        "a token for another audience=$foreign_audience"
        "a token of another issuer=$foreign_issuer"
        "a token not valid yet=$not_yet_valid"
    )
else
    log "on AWS, no expired token, nor one for another audience or issuer: Cognito issues none on request"
fi
for bad in "${bad_tokens[@]}"; do
    for route in "${routes[@]}"; do
        read -r method path data <<<"$route"
        TOKEN="${bad#*=}" request "$method" "$path" "$data"
        check "${bad%%=*}: $method $path is a 401 with a JSON error and WWW-Authenticate: Bearer" \
            "$STATUS $(json 'isinstance(b.get("error"), str) and isinstance(b.get("message"), str)') $(header www-authenticate | cut -d' ' -f1)" \
            "401 true Bearer"
    done
done
check "  and none of them wrote anything (the event store holds no event of $anon_id)" \
    "$(deployed stored-events --api "$API" --order "$anon_id")" 0
check "  (nor of $alice.$anon_id)" "$(deployed stored-events --api "$API" --order "$alice.$anon_id")" 0
TOKEN="" request GET /openapi.yaml
check "GET /openapi.yaml needs no token" "$STATUS" 200

# A customer reaches only their own orders.
TOKEN="$bob_token" request GET "/orders/$run_id-never-placed"
missing="$STATUS $(json 'b["error"]')"
check "bob's GET of an order that does not exist is a 404" "${missing%% *}" 404
TOKEN="$bob_token" request GET "/orders/$alice.$paid"
check "bob's GET /orders/$alice.$paid answers as for a missing order" "$STATUS $(json 'b["error"]')" "$missing"
TOKEN="$bob_token" request GET "/orders/$paid"
check "bob's GET /orders/$paid (his own namespace: no such order) too" "$STATUS $(json 'b["error"]')" "$missing"
TOKEN="$bob_token" request GET "/customers/$alice/orders"
check "bob cannot list alice's orders (403)" "$STATUS" 403
TOKEN="$bob_token" request POST /orders "{\"id\":\"$run_id-as-alice\",\"amount\":10,\"customerId\":\"$alice\"}"
check "bob cannot place an order in alice's name (403)" "$STATUS" 403
check "  and nothing was written (no event of $alice.$run_id-as-alice)" \
    "$(deployed stored-events --api "$API" --order "$alice.$run_id-as-alice")" 0
check "  (nor of $bob.$run_id-as-alice)" "$(deployed stored-events --api "$API" --order "$bob.$run_id-as-alice")" 0
# Bob takes an id first: alice can still place her order with it (ids are scoped per customer).
TOKEN="$bob_token" request POST /orders "{\"id\":\"$run_id-taken\",\"amount\":5}"
check "bob places an order $run_id-taken" "$STATUS $(json 'b["id"]')" "202 $bob.$run_id-taken"
request POST /orders "{\"id\":\"$run_id-taken\",\"amount\":7}"
check "alice places hers with the same id, other contents: not blocked" "$STATUS $(json 'b["id"]')" "202 $alice.$run_id-taken"
request GET "/orders/$run_id-taken"
check "  and each reads their own" "$(json 'b["amount"]')" 7
TOKEN="$bob_token" request GET "/orders/$run_id-taken"
check "  (bob's is 5)" "$(json 'b["amount"]')" 5

# Her list (from the views: polled until they caught up) shows her order; an operator reads all.
deadline=$((SECONDS + FLOW_TIMEOUT))
until request GET "/customers/$alice/orders?limit=100" && [[ "$STATUS" == 200 ]] \
    && [[ "$(json "\"$alice.$paid\" in [o[\"id\"] for o in b[\"orders\"]]")" == true ]] || ((SECONDS >= deadline)); do
    sleep 0.25
done
check "alice lists her orders, $alice.$paid among them" \
    "$STATUS $(json "\"$alice.$paid\" in [o[\"id\"] for o in b[\"orders\"]]")" "200 true"
check "  and no one else's" "$(json "sorted({o.get(\"customerId\") for o in b[\"orders\"]})")" "[\"$alice\"]"
TOKEN="$operator_token" request GET "/orders/$alice.$paid"
check "the operator reads alice's order" "$STATUS $(json '(b["id"], b.get("customerId"))')" "200 [\"$alice.$paid\", \"$alice\"]"
TOKEN="$operator_token" request GET "/orders/$bob.$run_id-taken"
check "  and bob's" "$STATUS $(json 'b["amount"]')" "200 5"
TOKEN="$operator_token" request GET "/customers/$alice/orders?limit=100"
check "  and lists alice's orders" "$STATUS $(json "\"$alice.$paid\" in [o[\"id\"] for o in b[\"orders\"]]")" "200 true"

log "all $checks checks passed in $((SECONDS - started)) s"
