#!/usr/bin/env python3
"""What one order costs on AWS, from what a run counted: a measured JSON (every AWS call of N
orders, from the LocalStack hook; the schema is in BENCHMARKS.md's cost section) turned into a
per-order bill at list prices (prices.py), one line per thing AWS charges for. So that the bill is
read off a measurement, not guessed, and so that what is free is seen to be counted: calls AWS
does not charge for are listed at $0 with the reason.

  bill.py MEASURED.json [--markdown] [--json OUT]
"""

import argparse
import json
import math
import sys
from collections import namedtuple

import aws_calls
import prices
from prices import MILLION

# One line of a bill: `per_order` units at `unit_price` dollars each; `note` says why when it is free.
Line = namedtuple("Line", "service what per_order unit unit_price note", defaults=("",))

# Calls billed by what they do (units, invocations, entries), in the lines below, not per call.
BILLED_ELSEWHERE = {"dynamodb", "lambda", "stepfunctions", "states", "events", "sns", "logs"}
# The template deploys arm64 (infra/template.yaml, parameter Architecture, default arm64).
DEFAULT_ARCHITECTURE = "arm64"


def per_million(line):
    """Dollars per million orders for one line."""
    return line.per_order * line.unit_price * MILLION


def total(lines):
    return sum(per_million(line) for line in lines)


def external_requests(measured, service):
    """Calls to `service` the system made itself (not LocalStack's own between services)."""
    return sum(r["count"] for r in measured.get("requests", []) if r["service"] == service and not r.get("internal"))


def api_gateway(measured, orders):
    counted = external_requests(measured, aws_calls.API_INVOCATIONS)
    if counted:
        return [Line("API Gateway", "REST API requests", counted / orders, "request", prices.API_GATEWAY_REST_REQUEST)]
    return [Line("API Gateway", "REST API requests (none counted: one POST per order assumed)", 1.0, "request",
                 prices.API_GATEWAY_REST_REQUEST)]


def lambda_lines(measured, orders):
    lines = []
    for f in measured.get("lambda", []):
        arch = f.get("architecture", DEFAULT_ARCHITECTURE)
        gb_seconds = f["billed_ms"] / 1000 * f["memory_mb"] / 1024
        lines.append(Line("Lambda", f"{f['function']}: invocations", f["invocations"] / orders, "request", prices.LAMBDA_REQUEST))
        lines.append(Line("Lambda", f"{f['function']}: duration ({f['memory_mb']} MB, {arch})", gb_seconds / orders,
                          "GB-s", prices.LAMBDA_GB_SECOND[arch]))
    return lines


def dynamodb(measured, orders):
    units = {}
    for d in measured.get("dynamodb", []):
        w, r = units.get(d["table"], (0.0, 0.0))
        units[d["table"]] = (w + d.get("write_units", 0.0), r + d.get("read_units", 0.0))
    lines = []
    for table, (w, r) in sorted(units.items()):
        if w:
            lines.append(Line("DynamoDB", f"{table}: write units", w / orders, "WRU", prices.DYNAMODB_WRITE_UNIT))
        if r:
            lines.append(Line("DynamoDB", f"{table}: read units", r / orders, "RRU", prices.DYNAMODB_READ_UNIT))
    streams = sum(r["count"] for r in measured.get("requests", []) if r["service"] == "dynamodbstreams")
    if streams:
        lines.append(Line("DynamoDB", "stream reads (GetRecords...)", streams / orders, "request", 0.0,
                          "free: a stream read by a Lambda trigger is not charged (DynamoDB pricing)"))
    return lines


def express_gb_seconds(machine):
    """A machine's Express executions' billed GB-s, at least 64 MB each: `billed_ms` when counted
    (each execution rounded up to 100 ms, as AWS bills them), else every execution taken at the mean
    duration rounded up, which is off when the durations straddle a 100 ms step."""
    runs = machine["executions"]
    if not runs:
        return 0.0
    memory_mb = max(machine.get("memory_mb", 0), prices.STEP_FUNCTIONS_EXPRESS_MIN_MB)
    if "billed_ms" in machine:
        return machine["billed_ms"] / 1000 * memory_mb / 1024
    step = prices.STEP_FUNCTIONS_EXPRESS_BILLING_MS
    billed_ms = math.ceil(machine["duration_ms"] / runs / step) * step
    return runs * billed_ms / 1000 * memory_mb / 1024


def step_functions(measured, orders):
    lines = []
    for m in measured.get("states", []):
        name = m["state_machine"].rsplit(":", 1)[-1]
        if m.get("type", "STANDARD").upper() == "EXPRESS":
            lines.append(Line("Step Functions", f"{name}: Express requests", m["executions"] / orders, "request",
                              prices.STEP_FUNCTIONS_EXPRESS_REQUEST))
            lines.append(Line("Step Functions", f"{name}: Express duration", express_gb_seconds(m) / orders, "GB-s",
                              prices.STEP_FUNCTIONS_EXPRESS_GB_SECOND))
        else:
            lines.append(Line("Step Functions", f"{name}: Standard state transitions", m["state_transitions"] / orders,
                              "transition", prices.STEP_FUNCTIONS_STANDARD_TRANSITION))
    return lines


