#!/usr/bin/env python3
"""The least CPU LocalStack's Python process can spend on one order, and so the most orders a
second the local stack could ever sustain on this machine: what the cheapest request of each kind
an order makes costs LocalStack, times how many of them an order makes (from a measured bill).

LocalStack is one Python process: its Python code runs on one core at a time (the GIL), so one
core's second divided by the CPU an order needs is a ceiling no patch to a single service lifts.
The floor counts only requests that stay one per item at any rate, each at the price of the
cheapest request of its kind; everything else an order makes (stream polls, logs, Step Functions,
EventBridge's deliveries, metrics) is left out, so the real cost is above it.

  localstack_floor.py --bootstrap target/lambda/hello-lambda/bootstrap
                      [--bill scripts/lib/bills/measured-after.json] [--count 300] [--rounds 3]
                      [--markdown OUT]

Needs the local stack up (scripts/local-up.sh) and hello-lambda built
(`cargo lambda build --package hello-lambda`). It makes its own table and function, and deletes
them when done.
"""

import argparse
import io
import json
import sys
import time
import uuid
import zipfile
from pathlib import Path

import boto3

from cpu_by_process import cpu_seconds
from stack import read_env_file

REPO = Path(__file__).resolve().parents[2]
PID_FILE = REPO / ".local" / "localstack.pid"
# Functions fed by a stream or a schedule: at a higher rate one invocation takes many records, so
# the floor does not count them (their DynamoDB calls per record it does).
BATCHED_FUNCTIONS = ("outbox-processor", "projection", "recovery-sweep")
# DynamoDB calls that stay one per item at any rate (BatchGetItem and the sweep's Scan do not).
ITEM_CALLS = ("PutItem", "UpdateItem", "DeleteItem", "GetItem", "Query", "TransactWriteItems")
IDLE_SECONDS = 5


class LocalStackCpu:
    """LocalStack's CPU milliseconds per call of something, less what it spends idle meanwhile
    (its pollers and schedulers)."""

    def __init__(self, pid: int):
        self.pid = pid
        start, t0 = cpu_seconds(pid), time.monotonic()
        time.sleep(IDLE_SECONDS)
        self.idle_per_second = (cpu_seconds(pid) - start) / (time.monotonic() - t0)

    def per_call(self, call, count: int) -> float:
        start, t0 = cpu_seconds(self.pid), time.monotonic()
        for _ in range(count):
            call()
        used = cpu_seconds(self.pid) - start - self.idle_per_second * (time.monotonic() - t0)
        return 1000 * max(0.0, used) / count


def hello_function(lam, bootstrap: Path) -> str:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        zipped.writestr(info, bootstrap.read_bytes())
    name = f"floor-probe-{uuid.uuid4().hex[:8]}"
    lam.create_function(FunctionName=name, Runtime="provided.al2023", Handler="bootstrap",
                        Role="arn:aws:iam::000000000000:role/floor-probe", MemorySize=128,
                        Code={"ZipFile": archive.getvalue()})
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return name


