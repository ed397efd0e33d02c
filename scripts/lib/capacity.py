#!/usr/bin/env python3
"""How many orders a second the system sustains on AWS with a new account's default quotas, which
hop gives first, and what a flash sale does: from a measured run's per-order counts (the measured
JSON bill.py reads) and the template's settings. So that "it scales" is a number with its reason,
and "nothing is lost" is read from the template: every place where work waits must have a retry
and a dead-letter queue, and the check fails when one has none.

  capacity.py MEASURED.json infra/template.yaml [--markdown]
"""

import argparse
import math
import sys
from collections import namedtuple

import aws_calls
import bill
import quotas
from template_check import report, resources_of_type

STACK = "eda-demo"
# A hop: at most `rate` orders/s sustained, after a burst of `burst` orders (a token bucket;
# 0: none); `on_path`: whether an order waits on it (the email subscriber is a side effect);
# `new_stack_rate`: what it serves at once on a stack just deployed, where that is less (a new
# table's starting throughput; None: the same).
Hop = namedtuple("Hop", "name rate burst quota waits on_path new_stack_rate", defaults=(0.0, "", "", True, None))
WaitingPlace = namedtuple("WaitingPlace", "resource kind retry dead_letters")
# Waiting places that are not an order's: what happens there loses no order. Printed with the reason.
OUT_OF_THE_FLOW = {
    "CatchAllRule": "a copy of every event into a log group; the event store and the archive keep the events",
    "RecoverySweepFunction": "the scheduled sweep: a run that fails is replaced by the next one",
}
STREAM_EVENT_TYPES = {"DynamoDB", "Kinesis"}
WRITE_OPERATIONS_INSERTING = {"PutItem"}


# ---------------------------------------------------------------- the template's settings

def name_of(value):
    """A resource's name as deployed from its Fn::Sub (the stack named eda-demo), or a logical name
    from a Ref or Fn::GetAtt."""
    if isinstance(value, dict):
        if "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            return (sub if isinstance(sub, str) else sub[0]).replace("${AWS::StackName}", STACK)
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            att = value["Fn::GetAtt"]
            return att[0] if isinstance(att, list) else att.split(".")[0]
    return value


def parameter_default(template, value):
    """A number the template sets, through a parameter's default; a `!If [cond, !Ref P, NoValue]`
    is read as P's default, and 0 as none (the template's convention for reservations)."""
    if isinstance(value, dict) and "Fn::If" in value:
        value = value["Fn::If"][1]
    if isinstance(value, dict) and "Ref" in value:
        value = (template.get("Parameters") or {}).get(value["Ref"], {}).get("Default")
    return None if value in (None, 0, "0") else float(value)


def functions(template):
    return resources_of_type(template, "AWS::Serverless::Function")


def stream_consumers(template):
    """Each stream mapping: function name, the table, BatchSize, ParallelizationFactor (default 1)."""
    consumers = []
    for logical, f in functions(template).items():
        props = f.get("Properties", {})
        for event in (props.get("Events") or {}).values():
            if event.get("Type") in STREAM_EVENT_TYPES:
                p = event["Properties"]
                table = template["Resources"].get(name_of(p["Stream"]), {}).get("Properties", {})
                consumers.append({"function": name_of(props.get("FunctionName", logical)),
                                  "table": name_of(table.get("TableName")), "batch_size": int(p.get("BatchSize", 100)),
                                  "parallelization": int(p.get("ParallelizationFactor", 1)),
                                  "max_record_age": p.get("MaximumRecordAgeInSeconds", -1)})
    return consumers


def reserved_concurrency(template):
    """Concurrency reserved per function name, as the template's defaults deploy it."""
    reserved = {}
    for logical, f in functions(template).items():
        props = f.get("Properties", {})
        n = parameter_default(template, props.get("ReservedConcurrentExecutions"))
        if n:
            reserved[name_of(props.get("FunctionName", logical))] = n
    return reserved


def retry_text(policy, attempts, age):
    policy = policy or {}
    return f"{policy.get(attempts, 'default')} retries, up to {policy.get(age, 'default')} s old"