# The default bus carries the events AWS services send of themselves (Step Functions' execution
# status changes): AWS does not charge for those. The system's own events go to its own bus.
AWS_SERVICE_EVENTS_BUS = "default"


def eventbridge(measured, orders):
    lines = []
    for b in measured.get("events", []):
        if b["bus"] == AWS_SERVICE_EVENTS_BUS:
            lines.append(Line("EventBridge", f"{b['bus']}: AWS service events (execution status changes)",
                              b["entries"] / orders, "event", 0.0, "free: events AWS services send are not charged"))
        else:
            lines.append(Line("EventBridge", f"{b['bus']}: events put (each entry under 64 KB assumed)",
                              b["entries"] / orders, "event", prices.EVENTBRIDGE_CUSTOM_EVENT))
    delivered = sum(d["count"] for d in measured.get("rule_deliveries", []))
    if delivered:
        lines.append(Line("EventBridge", "rule deliveries to targets", delivered / orders, "delivery", 0.0,
                          "free: delivery to an AWS service target is included (EventBridge pricing)"))
    return lines


def sns(measured, orders):
    return [Line("SNS", f"{t['topic'].rsplit(':', 1)[-1]}: publishes", t["publishes"] / orders, "publish",
                 prices.SNS_PUBLISH) for t in measured.get("sns", [])]


def logs(measured, orders):
    return [Line("CloudWatch Logs", f"{g['log_group']}: ingested", g["bytes"] / prices.GIB / orders, "GB",
                 prices.CLOUDWATCH_LOGS_INGESTED_GB) for g in measured.get("logs", [])]


def sqs(measured, orders):
    counted = external_requests(measured, "sqs")
    return [Line("SQS", "requests", counted / orders, "request", prices.SQS_REQUEST)] if counted else []


def uncounted_elsewhere(measured, orders):
    """Calls counted that no line above prices: LocalStack's own, and services without a price here."""
    internal = sum(r["count"] for r in measured.get("requests", []) if r.get("internal"))
    lines = []
    if internal:
        lines.append(Line("(between services)", "calls one AWS service made to another", internal / orders, "call", 0.0,
                          "billed where they land (the Lambda, Step Functions, EventBridge lines)"))
    priced = BILLED_ELSEWHERE | {aws_calls.API_INVOCATIONS, "sqs", "dynamodbstreams"}
    other = {}
    for r in measured.get("requests", []):
        if not r.get("internal") and r["service"] not in priced:
            other[r["service"]] = other.get(r["service"], 0) + r["count"]
    for service, count in sorted(other.items()):
        lines.append(Line(service, "calls", count / orders, "call", 0.0, "no price in prices.py: not billed here"))
    return lines


def bill(measured):
    """Every line of one order's bill, from a measured run."""
    orders = measured["orders"]
    return (api_gateway(measured, orders) + lambda_lines(measured, orders) + dynamodb(measured, orders)
            + step_functions(measured, orders) + eventbridge(measured, orders) + sns(measured, orders)
            + logs(measured, orders) + sqs(measured, orders) + uncounted_elsewhere(measured, orders))


def by_service(lines):
    """Dollars per million orders, by service, in the order the services first appear."""
    services = {}
    for line in lines:
        services[line.service] = services.get(line.service, 0.0) + per_million(line)
    return services


def number(x):
    """A count to 3 significant figures, without exponent for the sizes a bill holds."""
    return "0" if x == 0 else f"{x:.3g}" if x >= 0.001 else f"{x:.3e}"


def price_text(line):
    if line.unit_price == 0:
        return "free"
    if line.unit in ("GB-s", "GB"):
        return f"${line.unit_price:.10f}".rstrip("0") + f" per {line.unit}"
    return f"${line.unit_price * MILLION:.4g} per million"


def markdown(lines):
    rows = ["| service | what | per order | unit price | $ per million orders |", "| --- | --- | --- | --- | --- |"]
    for line in lines:
        what = f"{line.what} — {line.note}" if line.note else line.what
        rows.append(f"| {line.service} | {what} | {number(line.per_order)} {line.unit} | {price_text(line)} | "
                    f"{per_million(line):.2f} |")
    rows.append(f"| **total** | | | | **{total(lines):.2f}** |")
    return "\n".join(rows)


def as_json(lines):
    return {"prices_read": prices.READ, "region": prices.REGION,
            "lines": [dict(line._asdict(), per_million_orders=round(per_million(line), 6)) for line in lines],
            "total_per_million_orders": round(total(lines), 6)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("measured", help="a measured run's JSON")
    parser.add_argument("--markdown", action="store_true", help="print the bill as a markdown table")
    parser.add_argument("--json", metavar="OUT", help="write the bill as JSON to OUT")
    args = parser.parse_args(argv)
    with open(args.measured) as f:
        lines = bill(json.load(f))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(as_json(lines), f, indent=2)
    print(markdown(lines) if args.markdown else f"${total(lines):.2f} per million orders ({prices.REGION}, prices of {prices.READ})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
