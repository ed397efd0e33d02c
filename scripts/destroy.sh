#!/usr/bin/env bash
# Removes a stack deployed by scripts/deploy.sh and everything it created: the functions, tables
# (with their data), queues, topic, bus, state machine, log groups, roles, and the artifact
# bucket (emptied first).
#
#   scripts/destroy.sh [--stack-name eda-demo] [--region REGION] [--yes]
#   scripts/destroy.sh --local
set -euo pipefail
LOG_TAG=destroy
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

local_stack=0 stack_name="$LOCAL_STACK_NAME" region="" yes=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --local) local_stack=1 ;;
        --stack-name) stack_name="${2:?--stack-name needs a name}"; shift ;;
        --region) region="${2:?--region needs a region}"; shift ;;
        --yes) yes=1 ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
    shift
done

target=()
if [[ $local_stack == 1 ]]; then
    region="$LOCAL_REGION"
    target=(--endpoint-url "$LOCAL_ENDPOINT")
    export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
    unset AWS_SESSION_TOKEN AWS_PROFILE
else
    region="${region:-${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}}"
fi

ensure_tools
stack() { "$TOOLS_VENV/bin/python" "$REPO/scripts/lib/stack.py" "$@"; }
stack whoami --region "$region" "${target[@]}"
if [[ $local_stack == 0 && $yes == 0 ]]; then
    read -r -p "Delete stack $stack_name in $region, with all its data? Type the stack name to confirm: " answer
    [[ "$answer" == "$stack_name" ]] || die "not confirmed; nothing deleted"
fi
stack destroy --stack-name "$stack_name" --region "$region" "${target[@]}"
