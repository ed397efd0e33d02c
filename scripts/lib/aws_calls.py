#!/usr/bin/env python3
"""Counts the AWS calls the local stack serves while a known number of orders runs through it
(issue 18): the host-lambda plugin counts them inside LocalStack (infra/localstack/host-lambda/
localstack_host_lambda/aws_calls.py) and this talks to its endpoint. Only the standard library.

  aws_calls.py start                # arm: reset the counts and start counting
  aws_calls.py read [--out FILE]    # the totals since start, as a table (and as JSON in FILE)
  aws_calls.py stop [--out FILE]    # the last totals, then stop counting

LocalStack: ${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}.
"""

import argparse
import json
import os
import sys
import urllib.error
import urllib.request

PATH = "/_eda/aws-calls"
# How the counter names a call to a deployed API (the control plane is `apigateway`).
API_INVOCATIONS = "execute-api"


def call(method: str) -> dict:
    url = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566").rstrip("/") + PATH
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        sys.exit(f"{method} {url}: HTTP {e.code} (is LocalStack running with the host-lambda plugin?)")
    except urllib.error.URLError as e:
        sys.exit(f"{method} {url}: {e.reason}")


def table(title: str, header: list[str], rows: list[list]) -> str:
    if not rows:
        return ""
    cells = [[str(c) for c in header]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    numeric = [all(isinstance(row[i], (int, float)) and not isinstance(row[i], bool) for row in rows)
               for i in range(len(header))]
    lines = [title] + [
        "  " + "  ".join(c.rjust(w) if n else c.ljust(w) for c, w, n in zip(r, widths, numeric)).rstrip()
        for r in cells
    ]
    return "\n".join(lines) + "\n"


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, bool):
        return "internal" if value else "external"
    return str(value)


def render(counts: dict) -> str:
    parts = [f"Counted since {counts.get('armed_at') or '(not armed)'}\n"]
    parts.append(table("Requests", ["service", "operation", "caller", "count", "errors"],
                       [[r["service"], r["operation"], r["internal"], r["count"], r.get("errors", 0)]
                        for r in counts.get("requests", [])]))
    parts.append(table("DynamoDB capacity", ["table", "operation", "requests", "read units", "write units"],
                       [[d["table"], d["operation"], d.get("requests", ""), d["read_units"], d["write_units"]]
                        for d in counts.get("dynamodb", [])]))
    parts.append(table("Lambda", ["function", "invocations", "billed ms", "memory MB", "init ms"],
                       [[f["function"], f["invocations"], f["billed_ms"], f["memory_mb"], round(f.get("init_ms", 0.0), 1)]
                        for f in counts.get("lambda", [])]))
    parts.append(table("Step Functions", ["state machine", "type", "executions", "state transitions", "duration ms",
                                          "billed ms"],
                       [[s["state_machine"], s.get("type") or "", s["executions"], s["state_transitions"],
                         round(s.get("duration_ms", 0.0), 1), s.get("billed_ms", "")]
                        for s in counts.get("states", [])]))
    parts.append(table("EventBridge entries", ["bus", "entries"],
                       [[e["bus"], e["entries"]] for e in counts.get("events", [])]))
    parts.append(table("EventBridge rule deliveries", ["rule", "target", "count"],
                       [[d["rule"], d["target"], d["count"]] for d in counts.get("rule_deliveries", [])]))
    parts.append(table("SNS", ["topic", "publishes"], [[s["topic"], s["publishes"]] for s in counts.get("sns", [])]))
    parts.append(table("CloudWatch Logs", ["log group", "events", "bytes"],
                       [[g["log_group"], g["events"], g["bytes"]] for g in counts.get("logs", [])]))
    return "\n".join(p for p in parts if p)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("start", help="reset the counts and start counting")
    for name, text in (("read", "print the totals since start"), ("stop", "print the last totals and stop counting")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--out", help="also write the totals as JSON to this file")
    args = parser.parse_args()

    counts = call({"start": "POST", "read": "GET", "stop": "DELETE"}[args.command])
    if args.command == "start":
        print(f"Counting AWS calls since {counts['armed_at']}")
        return
    print(render(counts), end="")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(counts, f, indent=2)
            f.write("\n")
        print(f"\nWritten to {args.out}")


if __name__ == "__main__":
    main()