def dead_letters(event_props):
    destination = (event_props.get("DestinationConfig") or {}).get("OnFailure", {}).get("Destination")
    return name_of(destination or (event_props.get("DeadLetterConfig") or {}).get("Arn"))


def waiting_places(template):
    """Every place the template makes work wait and be retried: stream mappings, rules' deliveries
    to their targets, and asynchronous invocations of the functions rules invoke."""
    places = []
    for logical, r in template.get("Resources", {}).items():
        props = r.get("Properties", {})
        if r.get("Type") == "AWS::Events::Rule":
            for target in props.get("Targets", []):
                places.append(WaitingPlace(logical, "rule delivery",
                                           retry_text(target.get("RetryPolicy"), "MaximumRetryAttempts", "MaximumEventAgeInSeconds"),
                                           dead_letters(target)))
        if r.get("Type") not in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            continue
        invoked_async = False
        for event in (props.get("Events") or {}).values():
            p = event.get("Properties", {})
            if event.get("Type") in STREAM_EVENT_TYPES:
                places.append(WaitingPlace(logical, "stream shard",
                                           retry_text(p, "MaximumRetryAttempts", "MaximumRecordAgeInSeconds"), dead_letters(p)))
            elif event.get("Type") in ("EventBridgeRule", "Schedule"):
                invoked_async = True
                places.append(WaitingPlace(logical, "rule delivery",
                                           retry_text(p.get("RetryPolicy"), "MaximumRetryAttempts", "MaximumEventAgeInSeconds"),
                                           dead_letters(p)))
        if invoked_async and r["Type"] == "AWS::Serverless::Function":
            config = props.get("EventInvokeConfig") or {}
            queue = dead_letters(config) or name_of((props.get("DeadLetterQueue") or {}).get("TargetArn"))
            places.append(WaitingPlace(logical, "async invocation queue",
                                       retry_text(config, "MaximumRetryAttempts", "MaximumEventAgeInSeconds"), queue))
    return places


def places_without_dead_letters(places):
    """The waiting places of the order flow with no dead-letter queue: each is a way to lose work."""
    return [p for p in places if not p.dead_letters and p.resource not in OUT_OF_THE_FLOW]


# ---------------------------------------------------------------- per-order counts

def per_order(measured):
    """The measured counts, per order."""
    n = measured["orders"]
    api = sum(r["count"] for r in measured.get("requests", []) if r["service"] == aws_calls.API_INVOCATIONS and not r.get("internal"))
    tables = {}
    for d in measured.get("dynamodb", []):
        t = tables.setdefault(d["table"], {"wru": 0.0, "rru": 0.0, "inserts": 0.0})
        t["wru"] += d.get("write_units", 0.0) / n
        t["rru"] += d.get("read_units", 0.0) / n
        if d["operation"] in WRITE_OPERATIONS_INSERTING:
            t["inserts"] += d.get("write_units", 0.0) / n  # >= 1 unit per item: an upper bound of records
    return {
        "api": (api / n) or 1.0,
        "lambda": {f["function"]: (f["invocations"] / n, f["billed_ms"] / 1000 / max(f["invocations"], 1))
                   for f in measured.get("lambda", [])},
        "tables": tables,
        # The events AWS services put of themselves do not count against the account's PutEvents.
        "entries": sum(b["entries"] for b in measured.get("events", []) if b["bus"] != bill.AWS_SERVICE_EVENTS_BUS) / n,
        "deliveries": sum(d["count"] for d in measured.get("rule_deliveries", [])) / n,
        "machines": [(m.get("type", "STANDARD").upper(), m["executions"] / n, m.get("state_transitions", 0) / n)
                     for m in measured.get("states", [])],
        "publishes": sum(t["publishes"] for t in measured.get("sns", [])) / n,
    }


# ---------------------------------------------------------------- ceilings

def divided(limit, per):
    return limit / per if per else math.inf


