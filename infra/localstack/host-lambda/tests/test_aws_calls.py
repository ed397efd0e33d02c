"""The AWS call counter: while /_eda/aws-calls is armed, every request LocalStack's gateway serves is
counted by service, operation and caller (a function's or LocalStack's own, between its services),
with what AWS bills for it: DynamoDB's consumed capacity (asked of DynamoDB when the caller did not,
and taken out of the response again), EventBridge entries and rule deliveries, SNS messages, log
bytes, Lambda's billed duration, Step Functions' executions, state transitions and execution
durations (billed per started 100 ms, as Express executions are); disarmed, it
counts and changes nothing. Run with LocalStack's Python, against the installed plugin, from the
repository's root:
    .local/venv/bin/python -m unittest discover -s infra/localstack/host-lambda/tests
or this file alone:
    .local/venv/bin/python -m unittest discover -s infra/localstack/host-lambda/tests -p test_aws_calls.py
(scripts/localstack/install.sh installs the plugin; to test its source as it is, prefix
`PYTHONPATH=infra/localstack/host-lambda`.)

The requests are LocalStack's own: made by its request serializer (`create_aws_request_context`,
as a client would send them), run through the gateway's handlers that mark internal calls and
parse requests, and through the handler lists this patch extends; only the service behind them
(DynamoDB Local, the other providers) is a fake that answers as they do.
"""

import json
import threading
import unittest
from binascii import crc32
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from unittest import mock

from localstack.aws import handlers
from localstack.aws.chain import HandlerChain
from localstack.aws.connect import INTERNAL_REQUEST_PARAMS_HEADER, dump_dto
from localstack.aws.forwarder import create_aws_request_context
from localstack.http import Request, Response
from localstack.services.edge import ROUTER
from localstack.services.events.target import LambdaTargetSender
from localstack.services.stepfunctions.asl.eval.event.event_manager import EventManager
from localstack.services.stepfunctions.asl.eval.evaluation_details import (
    AWSExecutionDetails,
    EvaluationDetails,
    ExecutionDetails,
    StateMachineDetails,
)
from localstack.services.stepfunctions.backend.execution_worker import ExecutionWorker
from localstack_host_lambda import aws_calls
from localstack_host_lambda.executor import HostRuntimeExecutor, _Outcome

COUNTS = aws_calls.COUNTS
TABLE = "eda-demo-event-store"
ACCOUNT = "000000000000"
REGION = "us-east-1"


class FakeService:
    """Stands for what the gateway's service router reaches (a provider, DynamoDB Local behind
    it): keeps the request as it was forwarded, answers `answer` as the serializer would."""

    def __init__(self, answer: dict | None = None, status: int = 200):
        self.answer, self.status, self.forwarded = answer or {}, status, None

    def __call__(self, chain, context, response):
        self.forwarded = json.loads(context.request.data) if context.request.data else None
        body = json.dumps(self.answer).encode()
        response.status_code = self.status
        response.set_data(body)
        response.headers["x-amz-crc32"] = str(crc32(body) & 0xFFFFFFFF)
        context.service_response = self.answer
        chain.stop()


def serve(service: str, operation: str, params: dict, answer=None, internal=False, status=200):
    """One request through the gateway's handlers, as a client (or, internal, one of LocalStack's
    own clients, which add the x-localstack-data header) sends it. Returns the forwarded request,
    the response and its parsed JSON."""
    context = create_aws_request_context(service, operation, parameters=params, region=REGION)
    context.account_id = ACCOUNT
    if internal:
        context.request.headers[INTERNAL_REQUEST_PARAMS_HEADER] = dump_dto({"service_principal": "events"})
    backend = FakeService(answer, status)
    chain = HandlerChain(
        request_handlers=[
            handlers.add_internal_request_params,
            handlers.parse_service_request,
            handlers.serve_custom_service_request_handlers,
            backend,
        ],
        response_handlers=[handlers.run_custom_response_handlers],
    )
    response = Response()
    chain.handle(context, response)
    return backend.forwarded, response, json.loads(response.get_data() or b"{}")


def requests() -> dict:
    return {(r["service"], r["operation"], r["internal"]): r["count"] for r in COUNTS.snapshot()["requests"]}


