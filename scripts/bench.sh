#!/usr/bin/env bash
# The benchmarks, all of them, into one report (target/bench/report.md; BENCHMARKS.md keeps the
# latest full one). Needs the local stack up (scripts/local-up.sh).
#
# Usage: scripts/bench.sh [--quick]
#   (none)    full run (about 30 minutes on 2 cores): domain and outbox benches; release builds for
#             arm64 (sizes) and for this machine (redeployed to the local stack); init time, warm
#             latency and peak memory of every function beside a hello-world baseline; orders
#             through the whole flow at 4/s (what the local stack sustains here) and at 20/s (the
#             target) for 60 s each, with the CPU time of every process and a profile of
#             LocalStack. Rewrites the measured part of BENCHMARKS.md.
#   --quick   every benchmark briefly, with the debug build the local stack runs (the criterion
#             benches too, which are slow to build optimised), so that they cannot rot
#             (scripts/test.sh runs this). Figures from it mean nothing; nothing is compared with
#             a target in either mode.
# Either mode fails, after writing its report, if an order of a load run was lost, stuck, refused,
# cancelled or ended twice (load-generator's promises).
set -euo pipefail
LOG_TAG=bench
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

quick=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) quick=1 ;;
        -h | --help) usage; exit 0 ;;
        *) unknown_option "$1" ;;
    esac
    shift
done

cd "$REPO"
[[ -f "$STACK_ENV" ]] || die "no deployed stack ($STACK_ENV is missing): run scripts/local-up.sh first"
curl -sf "$LOCAL_ENDPOINT/_localstack/health" >/dev/null || die "LocalStack is not running: run scripts/local-up.sh first"
ensure_tools
out="$REPO/target/bench"
rm -rf "$out" "$REPO/target/criterion"
mkdir -p "$out"
started=$SECONDS

# How the local stack is set up for these runs (scripts/local-up.sh --lambda-concurrency).
AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test "$TOOLS_VENV/bin/python" scripts/lib/stack.py concurrency \
    --stack-name "$LOCAL_STACK_NAME" --region "$LOCAL_REGION" --endpoint-url "$LOCAL_ENDPOINT" \
    --markdown "$out/concurrency.md"
account_concurrency="$(grep -o 'concurrency: [0-9]*' "$out/concurrency.md" | grep -o '[0-9]*$')"
if [[ $quick == 0 && $account_concurrency -ge 1000 ]]; then
    log "WARNING: LocalStack's Lambda concurrency is not capped ($account_concurrency): at 20 orders/s it may run"
    log "out of threads and fall over. For figures like BENCHMARKS.md's, start the stack with"
    log "scripts/local-down.sh && scripts/local-up.sh --release --lambda-concurrency 40"
fi

if [[ $quick == 1 ]]; then
    mode="quick (debug build, a few iterations: checks that the benchmarks run, figures not meaningful)"
    bench_profile=dev criterion_args=(--quick --noplot)
    cold_starts=3 invocations=20
    # name rate duration deadline: the rate the local stack sustains, then the rate asked for
    sustained=(sustained 4 5 120) target=(target 8 5 120)
else
    mode="full"
    bench_profile=bench criterion_args=(--noplot)
    cold_starts=20 invocations=1000
    sustained=(sustained 4 60 180) target=(target 20 60 600)
fi

# Orders through the whole flow at RATE per second for DURATION seconds (load-generator), with
# the CPU time of every process meanwhile and a profile of LocalStack's Python process in the
# middle of the load: writes $out/NAME.md, NAME-cpu.md and NAME-profile.md. A run that broke a
# promise is named in $broken, and the script fails once the report is written.
broken=()
flow() {
    local name="$1" rate="$2" duration="$3" deadline="$4" sampler profiler
    log "== orders through the whole flow: $rate per second for $duration s ($name)"
    "$TOOLS_VENV/bin/python" scripts/lib/cpu_by_process.py --until-signal \
        --orders "$((rate * duration))" --markdown "$out/$name-cpu.md" &
    sampler=$!
    (sleep "$((duration / 4))" && exec "$TOOLS_VENV/bin/python" scripts/lib/localstack_profile.py \
        --seconds "$((duration / 2 > 2 ? duration / 2 : 2))" --markdown "$out/$name-profile.md") &
    profiler=$!
    if ! run target/debug/load-generator --rate "$rate" --duration "$duration" --deadline "$deadline" \
        --markdown "$out/$name.md"; then
        broken+=("$name ($rate orders/s)")
        [[ -s "$out/$name.md" ]] || echo "load-generator failed before its report" >"$out/$name.md"
    fi
    kill -TERM "$sampler"
    wait "$sampler" || die "the CPU sampler failed"
    wait "$profiler" || die "the LocalStack profile failed"
}