def measure(env: dict, pid: int, bootstrap: Path, count: int, rounds: int) -> dict:
    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test",
                            region_name=env["AWS_REGION"])
    client = lambda service: session.client(service, endpoint_url=env["AWS_ENDPOINT_URL"])  # noqa: E731
    sts, dynamodb, lam = client("sts"), client("dynamodb"), client("lambda")
    table = f"floor-probe-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    dynamodb.get_waiter("table_exists").wait(TableName=table)
    function = hello_function(lam, bootstrap)
    try:
        get_item = lambda: dynamodb.get_item(TableName=table, Key={"pk": {"S": "absent"}})  # noqa: E731
        invoke = lambda: lam.invoke(FunctionName=function, Payload=b'{"order":"floor"}')  # noqa: E731
        for warm in (sts.get_caller_identity, get_item, invoke):  # connections, a warm function
            for _ in range(5):
                warm()
        print(f"[floor] LocalStack (pid {pid}): {IDLE_SECONDS} s idle, then {rounds} rounds of {count} calls of each kind",
              flush=True)
        cpu = LocalStackCpu(pid)
        # The least of several rounds: a busy machine only makes a call look dearer, and the floor
        # should be the cheapest LocalStack was seen to be.
        cheapest = lambda call, n: min(cpu.per_call(call, n) for _ in range(rounds))  # noqa: E731
        return {
            "idle_ms_per_second": 1000 * cpu.idle_per_second,
            "request": cheapest(sts.get_caller_identity, count),
            "dynamodb_item": cheapest(get_item, count),
            "invocation": cheapest(invoke, max(1, count // 3)),
        }
    finally:
        lam.delete_function(FunctionName=function)
        dynamodb.delete_table(TableName=table)


def per_order(bill: dict) -> dict:
    """Of the bill's requests, those the floor counts, per order."""
    orders = bill["orders"]
    dynamodb = sum(r["count"] for r in bill["requests"]
                   if r["service"] == "dynamodb" and not r["internal"] and r["operation"] in ITEM_CALLS)
    others = sum(r["count"] for r in bill["requests"] if r["service"] != "dynamodb" and not r["internal"])
    invocations = sum(f["invocations"] for f in bill["lambda"]
                      if not f["function"].endswith(BATCHED_FUNCTIONS))
    return {"dynamodb_item": dynamodb / orders, "request": others / orders, "invocation": invocations / orders}


def report(costs: dict, counts: dict, bill_name: str) -> str:
    rows = [
        ("DynamoDB item calls by the functions (PutItem, UpdateItem, GetItem, Query)", "dynamodb_item",
         "DynamoDB GetItem of an absent item"),
        ("other calls by the functions and the client (SNS, EventBridge, the API)", "request",
         "STS GetCallerIdentity (no service work)"),
        ("invocations of the functions that take one event each", "invocation",
         "Invoke of hello-lambda, warm (with its log)"),
    ]
    floor = sum(costs[key] * counts[key] for _, key, _ in rows)
    lines = [
        "| what an order makes LocalStack serve | per order | priced as | LocalStack CPU ms each | ms per order |",
        "| --- | --- | --- | --- | --- |",
    ]
    for what, key, priced in rows:
        lines.append(f"| {what} | {counts[key]:.1f} | {priced} | {costs[key]:.1f} | {costs[key] * counts[key]:.0f} |")
    lines.append(f"| **at least** | | | | **{floor:.0f}** |")
    return "\n".join(lines) + (
        f"\n\nCounts per order from `{bill_name}`; CPU from `localstack_floor.py` (LocalStack idle "
        f"meanwhile: {costs['idle_ms_per_second']:.0f} ms a second, taken off). One core's second "
        f"over this floor: at most **{1000 / floor:.1f} orders/s**, whatever else is cut.\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", type=Path, required=True, help="hello-lambda's bootstrap (host build)")
    parser.add_argument("--bill", type=Path, default=REPO / "scripts/lib/bills/measured-after.json",
                        help="a measured bill (measure_bill.py): how many of each request an order makes")
    parser.add_argument("--count", type=int, default=300, help="calls of each kind (a third as many invocations)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of calls; each kind's cheapest round counts")
    parser.add_argument("--markdown", type=Path, help="also write the table here")
    args = parser.parse_args()
    if not args.bootstrap.is_file():
        sys.exit(f"{args.bootstrap} is missing: cargo lambda build --package hello-lambda")
    if not PID_FILE.exists():
        sys.exit(f"{PID_FILE} is missing: run scripts/local-up.sh first")
    costs = measure(read_env_file(), int(PID_FILE.read_text()), args.bootstrap, args.count, args.rounds)
    try:
        bill_name = str(args.bill.resolve().relative_to(REPO))
    except ValueError:
        bill_name = str(args.bill)
    text = report(costs, per_order(json.loads(args.bill.read_text())), bill_name)
    print(text)
    if args.markdown:
        args.markdown.write_text(text)


if __name__ == "__main__":
    main()
