#!/usr/bin/env bash
# Stops what scripts/local-up.sh started: LocalStack and every function process it runs
# (scripts/localstack/stop.sh).
#
# Usage: scripts/local-down.sh    (no options)
set -euo pipefail
LOG_TAG=local-down
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

no_options "$@"
exec "$REPO/scripts/localstack/stop.sh"
