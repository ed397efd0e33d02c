# shellcheck shell=bash disable=SC2034  # variables are used by the scripts that source this
# Shared settings for install.sh, start.sh and stop.sh (sourced, not run).
# Everything LocalStack needs lives under $REPO/.local (git-ignored).

LOG_TAG=localstack
# REPO, LOCAL, LOCAL_ENDPOINT, log and die come from the project's shared script library.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
LS_DIR="$REPO/scripts/localstack"
VENV_PY="$VENV/bin/python"
# LocalStack's FILESYSTEM_ROOT: its var/lib, cache, tmp and state folders go below this.
FS_ROOT="$LOCAL/localstack-fs"
# Where LocalStack looks for its optional packages (DynamoDB Local, Java).
LS_LIBS="$FS_ROOT/var/lib/localstack/lib"
PLUGIN_SRC="$REPO/infra/localstack/host-lambda"
PID_FILE="$LOCAL/localstack.pid"
LOG_FILE="$LOCAL/localstack.log"
LAMBDA_LOG_DIR="$LOCAL/logs/lambda"
# plux (LocalStack's plugin loader) caches its entry-point index under $XDG_CACHE_HOME/plux;
# keep that cache inside .local so install.sh can drop it when the executor plugin changes.
CACHE_HOME="$LOCAL/cache"

LS_URL="$LOCAL_ENDPOINT"
LS_PORT="${LS_URL##*:}"
# Name of our runtime executor plugin (entry point in infra/localstack/host-lambda/pyproject.toml).
LAMBDA_EXECUTOR_NAME="host"
# Only what the project's stacks use. Nothing else is needed for CloudFormation + the SAM transform.
LS_SERVICES="cloudformation,s3,iam,sts,lambda,apigateway,dynamodb,dynamodbstreams,events,sqs,sns,logs,stepfunctions,cloudwatch"

# Is our LocalStack process (the one in the pid file) alive?
our_pid() {
    [[ -f "$PID_FILE" ]] || return 1
    local pid
    pid="$(cat "$PID_FILE" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # guard against a recycled pid: the process must carry our marker in its environment
    tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ" | grep -qxF "HOST_LAMBDA_OWNER=$LOCAL" || return 1
    echo "$pid"
}

# Pids of every process that carries our marker (LocalStack itself and the functions it started).
marked_pids() {
    local env_file pid
    for env_file in /proc/[0-9]*/environ; do
        pid="${env_file#/proc/}"; pid="${pid%/environ}"
        [[ "$pid" == "$$" ]] && continue
        tr '\0' '\n' 2>/dev/null <"$env_file" | grep -qxF "HOST_LAMBDA_OWNER=$LOCAL" && echo "$pid"
    done
    return 0
}

# Is something listening on 127.0.0.1:$LS_PORT?
port_taken() {
    (exec 3<>"/dev/tcp/127.0.0.1/$LS_PORT") 2>/dev/null
}
