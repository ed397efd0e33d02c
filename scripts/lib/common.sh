# Shared by the project's scripts (sourced, not run): paths, logging, and the build tools.

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCAL="$REPO/.local"
STACK_ENV="$LOCAL/stack.env"
# Python >= 3.12 venv with LocalStack (scripts/localstack/install.sh).
VENV="$LOCAL/venv"
# EDA_LOCAL_PORT: another port, so that a second checkout can run its own local stack beside this one.
LOCAL_ENDPOINT="http://127.0.0.1:${EDA_LOCAL_PORT:-4566}"
LOCAL_REGION="us-east-1"
LOCAL_STACK_NAME="eda-demo"
# local_stack_env NAME: the env file of the local stack NAME, which deploy.sh --local writes and
# e2e.sh --stack-name reads: .local/stack.env for the stack eda-demo (the one the suites, bench.sh
# and eda-admin read), .local/stacks/NAME.env for a stack deployed beside it under another name.
local_stack_env() {
    if [[ "$1" == "$LOCAL_STACK_NAME" ]]; then
        printf '%s\n' "$STACK_ENV"
    else
        printf '%s\n' "$LOCAL/stacks/$1.env"
    fi
}
# local_api [NAME]: the order API the checks talk to: $API when it is set, else the one in the env
# file of the local stack NAME (default eda-demo), without a trailing slash; dies when there is none.
local_api() {
    local name="${1:-$LOCAL_STACK_NAME}" env_file first="scripts/local-up.sh" api="${API:-}"
    if [[ -z "$api" ]]; then
        env_file="$(local_stack_env "$name")"
        [[ "$name" == "$LOCAL_STACK_NAME" ]] || first="scripts/deploy.sh --local --stack-name $name"
        [[ -f "$env_file" ]] || die "API is not set and $env_file does not exist: run $first first"
        api="$(sed -n 's/^API=//p' "$env_file")"
    fi
    printf '%s\n' "${api%/}"
}
# Every function of the system: one crate and one binary each, built once by cargo lambda.
FUNCTIONS="create-order,outbox-processor,projection,payment,update-order,notification,recovery-sweep"
# On the local stack the payment function fails, as if its provider were down, for this customer:
# the e2e suites drive the payment error path with it (template parameter SimulatedOutageCustomer;
# `deploy.sh --local` sets it unless told otherwise, and the stack says so in an output).
LOCAL_SIMULATED_OUTAGE_CUSTOMER="payment-provider-down"
# The local stack reserves some concurrency for the payment function, so that the setting is
# exercised; on AWS it is off by default (new accounts have too little concurrency to reserve).
# 20: with fewer, the 20 orders/s load's workflows retry for a slot and the rate falls
# (BENCHMARKS.md).
LOCAL_PAYMENT_MAX_CONCURRENCY=20
# And some for each stream consumer (LocalStack's streams have one shard), so that under a load
# capped by `local-up.sh --lambda-concurrency` they are never throttled (BENCHMARKS.md).
LOCAL_STREAM_CONSUMER_CONCURRENCY=2
# The local stack's recovery sweep runs every minute (the shortest rate there is) and steps in
# after a minute, so that the fault suites see orders heal within a few minutes; on AWS the
# template's defaults hold (every 5 minutes, after 30 minutes).
LOCAL_RECOVERY_SWEEP_RATE="rate(1 minute)"
LOCAL_RECOVERY_STUCK_AFTER_SECONDS=60
# Orders have few events; on the local stack a snapshot every 2 makes every paid order use one.
SNAPSHOT_EVERY=2
# The crates with test hooks (cargo feature test-hooks), which the local stack's build turns on.
TEST_HOOK_FEATURES="outbox-processor/test-hooks,projection/test-hooks,payment/test-hooks"
# Strings only a build with test hooks holds (the hooks' environment variables): the check that
# the build for AWS has none looks for them (scripts/test.sh).
TEST_HOOK_MARKERS=(FAULT_INJECTION SIMULATED_OUTAGE_CUSTOMER)
# Files the template reads from the artifact bucket beside the function zips.
ASSETS=(payment.asl.json="$REPO/infra/statemachines/payment.asl.json")

# The local stack's token issuer: its signing key, jwks.json and issuer.json, made by local-up.sh
# (scripts/lib/tokens.py issuer, which publishes jwks.json on the local stack's S3); token.sh
# signs with the key; deploy.sh --local gives the stack its issuer and audience. EDA_LOCAL_ISSUER
# names another clone's (scripts/test.sh's copy of the tree without .local/ uses the real one's).
LOCAL_ISSUER="${EDA_LOCAL_ISSUER:-$LOCAL/issuer}"

# The local issuer's URL and the audience its tokens are for, on one line (the stack's OidcIssuer
# and OidcAudience on the local stack); fails with the way to make it when it is missing.
local_issuer() {
    local issuer_file="$LOCAL_ISSUER/issuer.json"
    [[ -f "$issuer_file" ]] \
        || die "$issuer_file is missing: the local stack's token issuer is made by scripts/local-up.sh (which then deploys); run it"
    python3 -c '
import json, sys
try:
    issuer = json.load(open(sys.argv[1]))
    print(issuer["issuer"], issuer["audience"])
except (ValueError, KeyError, TypeError):
    sys.exit(1)' "$issuer_file" \
        || die "$issuer_file does not name an issuer and an audience (delete ${LOCAL_ISSUER#"$REPO"/} and run scripts/local-up.sh)"
}

