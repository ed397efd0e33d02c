#!/usr/bin/env bash
# Stops what scripts/local-up.sh started: LocalStack and every function process it runs.
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/localstack/stop.sh"