class Armed(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        aws_calls.apply()

    def setUp(self):
        COUNTS.arm()

    def tearDown(self):
        COUNTS.disarm()


class Disarmed(Armed):
    def setUp(self):
        COUNTS.disarm()

    def test_nothing_is_counted_and_no_request_is_changed_while_disarmed(self):
        forwarded, response, body = serve(
            "dynamodb", "PutItem", {"TableName": TABLE, "Item": {"pk": {"S": "a"}}},
            answer={"ConsumedCapacity": {"TableName": TABLE, "CapacityUnits": 1.0}},
        )
        self.assertNotIn("ReturnConsumedCapacity", forwarded)
        self.assertIn("ConsumedCapacity", body)  # the answer is left as the service gave it
        aws_calls.lambda_reported("payment", 12.3, 128, None)
        snapshot = COUNTS.snapshot()
        self.assertIsNone(snapshot["armed_at"])
        self.assertEqual([v for k, v in snapshot.items() if k != "armed_at"], [[]] * 8)

    def test_arming_resets_the_counts(self):
        COUNTS.arm()
        serve("sns", "Publish", {"TopicArn": "arn:aws:sns:us-east-1:000000000000:t", "Message": "m"})
        self.assertEqual(len(COUNTS.snapshot()["requests"]), 1)
        armed = COUNTS.arm()
        self.assertEqual(armed["requests"], [])
        self.assertRegex(armed["armed_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$")


class DynamoDBCapacity(Armed):
    def test_a_write_is_made_to_return_its_capacity_which_is_summed_per_table_and_taken_out_again(self):
        capacity = {"TableName": TABLE, "CapacityUnits": 4.0, "Table": {"CapacityUnits": 2.0},
                    "GlobalSecondaryIndexes": {"by-customer": {"CapacityUnits": 2.0}}}  # DynamoDB Local's answer
        for _ in range(3):
            forwarded, response, body = serve(
                "dynamodb", "PutItem", {"TableName": TABLE, "Item": {"pk": {"S": "a"}}},
                answer={"ConsumedCapacity": capacity},
            )
            self.assertEqual(forwarded["ReturnConsumedCapacity"], "INDEXES")
            self.assertEqual(body, {})  # the caller did not ask for it: it does not get it
            self.assertEqual(response.headers["x-amz-crc32"], str(crc32(response.get_data()) & 0xFFFFFFFF))
        self.assertEqual(
            COUNTS.snapshot()["dynamodb"],
            [{"table": TABLE, "operation": "PutItem", "requests": 3, "read_units": 0.0, "write_units": 12.0}],
        )
        self.assertEqual(requests(), {("dynamodb", "PutItem", False): 3})

    def test_a_read_counts_read_units_and_a_caller_that_asked_for_its_capacity_keeps_it(self):
        forwarded, _, body = serve(
            "dynamodb", "GetItem", {"TableName": TABLE, "Key": {"pk": {"S": "a"}}, "ReturnConsumedCapacity": "TOTAL"},
            answer={"Item": {"pk": {"S": "a"}}, "ConsumedCapacity": {"TableName": TABLE, "CapacityUnits": 0.5}},
        )
        self.assertEqual(forwarded["ReturnConsumedCapacity"], "TOTAL")
        self.assertEqual(body["ConsumedCapacity"], {"TableName": TABLE, "CapacityUnits": 0.5})
        self.assertEqual(COUNTS.snapshot()["dynamodb"][0]["read_units"], 0.5)

    def test_a_transaction_is_summed_per_table(self):
        serve(
            "dynamodb", "TransactWriteItems",
            {"TransactItems": [{"Put": {"TableName": TABLE, "Item": {"pk": {"S": "a"}}}},
                               {"Put": {"TableName": "eda-demo-views", "Item": {"pk": {"S": "a"}}}}]},
            answer={"ConsumedCapacity": [{"TableName": TABLE, "CapacityUnits": 2.0},
                                         {"TableName": "eda-demo-views", "CapacityUnits": 6.0}]},
        )
        self.assertEqual(
            [(d["table"], d["write_units"]) for d in COUNTS.snapshot()["dynamodb"]],
            [("eda-demo-event-store", 2.0), ("eda-demo-views", 6.0)],
        )

    def test_a_failed_request_is_counted_as_an_error_without_capacity(self):
        serve("dynamodb", "PutItem", {"TableName": TABLE, "Item": {"pk": {"S": "a"}}},
              answer={"__type": "ConditionalCheckFailedException"}, status=400)
        self.assertEqual(COUNTS.snapshot()["requests"][0]["errors"], 1)
        self.assertEqual(COUNTS.snapshot()["dynamodb"], [])


class Callers(Armed):
    def test_a_call_between_localstacks_services_is_counted_apart_from_a_functions_call(self):
        params = {"FunctionName": "eda-demo-payment", "Payload": b"{}"}
        serve("lambda", "Invoke", params)  # a function's or a client's call
        serve("lambda", "Invoke", params, internal=True)  # e.g. EventBridge invoking its target
        serve("lambda", "Invoke", params, internal=True)
        self.assertEqual(requests(), {("lambda", "Invoke", False): 1, ("lambda", "Invoke", True): 2})

    def test_an_api_gateway_invocation_is_counted_as_execute_api_and_the_endpoints_own_requests_are_not(self):
        for path in ("/_aws/execute-api/a1b2c3d4e5/local/orders", aws_calls.PATH):
            context = create_aws_request_context("sqs", "ListQueues")  # only for a RequestContext
            context.request = Request("POST", path)
            context.service = context.operation = None  # routes: no service operation
            aws_calls.count_response(None, context, Response(status=202))
        self.assertEqual(requests(), {("execute-api", "Invoke", False): 1})


class OtherServices(Armed):
    def test_eventbridge_entries_are_counted_per_bus_without_the_refused_ones(self):
        entry = {"Source": "orders", "DetailType": "OrderCreated", "Detail": "{}", "EventBusName": "eda-demo"}
        serve("events", "PutEvents",
              {"Entries": [entry, entry, dict(entry, EventBusName="arn:aws:events:us-east-1:000000000000:event-bus/eda-demo"),
                           dict(entry, EventBusName=None)]},
              answer={"FailedEntryCount": 1, "Entries": [{"EventId": "1"}, {"ErrorCode": "x"}, {"EventId": "3"}, {"EventId": "4"}]})
        self.assertEqual(COUNTS.snapshot()["events"], [{"bus": "default", "entries": 1}, {"bus": "eda-demo", "entries": 2}])

    def test_sns_messages_are_counted_per_topic(self):
        topic = "arn:aws:sns:us-east-1:000000000000:eda-demo-notifications"
        serve("sns", "Publish", {"TopicArn": topic, "Message": "m"})
        serve("sns", "PublishBatch", {"TopicArn": topic, "PublishBatchRequestEntries": [
            {"Id": "1", "Message": "a"}, {"Id": "2", "Message": "b"}]}, answer={"Successful": [{"Id": "1"}, {"Id": "2"}]})
        self.assertEqual(COUNTS.snapshot()["sns"], [{"topic": topic, "publishes": 3}])

    def test_log_bytes_are_the_messages_bytes_plus_26_per_event(self):
        serve("logs", "PutLogEvents", {"logGroupName": "/aws/lambda/eda-demo-payment", "logStreamName": "s",
                                       "logEvents": [{"timestamp": 1, "message": "START\n"}, {"timestamp": 1, "message": "é\n"}]},
              internal=True)
        self.assertEqual(COUNTS.snapshot()["logs"],
                         [{"log_group": "/aws/lambda/eda-demo-payment", "events": 2, "bytes": 6 + 26 + 3 + 26}])

    def test_a_lambda_invocation_is_counted_where_the_executor_writes_its_report_line(self):
        executor = SimpleNamespace(
            function_version=SimpleNamespace(id=SimpleNamespace(function_name="eda-demo-payment", qualifier="$LATEST"),
                                             config=SimpleNamespace(memory_size=128)),
            _collect_output=lambda: [], _log_line=lambda line: None,
        )
        for duration in (12.2, 100.0):
            lines = HostRuntimeExecutor._end_log(executor, "r1", _Outcome(b"", False, False, duration, 20), 30, 150.0)
        self.assertIn("Billed Duration: 100 ms", lines[-1])
        self.assertEqual(COUNTS.snapshot()["lambda"], [{"function": "eda-demo-payment", "invocations": 2,
                                                        "billed_ms": 13 + 100, "duration_ms": 112.2,
                                                        "init_ms": 300.0, "memory_mb": 128}])

    def test_step_functions_executions_and_state_transitions_are_counted_per_state_machine(self):
        for i in range(2):
            run_execution(MACHINE, "STANDARD", f"e{i}", {"x": 1})
        (counted,) = COUNTS.snapshot()["states"]
        self.assertEqual({k: counted[k] for k in ("state_machine", "type", "executions", "state_transitions")},
                         {"state_machine": MACHINE, "type": "STANDARD", "executions": 2, "state_transitions": 6})

    def test_a_matched_rules_delivery_to_its_target_is_counted(self):
        rule = "arn:aws:events:us-east-1:000000000000:rule/eda-demo/payment"
        function = "arn:aws:lambda:us-east-1:000000000000:function:eda-demo-payment"
        sender = LambdaTargetSender({"Id": "t", "Arn": function}, rule, "payment", "lambda", REGION, ACCOUNT)
        sent = []
        sender._client = SimpleNamespace(invoke=lambda **kwargs: sent.append(kwargs))
        sender.process_event({"detail": {}}, trace_header=None)
        self.assertEqual(len(sent), 1)
        self.assertEqual(COUNTS.snapshot()["rule_deliveries"],
                         [{"rule": rule, "target": function, "service": "lambda", "count": 1}])


MACHINE = "arn:aws:states:us-east-1:000000000000:stateMachine:eda-demo-payment"
# x = 1: three states to Succeed; otherwise two to Fail (an execution of another length, and an end
# other than ExecutionSucceeded).
DEFINITION = json.dumps({"StartAt": "A", "States": {
    "A": {"Type": "Pass", "Next": "B"},
    "B": {"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericEquals": 1, "Next": "C"}], "Default": "D"},
    "C": {"Type": "Succeed"},
    "D": {"Type": "Fail", "Error": "E"}}})


