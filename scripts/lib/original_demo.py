#!/usr/bin/env python3
"""The original Node.js demo's bill, "computed the same way from its code": what one paid order
makes AWS do in tgpadua/aws-eda-demo, written in the measured JSON's schema so that bill.py prices
it exactly as it prices a measured run of ours. Nobody ran the demo here; every count below is read
from its handlers (lambda/..., commit 782bffba of its repository; the layer's database.js and
event-bus.js at 945927309) and its README's console set-up (the bus, four rules and the state
machine), line by line. Durations and sizes are assumptions, labelled as such.

  original_demo.py [--write]   # prints the JSON; --write puts it in bills/original-demo.json
"""

import argparse
import json
import sys
from pathlib import Path

import aws_calls

OUT = Path(__file__).resolve().parent / "bills" / "original-demo.json"
ACCOUNT = "arn:aws:states:us-east-1:000000000000"

# Assumptions, not measurements. The CDK stack (lib/order-service-construct.js) gives each function
# lambda.Function's defaults: 128 MB, x86_64, Node.js 18. A warm invocation that awaits one or two
# AWS calls in sequence is assumed to bill 100 ms (cold starts ignored).
MEMORY_MB = 128
ARCHITECTURE = "x86_64"
BILLED_MS_PER_INVOCATION = 100
# Each invocation writes only Lambda's START, END and REPORT lines (every console.log in the
# handlers is commented out): about 250 bytes, assumed.
LOG_BYTES_PER_INVOCATION = 250
# The README's sample OrderCreated event, as the catch-all rule writes it to its log group.
SAMPLE_EVENT = {"version": "0", "id": "0be79de6-6927-ad2d-052b-f45d95ea644c", "detail-type": "OrderCreated",
                "source": "order-service", "account": "000000000000", "time": "2023-05-11T01:38:00Z",
                "region": "us-west-1", "resources": [], "detail": {"id": 101, "amount": 100}}
EVENT_BYTES = len(json.dumps(SAMPLE_EVENT, separators=(",", ":")))

# What the demo does not do, so that the comparison is fair: it is cheaper partly because of these.
DOES_NOT_DO = [
    "no outbox: create-order and update-order write the order, then PutEvents; a crash between the two "
    "loses the event (the handlers' own DISCLAIMER: \"doesn't handle atomicity between the two operations\")",
    "ignores PutEvents' FailedEntryCount (event-bus.js line 22 awaits the call and reads nothing back)",
    "no idempotency: a redelivered event is handled again (a second write, a second event, a second email)",
    "no retry policy or dead-letter queue on its rules, no read model, no sign-in, no payment function "
    "(the state machine's Choice decides), no snapshots, no tracing",
]

# Per paid order (amount <= 500). A refused order (> 500) makes the same calls: isFraud -> Payment
# Failed (a Pass state) -> Notify EventBus, then OrderCancelled instead of OrderCompleted.
EVENTS = ["OrderCreated", "PaymentSucceeded", "OrderCompleted"]


