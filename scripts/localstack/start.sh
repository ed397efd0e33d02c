#!/usr/bin/env bash
# Starts LocalStack in host mode (no Docker), detached, and waits until it is healthy.
# Idempotent: exits 0 at once if our LocalStack is already running and healthy.
#   log: .local/localstack.log   pid: .local/localstack.pid   stop: scripts/localstack/stop.sh
#
# Usage: scripts/localstack/start.sh      (no options; these variables of the environment)
#   START_TIMEOUT            seconds to wait for health (default 120)
#   LAMBDA_RETRY_BASE_DELAY  seconds before an asynchronous invocation's first retry (default 5)
set -euo pipefail
# shellcheck source=scripts/localstack/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

no_options "$@"

START_TIMEOUT="${START_TIMEOUT:-120}"
T0=$(date +%s.%N)

[[ -x "$VENV_PY" ]] || die "LocalStack is not installed: run scripts/localstack/install.sh first"
[[ -f "$LS_LIBS/dynamodb-local/2/DynamoDBLocal.jar" ]] || die "DynamoDB Local is missing: run scripts/localstack/install.sh"

# Polls /_localstack/health until every service in $LS_SERVICES is running/available (printing
# progress), then makes one DynamoDB call so that the first real call is not slow.
# Exits non-zero if it times out or the process dies.
wait_healthy() { # $1: pid to watch, $2: deadline in seconds
    "$VENV_PY" - "$LS_URL" "$LS_SERVICES" "$1" "$2" <<'EOF'
import json, os, sys, time, urllib.request
url, services, pid, timeout = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3]), float(sys.argv[4])
t0 = time.monotonic(); last_print = 0.0; answered = False; missing = services
while True:
    try:
        with urllib.request.urlopen(f"{url}/_localstack/health", timeout=2) as r:
            states = json.load(r).get("services", {})
        answered = True
        missing = [s for s in services if states.get(s) not in ("running", "available")]
        if not missing:
            break
    except Exception:
        pass
    elapsed = time.monotonic() - t0
    if pid and not os.path.exists(f"/proc/{pid}"):
        sys.exit(f"[localstack] LocalStack (pid {pid}) exited during start-up")
    if elapsed > timeout:
        sys.exit(f"[localstack] not healthy after {timeout:.0f} s; not ready: {','.join(missing)}")
    if elapsed - last_print >= 5:
        print(f"[localstack] waiting for health ({elapsed:.0f} s): not ready: {','.join(missing) if answered else 'no answer yet'}", flush=True)
        last_print = elapsed
    time.sleep(0.5)
print(f"[localstack] healthy after {time.monotonic() - t0:.1f} s", flush=True)
import boto3
t = time.monotonic()
boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test",
             aws_secret_access_key="test").list_tables()
print(f"[localstack] warm-up DynamoDB ListTables took {time.monotonic() - t:.2f} s", flush=True)
EOF
}

if pid="$(our_pid)"; then
    log "already running (pid $pid); checking health"
    if wait_healthy "$pid" 60; then
        log "LocalStack is up at $LS_URL (already running)"
        exit 0
    fi
    die "our LocalStack (pid $pid) is running but not healthy; see $LOG_FILE or run scripts/localstack/stop.sh"
fi

if port_taken; then
    holder="$(ss -ltnpH "sport = :$LS_PORT" 2>/dev/null | sed -n 's/.*users:((\(.*\)))/\1/p' | head -1 || true)"
    die "port $LS_PORT is already in use by something that is not our LocalStack (${holder:-unknown process}); stop it first"
fi

# Leftovers of a LocalStack that died without stop.sh (functions, DynamoDB Local).
leftovers="$(marked_pids | tr '\n' ' ')"
if [[ -n "${leftovers// /}" ]]; then
    log "killing leftover processes of a previous run: $leftovers"
    # shellcheck disable=SC2086  # a list of pids
    kill -KILL $leftovers 2>/dev/null || true
fi

mkdir -p "$FS_ROOT" "$LAMBDA_LOG_DIR" "$CACHE_HOME"
[[ -f "$LOG_FILE" ]] && mv -f "$LOG_FILE" "$LOG_FILE.1"
log "starting LocalStack (services: $LS_SERVICES; executor: $LAMBDA_EXECUTOR_NAME; log: ${LOG_FILE#"$REPO"/})"
cd "$LOCAL"
# setsid: own session and process group, so stop.sh can signal the whole group and a terminal's
# Ctrl-C does not reach it. (In a script '&' does not make a group leader, so setsid does not
# fork and $! is LocalStack's pid.)
# LAMBDA_RETRY_BASE_DELAY (seconds): an asynchronous invocation that fails is retried twice, after
# 1x and 2x this delay, before its dead-letter destination; AWS waits about 1 and 2 minutes
# (LocalStack's default, 60 s, imitates that). Five seconds lets the suite see a poison event
# parked in 15 s instead of 3 minutes; the number of retries is the template's, unchanged.
# SQS_CLOUDWATCH_METRICS_REPORT_INTERVAL (seconds): how often the queues' metrics (a dead-letter
# queue's alarm watches them) reach CloudWatch; AWS's are per minute, LocalStack's default 60 s
# would let a parked message wait up to a minute before its alarm's next evaluation can see it.
env \
    OVERRIDE_IN_DOCKER=0 \
    GATEWAY_LISTEN="127.0.0.1:$LS_PORT" \
    LOCALSTACK_HOST="127.0.0.1:$LS_PORT" \
    SQS_ENDPOINT_STRATEGY=path \
    FILESYSTEM_ROOT="$FS_ROOT" \
    DNS_ADDRESS=0 \
    DISABLE_EVENTS=1 \
    SKIP_SSL_CERT_DOWNLOAD=1 \
    PROVIDER_OVERRIDE_DYNAMODB=v2 \
    PROVIDER_OVERRIDE_DYNAMODBSTREAMS=v2 \
    SERVICES="$LS_SERVICES" \
    EAGER_SERVICE_LOADING=1 \
    LAMBDA_RUNTIME_EXECUTOR="$LAMBDA_EXECUTOR_NAME" \
    LAMBDA_RETRY_BASE_DELAY="${LAMBDA_RETRY_BASE_DELAY:-5}" \
    SQS_CLOUDWATCH_METRICS_REPORT_INTERVAL=10 \
    HOST_LAMBDA_LOG_DIR="$LAMBDA_LOG_DIR" \
    HOST_LAMBDA_OWNER="$LOCAL" \
    XDG_CACHE_HOME="$CACHE_HOME" \
    PYTHONUNBUFFERED=1 \
    setsid "$VENV_PY" -m localstack.runtime.main </dev/null >"$LOG_FILE" 2>&1 &
pid=$!
disown "$pid"  # no "Killed" job notice from this shell if it is stopped while we wait
echo "$pid" >"$PID_FILE"
log "started (pid $pid); waiting for health (deadline ${START_TIMEOUT} s)"

if ! wait_healthy "$pid" "$START_TIMEOUT"; then
    printf '[localstack] ---- last lines of %s ----\n' "$LOG_FILE" >&2
    tail -n 40 "$LOG_FILE" >&2 || true
    log "stopping the unhealthy LocalStack"
    # LocalStack ignores SIGTERM until its services are loaded: do not wait long for it.
    STOP_TIMEOUT=5 "$LS_DIR/stop.sh" || true
    die "LocalStack did not become healthy (full log: $LOG_FILE)"
fi
log "LocalStack is up at $LS_URL; start took $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $T0 }") s"