def run_execution(arn: str, kind: str, name: str, execution_input: dict) -> ExecutionWorker:
    """One execution, as a worker's thread runs it (without the thread)."""
    worker = ExecutionWorker(
        evaluation_details=EvaluationDetails(
            AWSExecutionDetails(ACCOUNT, REGION, "arn:aws:iam::000000000000:role/r"),
            ExecutionDetails(f"{arn.replace('stateMachine', kind.lower())}:{name}", name,
                             "arn:aws:iam::000000000000:role/r", execution_input, "2026-01-01T00:00:00.000Z"),
            StateMachineDetails(arn, arn.rsplit(":", 1)[-1], kind, DEFINITION),
        ),
        exec_comm=SimpleNamespace(terminated=lambda: None),
        cloud_watch_logging_session=None,
        activity_store={},
    )
    worker._execution_logic()
    return worker


class Clock:
    """Stands for the clock Step Functions stamps history events with: `step` later at each event."""

    def __init__(self, step: timedelta):
        self.now, self.step = datetime(2026, 1, 1, tzinfo=timezone.utc), step

    def __call__(self):
        self.now += self.step
        return self.now


class StepFunctionsDurations(Armed):
    def clock(self, step: timedelta) -> None:
        patcher = mock.patch.object(EventManager, "_get_current_timestamp", staticmethod(Clock(step)))
        patcher.start()
        self.addCleanup(patcher.stop)

    def machine(self) -> dict:
        (counted,) = COUNTS.snapshot()["states"]
        return counted

    def test_each_execution_is_timed_from_its_start_to_its_end_event_and_billed_per_started_100_ms(self):
        self.clock(timedelta(milliseconds=15, microseconds=1))
        succeeded = run_execution(MACHINE, "EXPRESS", "e1", {"x": 1})  # 8 events, 7 steps: 105.007 ms
        with self.assertLogs(level="ERROR"):  # LocalStack reports the Fail state's error
            failed = run_execution(MACHINE, "EXPRESS", "e2", {"x": 2})  # 7 events, 6 steps: 90.006 ms
        for worker, end, events in ((succeeded, "ExecutionSucceeded", 8), (failed, "ExecutionFailed", 7)):
            history = worker.env.event_manager.get_event_history()
            self.assertEqual((history[0]["type"], history[-1]["type"], len(history)), ("ExecutionStarted", end, events))
        counted = self.machine()
        self.assertEqual((counted["type"], counted["executions"]), ("EXPRESS", 2))
        self.assertAlmostEqual(counted["duration_ms"], 105.007 + 90.006)
        # 200 + 100; billing the mean (97.5 ms, so 100 each) would have said 200.
        self.assertEqual(counted["billed_ms"], 300)

    def test_the_duration_is_the_one_the_history_says(self):
        worker = run_execution(MACHINE, "EXPRESS", "e1", {"x": 1})
        history = worker.env.event_manager.get_event_history()
        took = history[-1]["timestamp"] - history[0]["timestamp"]
        self.assertAlmostEqual(self.machine()["duration_ms"], took / timedelta(milliseconds=1))

    def test_billing_is_per_execution_not_of_the_mean(self):
        arn, armed_at = "arn:aws:states:us-east-1:000000000000:stateMachine:m", COUNTS.armed_at
        for ms in (50, 150, 100):
            COUNTS.duration(arn, armed_at, timedelta(milliseconds=ms))
        self.assertEqual(self.machine()["billed_ms"], 100 + 200 + 100)  # the mean, 100 ms, would bill 300
        self.assertEqual(self.machine()["duration_ms"], 300.0)

    def test_an_execution_started_before_the_counter_was_armed_again_is_not_timed(self):
        arn, before = "arn:aws:states:us-east-1:000000000000:stateMachine:m", COUNTS.armed_at
        COUNTS.arm()
        COUNTS.execution(arn, "EXPRESS")
        COUNTS.duration(arn, before, timedelta(milliseconds=50))
        self.assertEqual((self.machine()["duration_ms"], self.machine()["billed_ms"]), (0.0, 0))

    def test_while_disarmed_the_events_are_stamped_by_step_functions_alone(self):
        COUNTS.disarm()
        worker = run_execution(MACHINE, "EXPRESS", "e1", {"x": 1})
        self.assertFalse(hasattr(worker.env.event_manager, "eda_started"))
        self.assertEqual(COUNTS.snapshot()["states"], [])


