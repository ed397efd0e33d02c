#!/usr/bin/env bash
# Prints a token for a customer of the order API: an OIDC ID token (a JWT, as Cognito issues
# them), on one line and alone on stdout (what it does goes to stderr), to send as
# `Authorization: Bearer <token>`:
#     TOKEN=$(scripts/token.sh alice)
#     curl -H "Authorization: Bearer $TOKEN" "$API/orders/101"
#
# Usage: scripts/token.sh [options] CUSTOMER        the local stack's issuer signs it (the default)
#        scripts/token.sh --aws [options] CUSTOMER  a stack on AWS: its Cognito user pool signs CUSTOMER in
#
# The local stack: signed (ES256) with the local issuer's key, which scripts/local-up.sh makes in
# .local/issuer/ (or the folder $EDA_LOCAL_ISSUER names). The customer id is CUSTOMER (the sub).
#   --operator            the token is an operator's (group operators): may read every order
#   --lifetime SECONDS    valid for this long (default 3600); negative: it expired that long ago
# For tests of the API's checks, tokens it must refuse:
#   --not-before SECONDS  not valid until this many seconds from now (nbf)
#   --audience AUD        for another audience (the local stack's is eda-local-client)
#   --issuer ISS          claiming another issuer (iss), though signed with the local key
#
# AWS (--aws), with the credentials of your environment: reads the stack's outputs UserPoolId and
# UserPoolClientId, creates the user CUSTOMER if missing (no invitation sent), sets it a new random
# password that is never shown nor kept, signs it in (ADMIN_USER_PASSWORD_AUTH) and prints its ID
# token. The customer id is then the token's sub (a UUID Cognito gives the user), not CUSTOMER.
# Needs cloudformation:DescribeStacks and cognito-idp:AdminGetUser, AdminCreateUser,
# AdminSetUserPassword, AdminInitiateAuth (and AdminAddUserToGroup for --operator).
#   --stack-name NAME     default eda-demo
#   --region REGION       default $AWS_REGION, else $AWS_DEFAULT_REGION, else us-east-1
#   --operator            adds the user to the group operators first (it stays there)
set -euo pipefail
LOG_TAG=token
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# stdout is the token's alone.
log() { printf '[%s] %s\n' "${LOG_TAG:-eda-demo}" "$*" >&2; }

aws=0 stack_name="" region="" operator=() local_only=() customer=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --aws) aws=1 ;;
        --stack-name) need_value "a stack name" "$@"; stack_name="$2"; shift ;;
        --region) need_value "a region" "$@"; region="$2"; shift ;;
        --operator) operator=(--operator) ;;
        --lifetime | --not-before)
            need_value "a number of seconds" "$@"
            [[ "$2" =~ ^-?[0-9]+$ ]] || die "$1 needs a number of seconds, not '$2'"
            local_only+=("$1" "$2")
            shift
            ;;
        --audience) need_value "an audience" "$@"; local_only+=("$1" "$2"); shift ;;
        --issuer) need_value "an issuer" "$@"; local_only+=("$1" "$2"); shift ;;
        -h | --help) usage; exit 0 ;;
        -*) unknown_option "$1" ;;
        *)
            [[ -z "$customer" ]] || die "one customer only ($customer, then $1)"
            customer="$1"
            ;;
    esac
    shift
done
[[ -n "$customer" ]] || die "which customer? scripts/token.sh [options] CUSTOMER (see --help)"

ensure_tools >&2
tokens() { "$TOOLS_VENV/bin/python" "$REPO/scripts/lib/tokens.py" "$@"; }
if [[ $aws == 1 ]]; then
    ((${#local_only[@]} == 0)) || die "${local_only[0]} is for the local stack's tokens only (Cognito sets the claims)"
    stack_name="${stack_name:-$LOCAL_STACK_NAME}"
    region="${region:-${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}}"
    log "signing $customer in to the Cognito user pool of the stack $stack_name in $region"
    tokens aws "$customer" --stack-name "$stack_name" --region "$region" "${operator[@]}"
else
    [[ -z "$stack_name" && -z "$region" ]] || die "--stack-name and --region are for --aws only"
    tokens local "$customer" --dir "$LOCAL_ISSUER" "${operator[@]}" "${local_only[@]}"
fi
