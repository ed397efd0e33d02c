#!/usr/bin/env bash
# Deploys the whole system as one CloudFormation stack: to your AWS account, or to the local
# stack. Builds every function once (release, arm64 for AWS Graviton by default), uploads the
# zips, creates or updates the stack, and prints its outputs, the API's URL first, and what to try.
#
# Usage: scripts/deploy.sh [options]              to AWS, with the credentials of your environment
#        scripts/deploy.sh --local [options]      to LocalStack at http://127.0.0.1:4566
#
# Its defaults are in samconfig.toml, the SAM CLI's settings (environment `default` for AWS, `local`
# for the local stack): the stack's name, the region when one is set there, and confirm_changeset.
#   --stack-name NAME        default samconfig.toml's stack_name (eda-demo); another name deploys
#                            another stack beside it (on the local stack its outputs go to
#                            .local/stacks/NAME.env, not .local/stack.env: scripts/e2e.sh
#                            --stack-name NAME reads them)
#   --region REGION          default samconfig.toml's region, else $AWS_REGION, else
#                            $AWS_DEFAULT_REGION, else us-east-1
#   --confirm-changeset      show what the change set would change and ask before executing it
#   --no-confirm-changeset   execute it without asking (default: samconfig.toml's confirm_changeset,
#                            true for AWS, false for the local stack); with a review and no answer
#                            on the standard input, nothing is deployed and the script fails
#   --config-env ENV         the samconfig.toml environment to take the defaults from
#   --email ADDRESS          subscribe this address to the notifications (AWS sends a confirmation)
#   --fraud-threshold N      orders over this amount are refused (default 500)
#   --simulated-outage-customer ID
#                            local stack only, a test hook: the payment provider is down for this
#                            customer's orders (default payment-provider-down, which the e2e
#                            suites use; '' for none). The build for AWS has no test hooks.
#   --arch arm64|x86_64      what to build for (default arm64 on AWS; the host's on LocalStack,
#                            where functions run as host processes)
#   --debug                  a debug build (fast to build; for the local stack)
#   --skip-build             deploy what target/lambda holds
#   --order-api-max-concurrency N
#                            cap the order function's concurrency (reserved; default 0, none)
#   --parameter KEY=VALUE    any other template parameter (ApiThrottleRate=20, LogRetentionDays=30...)
#
# Who may call the API. On AWS the stack makes a Cognito user pool (scripts/token.sh --aws signs
# its users in) unless it is given an OpenID Connect issuer; a redeploy keeps what the stack has
# unless told otherwise (--oidc-issuer '' goes back to the stack's user pool). The local stack
# always trusts the local issuer scripts/local-up.sh makes (.local/issuer/issuer.json).
#   --oidc-issuer URL        accept ID tokens of this issuer (exactly their `iss`), not Cognito's
#   --oidc-audience ID       with --oidc-issuer: the client id its tokens must be for (required)
#   --oidc-jwks-url URL      with --oidc-issuer: its keys, if not at <issuer>/.well-known/jwks.json
#                            (claims and the operators' group: --parameter CustomerIdClaim=...,
#                            GroupsClaim=..., OperatorGroup=...)
#   --api-gateway-account-role auto|create|existing
#                            AWS: access logs need the account's API Gateway settings to name a
#                            role (per region, for every API there). auto (the default) reads them:
#                            one is named and exists, the stack relies on it; none, it makes one
#                            and names it (kept when the stack is deleted). It says what it chose.
set -euo pipefail
LOG_TAG=deploy
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

local_stack=0 stack_name="" region="" config_env="" confirm="" email="" fraud_threshold=500 outage_customer=unset
arch="" profile=(--release) build=1 hooks=()
oidc_issuer=unset oidc_audience=unset oidc_jwks_url=unset order_api_max_concurrency=0 account_role=auto
extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --local) local_stack=1 ;;
        --stack-name) need_value "a stack name" "$@"; stack_name="$2"; shift ;;
        --region) need_value "a region" "$@"; region="$2"; shift ;;
        --confirm-changeset) confirm=true ;;
        --no-confirm-changeset) confirm=false ;;
        --config-env) need_value "a samconfig.toml environment" "$@"; config_env="$2"; shift ;;
        --email) need_value "an address" "$@"; email="$2"; shift ;;
        --fraud-threshold) need_value "an amount" "$@"; fraud_threshold="$2"; shift ;;
        --simulated-outage-customer)
            need_value_or_empty "a customer id, or '' for none" "$@"
            outage_customer="$2"
            shift
            ;;
        --arch) need_value "arm64 or x86_64" "$@"; arch="$2"; shift ;;
        --oidc-issuer) need_value_or_empty "an issuer URL, or '' for none" "$@"; oidc_issuer="$2"; shift ;;
        --oidc-audience) need_value_or_empty "a client id" "$@"; oidc_audience="$2"; shift ;;
        --oidc-jwks-url) need_value_or_empty "a URL" "$@"; oidc_jwks_url="$2"; shift ;;
        --order-api-max-concurrency)
            need_value "a number, 0 for none" "$@"
            order_api_max_concurrency="$2"
            shift
            ;;
        --api-gateway-account-role)
            need_value "auto, create or existing" "$@"
            account_role="$2"
            shift
            ;;
        --parameter) need_value "KEY=VALUE" "$@"; extra+=(--parameter "$2"); shift ;;
        --debug) profile=() ;;
        --skip-build) build=0 ;;
        -h | --help) usage; exit 0 ;;
        *) unknown_option "$1" ;;
    esac
    shift