class Counting(Armed):
    def test_concurrent_counts_are_all_kept(self):
        def work():
            for _ in range(2000):
                COUNTS.request("dynamodb", "PutItem", False, False)
                COUNTS.capacity(TABLE, "PutItem", 0.0, 1.0)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(requests(), {("dynamodb", "PutItem", False): 16000})
        self.assertEqual(COUNTS.snapshot()["dynamodb"][0]["write_units"], 16000.0)

    def test_the_endpoint_arms_reads_and_disarms_through_localstacks_router(self):
        COUNTS.disarm()

        def call(method):
            return json.loads(ROUTER.dispatch(Request(method, aws_calls.PATH)).get_data())

        self.assertIsNotNone(call("POST")["armed_at"])
        serve("sns", "Publish", {"TopicArn": "arn:aws:sns:us-east-1:000000000000:t", "Message": "m"})
        self.assertEqual(call("GET")["sns"], [{"topic": "arn:aws:sns:us-east-1:000000000000:t", "publishes": 1}])
        self.assertEqual(len(call("GET")["sns"]), 1)  # reading keeps them
        self.assertEqual(len(call("DELETE")["sns"]), 1)  # the last totals, then nothing
        self.assertIsNone(call("GET")["armed_at"])

    def test_applying_twice_patches_once(self):
        add_event, handlers_before = EventManager.add_event, list(handlers.run_custom_response_handlers.handlers)
        aws_calls.apply()
        self.assertIs(EventManager.add_event, add_event)
        self.assertEqual(handlers.run_custom_response_handlers.handlers, handlers_before)
        self.assertEqual(handlers_before.count(aws_calls.count_response), 1)


if __name__ == "__main__":
    unittest.main()
