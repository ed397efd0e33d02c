#!/usr/bin/env python3
"""The highest rate the local stack sustains: orders through the whole flow (load-generator) at
rising rates, each for a while, until one run's POST-to-end p95 is over the bound or the run broke
a promise of the system (an order lost, stuck, refused, cancelled or ended twice). The highest
rate before that is the answer. A queue that grows during a run shows up as a p95 that grows with
the run's length, so each rate runs long enough (60 s by default) for it to show.

  sustained_rate.py [--rates 4,6,8,10,12] [--duration 60] [--max-p95 10] [--markdown OUT]

Needs the local stack up and target/debug/load-generator built (`cargo build -p e2e --bin
load-generator`). Prints a table of every rate tried; exits 1 if even the first rate failed.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOAD_GENERATOR = REPO / "target/debug/load-generator"
# What the orders get after the last POST: a run whose p95 is within bounds has ended by then.
DEADLINE_SECONDS = 120
# Between runs, for the stack to finish the last run's stragglers (notifications, views).
SETTLE_SECONDS = 10


def run_at(rate: float, duration: float) -> dict:
    """One load-generator run; its figures (its JSON)."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "figures.json"
        command = [str(LOAD_GENERATOR), "--rate", str(rate), "--duration", str(duration),
                   "--deadline", str(DEADLINE_SECONDS), "--json", str(out)]
        print("$ " + " ".join(command), flush=True)
        # Exit 1 is a broken promise, which the figures say; no figures is a failure of the tool.
        subprocess.run(command, check=False)
        if not out.exists():
            sys.exit(f"load-generator at {rate}/s wrote no figures")
        return json.loads(out.read_text())


def sustained(figures: dict, max_p95: float) -> bool:
    return not figures["broken_promises"] and figures["post_to_end_seconds"]["p95"] <= max_p95


def highest_sustained(runs: list[dict], max_p95: float):
    """The highest rate of the runs before the first that was not sustained; None if none was."""
    best = None
    for figures in runs:
        if not sustained(figures, max_p95):
            break
        best = figures["rate"]
    return best


def table(runs: list[dict], max_p95: float) -> str:
    lines = ["| orders/s | orders | ended | POST to end p50 / p95 / max | throughput | sustained |",
             "| --- | --- | --- | --- | --- | --- |"]
    for f in runs:
        latency = f["post_to_end_seconds"]
        verdict = "yes" if sustained(f, max_p95) else (
            "no: a broken promise" if f["broken_promises"] else f"no: p95 over {max_p95:g} s")
        lines.append(f"| {f['rate']:g} | {f['offered']} | {f['ended']} | {latency['p50']:.1f} / "
                     f"{latency['p95']:.1f} / {latency['max']:.1f} s | {f['throughput']:.1f}/s | {verdict} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="4,6,8,10,12", help="rising rates to try, orders/s")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load at each rate")
    parser.add_argument("--max-p95", type=float, default=10, help="POST-to-end p95 bound, seconds")
    parser.add_argument("--markdown", help="also write the table and the answer here")
    args = parser.parse_args()
    rates = [float(rate) for rate in args.rates.split(",")]
    if rates != sorted(rates):
        sys.exit("--rates must rise")
    if not LOAD_GENERATOR.exists():
        sys.exit(f"{LOAD_GENERATOR} is missing: cargo build -p e2e --bin load-generator")

    runs = []
    for rate in rates:
        if runs:
            time.sleep(SETTLE_SECONDS)
        runs.append(run_at(rate, args.duration))
        if not sustained(runs[-1], args.max_p95):
            break
    best = highest_sustained(runs, args.max_p95)
    answer = (f"highest sustained rate: {best:g} orders/s (POST-to-end p95 at most {args.max_p95:g} s, "
              f"{args.duration:g} s at each rate)" if best is not None
              else f"not even {rates[0]:g} orders/s was sustained")
    report = f"{table(runs, args.max_p95)}\n\n{answer}\n"
    print("\n" + report)
    if args.markdown:
        Path(args.markdown).write_text(report)
    if best is None:
        sys.exit(1)


if __name__ == "__main__":
    main()
