#!/usr/bin/env bash
# One function on this machine, against the local stack's tables and bus (README, "Work on one
# function"): `cargo lambda watch` runs it from the source, rebuilding on every change, with the
# environment the stack gives it, and `cargo lambda invoke` hands it an event of events/lambda/.
#
# Usage: scripts/function.sh env FUNCTION   writes .local/functions/FUNCTION.env and prints its path
#        scripts/function.sh check          the README's commands, as a test (scripts/test.sh runs it)
#
# env: FUNCTION is a crate under crates/ that the stack deploys (create-order, outbox-processor,
# projection, payment, update-order, notification, recovery-sweep). The file holds the
# environment of the deployed function (its tables, bus, issuer...), then AWS_REGION, the local
# stack's endpoint (AWS_ENDPOINT_URL) and test credentials, for `cargo lambda watch --env-file`.
#
# check: starts `cargo lambda watch` on a free port for create-order, then for projection, each
# with the file `env` writes, waits until it answers and invokes the function with its sample
# from events/lambda/ (a fresh order id, and for create-order a token from scripts/token.sh):
# create-order must answer 202 with the order, which must then be in the stack's event store;
# projection must report no failed record and write the order's view to the stack's order views
# (an order of its own, which the stack's stream never carries, so the deployed projection cannot
# have written it). Stops each watch and all it started, whatever happens. The first watch builds
# the functions in debug (minutes on 2 cores; then seconds).
#
# Both read the stack from $API (default: the local stack's, from .local/stack.env).
set -euo pipefail
LOG_TAG=function
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

command="" function=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        -*) unknown_option "$1" ;;
        *)
            if [[ -z "$command" ]]; then
                command="$1"
            elif [[ "$command" == env && -z "$function" ]]; then
                function="$1"
            else
                unknown_option "$1"
            fi
            ;;
    esac
    shift
done
case "$command" in
    env) [[ -n "$function" ]] || die "which function? scripts/function.sh env FUNCTION (see --help)" ;;
    check) ;;
    "") die "env or check? see scripts/function.sh --help" ;;
    *) die "unknown command $command; see scripts/function.sh --help" ;;
esac

API="$(local_api)"
ensure_tools
deployed() { "$TOOLS_VENV/bin/python" "$REPO/scripts/lib/deployed.py" "$@"; }

# write_env FUNCTION: writes .local/functions/FUNCTION.env and prints its path.
write_env() {
    local file="$LOCAL/functions/$1.env"
    mkdir -p "$LOCAL/functions"
    deployed function-env --api "$API" --function "$1" >"$file.new" || die "cannot read the function $1 of the stack behind $API"
    mv "$file.new" "$file"
    echo "$file"
}

if [[ "$command" == env ]]; then
    write_env "$function"
    exit 0
fi

# check
cd "$REPO"
started=$SECONDS
tmp="$(mktemp -d)"
watch_pid=""
# stop_watch: stops the watch and everything it started (its process group: cargo, the function).
stop_watch() {
    [[ -n "$watch_pid" ]] || return 0
    kill -- "-$watch_pid" 2>/dev/null || true
    wait "$watch_pid" 2>/dev/null || true
    sleep 0.5
    kill -9 -- "-$watch_pid" 2>/dev/null || true
    watch_pid=""
}
trap 'stop_watch; rm -rf "$tmp"' EXIT
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

# start_watch FUNCTION: `cargo lambda watch` in the background, in a process group of its own, with the
# function's env file; returns once it answers on $port.
start_watch() {
    local env_file deadline=$((SECONDS + 60))
    env_file="$(write_env "$1")"
    log "\$ cargo lambda watch -A 127.0.0.1 -P $port --env-file ${env_file#"$REPO"/}"
    setsid cargo lambda watch -A 127.0.0.1 -P "$port" --env-file "$env_file" >"$tmp/watch-$1.log" 2>&1 </dev/null &
    watch_pid=$!
    until curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; do
        kill -0 "$watch_pid" 2>/dev/null || { cat "$tmp/watch-$1.log" >&2; die "cargo lambda watch stopped (its log is above)"; }
        ((SECONDS < deadline)) || die "cargo lambda watch did not answer on port $port within 60 s"
        sleep 0.5
    done
}

# invoke FUNCTION EVENT: prints the function's answer; shows the watch's log if it fails.
invoke() {
    local t0=$SECONDS
    log "\$ cargo lambda invoke $1 -A 127.0.0.1 -P $port --data-file $2 (the first one builds the function)"
    cargo lambda invoke "$1" -A 127.0.0.1 -P "$port" --data-file "$2" >"$tmp/answer" 2>"$tmp/invoke.err" || {
        cat "$tmp/invoke.err" "$tmp/watch-$1.log" >&2
        die "cargo lambda invoke $1 failed (its error and the watch's log are above)"
    }
    log "answered in $((SECONDS - t0)) s: $(head -c 400 "$tmp/answer")"
}
fail() { tail -n 30 "$tmp/watch-$1.log" >&2; die "$1: $2 (the end of the watch's log is above)"; }
# json EXPRESSION FILE: a Python expression over the JSON in FILE, bound to `a`.
json() { python3 -c 'import json, sys; a = json.load(open(sys.argv[2])); print(eval(sys.argv[1]))' "$1" "$2" 2>/dev/null || echo "<not JSON>"; }

customer="function-check"
run="$(date +%s)-$RANDOM"

start_watch create-order
token="$("$REPO/scripts/token.sh" "$customer")"
sed -e "s/Bearer TOKEN/Bearer $token/" -e "s/sample-0001/$run/" events/lambda/create-order.json >"$tmp/create-order.json"
invoke create-order "$tmp/create-order.json"
status="$(json 'a["statusCode"]' "$tmp/answer")"
[[ "$status" == 202 ]] || fail create-order "answered $status, not 202"
python3 -c 'import json, sys; json.dump(json.loads(json.load(open(sys.argv[1]))["body"]), sys.stdout)' "$tmp/answer" >"$tmp/body" 2>/dev/null || true
order="$customer.$run"
[[ "$(json 'a["id"], a["status"]' "$tmp/body")" == "('$order', 'CREATED')" ]] \
    || fail create-order "answered $(cat "$tmp/body"), not the order $order CREATED"
stored="$(deployed stored-events --api "$API" --order "$order")"
((stored >= 1)) || fail create-order "the order $order is not in the stack's event store"
log "ok: create-order placed $order, and the stack's event store holds it ($stored events)"
stop_watch

start_watch projection
order="customer-1.view-$run"
sed -e "s/customer-1\.101/$order/g" events/lambda/order-created-stream.json >"$tmp/projection.json"
invoke projection "$tmp/projection.json"
[[ "$(json 'a["batchItemFailures"]' "$tmp/answer")" == "[]" ]] || fail projection "answered $(cat "$tmp/answer"), not a batch without failures"
deployed order-view --api "$API" --order "$order" >"$tmp/view"
[[ "$(json 'a and (a["id"], a["status"], a["version"])' "$tmp/view")" == "('$order', 'CREATED', 1)" ]] \
    || fail projection "the stack's order views hold $(cat "$tmp/view") for $order, not its view at version 1"
log "ok: projection wrote the view of $order to the stack's order views"
stop_watch
log "the README's commands work for create-order and projection ($((SECONDS - started)) s)"
