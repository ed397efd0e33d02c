"""Counts the AWS calls and the billable units the local stack really serves, for issue 18: what an
order costs on AWS is computed from these counts (per order: the totals divided by the orders run).

Counting where the calls happen, not from a hand-written list of what the code is thought to call:
  * every request LocalStack's gateway serves, by service, operation and caller. A handler is added
    to the gateway's handler chain, in its extension points for plugins (`handlers.
    serve_custom_service_request_handlers`, after the request is parsed, and `handlers.
    run_custom_response_handlers`, after the response is made). LocalStack's own clients between
    its services (`connect_to`: EventBridge invoking a target, Step Functions calling Lambda or
    EventBridge, the event source mapping reading the stream and invoking the function, Lambda
    writing its logs) go through that same chain: over HTTP to the gateway, or with
    IN_MEMORY_CLIENT straight into `gateway.handle`. They carry the `x-localstack-data` header,
    which makes `context.is_internal_call` true: counted with "internal": true. A function's or a
    client's call is "internal": false. API Gateway invocations (execute-api) are routes, not
    service operations: counted as service "execute-api", operation "Invoke".
  * DynamoDB capacity: a data-plane request that does not ask for ConsumedCapacity is made to ask
    for it (INDEXES; DynamoDB Local 3.3 answers it, per table and per index, for every operation
    below), the units are summed per table and operation, and the field the caller did not ask
    for is taken out of the response again. DynamoDB Local gives no read/write split: an
    operation's units are read units if it reads, write units if it writes. A failed conditional
    write answers no capacity here (on AWS it consumes write units).
  * EventBridge entries (PutEvents, per bus), SNS messages (Publish, PublishBatch, per topic) and
    CloudWatch Logs ingestion (PutLogEvents, per log group: message bytes plus 26 per event, as
    AWS bills it) from the requests the gateway served, whoever made them.
  * Lambda invocations, from the host executor where it writes an invocation's REPORT line
    (`executor.HostRuntimeExecutor._end_log` calls `lambda_reported`): billed duration and
    memory size as that line says them (init duration apart, since which runtimes bill it changed).
  * Step Functions: executions where a worker builds an execution's environment
    (`ExecutionWorker._get_evaluation_environment`), and state transitions where the execution's
    history gets a `*StateEntered` event (`EventManager.add_event`), per state machine. Also each
    execution's duration, from its ExecutionStarted event to its end event (the timestamps its
    history has), and that duration rounded up to 100 ms, as AWS bills an Express execution: per
    execution, which the machine's summed duration alone cannot say. Only executions started
    while armed (since the last arming) are timed, so that durations and executions are of the
    same runs.
  * EventBridge rule deliveries where a matched rule's target is sent the event
    (`TargetSender.process_event`), per rule and target.

Only while armed (POST /_eda/aws-calls): otherwise every hook returns at once and requests go to
DynamoDB unchanged. GET reads the totals since armed, DELETE disarms. Nothing changes for AWS.
"""

import inspect
import json
import logging
import math
import threading
from datetime import datetime, timedelta, timezone

LOG = logging.getLogger(__name__)
PATH = "/_eda/aws-calls"
_applied = False

DYNAMODB_READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})
DYNAMODB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
LOG_EVENT_OVERHEAD_BYTES = 26  # what CloudWatch Logs adds to each event's message size when it bills
# An Express execution is billed per started 100 ms (scripts/lib/prices.py has the same figure; this
# plugin runs inside LocalStack, without scripts/lib).
EXPRESS_BILLING_US = 100_000
EXECUTION_ENDS = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"})