def measured():
    """One order of the demo, in the measured JSON's schema."""
    return {
        "armed_at": None,
        "orders": 1,
        "derived_from": "tgpadua/aws-eda-demo's code (scripts/lib/original_demo.py), not a measurement",
        "requests": [
            # POST /order (order-service-construct.js: orderResource.addMethod('POST', ...)).
            {"service": aws_calls.API_INVOCATIONS, "operation": "POST /order", "internal": False, "count": 1},
            # database.js line 16, PutItem: from create-order.js line 26 and update-order.js line 37.
            {"service": "dynamodb", "operation": "PutItem", "internal": False, "count": 2},
            # database.js line 30, Query (Limit 1): update-order.js line 32 reads the order back.
            {"service": "dynamodb", "operation": "Query", "internal": False, "count": 1},
            # event-bus.js line 22, PutEvents of one entry: create-order.js line 27, update-order.js line 38.
            {"service": "events", "operation": "PutEvents", "internal": False, "count": 2},
            # notification-service/index.js line 25, one Publish per event it is given (3 events).
            {"service": "sns", "operation": "Publish", "internal": False, "count": 3},
            # API Gateway -> create-order; the rules -> update-order once and notification 3 times.
            {"service": "lambda", "operation": "Invoke", "internal": True, "count": 5},
            # The rule payment-service-filtering-orders starts the state machine once.
            {"service": "stepfunctions", "operation": "StartExecution", "internal": True, "count": 1},
            # The state machine's "Notify EventBus" task (arn:aws:states:::events:putEvents).
            {"service": "events", "operation": "PutEvents", "internal": True, "count": 1},
            # The rule cw-catch-all writes each of the 3 events to the log group eda-demo-all.
            {"service": "logs", "operation": "PutLogEvents", "internal": True, "count": 3},
        ],
        "dynamodb": [
            # An item {id, amount, status, timestamp} is under 1 KB: one write unit per PutItem.
            {"table": "eda-demo-orders", "operation": "PutItem", "read_units": 0.0, "write_units": 2.0},
            # Query is eventually consistent by default: half a read unit for under 4 KB.
            {"table": "eda-demo-orders", "operation": "Query", "read_units": 0.5, "write_units": 0.0},
        ],
        "lambda": [
            {"function": name, "invocations": n, "billed_ms": n * BILLED_MS_PER_INVOCATION, "memory_mb": MEMORY_MB,
             "architecture": ARCHITECTURE}
            # create-order once (the POST), update-order once (PaymentSucceeded: rule
            # order-service-filtering-payments), notification once per event (rule notification-service).
            for name, n in [("eda-demo-create-order", 1), ("eda-demo-update-order", 1), ("eda-demo-notification", 3)]
        ],
        "states": [
            # isFraud (Choice) -> Payment Succeeded (Pass) -> Notify EventBus (Task): 3 transitions.
            {"state_machine": f"{ACCOUNT}:stateMachine:eda-demo-payment-service", "type": "STANDARD",
             "executions": 1, "state_transitions": 3},
        ],
        # OrderCreated (create-order), PaymentSucceeded (the state machine), OrderCompleted (update-order).
        "events": [{"bus": "eda-demo", "entries": len(EVENTS)}],
        "rule_deliveries": [
            {"rule": "cw-catch-all", "target": "CloudWatch log group eda-demo-all", "count": 3},
            {"rule": "payment-service-filtering-orders", "target": "Step Functions eda-demo-payment-service", "count": 1},
            {"rule": "order-service-filtering-payments", "target": "Lambda eda-demo-update-order", "count": 1},
            # source order-service or payment-service: all three events.
            {"rule": "notification-service", "target": "Lambda eda-demo-notification", "count": 3},
        ],
        "sns": [{"topic": "arn:aws:sns:us-east-1:000000000000:eda-demo-order-notification", "publishes": 3}],
        "logs": [
            {"log_group": "/aws/events/eda-demo-all", "events": 3, "bytes": 3 * EVENT_BYTES},
            {"log_group": "/aws/lambda/eda-demo-* (platform lines only)", "events": 15,
             "bytes": 5 * LOG_BYTES_PER_INVOCATION},
        ],
    }


def assumptions():
    """The assumptions behind the demo's bill, one a line, for the report."""
    return [
        f"Lambda: {MEMORY_MB} MB, {ARCHITECTURE} (the CDK defaults its stack leaves), {BILLED_MS_PER_INVOCATION} ms "
        "billed per warm invocation (assumed, not measured; cold starts left out)",
        f"logs: {LOG_BYTES_PER_INVOCATION} bytes of platform lines per invocation (assumed); each event "
        f"{EVENT_BYTES} bytes in the catch-all group (the README's sample event)",
        "items under 1 KB (one write unit), the Query eventually consistent (half a read unit)",
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help=f"write the JSON to {OUT.parent.name}/{OUT.name}, not stdout")
    args = parser.parse_args(argv)
    text = json.dumps(measured(), indent=2) + "\n"
    if args.write:
        OUT.parent.mkdir(exist_ok=True)
        OUT.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
