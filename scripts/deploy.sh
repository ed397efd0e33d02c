#!/usr/bin/env bash
# Deploys the whole system as one CloudFormation stack: to your AWS account, or to the local
# stack. Builds every function once (release, arm64 for AWS Graviton by default), uploads the
# zips, creates or updates the stack, and prints its outputs, the API's URL first, and what to try.
#
#   scripts/deploy.sh [options]              to AWS, with the credentials of your environment
#   scripts/deploy.sh --local [options]      to LocalStack at http://127.0.0.1:4566
#
#   --stack-name NAME        default eda-demo
#   --region REGION          default $AWS_REGION, else $AWS_DEFAULT_REGION, else us-east-1
#   --email ADDRESS          subscribe this address to the notifications (AWS sends a confirmation)
#   --fraud-threshold N      orders over this amount are refused (default 500)
#   --simulated-outage-customer ID
#                            testing aid: the payment provider is down for this customer's orders
#                            (default: none on AWS; payment-provider-down on the local stack,
#                            where the e2e suites use it; '' for none)
#   --arch arm64|x86_64      what to build for (default arm64 on AWS; the host's on LocalStack,
#                            where functions run as host processes)
#   --debug                  a debug build (fast to build; for the local stack)
#   --skip-build             deploy what target/lambda holds
set -euo pipefail
LOG_TAG=deploy
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

local_stack=0 stack_name="$LOCAL_STACK_NAME" region="" email="" fraud_threshold=500 outage_customer=unset
arch="" profile=(--release) build=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --local) local_stack=1 ;;
        --stack-name) stack_name="${2:?--stack-name needs a name}"; shift ;;
        --region) region="${2:?--region needs a region}"; shift ;;
        --email) email="${2:?--email needs an address}"; shift ;;
        --fraud-threshold) fraud_threshold="${2:?--fraud-threshold needs a number}"; shift ;;
        --simulated-outage-customer)
            [[ $# -ge 2 ]] || die "--simulated-outage-customer needs a customer id (or '' for none)"
            outage_customer="$2"
            shift
            ;;
        --arch) arch="${2:?--arch needs arm64 or x86_64}"; shift ;;
        --debug) profile=() ;;
        --skip-build) build=0 ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
    shift
done
[[ "$fraud_threshold" =~ ^[0-9]+(\.[0-9]{1,2})?$ ]] || die "--fraud-threshold must be an amount, not $fraud_threshold"

target=() parameters=()
if [[ $local_stack == 1 ]]; then
    region="$LOCAL_REGION"
    arch="${arch:-$(host_architecture)}"
    target=(--endpoint-url "$LOCAL_ENDPOINT")
    env_file="$STACK_ENV"
    # LocalStack accepts any credentials; never use the developer's real ones against it.
    export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
    unset AWS_SESSION_TOKEN AWS_PROFILE
    [[ "$outage_customer" != unset ]] || outage_customer="$LOCAL_SIMULATED_OUTAGE_CUSTOMER"
    parameters+=(
        --parameter "SnapshotEvery=$SNAPSHOT_EVERY"
        --parameter "PaymentMaxConcurrency=$LOCAL_PAYMENT_MAX_CONCURRENCY"
        --parameter "StreamConsumerConcurrency=$LOCAL_STREAM_CONSUMER_CONCURRENCY"
        # The same values again: LocalStack's CloudFormation does not apply reserved concurrency.
        --reserve "PaymentFunction=$LOCAL_PAYMENT_MAX_CONCURRENCY"
        --reserve "OutboxProcessorFunction=$LOCAL_STREAM_CONSUMER_CONCURRENCY"
        --reserve "ProjectionFunction=$LOCAL_STREAM_CONSUMER_CONCURRENCY"
    )
else
    region="${region:-${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}}"
    arch="${arch:-arm64}"
    env_file="$LOCAL/aws-$stack_name-$region.env"
fi
[[ "$outage_customer" != unset ]] || outage_customer=""
parameters+=(
    --parameter "Architecture=$arch"
    --parameter "FraudThreshold=$fraud_threshold"
    --parameter "NotificationEmail=$email"
    --parameter "SimulatedOutageCustomer=$outage_customer"
)

ensure_tools
stack() { "$TOOLS_VENV/bin/python" "$REPO/scripts/lib/stack.py" "$@"; }

# Credentials first: a build takes minutes, and finding out after it that they are missing
# would waste them.
stack whoami --region "$region" "${target[@]}"

if [[ $build == 1 ]]; then
    "$REPO/scripts/build.sh" "${profile[@]}" --arch "$arch"
fi

stack deploy \
    --stack-name "$stack_name" \
    --region "$region" \
    "${target[@]}" \
    --template "$REPO/infra/template.yaml" \
    --artifacts "$REPO/target/lambda" \
    --functions "$FUNCTIONS" \
    "${ASSETS[@]/#/--asset=}" \
    "${parameters[@]}" \
    --env-file "$env_file"

api="$(sed -n 's/^API=//p' "$env_file")"
log "deployed $stack_name to $([[ $local_stack == 1 ]] && echo "the local stack" || echo "AWS, $region"). Try:"
cat <<EOT
    export API=$api
    curl -X POST "\$API/orders" -d '{"id":101,"amount":100}'
    curl "\$API/orders/101"
    curl -X POST "\$API/orders" -d '{"id":102,"amount":600}'
    API=\$API scripts/e2e.sh        # the curl checks of the whole flow
EOT
if [[ $local_stack == 0 ]]; then
    echo "    scripts/destroy.sh --stack-name $stack_name --region $region    # remove it all"
fi