log "== CPU work per event: criterion benches of the domain and the outbox"
run cargo bench --locked --profile "$bench_profile" -p domain -p outbox-processor --bench domain --bench relay \
    -- "${criterion_args[@]}"
run "$TOOLS_VENV/bin/python" scripts/lib/criterion_table.py target/criterion --markdown "$out/criterion.md"

if [[ $quick == 1 ]]; then
    log "== artifact sizes: skipped in --quick (scripts/test.sh --release checks the arm64 build)"
    echo "(not measured in quick mode)" >"$out/sizes.md"
    log "== the functions as the local stack runs them (debug build) and the baseline"
    run scripts/build.sh --with-baseline --test-hooks
else
    log "== artifact sizes: release build for AWS (arm64)"
    run scripts/build.sh --release --arch arm64
    run "$TOOLS_VENV/bin/python" scripts/lib/artifacts.py sizes --artifacts target/lambda \
        --functions "$FUNCTIONS" --markdown "$out/sizes.md"
    log "== release build for this machine, deployed to the local stack"
    run scripts/build.sh --release --with-baseline
    run scripts/deploy.sh --local --skip-build
fi

log "== init time, warm invocations and peak memory of each function (lambda-bench)"
run cargo run --locked -p e2e --bin lambda-bench -- \
    --artifacts target/lambda --baseline target/lambda/hello-lambda/bootstrap \
    --cold-starts "$cold_starts" --invocations "$invocations" --markdown "$out/functions.md"

run cargo build --locked -p e2e --bin load-generator
flow "${sustained[@]}"
log "== where the time went: the payment workflow's executions at the sustained rate"
run "$TOOLS_VENV/bin/python" scripts/lib/workflow_breakdown.py \
    --executions "$((sustained[1] * sustained[2]))" --markdown "$out/workflow.md"
flow "${target[@]}"

commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
[[ -z "$(git status --porcelain 2>/dev/null)" ]] || commit+=" (with uncommitted changes)"
{
    echo "Run on $(date -u +%Y-%m-%d) at commit $commit, mode: $mode, in $((SECONDS - started)) s."
    echo
    echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores," \
        "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) memory, Linux $(uname -r)," \
        "$(rustc --version | cut -d' ' -f1-2), LocalStack $("$VENV/bin/pip" show localstack-core 2>/dev/null | sed -n 's/^Version: //p')."
    echo
    echo "Local stack: $(cat "$out/concurrency.md")"
    echo
    echo "### CPU work per event (criterion, one core)"
    echo
    cat "$out/criterion.md"
    echo
    echo "### Functions: init time, warm invocations, peak memory (lambda-bench)"
    echo
    cat "$out/functions.md"
    echo
    echo "### Zipped arm64 release artifacts"
    echo
    cat "$out/sizes.md"
    echo
    for run_name in "${target[0]}" "${sustained[0]}"; do
        if [[ $run_name == "${target[0]}" ]]; then
            echo "### The whole flow on the local stack at the rate asked for: ${target[1]} orders/s for ${target[2]} s"
        else
            echo "### The whole flow at a rate the local stack sustains: ${sustained[1]} orders/s for ${sustained[2]} s"
        fi
        echo
        cat "$out/$run_name.md"
        echo
        echo "CPU time by process during that run:"
        echo
        cat "$out/$run_name-cpu.md"
        echo
        echo "What LocalStack's Python process was doing (in the middle of that run):"
        echo
        cat "$out/$run_name-profile.md"
        echo
    done
    echo "### The payment workflow on LocalStack's Step Functions, at the sustained rate"
    echo
    cat "$out/workflow.md"
} >"$out/report.md"

if [[ $quick == 0 ]]; then
    # The report replaces what lies between the markers; the analysis around it is written by hand.
    "$TOOLS_VENV/bin/python" - "$REPO/BENCHMARKS.md" "$out/report.md" <<'EOF'
import sys
from pathlib import Path
doc, report = Path(sys.argv[1]), Path(sys.argv[2]).read_text()
begin, end = "<!-- bench.sh: begin -->", "<!-- bench.sh: end -->"
text = doc.read_text()
if begin not in text or end not in text:
    sys.exit(f"{doc} lacks the {begin} / {end} markers")
head, rest = text.split(begin, 1)
doc.write_text(head + begin + "\n" + report + rest[rest.index(end):])
EOF
    log "BENCHMARKS.md updated"
fi
cat "$out/report.md"
log "report: $out/report.md ($((SECONDS - started)) s)"
((${#broken[@]} == 0)) || die "a load run broke a promise of the system: ${broken[*]} (see its Broken promises above)"