def api_hops(template, counts):
    params = template.get("Parameters") or {}
    rate = float(params.get("ApiThrottleRate", {}).get("Default", quotas.API_GATEWAY_ACCOUNT_RPS))
    burst = float(params.get("ApiThrottleBurst", {}).get("Default", 0))
    client = "the client: refused with 429 before anything is stored (not lost: never accepted; a client retries)"
    return [Hop("API Gateway stage throttle", divided(rate, counts["api"]), divided(burst, counts["api"]),
                "the template's ApiThrottleRate/ApiThrottleBurst (defaults)", client),
            Hop("API Gateway, account", divided(quotas.API_GATEWAY_ACCOUNT_RPS, counts["api"]),
                divided(quotas.API_GATEWAY_ACCOUNT_BURST, counts["api"]), "10,000 requests/s, burst 5,000", client)]


def lambda_hops(template, counts, consumers):
    """The account's concurrency shared by the functions without a reservation (concurrency needed
    per order/s = sum of invocations x seconds), each reservation on its own, and the invocation rate.
    Stream consumers are left to their own hop: they run one batch per shard and factor."""
    reserved = reserved_concurrency(template)
    streamed = {c["function"] for c in consumers}
    shared = sum(n * s for f, (n, s) in counts["lambda"].items() if f not in reserved and f not in streamed)
    waits = "its caller: the client (create-order), the stream, the async queue or the workflow's retry"
    hops = [Hop("Lambda concurrency, account", divided(quotas.LAMBDA_CONCURRENCY - sum(reserved.values()), shared), 0.0,
                "1,000 concurrent executions, minus reservations", waits)]
    for f, limit in sorted(reserved.items()):
        n, s = counts["lambda"].get(f, (0, 0))
        hops.append(Hop(f"Lambda reserved concurrency, {f}", divided(limit, n * s), 0.0, f"{limit:g} reserved", waits))
    invocations = sum(n for n, _ in counts["lambda"].values())
    hops.append(Hop("Lambda invocations/s, account", divided(quotas.LAMBDA_CONCURRENCY * quotas.LAMBDA_INVOCATIONS_PER_CONCURRENCY, invocations),
                    0.0, "10 x concurrency per second", waits))
    return hops


def dynamodb_hops(counts):
    """Sustained: the table's quota. At once, on a new stack: the starting throughput, which doubles
    with each 30 minutes of traffic; a flash sale on a new stack meets that one."""
    return [Hop(f"DynamoDB {table}", min(divided(quotas.DYNAMODB_TABLE_WRU, t["wru"]), divided(quotas.DYNAMODB_TABLE_RRU, t["rru"])),
                0.0, "per on-demand table: 40,000 WRU/s, 40,000 RRU/s (a new table starts at 4,000 and 12,000)",
                "the writer's SDK retries, then its caller", True,
                min(divided(quotas.DYNAMODB_NEW_TABLE_WRU, t["wru"]), divided(quotas.DYNAMODB_NEW_TABLE_RRU, t["rru"])))
            for table, t in sorted(counts["tables"].items())]


def on_a_new_stack(all_hops):
    """The hops as a stack just deployed has them."""
    return [h._replace(rate=h.new_stack_rate) if h.new_stack_rate is not None else h for h in all_hops]


def shards(table_wru=quotas.DYNAMODB_NEW_TABLE_WRU):
    """Assumed: a new on-demand table's stream has one shard per partition, and it starts with as
    many partitions as its starting writes need at 1,000 WRU/s each: 4."""
    return math.ceil(table_wru / quotas.DYNAMODB_PARTITION_WRU)


def stream_hops(counts, consumers):
    """shards x ParallelizationFactor batches at once, each of BatchSize records taking the
    consumer's measured mean invocation time (assumed to hold for a full batch: optimistic)."""
    hops = []
    for c in consumers:
        _, seconds = counts["lambda"].get(c["function"], (0, 0))
        records = counts["tables"].get(c["table"], {}).get("inserts", 0)
        rate = divided(shards() * c["parallelization"] * c["batch_size"], seconds * records) if seconds else math.inf
        hops.append(Hop(f"stream consumer {c['function']}", rate, 0.0,
                        f"{shards()} shards x ParallelizationFactor {c['parallelization']} x BatchSize {c['batch_size']}",
                        f"the stream shard (kept 24 h; the mapping parks records older than {c['max_record_age']} s)"))
    return hops


