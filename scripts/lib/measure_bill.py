#!/usr/bin/env python3
"""Measures what orders cost in AWS calls: places a known number of orders through the local
stack's API, with LocalStack counting every call it serves (the host-lambda plugin's
/_eda/aws-calls, read by aws_calls.py), waits until the flow is quiet, and writes the totals with
the number of orders: the input of bill.py, capacity.py and cost_report.py.

  measure_bill.py [--orders 20] [--rate 1] [--out target/bill/measured.json]

Every order is paid (an amount under the fraud threshold), placed by one signed-in customer at a
rate the local stack keeps up with, so that no retry of an overloaded stack is counted as the
design's. The recovery sweep's schedule is paused meanwhile (and resumed, whatever happens): it
costs per run, not per order. What else LocalStack does on its own (alarm evaluation, queue
metrics) is counted, and bill.py prices only what an order causes.
"""

import argparse
import json
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import boto3

import aws_calls
from stack import read_env_file

REPO = Path(__file__).resolve().parents[2]
# The flow is over once none of these counts moved for this long.
QUIET_SECONDS = 15
GIVE_UP_SECONDS = 600


def flow_counts(totals: dict) -> tuple:
    """What only the orders move: function invocations, DynamoDB calls and bus entries."""
    return (
        sum(f["invocations"] for f in totals.get("lambda", [])),
        sum(r["count"] for r in totals.get("requests", []) if r["service"] == "dynamodb"),
        sum(e["entries"] for e in totals.get("events", [])),
    )


def post_order(api: str, token: str, order_id: str, amount: int) -> None:
    request = urllib.request.Request(
        f"{api}/orders", method="POST", data=json.dumps({"id": order_id, "amount": amount}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        if response.status != 202:
            sys.exit(f"POST /orders {order_id}: HTTP {response.status}")


def sweep_schedules(events, stack: str) -> list[str]:
    rules = events.list_rules(NamePrefix=stack)["Rules"]
    return [rule["Name"] for rule in rules if rule.get("ScheduleExpression") and rule["State"] == "ENABLED"]


def wait_until_quiet(orders: int) -> dict:
    start, last, since = time.monotonic(), None, time.monotonic()
    while True:
        totals = aws_calls.call("GET")
        counts = flow_counts(totals)
        if counts != last:
            last, since = counts, time.monotonic()
            print(f"[bill] invocations {counts[0]}, DynamoDB calls {counts[1]}, bus entries {counts[2]}",
                  flush=True)
        elif time.monotonic() - since >= QUIET_SECONDS:
            return totals
        if time.monotonic() - start > GIVE_UP_SECONDS:
            sys.exit(f"the flow of {orders} orders was not quiet after {GIVE_UP_SECONDS} s")
        time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=20)
    parser.add_argument("--rate", type=float, default=1.0, help="orders per second")
    parser.add_argument("--out", default=str(REPO / "target/bill/measured.json"))
    args = parser.parse_args()
    env = read_env_file()
    api, stack = env["API"], env["STACK_NAME"]
    customer = f"bill-{uuid.uuid4().hex[:8]}"
    token = subprocess.run([str(REPO / "scripts/token.sh"), customer], check=True, capture_output=True,
                           text=True).stdout.strip()
    events = boto3.client("events", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"],
                          aws_access_key_id="test", aws_secret_access_key="test")
    paused = sweep_schedules(events, stack)
    for rule in paused:
        print(f"[bill] pausing the schedule {rule} while measuring", flush=True)
        events.disable_rule(Name=rule)
    try:
        aws_calls.call("POST")
        print(f"[bill] counting; placing {args.orders} orders as {customer} at {args.rate}/s", flush=True)
        for n in range(args.orders):
            post_order(api, token, f"bill-{n:04d}", 10 + n % 90)
            time.sleep(1 / args.rate)
        totals = wait_until_quiet(args.orders)
        aws_calls.call("DELETE")
    finally:
        for rule in paused:
            events.enable_rule(Name=rule)
            print(f"[bill] the schedule {rule} runs again", flush=True)
    totals["orders"] = args.orders
    totals["note"] = (f"{args.orders} paid orders placed at {args.rate}/s through the local stack's API "
                      f"by scripts/lib/measure_bill.py; the recovery sweep's schedule paused")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(totals, indent=2) + "\n")
    print(f"[bill] {args.orders} orders: the counts are in {out}")


if __name__ == "__main__":
    main()
