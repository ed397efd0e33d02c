#!/usr/bin/env bash
# Fuzzes what reads untrusted bytes (tests/fuzz): the order API's requests and bodies, event
# details as the bus and the store deliver them, and DynamoDB stream batches. Each target runs
# for a while with libFuzzer and AddressSanitizer, from the seeds in tests/fuzz/seeds and the
# sample events in events/samples; any panic or failed invariant stops it with the input saved.
#
# Usage: scripts/fuzz.sh [--seconds N] [TARGET...]
#   --seconds N  per target (default 20, as scripts/test.sh runs it; --long gives 300)
#   TARGET       new_order, api_request, event_detail, stream_batch (default: all)
#
# cargo-fuzz needs a nightly compiler's flags (-Zsanitizer and friends); the machine has one
# stable toolchain, so RUSTC_BOOTSTRAP=1 lets it accept them. Nothing else is built that way.
set -euo pipefail
LOG_TAG=fuzz
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

CARGO_FUZZ_VERSION=0.13.2
seconds=20 targets=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) need_value "a number of seconds" "$@"; seconds="$2"; shift ;;
        -h | --help) usage; exit 0 ;;
        -*) unknown_option "$1" ;;
        *) targets+=("$1") ;;
    esac
    shift
done
[[ ${#targets[@]} -gt 0 ]] || targets=(new_order api_request event_detail stream_batch)

if [[ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]]; then
    log "installing cargo-fuzz $CARGO_FUZZ_VERSION"
    run cargo install --quiet --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi
export RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$REPO/target/fuzz"
fuzz=(cargo fuzz run --fuzz-dir "$REPO/tests/fuzz" --release)
corpus="$REPO/target/fuzz-corpus"
seeds="$REPO/target/fuzz-seeds"
artifacts="$REPO/target/fuzz-artifacts"

# Seeds made from the repository's own examples: each sample event's detail, and API requests in
# api_request's framing ([method][path length][path][header length][header][body]).
rm -rf "$seeds" && mkdir -p "$seeds/event_detail" "$seeds/api_request"
cp -r "$REPO/tests/fuzz/seeds/." "$seeds/"
for sample in "$REPO"/events/samples/*.json; do
    python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))["detail"]))' "$sample" \
        >"$seeds/event_detail/$(basename "$sample")"
done
api_seed() { # NAME METHOD-BYTE PATH HEADER BODY
    { printf "\\x$(printf %02x "$2")\\x$(printf %02x ${#3})%s\\x$(printf %02x ${#4})%s" "$3" "$4"; cat "$5"; } \
        >"$seeds/api_request/$1"
}
api_seed post-order 1 orders "" "$REPO/tests/fuzz/seeds/new_order/with-items.json"
api_seed post-order-correlated 1 order "corr-1" "$REPO/tests/fuzz/seeds/new_order/original-demo.json"
api_seed get-order 0 orders/101 "" /dev/null
api_seed customer-orders 0 "customers/cust-42/orders" "" /dev/null

log "building the fuzz targets (release, AddressSanitizer)"
run cargo fuzz build --fuzz-dir "$REPO/tests/fuzz" --release

for target in "${targets[@]}"; do
    [[ -f "$REPO/tests/fuzz/fuzz_targets/$target.rs" ]] || die "no fuzz target $target"
    mkdir -p "$corpus/$target" "$artifacts/$target" "$seeds/$target"
    log "== $target for $seconds s"
    "${fuzz[@]}" "$target" "$corpus/$target" "$seeds/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$artifacts/$target/" \
        2>"$artifacts/$target.log" \
        || { tail -40 "$artifacts/$target.log" >&2
             die "$target failed: the input is in ${artifacts#"$REPO"/}/$target/ (reproduce: RUSTC_BOOTSTRAP=1 ${fuzz[*]} $target <file>)"; }
    grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$artifacts/$target.log" \
        | sed "s/^/[fuzz] $target: /"
done
log "no target found a failing input"