def eventbridge_hops(counts):
    return [Hop("EventBridge PutEvents", divided(quotas.EVENTBRIDGE_PUT_EVENTS, counts["entries"]), 0.0,
                "10,000/s (counted per entry)", "the publisher: the outbox's batch is retried from the stream"),
            Hop("EventBridge target invocations", divided(quotas.EVENTBRIDGE_TARGET_INVOCATIONS, counts["deliveries"]), 0.0,
                "18,750/s", "EventBridge: each rule's retry policy, then its dead-letter queue")]


def step_functions_hops(counts):
    hops = []
    for kind, executions, transitions in counts["machines"]:
        if kind == "EXPRESS":
            hops.append(Hop("Step Functions Express starts", divided(quotas.SFN_EXPRESS_START, executions), 0.0,
                            "6,000/s", "EventBridge: the rule's retry policy, then its dead-letter queue"))
            continue
        hops.append(Hop("Step Functions StartExecution", divided(quotas.SFN_STANDARD_START_REFILL, executions),
                        divided(quotas.SFN_STANDARD_START_BUCKET, executions), "bucket 1,300, refill 300/s",
                        "EventBridge: the rule's retry policy, then its dead-letter queue"))
        hops.append(Hop("Step Functions state transitions", divided(quotas.SFN_STANDARD_TRANSITION_REFILL, transitions),
                        divided(quotas.SFN_STANDARD_TRANSITION_BUCKET, transitions), "bucket 5,000, refill 1,500/s",
                        "inside the running executions (Standard: durable)"))
    return hops


def sns_hops(counts):
    return [Hop("SNS Publish", divided(quotas.SNS_PUBLISH, counts["publishes"]), 0.0, "30,000/s (us-east-1)",
                "notification's async queue: its retries, then its dead-letter queue"),
            Hop("SNS email subscription", divided(quotas.SNS_EMAIL_DELIVERIES_PER_SUBSCRIPTION, counts["publishes"]), 0.0,
                "10 emails/s per subscription", "nowhere: past it SNS disables the subscription (emails, not orders, are lost)",
                False)]


def hops(measured, template):
    """Every hop's ceiling in orders/s, in the order an order meets them."""
    counts = per_order(measured)
    consumers = stream_consumers(template)
    return (api_hops(template, counts) + lambda_hops(template, counts, consumers) + dynamodb_hops(counts)
            + stream_hops(counts, consumers) + eventbridge_hops(counts) + step_functions_hops(counts) + sns_hops(counts))


def first_ceiling(all_hops, skip=()):
    """The lowest sustained ceiling among the hops an order waits on (leaving out those named)."""
    return min((h for h in all_hops if h.on_path and h.name not in skip), key=lambda h: h.rate)


def headline_ceilings(all_hops):
    """The first ceiling as deployed, with the stage's throttle raised, and on a stack just deployed."""
    return (first_ceiling(all_hops), first_ceiling(all_hops, skip={"API Gateway stage throttle"}),
            first_ceiling(on_a_new_stack(all_hops)))


def saturated(all_hops, rate):
    return [h.name for h in all_hops if h.rate < rate]


# ---------------------------------------------------------------- a flash sale

def flash_sale(chain, rate, seconds, step=1.0, horizon=30 * 24 * 3600):
    """A fluid model: `rate` orders/s for `seconds` enter the first hop of `chain`; each hop serves
    what waits at its sustained rate, plus its burst bucket (full at the start, refilled at the same
    rate), and passes it on. Per hop: the peak backlog (orders) and when it is empty again, in
    seconds after the sale ended (0: nothing waited)."""
    queues = [0.0] * len(chain)
    tokens = [h.burst for h in chain]
    peaks = [0.0] * len(chain)
    emptied = [0.0] * len(chain)
    t = 0.0
    while t < horizon:
        arriving = rate * step if t < seconds else 0.0
        for i, hop in enumerate(chain):
            before = queues[i] + arriving
            available = tokens[i] + hop.rate * step
            served = min(before, available)
            tokens[i] = min(hop.burst, available - served)
            queues[i] = before - served
            peaks[i] = max(peaks[i], queues[i])
            if before > 0 and queues[i] == 0 and peaks[i] > 0:
                emptied[i] = t + step * before / available
            arriving = served
        t += step
        if t >= seconds and not any(queues):
            break
    return [{"hop": h.name, "peak": peaks[i], "drained_after": max(emptied[i] - seconds, 0.0) if peaks[i] else 0.0,
             "waits": h.waits} for i, h in enumerate(chain)]


