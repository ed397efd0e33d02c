#!/usr/bin/env bash
# Removes a stack deployed by scripts/deploy.sh and what it created: the functions, the views,
# snapshots and idempotency tables, queues, topic, bus and its archive, state machine, log groups,
# roles, and the artifact bucket (emptied first).
#
# It KEEPS the event store and the payment ledger (<stack>-event-store, <stack>-payments), with
# their data, deletion protection and point-in-time recovery: every order and every charge
# outlives the stack. It says what it kept, and the ways to deploy the same stack name again,
# which cannot create tables of those names while they are there: deploy under another name,
# import the kept tables into the new stack (README "Data that survives"), or delete them.
#
# Usage: scripts/destroy.sh [--stack-name NAME] [--region REGION] [--yes] [--delete-retained-tables]
#        scripts/destroy.sh --local [--stack-name NAME] [--delete-retained-tables]
#   --local                   the local stack's (LocalStack at http://127.0.0.1:4566); its env file
#                             (.local/stack.env, or .local/stacks/NAME.env) goes with it
#   --stack-name NAME         default eda-demo
#   --region REGION           default $AWS_REGION, else $AWS_DEFAULT_REGION, else us-east-1
#   --yes                     AWS: do not ask to type the stack's name first
#   --delete-retained-tables  also delete the kept tables and every order and payment in them, for
#                             good: turns their deletion protection off, then deletes them (also
#                             when the stack itself is already gone). On AWS it asks you to type
#                             the tables' names, even with --yes.
set -euo pipefail
LOG_TAG=destroy
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

local_stack=0 stack_name="$LOCAL_STACK_NAME" region="" yes=0 delete_kept=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --local) local_stack=1 ;;
        --stack-name) need_value "a stack name" "$@"; stack_name="$2"; shift ;;
        --region) need_value "a region" "$@"; region="$2"; shift ;;
        --yes) yes=1 ;;
        --delete-retained-tables) delete_kept=(--delete-retained-tables) ;;
        -h | --help) usage; exit 0 ;;
        *) unknown_option "$1" ;;
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
    read -r -p "Delete stack $stack_name in $region (its event store and payment ledger are kept)? Type the stack name to confirm: " answer
    [[ "$answer" == "$stack_name" ]] || die "not confirmed; nothing deleted"
fi
if [[ ${#delete_kept[@]} -gt 0 ]]; then
    kept="$stack_name-event-store and $stack_name-payments"
    log "!!! --delete-retained-tables: the tables $kept, EVERY ORDER AND PAYMENT IN THEM, will be deleted for good"
    if [[ $local_stack == 0 ]]; then
        read -r -p "Type '$kept' to delete them: " answer
        [[ "$answer" == "$kept" ]] || die "not confirmed; nothing deleted"
    fi
fi
stack destroy --stack-name "$stack_name" --region "$region" "${target[@]}" "${delete_kept[@]}"
if [[ $local_stack == 1 ]]; then
    env_file="$(local_stack_env "$stack_name")"
    [[ ! -f "$env_file" ]] || run rm "$env_file"
fi