class Counts:
    """The totals since armed, behind one lock: LocalStack serves each request on its own thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._armed_at: datetime | None = None
        self._clear()

    def _clear(self):
        self._requests: dict[tuple, list[int]] = {}
        self._capacity: dict[tuple, list[float]] = {}
        self._lambda: dict[str, dict] = {}
        self._states: dict[str, dict] = {}
        self._entries: dict[str, int] = {}
        self._deliveries: dict[tuple, int] = {}
        self._publishes: dict[str, int] = {}
        self._logs: dict[str, list[int]] = {}

    @property
    def armed(self) -> bool:
        return self._armed_at is not None

    @property
    def armed_at(self) -> datetime | None:
        """Which arming counts are of: an execution timed across a new arming is not counted."""
        return self._armed_at

    def arm(self) -> dict:
        with self._lock:
            self._clear()
            self._armed_at = datetime.now(timezone.utc)
            return self._snapshot()

    def disarm(self) -> dict:
        with self._lock:
            last = self._snapshot()
            self._armed_at = None
            self._clear()
            return last

    def snapshot(self) -> dict:
        with self._lock:
            return self._snapshot()

    # --- the counters; each does nothing unless armed ---------------------------------------------
    def request(self, service: str, operation: str, internal: bool, error: bool) -> None:
        with self._lock:
            if self._armed_at is None:
                return
            total = self._requests.setdefault((service, operation, internal), [0, 0])
            total[0] += 1
            total[1] += 1 if error else 0

    def capacity(self, table: str, operation: str, read_units: float, write_units: float) -> None:
        with self._lock:
            if self._armed_at is None:
                return
            total = self._capacity.setdefault((table, operation), [0, 0.0, 0.0])
            total[0] += 1
            total[1] += read_units
            total[2] += write_units

    def invocation(self, function: str, duration_ms: float, memory_mb: int, init_ms: float | None) -> None:
        with self._lock:
            if self._armed_at is None:
                return
            total = self._lambda.setdefault(
                function, {"invocations": 0, "billed_ms": 0, "duration_ms": 0.0, "init_ms": 0.0, "memory_mb": memory_mb}
            )
            total["invocations"] += 1
            total["billed_ms"] += math.ceil(duration_ms)
            total["duration_ms"] += duration_ms
            total["init_ms"] += init_ms or 0.0
            total["memory_mb"] = memory_mb

    def execution(self, state_machine: str, kind: str) -> None:
        with self._lock:
            if self._armed_at is None:
                return
            self._state_machine(state_machine, kind)["executions"] += 1

    def transition(self, state_machine: str) -> None:
        with self._lock:
            if self._armed_at is None:
                return
            self._state_machine(state_machine, None)["state_transitions"] += 1

    def duration(self, state_machine: str, armed_at: datetime, duration: timedelta) -> None:
        """One execution's duration, if it started under the arming still in force."""
        with self._lock:
            if self._armed_at is None or self._armed_at != armed_at:
                return
            total = self._state_machine(state_machine, None)
            microseconds = max(duration // timedelta(microseconds=1), 0)
            total["duration_ms"] += microseconds / 1000
            # Integer arithmetic: a float's 100.0000001 ms must not become 200 ms billed.
            total["billed_ms"] += -(-microseconds // EXPRESS_BILLING_US) * EXPRESS_BILLING_US // 1000

    def _state_machine(self, arn: str, kind: str | None) -> dict:
        total = self._states.setdefault(
            arn, {"type": kind, "executions": 0, "state_transitions": 0, "duration_ms": 0.0, "billed_ms": 0}
        )
        total["type"] = total["type"] or kind
        return total

    def entries(self, bus: str, count: int) -> None:
        with self._lock:
            if self._armed_at is None:
                return
            self._entries[bus] = self._entries.get(bus, 0) + count

    def delivery(self, rule: str, target: str, service: str) -> None:
        with self._lock:
            if self._armed_at is None:
                return
            key = (rule, target, service)
            self._deliveries[key] = self._deliveries.get(key, 0) + 1

    def publishes(self, topic: str, count: int) -> None:
        with self._lock:
            if self._armed_at is None:
                return
            self._publishes[topic] = self._publishes.get(topic, 0) + count

    def log_events(self, log_group: str, events: int, billed_bytes: int) -> None:
        with self._lock:
            if self._armed_at is None:
                return
            total = self._logs.setdefault(log_group, [0, 0])
            total[0] += events
            total[1] += billed_bytes

    def _snapshot(self) -> dict:
        return {
            "armed_at": self._armed_at.isoformat().replace("+00:00", "Z") if self._armed_at else None,
            "requests": [
                {"service": s, "operation": o, "internal": i, "count": c, "errors": e}
                for (s, o, i), (c, e) in sorted(self._requests.items())
            ],
            "dynamodb": [
                {"table": t, "operation": o, "requests": n, "read_units": r, "write_units": w}
                for (t, o), (n, r, w) in sorted(self._capacity.items())
            ],
            "lambda": [{"function": f, **dict(v)} for f, v in sorted(self._lambda.items())],
            "states": [{"state_machine": a, **dict(v)} for a, v in sorted(self._states.items())],
            "events": [{"bus": b, "entries": n} for b, n in sorted(self._entries.items())],
            "rule_deliveries": [
                {"rule": r, "target": t, "service": s, "count": n} for (r, t, s), n in sorted(self._deliveries.items())
            ],
            "sns": [{"topic": t, "publishes": n} for t, n in sorted(self._publishes.items())],
            "logs": [{"log_group": g, "events": n, "bytes": b} for g, (n, b) in sorted(self._logs.items())],
        }


COUNTS = Counts()


# --- the gateway's handler chain --------------------------------------------------------------------
def prepare_request(chain, context, response) -> None:
    """Request handler, after the request is parsed and before its service runs: a DynamoDB
    data-plane request that does not ask for its consumed capacity is made to ask for it. DynamoDB
    Local gets the request's body as it came (`AwsRequestProxy` forwards `context.request.data`),
    so the body is rewritten, as LocalStack's DynamoDB provider itself does for transactions."""
    if not COUNTS.armed or context.service is None or context.service.service_name != "dynamodb":
        return
    operation = context.operation.name if context.operation else None
    if operation not in DYNAMODB_READS and operation not in DYNAMODB_WRITES:
        return
    if (context.service_request or {}).get("ReturnConsumedCapacity") in ("TOTAL", "INDEXES"):
        return
    try:
        body = json.loads(context.request.data)
    except ValueError:
        return  # not JSON (CBOR, say): left as it is, and counted without capacity
    if not isinstance(body, dict):
        return
    body["ReturnConsumedCapacity"] = "INDEXES"
    context.request.data = json.dumps(body).encode()
    if context.service_request is not None:
        context.service_request["ReturnConsumedCapacity"] = "INDEXES"
    context.eda_capacity_added = True


def count_response(chain, context, response) -> None:
    """Response handler: counts the request, and what it carried that AWS bills."""
    if not COUNTS.armed:
        return
    try:
        _count(context, response)
    except Exception:  # counting must never break a request
        LOG.warning("could not count a request (host-lambda patch)", exc_info=True)


def _count(context, response) -> None:
    if context.service is None or context.operation is None:
        if _is_execute_api(context.request):
            COUNTS.request("execute-api", "Invoke", context.is_internal_call, response.status_code >= 400)
        return
    service, operation = context.service.service_name, context.operation.name
    failed = context.service_exception is not None or response.status_code >= 400
    COUNTS.request(service, operation, context.is_internal_call, failed)
    request = context.service_request or {}
    if service == "dynamodb" and (operation in DYNAMODB_READS or operation in DYNAMODB_WRITES):
        _count_capacity(context, response, operation)
    if failed:
        return
    if service == "events" and operation == "PutEvents":
        answers = (context.service_response or {}).get("Entries") or []
        buses: dict[str, int] = {}
        for i, entry in enumerate(request.get("Entries") or []):
            if i < len(answers) and answers[i].get("ErrorCode"):
                continue  # refused: not an event put
            bus = (entry.get("EventBusName") or "default").rsplit("/", 1)[-1]  # a name or an ARN
            buses[bus] = buses.get(bus, 0) + 1
        for bus, count in buses.items():
            COUNTS.entries(bus, count)
    elif service == "sns" and operation == "Publish":
        COUNTS.publishes(request.get("TopicArn") or request.get("TargetArn") or request.get("PhoneNumber") or "?", 1)
    elif service == "sns" and operation == "PublishBatch":
        ok = (context.service_response or {}).get("Successful")
        COUNTS.publishes(request.get("TopicArn") or "?", len(ok) if ok is not None else len(request.get("PublishBatchRequestEntries") or []))
    elif service == "logs" and operation == "PutLogEvents":
        events = request.get("logEvents") or []
        size = sum(len((e.get("message") or "").encode()) + LOG_EVENT_OVERHEAD_BYTES for e in events)
        COUNTS.log_events(request.get("logGroupName") or request.get("logGroupIdentifier") or "?", len(events), size)


def _count_capacity(context, response, operation: str) -> None:
    if response.status_code != 200:
        return
    try:
        body = json.loads(response.get_data())
    except ValueError:
        return
    if not isinstance(body, dict) or "ConsumedCapacity" not in body:
        return
    consumed = body["ConsumedCapacity"]
    for item in consumed if isinstance(consumed, list) else [consumed]:
        units = float(item.get("CapacityUnits") or 0.0)  # the table's and its indexes'
        read = item.get("ReadCapacityUnits")
        write = item.get("WriteCapacityUnits")
        if read is None and write is None:  # DynamoDB Local: only the total
            read, write = (units, 0.0) if operation in DYNAMODB_READS else (0.0, units)
        COUNTS.capacity(item.get("TableName") or "?", operation, float(read or 0.0), float(write or 0.0))
    if context.get("eda_capacity_added"):
        # The caller did not ask for it: it gets the response it would have had.
        del body["ConsumedCapacity"]
        response.set_data(json.dumps(body).encode())
        if "x-amz-crc32" in response.headers:
            from binascii import crc32

            response.headers["x-amz-crc32"] = str(crc32(response.get_data()) & 0xFFFFFFFF)


def _is_execute_api(request) -> bool:
    path = request.path or ""
    return (
        path.startswith("/_aws/execute-api/")
        or "/_user_request_" in path
        or ".execute-api." in (request.host or "")
    )


# --- the hooks outside the gateway ------------------------------------------------------------------
def lambda_reported(function: str, duration_ms: float, memory_mb: int, init_ms: float | None) -> None:
    """Called by the host executor where it writes an invocation's REPORT line."""
    if COUNTS.armed:
        COUNTS.invocation(function, duration_ms, memory_mb, init_ms)


def endpoint(request, **kwargs):
    """POST arms (and resets), GET reads, DELETE disarms (and answers the last totals)."""
    from localstack.http import Response

    if request.method == "POST":
        counts = COUNTS.arm()
    elif request.method == "DELETE":
        counts = COUNTS.disarm()
    else:
        counts = COUNTS.snapshot()
    return Response(json.dumps(counts), mimetype="application/json")


def apply() -> None:
    global _applied
    if _applied:
        return
    from localstack.aws import handlers
    from localstack.services.edge import ROUTER
    from localstack.services.events import target
    from localstack.services.stepfunctions.asl.eval.event.event_manager import EventManager
    from localstack.services.stepfunctions.backend.execution_worker import ExecutionWorker

    environment_of = ExecutionWorker._get_evaluation_environment

    def _get_evaluation_environment(self):
        env = environment_of(self)
        details = self._evaluation_details.state_machine_details
        env.event_manager.eda_state_machine = details.arn
        COUNTS.execution(details.arn, str(getattr(details.typ, "value", details.typ)))
        return env

    add_event = EventManager.add_event
    add_event_signature = inspect.signature(add_event)

    def add_event_counting(self, context, event_type, *args, **kwargs):
        if not COUNTS.armed:
            return add_event(self, context, event_type, *args, **kwargs)
        kind = str(getattr(event_type, "value", event_type))
        if kind != "ExecutionStarted" and kind not in EXECUTION_ENDS:
            event_id = add_event(self, context, event_type, *args, **kwargs)
            if kind.endswith("StateEntered"):
                # A distributed Map's child executions have their own manager, not tagged.
                COUNTS.transition(getattr(self, "eda_state_machine", "(distributed map run)"))
            return event_id
        # The event is given the time it would have taken itself (add_event's own clock), so that
        # the duration is the one its history, and its CloudWatch log, say.
        call = add_event_signature.bind(self, context, event_type, *args, **kwargs)
        if call.arguments.get("timestamp") is None:
            call.arguments["timestamp"] = self._get_current_timestamp()
        at = call.arguments["timestamp"]
        event_id = add_event(*call.args, **call.kwargs)
        machine = getattr(self, "eda_state_machine", None)
        if machine is None:
            return event_id  # a distributed Map's child execution: not counted as one either (above)
        if kind == "ExecutionStarted":
            self.eda_started = (COUNTS.armed_at, at)
        elif getattr(self, "eda_started", None) is not None:
            armed_at, started = self.eda_started
            self.eda_started = None  # one end per execution, whatever else is added after it
            COUNTS.duration(machine, armed_at, at - started)
        return event_id

    process_event = target.TargetSender.process_event

    def process_event_counting(self, event, trace_header):
        if COUNTS.armed:
            COUNTS.delivery(self.rule_arn, self.target.get("Arn", "?"), self.service)
        return process_event(self, event, trace_header)

    ExecutionWorker._get_evaluation_environment = _get_evaluation_environment
    EventManager.add_event = add_event_counting
    target.TargetSender.process_event = process_event_counting
    handlers.serve_custom_service_request_handlers.append(prepare_request)
    handlers.run_custom_response_handlers.append(count_response)
    ROUTER.add(PATH, endpoint=endpoint, methods=["GET", "POST", "DELETE"])
    _applied = True
    LOG.info("AWS calls are counted while %s is armed (host-lambda patch)", PATH)