done
[[ "$fraud_threshold" =~ ^[0-9]+(\.[0-9]{1,2})?$ ]] || die "--fraud-threshold must be an amount, not $fraud_threshold"
[[ "$order_api_max_concurrency" =~ ^[0-9]+$ ]] \
    || die "--order-api-max-concurrency must be a number (0: none), not $order_api_max_concurrency"
[[ "$account_role" =~ ^(auto|create|existing)$ ]] \
    || die "--api-gateway-account-role must be auto, create or existing, not $account_role"

# The defaults in samconfig.toml (what `sam deploy --config-env ENV` would take).
ensure_tools
[[ -n "$config_env" ]] || config_env="$([[ $local_stack == 1 ]] && echo local || echo default)"
mapfile -t configured < <("$TOOLS_VENV/bin/python" "$REPO/scripts/lib/samconfig.py" get \
    --config-env "$config_env" --command deploy stack_name region confirm_changeset)
((${#configured[@]} == 3)) || die "samconfig.toml could not be read (above)"
configured_stack_name="${configured[0]}" configured_region="${configured[1]}" configured_confirm="${configured[2]}"
stack_name="${stack_name:-$configured_stack_name}"
[[ -n "$stack_name" ]] || die "samconfig.toml's environment $config_env names no stack_name: give --stack-name"
confirm="${confirm:-${configured_confirm:-false}}"
[[ "$confirm" =~ ^(true|false)$ ]] || die "samconfig.toml's confirm_changeset must be true or false, not $confirm"
log "defaults from samconfig.toml [$config_env]: stack $stack_name, review the change set: $confirm"

target=() parameters=()
if [[ $local_stack == 1 ]]; then
    region="$LOCAL_REGION"
    arch="${arch:-$(host_architecture)}"
    target=(--endpoint-url "$LOCAL_ENDPOINT")
    env_file="$(local_stack_env "$stack_name")"
    # LocalStack accepts any credentials; never use the developer's real ones against it.
    export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
    unset AWS_SESSION_TOKEN AWS_PROFILE
    [[ "$outage_customer" != unset ]] || outage_customer="$LOCAL_SIMULATED_OUTAGE_CUSTOMER"
    # The local stack is where the suites run: its build has their hooks (scripts/build.sh).
    hooks=(--test-hooks)
    [[ "$oidc_issuer$oidc_audience$oidc_jwks_url" == unsetunsetunset ]] \
        || die "the local stack trusts the local issuer only (${LOCAL_ISSUER#"$REPO"/}/issuer.json); --oidc-* are for AWS"
    # The local issuer (scripts/local-up.sh makes it, before it deploys): LocalStack has no Cognito,
    # so the stack takes the external-issuer path, its tokens checked by the order function.
    read -r oidc_issuer oidc_audience < <(local_issuer) || exit 1
    parameters+=(
        --parameter "SnapshotEvery=$SNAPSHOT_EVERY"
        --parameter "PaymentMaxConcurrency=$LOCAL_PAYMENT_MAX_CONCURRENCY"
        --parameter "StreamConsumerConcurrency=$LOCAL_STREAM_CONSUMER_CONCURRENCY"
        --parameter "OrderApiMaxConcurrency=$order_api_max_concurrency"
        --parameter "RecoverySweepRate=$LOCAL_RECOVERY_SWEEP_RATE"
        --parameter "RecoveryStuckAfterSeconds=$LOCAL_RECOVERY_STUCK_AFTER_SECONDS"
        # The same values again: LocalStack's CloudFormation does not apply reserved concurrency.
        --reserve "PaymentFunction=$LOCAL_PAYMENT_MAX_CONCURRENCY"
        --reserve "OutboxProcessorFunction=$LOCAL_STREAM_CONSUMER_CONCURRENCY"
        --reserve "ProjectionFunction=$LOCAL_STREAM_CONSUMER_CONCURRENCY"
        --reserve "CreateOrderFunction=$order_api_max_concurrency"
        --parameter "OidcIssuer=$oidc_issuer"
        --parameter "OidcAudience=$oidc_audience"
        # LocalStack needs no account-level role to take the stage's access log settings.
        --parameter "ApiGatewayAccountRole=existing"
    )
else
    region="${region:-${configured_region:-${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}}}"
    arch="${arch:-arm64}"
    env_file="$LOCAL/aws-$stack_name-$region.env"
    parameters+=(--parameter "OrderApiMaxConcurrency=$order_api_max_concurrency" --api-logging-role "$account_role")
    if [[ "$oidc_issuer" == unset ]]; then
        [[ "$oidc_audience$oidc_jwks_url" == unsetunset ]] || die "--oidc-audience and --oidc-jwks-url go with --oidc-issuer"
    else
        # The template refuses the stack too (a rule), but only after the build.
        [[ -z "$oidc_issuer" || ( "$oidc_audience" != unset && -n "$oidc_audience" ) ]] \
            || die "--oidc-issuer needs --oidc-audience (the client id its tokens are issued for)"
        [[ -n "$oidc_issuer" && "$oidc_jwks_url" != unset ]] || oidc_jwks_url=""
        [[ -n "$oidc_issuer" ]] || oidc_audience=""
        parameters+=(
            --parameter "OidcIssuer=$oidc_issuer"
            --parameter "OidcAudience=$oidc_audience"
            --parameter "OidcJwksUrl=$oidc_jwks_url"
        )
    fi
    # Sign-in settings not given stay as the stack has them, rather than go back to the defaults
    # (which would switch a stack that trusts another issuer to its own user pool).
    for key in OidcIssuer OidcAudience OidcJwksUrl CustomerIdClaim GroupsClaim OperatorGroup; do
        parameters+=(--keep-previous "$key")
    done
fi
[[ "$outage_customer" == unset || -z "$outage_customer" || $local_stack == 1 ]] \
    || die "--simulated-outage-customer is a test hook of the local stack's build; the build for AWS has none"
[[ "$outage_customer" != unset ]] || outage_customer=""
parameters+=(
    --parameter "Architecture=$arch"
    --parameter "FraudThreshold=$fraud_threshold"
    --parameter "NotificationEmail=$email"
    --parameter "SimulatedOutageCustomer=$outage_customer"
    "${extra[@]}"
)

stack() { "$TOOLS_VENV/bin/python" "$REPO/scripts/lib/stack.py" "$@"; }
review=()
[[ $confirm == false ]] || review=(--confirm-changeset)

# Credentials first: a build takes minutes, and finding out after it that they are missing
# would waste them.
stack whoami --region "$region" "${target[@]}"

if [[ $build == 1 ]]; then
    "$REPO/scripts/build.sh" "${profile[@]}" --arch "$arch" "${hooks[@]}"
fi

status=0
stack deploy \
    --stack-name "$stack_name" \
    --region "$region" \
    "${target[@]}" \
    --template "$REPO/infra/template.yaml" \
    --artifacts "$REPO/target/lambda" \
    --functions "$FUNCTIONS" \
    "${ASSETS[@]/#/--asset=}" \
    "${parameters[@]}" \
    "${review[@]}" \
    --env-file "$env_file" \
    || status=$?
# 3: the change set was declined at the review, and nothing deployed (stack.py said so).
((status != 3)) || exit 0
((status == 0)) || exit "$status"

api="$(sed -n 's/^API=//p' "$env_file")"
if [[ $local_stack == 1 ]]; then
    token_command='$(scripts/token.sh alice)          # signed by the local issuer'
elif grep -q '^USER_POOL_ID=' "$env_file"; then
    token_command="\$(scripts/token.sh --aws --stack-name $stack_name --region $region alice)   # a user of the stack's pool"
else
    token_command="<an ID token of $(sed -n 's/^OIDC_ISSUER=//p' "$env_file")>"
fi
log "deployed $stack_name to $([[ $local_stack == 1 ]] && echo "the local stack" || echo "AWS, $region"). Try:"
cat <<EOT
    export API=$api
    TOKEN=$token_command
    curl -X POST "\$API/orders" -H "Authorization: Bearer \$TOKEN" -d '{"id":101,"amount":100}'
    curl -H "Authorization: Bearer \$TOKEN" "\$API/orders/101"
    curl -X POST "\$API/orders" -H "Authorization: Bearer \$TOKEN" -d '{"id":102,"amount":600}'
    API=\$API scripts/e2e.sh        # the curl checks of the whole flow
EOT
if [[ $local_stack == 0 ]]; then
    echo "    scripts/destroy.sh --stack-name $stack_name --region $region    # remove it all"
fi
