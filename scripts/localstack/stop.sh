#!/usr/bin/env bash
# Stops the LocalStack started by start.sh: SIGTERM to its process group (it then stops DynamoDB
# Local and the Lambda function processes itself), SIGKILL after a deadline, then kills any process
# still carrying our marker (function processes run in their own process groups).
# Exits 0 when nothing is running.
#
# Usage: scripts/localstack/stop.sh       (no options; a variable of the environment)
#   STOP_TIMEOUT  seconds to wait after SIGTERM (default 20); LocalStack ignores SIGTERM while it
#                 is still starting, so then it ends with SIGKILL
set -euo pipefail
# shellcheck source=scripts/localstack/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

no_options "$@"

STOP_TIMEOUT="${STOP_TIMEOUT:-20}"

alive() { kill -0 "$1" 2>/dev/null && [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]]; }

if pid="$(our_pid)"; then
    log "stopping LocalStack (pid $pid): SIGTERM to its process group"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    start=$SECONDS
    while alive "$pid"; do
        if (( SECONDS - start >= STOP_TIMEOUT )); then
            log "still running after ${STOP_TIMEOUT} s: SIGKILL"
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.2
    done
    log "LocalStack stopped after $((SECONDS - start)) s"
else
    log "LocalStack is not running (no live pid in ${PID_FILE#"$REPO"/})"
fi
rm -f "$PID_FILE"

# Whatever is left with our marker: function processes (own process groups), DynamoDB Local, or a
# LocalStack whose pid file was lost.
leftovers="$(marked_pids | tr '\n' ' ')"
if [[ -n "${leftovers// /}" ]]; then
    log "killing leftover processes: $leftovers"
    for p in $leftovers; do
        kill -KILL -- "-$p" 2>/dev/null || true   # its process group, if it leads one
        kill -KILL "$p" 2>/dev/null || true
    done
fi
exit 0
