#!/usr/bin/env python3
"""The criterion results under a folder (target/criterion) as a Markdown table: each benchmark's
mean time per iteration and, where it declares a throughput in elements (events), events per
second on one core.

  criterion_table.py target/criterion [--markdown FILE]
"""

import argparse
import json
import sys
from pathlib import Path


def rows(root):
    for benchmark in sorted(root.glob("**/new/benchmark.json")):
        described = json.loads(benchmark.read_text())
        estimates = json.loads((benchmark.parent / "estimates.json").read_text())
        mean_ns = estimates["mean"]["point_estimate"]
        elements = (described.get("throughput") or {}).get("Elements")
        yield described["group_id"], described.get("function_id") or "", mean_ns, elements


def duration(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.2f} {unit}"
    return f"{ns:.1f} ns"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    found = list(rows(args.root))
    if not found:
        sys.exit(f"no criterion results under {args.root}")
    lines = ["| group | benchmark | time per iteration | events per second (one core) |", "| --- | --- | --- | --- |"]
    for group, function, mean_ns, elements in found:
        rate = f"{elements / (mean_ns * 1e-9):,.0f}" if elements else ""
        lines.append(f"| {group} | {function} | {duration(mean_ns)} | {rate} |")
    table = "\n".join(lines) + "\n"
    print(table)
    if args.markdown:
        args.markdown.write_text(table)


if __name__ == "__main__":
    main()