# The project's tooling (cargo-lambda, zig, boto3), pinned in scripts/lib/tools-requirements.txt;
# EDA_TOOLS_VENV names another clone's, to share it instead of installing a second one.
TOOLS_VENV="${EDA_TOOLS_VENV:-$LOCAL/tools}"

log() { printf '[%s] %s\n' "${LOG_TAG:-eda-demo}" "$*"; }
die() { printf '[%s] ERROR: %s\n' "${LOG_TAG:-eda-demo}" "$*" >&2; exit 1; }

# Options. Every script reads its arguments first, before anything it does (so that --help starts
# nothing), in one loop of this shape, with the helpers below:
#   while [[ $# -gt 0 ]]; do
#       case "$1" in
#           --quick) quick=1 ;;
#           --region) need_value "a region" "$@"; region="$2"; shift ;;
#           -h | --help) usage; exit 0 ;;
#           *) unknown_option "$1" ;;
#       esac
#       shift
#   done
# A script that takes no options calls no_options "$@" instead.

# The calling script's header comment without its comment marks, from line 2 to the first line
# that is not a comment: its --help, a `Usage: <script> ...` line and each option explained.
usage() { awk 'NR > 1 { if (!/^#/) exit; sub(/^# ?/, ""); print }' "$0"; }
# The calling script as it is typed from the repository's root (scripts/deploy.sh), wherever it was
# run from: the messages below point at its --help.
script_name() {
    local path
    path="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
    printf '%s\n' "${path#"$REPO"/}"
}
# need_value WHAT "$@", in the option loop: the option in $1 takes a value, $2, which is missing,
# empty or another option (--...); dies with, for example, "--region needs a value (a region); see
# scripts/deploy.sh --help". need_value_or_empty: the same for an option whose value may be ''.
need_value() { [[ $# -ge 3 && -n "$3" ]] || no_value "$@"; need_value_or_empty "$@"; }
need_value_or_empty() { [[ $# -ge 3 && "$3" != --* ]] || no_value "$@"; }
no_value() { die "$2 needs a value ($1); see $(script_name) --help"; }
# unknown_option ARG, the loop's last case: an option, or an argument, the script does not take.
unknown_option() {
    [[ "$1" != -* ]] || die "unknown option $1; see $(script_name) --help"
    die "unexpected argument $1; see $(script_name) --help"
}
# no_options "$@": the loop of a script that takes no options and no arguments.
no_options() {
    [[ $# -gt 0 ]] || return 0
    case "$1" in
        -h | --help) usage; exit 0 ;;
        *) unknown_option "$1" ;;
    esac
}

# Runs a command, printing it first.
run() { log "\$ $*"; "$@"; }

# install_venv DIR REQUIREMENTS WHAT: installs the pinned REQUIREMENTS into the venv DIR, again
# only when the pins change.
install_venv() {
    local venv="$1" requirements="$2" what="$3" stamp="$1/.installed" want
    want="$(sha256sum "$requirements" | cut -d' ' -f1)"
    if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
        log "installing $what into $venv"
        command -v python3 >/dev/null || die "python3 is needed to install $what"
        rm -rf "$venv"
        python3 -m venv "$venv" || die "cannot create a venv (is python3-venv installed?)"
        "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" \
            || die "pip could not install $requirements"
        echo "$want" >"$stamp"
    fi
}

# Installs the tools into .local/tools and puts them first on PATH: cargo-lambda finds zig as
# `python3 -m ziglang`, so that venv's python must come first.
ensure_tools() {
    install_venv "$TOOLS_VENV" "$REPO/scripts/lib/tools-requirements.txt" "the build and deploy tools (cargo-lambda, zig, boto3)"
    export PATH="$TOOLS_VENV/bin:$PATH"
    command -v cargo-lambda >/dev/null || die "cargo-lambda is not on PATH after install"
}

# The template's scanner (checkov), in a venv of its own (scripts/lib/scanner-requirements.txt
# says why); EDA_SCANNER_VENV names another clone's. Not put on PATH: its pins would shadow the tools'.
SCANNER_VENV="${EDA_SCANNER_VENV:-$LOCAL/scanners}"
ensure_scanners() {
    install_venv "$SCANNER_VENV" "$REPO/scripts/lib/scanner-requirements.txt" "the template scanner (checkov)"
}

# The SAM CLI (sam; AWS_ENDPOINT_URL points it at the local stack), in a venv of its own
# (scripts/lib/sam-requirements.txt says why); EDA_SAM_VENV names another clone's. Not put on PATH:
# its pins would shadow the tools'.
SAM_VENV="${EDA_SAM_VENV:-$LOCAL/sam}"
ensure_sam() {
    install_venv "$SAM_VENV" "$REPO/scripts/lib/sam-requirements.txt" "the SAM CLI"
}

# The host's architecture in Lambda's terms (functions on LocalStack run as host processes).
host_architecture() {
    case "$(uname -m)" in
        x86_64 | amd64) echo x86_64 ;;
        aarch64 | arm64) echo arm64 ;;
        *) die "unsupported host architecture $(uname -m)" ;;
    esac
}