# ---------------------------------------------------------------- the report

def rate_text(x):
    return "unlimited" if math.isinf(x) else f"{x:,.0f}"


def markdown(measured, template, rates=(1_000, 5_000), sale=(5_000, 60)):
    all_hops = hops(measured, template)
    lines = ["| hop | ceiling (orders/s) | on a new stack, at once | burst (orders) | quota | where work waits |",
             "| --- | --- | --- | --- | --- | --- |"]
    for h in all_hops:
        lines.append(f"| {h.name}{'' if h.on_path else ' (not on the order path)'} | {rate_text(h.rate)} | "
                     f"{rate_text(h.new_stack_rate) if h.new_stack_rate is not None else ''} | "
                     f"{rate_text(h.burst) if h.burst else ''} | {h.quota} | {h.waits} |")
    first, account, new_stack = headline_ceilings(all_hops)
    lines += ["", f"First ceiling: **{first.name}, {rate_text(first.rate)} orders/s**; with the stage throttle raised, "
                  f"**{account.name}, {rate_text(account.rate)} orders/s**. On a stack just deployed, until its tables "
                  f"have seen traffic (each doubles what it serves at once within "
                  f"{quotas.DYNAMODB_WARM_UP_SECONDS // 60} minutes): **{new_stack.name}, {rate_text(new_stack.rate)} orders/s**."]
    for rate in rates:
        lines.append(f"At {rate:,} orders/s these saturate: {', '.join(saturated(all_hops, rate)) or 'none'}.")
    on_path = [h for h in on_a_new_stack(all_hops) if h.on_path]
    for label, chain in (("as deployed, on a new stack", on_path),
                         ("on a new stack with the stage throttle raised to the account's",
                          [h for h in on_path if h.name != "API Gateway stage throttle"])):
        lines += ["", f"Flash sale, {sale[0]:,} orders/s for {sale[1]} s, {label}:", "",
                  "| hop | peak backlog (orders) | drained, s after the sale | where it waits |", "| --- | --- | --- | --- |"]
        lines += [f"| {r['hop']} | {r['peak']:,.0f} | {r['drained_after']:,.0f} | {r['waits']} |"
                  for r in flash_sale(chain, *sale) if r["peak"]]
    lines += ["", "Waiting places in the template, each with its retries and dead-letter queue:", "",
              "| resource | waits in | retries | dead-letter queue |", "| --- | --- | --- | --- |"]
    for p in waiting_places(template):
        queue = p.dead_letters or f"none: {OUT_OF_THE_FLOW.get(p.resource, '**missing**')}"
        lines.append(f"| {p.resource} | {p.kind} | {p.retry} | {queue} |")
    return "\n".join(lines)


def main(argv=None):
    import json
    from template_check import read_template

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("measured", help="a measured run's JSON (measure_bill.py writes it)")
    parser.add_argument("template", help="the CloudFormation template, infra/template.yaml")
    parser.add_argument("--markdown", action="store_true", help="the report is Markdown with or without it")
    args = parser.parse_args(argv)
    with open(args.measured) as f:
        measured = json.load(f)
    template = read_template(args.template)
    missing = places_without_dead_letters(waiting_places(template))
    print(markdown(measured, template))
    return 1 if report("[capacity] no dead-letter queue:", [f"{p.resource} ({p.kind})" for p in missing]) else 0


if __name__ == "__main__":
    sys.exit(main())
