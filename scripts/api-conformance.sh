#!/usr/bin/env bash
# Tries the order API against its OpenAPI document (infra/openapi.yaml) with schemathesis:
# generated valid and invalid requests, from a fixed seed, a bounded number per operation.
# Fails on any 5xx, on a response (4xx included) that does not match the document (status,
# content type, headers, body: every error must carry the JSON error body), and on an invalid
# request that is accepted. Also checks that the API serves the same document (GET /openapi.yaml).
# Runs against $API, or the local stack's (.local/stack.env; with --stack-name NAME, the stack
# deployed beside it under that name, .local/stacks/NAME.env).
#
# Every request carries a valid token of the customer api-conformance (scripts/token.sh: from the
# local issuer on the local stack, valid 4 hours; with `token.sh --aws` from the Cognito user pool
# of the stack behind $API, found from its URL as scripts/e2e.sh finds it, which needs the AWS
# credentials e2e.sh does); ignored_auth checks, once per operation that declares its security,
# that the same request without the token, or with a made-up one, is refused.
#
# Usage: scripts/api-conformance.sh [--stack-name NAME] [--examples N] [--seed S]
#   --stack-name NAME  another local stack's API (scripts/deploy.sh --local --stack-name NAME)
#   --examples N  test cases per operation and phase (default 60; scripts/test.sh --long: 1000)
#   --seed S      the random seed (default 20261130): the same seed tries the same requests
set -euo pipefail
LOG_TAG=api
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

examples=60 seed=20261130 stack_name=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --stack-name) need_value "a stack name" "$@"; stack_name="$2"; shift ;;
        --examples) need_value "a number of test cases" "$@"; examples="$2"; shift ;;
        --seed) need_value "a number" "$@"; seed="$2"; shift ;;
        -h | --help) usage; exit 0 ;;
        *) unknown_option "$1" ;;
    esac
    shift
done

API="$(local_api "$stack_name")"
ensure_tools
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The stack behind the API (scripts/lib/deployed.py): on AWS, its Cognito user pool signs the
# customer in; on LocalStack (it names the endpoint), the local issuer signs the token.
"$TOOLS_VENV/bin/python" "$REPO/scripts/lib/deployed.py" outputs --api "$API" >"$tmp/stack" \
    || die "cannot read the stack behind $API (see above)"
output() { sed -n "s/^$1=//p" "$tmp/stack"; }
customer=api-conformance
if [[ -n "$(output AWS_ENDPOINT_URL)" ]]; then
    log "a token for the customer $customer from the local issuer (scripts/token.sh)"
    # Long enough for a --long run (1,000 cases per operation and phase).
    token="$("$REPO/scripts/token.sh" --lifetime 14400 "$customer")" || die "scripts/token.sh failed (see above)"
else
    log "a token for the customer $customer from the stack's Cognito user pool (scripts/token.sh --aws)"
    token="$("$REPO/scripts/token.sh" --aws --stack-name "$(output STACK_NAME)" --region "$(output AWS_REGION)" "$customer")" \
        || die "scripts/token.sh --aws failed (see above)"
fi
document="$REPO/infra/openapi.yaml"
out="$REPO/target/api-conformance"
rm -rf "$out" && mkdir -p "$out"

log "the API serves infra/openapi.yaml as it is in the repository"
curl -sSf "$API/openapi.yaml" -o "$out/served.yaml" || die "GET $API/openapi.yaml failed"
cmp -s "$out/served.yaml" "$document" || die "GET /openapi.yaml differs from infra/openapi.yaml (redeploy?)"

# Every check that compares responses with the document, and the two that judge the API's
# own decisions: no server errors, invalid input refused. Not positive_data_acceptance: the
# document cannot say everything the API refuses (an order's items must add up to its amount,
# an id already used for another order is a 409), so valid-looking requests may rightly get 4xx.
# Not unsupported_method: API Gateway itself answers the methods it never routes (TRACE gets a
# 403 before any function runs); the API's own 405s for the others are checked by the e2e suites.
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance
checks+=,response_schema_conformance,negative_data_rejection,missing_required_header,ignored_auth
log "schemathesis: seed $seed, at most $examples cases per operation and phase, against $API"
# One worker: the local stack is one Python process on two cores; more only queue there. The
# command is printed without the token, and schemathesis masks the Authorization header in the
# failures it reports (its output sanitization, on by default).
log "\$ schemathesis run ${document#"$REPO"/} --url $API -H 'Authorization: Bearer <token>' --seed $seed ..."
schemathesis run "$document" --url "$API" -H "Authorization: Bearer $token" \
    --seed "$seed" --max-examples "$examples" --workers 1 \
    --phases examples,coverage,fuzzing --checks "$checks" \
    --request-timeout 30 --suppress-health-check too_slow \
    --report junit --report-junit-path "$out/junit.xml" \
    || die "the API does not conform to infra/openapi.yaml (see above; report in ${out#"$REPO"/})"
log "the API conforms to infra/openapi.yaml"
