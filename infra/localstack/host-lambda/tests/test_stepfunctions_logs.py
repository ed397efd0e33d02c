"""The Step Functions log patch: an execution's CloudWatch log events are put in batches (at its
end, and every 50 events or 256 KiB), not with one PutLogEvents call each, and the log group still
gets every event, in order, with its own timestamp and the message LocalStack makes. Run with
LocalStack's Python, against the installed plugin, from the repository's root:
    .local/venv/bin/python -m unittest discover -s infra/localstack/host-lambda/tests
or this file alone:
    .local/venv/bin/python -m unittest discover -s infra/localstack/host-lambda/tests -p test_stepfunctions_logs.py
(scripts/localstack/install.sh installs the plugin; to test its source as it is, prefix
`PYTHONPATH=infra/localstack/host-lambda`.)

Executions run in-process in LocalStack's execution worker (see helpers.py) with LocalStack's own
logging session, whose logs client is a fake that keeps what it is given.
"""

import datetime
import json
import logging
import time
import unittest
import uuid
from unittest import mock

from botocore.exceptions import ClientError

from localstack.aws.api.stepfunctions import HistoryEventType, LogLevel
from localstack.services.stepfunctions.asl.component import eval_component
from localstack.services.stepfunctions.asl.eval.event import logging as sfn_logging
from localstack.services.stepfunctions.asl.eval.event.event_manager import EventManager
from localstack.services.stepfunctions.asl.eval.event.logging import (
    CloudWatchLoggingConfiguration,
    CloudWatchLoggingSession,
    HistoryLog,
)
from localstack.services.stepfunctions.asl.eval.program_state import ProgramEnded, ProgramError
from localstack.services.stepfunctions.asl.utils.encoding import to_json_str
from localstack_host_lambda import stepfunctions_logs

from helpers import ACCOUNT, PAYMENT, REGION, assert_applied_once, at_once, execution_arn, order_created, worker

GROUP = "/aws/vendedlogs/states/payment"

# Parallel branches and Map iterations add their events from threads of their own; the run ends
# failed, in a Fail state.
BRANCHING = json.dumps(
    {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": f"B{b}", "States": {f"B{b}": {"Type": "Pass", "End": True}}} for b in range(3)
                ],
                "ResultPath": None,
                "Next": "Each",
            },
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {"StartAt": "Item", "States": {"Item": {"Type": "Pass", "End": True}}},
                "Next": "Refuse",
            },
            "Refuse": {"Type": "Fail", "Error": "Refused", "Cause": "every item seen"},
        },
    }
)


def not_found(operation):
    return ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no stream"}}, operation)


class FakeLogs:
    """A logs client that keeps each call. With `streams` a set, only the streams in it (and those
    created) exist; `fail` is raised by every put while it is set."""

    def __init__(self, streams=None, fail=None):
        self.calls, self.streams, self.fail = [], streams, fail

    def put_log_events(self, logGroupName, logStreamName, logEvents):
        stored = not self.fail and (self.streams is None or logStreamName in self.streams)
        self.calls.append(("put", logGroupName, logStreamName, list(logEvents), stored))
        if self.fail:
            raise self.fail
        if not stored:
            raise not_found("PutLogEvents")

    def create_log_stream(self, logGroupName, logStreamName):
        self.calls.append(("create", logGroupName, logStreamName))
        self.streams.add(logStreamName)

    def puts(self):
        return [call[3] for call in self.calls if call[0] == "put"]

    def delivered(self):
        """The events the log group holds, in the order it got them."""
        return [event for call in self.calls if call[0] == "put" and call[4] for event in call[3]]


def session(name, logs):
    configuration = CloudWatchLoggingConfiguration(
        state_machine_arn=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:payment",
        log_account_id=ACCOUNT,
        log_region=REGION,
        log_group_name=GROUP,
        log_level=LogLevel.ALL,
        include_execution_data=True,
    )
    made = CloudWatchLoggingSession(execution_arn(name), configuration)
    made._logs_client = logs
    return made


def execute(definition, execution_input, logs):
    name = uuid.uuid4().hex
    execution = worker(definition, execution_input, logging_session=session(name, logs), name=name)
    # The payment's HasCurrency and the Fail state log their expected errors.
    with mock.patch.object(eval_component.LOG, "disabled", True):
        execution.start()
    return execution


def as_logged(history):
    """The (timestamp, id, type) of each history event, as its log event must carry them."""
    return [(int(e["timestamp"].timestamp() * 1000), str(e["id"]), str(e["type"])) for e in history]


def as_history_log(event, arn):
    """The history event as LocalStack's event manager hands it to the logging session."""
    fields = ("id", "previousEventId", "type", "timestamp")
    return EventManager._create_history_log(
        event_id=event["id"],
        source_event_id=event["previousEventId"],
        event_type=event["type"],
        timestamp=event["timestamp"],
        execution_arn=arn,
        event_details={k: v for k, v in event.items() if k not in fields} or None,
        include_execution_data=True,
    )


def logged(events):
    return [(e["timestamp"], json.loads(e["message"])["id"], json.loads(e["message"])["type"]) for e in events]


def history_log(n, event_type=HistoryEventType.PassStateEntered, at=None, details=None):
    log = HistoryLog(
        id=str(n),
        previous_event_id=str(n - 1),
        event_timestamp=at or datetime.datetime(2026, 3, 1, 10, 0, 0, tzinfo=datetime.UTC) + datetime.timedelta(milliseconds=n),
        type=event_type,
        execution_arn="arn:x",
    )
    if details is not None:
        log["details"] = details
    return log


class ExecutionsPutTheirEventsAtTheEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stepfunctions_logs.apply()

    def test_a_payment_puts_all_its_events_in_one_call_in_order_with_their_timestamps(self):
        logs = FakeLogs()
        execution = execute(PAYMENT, order_created("1", 49), logs)
        history = execution.env.event_manager.get_event_history()
        self.assertEqual(type(execution.env.program_state()), ProgramEnded)
        [put] = logs.puts()
        self.assertEqual(logged(put), as_logged(history))
        self.assertGreater(len(put), 10)
        self.assertEqual(logged(put)[-1][2], "ExecutionSucceeded")
        self.assertEqual({call[1:3] for call in logs.calls}, {(GROUP, f"states/arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:payment")})

    def test_each_event_carries_the_message_localstack_makes_for_it(self):
        logs = FakeLogs()
        execution = execute(PAYMENT, order_created("2", 20, currency=None), logs)
        arn = execution.env.states.context_object.context_object_data["Execution"]["Id"]
        [put] = logs.puts()
        expected = [to_json_str(as_history_log(e, arn)) for e in execution.env.event_manager.get_event_history()]
        self.assertEqual([e["message"] for e in put], expected)
        self.assertEqual(json.loads(json.loads(put[0]["message"])["details"]["input"]), order_created("2", 20, currency=None))

    def test_the_stream_is_created_when_missing_and_the_events_put_again(self):
        logs = FakeLogs(streams=set())
        execute(PAYMENT, order_created("3", 49), logs)
        self.assertEqual([call[0] for call in logs.calls], ["put", "create", "put"])
        first, again = logs.puts()
        self.assertEqual(first, again)
        execute(PAYMENT, order_created("4", 49), logs)
        self.assertEqual([call[0] for call in logs.calls], ["put", "create", "put", "put"])

    def test_a_failed_execution_with_branches_and_iterations_delivers_every_event_in_order(self):
        logs = FakeLogs()
        execution = execute(BRANCHING, {"items": list(range(6))}, logs)
        history = execution.env.event_manager.get_event_history()
        self.assertEqual(type(execution.env.program_state()), ProgramError)
        [put] = logs.puts()
        self.assertEqual(logged(put), as_logged(history))
        self.assertEqual(logged(put)[-1][2], "ExecutionFailed")
        self.assertEqual(sum(1 for _, _, kind in logged(put) if kind == "PassStateEntered"), 3 + 6)

    def test_executions_running_at_once_each_put_their_own_events(self):
        runs = at_once(lambda n: (lambda logs: (execute(PAYMENT, order_created(str(n), 500 * n), logs), logs))(FakeLogs()))
        for n, (execution, logs) in runs.items():
            with self.subTest(n=n):
                [put] = logs.puts()
                self.assertEqual(logged(put), as_logged(execution.env.event_manager.get_event_history()))

    def test_a_run_that_times_out_in_a_state_still_shows_its_events_when_its_worker_returns(self):
        # TimeoutSeconds ends the run while Wait still waits: ExecutionTimedOut comes only after.
        definition = json.dumps(
            {"TimeoutSeconds": 1, "StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 2, "End": True}}}
        )
        logs = FakeLogs()
        execute(definition, {}, logs)
        self.assertEqual([kind for _, _, kind in logged(logs.delivered())], ["ExecutionStarted", "WaitStateEntered"])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(logs.puts()) < 2:
            time.sleep(0.05)
        self.assertEqual(logged(logs.puts()[-1])[-1][2], "ExecutionTimedOut")


class ASessionBatches(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stepfunctions_logs.apply()

    def test_a_long_execution_puts_every_fifty_events_and_the_rest_at_its_end(self):
        logs = FakeLogs()
        logging_session = session("long", logs)
        for n in range(1, 121):
            logging_session.publish_history_log(history_log(n))
        self.assertEqual([len(put) for put in logs.puts()], [50, 50])
        logging_session.publish_history_log(history_log(121, HistoryEventType.ExecutionSucceeded))
        self.assertEqual([len(put) for put in logs.puts()], [50, 50, 21])
        self.assertEqual([json.loads(e["message"])["id"] for e in logs.delivered()], [str(n) for n in range(1, 122)])

    def test_a_batch_stays_under_the_byte_bound(self):
        logs = FakeLogs()
        logging_session = session("big", logs)
        for n in range(1, 11):
            logging_session.publish_history_log(history_log(n, details={"output": "x" * 100_000}))
        logging_session.publish_history_log(history_log(11, HistoryEventType.ExecutionSucceeded))
        sizes = [sum(len(e["message"].encode()) + stepfunctions_logs.LOG_EVENT_OVERHEAD_BYTES for e in put) for put in logs.puts()]
        self.assertEqual(sum(len(put) for put in logs.puts()), 11)
        self.assertGreater(len(sizes), 3)
        self.assertTrue(all(size <= stepfunctions_logs.MAX_BATCH_BYTES for size in sizes), sizes)

    def test_an_event_older_than_the_last_one_starts_a_new_batch(self):
        # PutLogEvents refuses a whole batch whose events are not in chronological order.
        logs = FakeLogs()
        logging_session = session("clock", logs)
        at = datetime.datetime(2026, 3, 1, 10, 0, 0, tzinfo=datetime.UTC)
        for n, offset in ((1, 5), (2, 6), (3, 4)):
            logging_session.publish_history_log(history_log(n, at=at + datetime.timedelta(seconds=offset)))
        logging_session.publish_history_log(history_log(4, HistoryEventType.ExecutionFailed, at=at + datetime.timedelta(seconds=7)))
        self.assertEqual([[json.loads(e["message"])["id"] for e in put] for put in logs.puts()], [["1", "2"], ["3", "4"]])
        for put in logs.puts():
            self.assertEqual([e["timestamp"] for e in put], sorted(e["timestamp"] for e in put))

    def test_every_end_event_puts_the_batch(self):
        for end in ("ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"):
            with self.subTest(end):
                logs = FakeLogs()
                logging_session = session(end, logs)
                logging_session.publish_history_log(history_log(1, HistoryEventType.ExecutionStarted))
                self.assertEqual(logs.calls, [])
                logging_session.publish_history_log(history_log(2, HistoryEventType(end)))
                self.assertEqual([len(put) for put in logs.puts()], [2])

    def test_a_failed_put_is_logged_as_localstack_logs_it_and_later_batches_still_go(self):
        logs = FakeLogs(fail=RuntimeError("connection refused"))
        logging_session = session("failing", logs)
        with self.assertLogs(sfn_logging.LOG, logging.WARNING) as said:
            logging_session.publish_history_log(history_log(1, HistoryEventType.ExecutionSucceeded))
        self.assertIn("connection refused", said.output[0])
        logs.fail = None
        logging_session.publish_history_log(history_log(2, HistoryEventType.ExecutionSucceeded))
        self.assertEqual([len(put) for put in logs.puts()], [1, 1])

    def test_events_from_several_threads_are_all_put_each_threads_in_its_order(self):
        # LocalStack's event manager already adds one event at a time; the batch does not rely on it.
        logs = FakeLogs()
        logging_session = session("threads", logs)
        at = datetime.datetime(2026, 3, 1, 10, 0, 0, tzinfo=datetime.UTC)
        at_once(lambda t: [logging_session.publish_history_log(history_log(1000 * t + i, at=at)) for i in range(1, 101)])
        ids = [int(json.loads(e["message"])["id"]) for e in logs.delivered()]
        self.assertEqual([len(put) for put in logs.puts()], [50] * 16)
        self.assertEqual(sorted(ids), sorted(1000 * t + i for t in range(8) for i in range(1, 101)))
        for t in range(8):
            self.assertEqual([i for i in ids if i // 1000 == t], [1000 * t + i for i in range(1, 101)])


class Applying(unittest.TestCase):
    def test_applying_twice_patches_once(self):
        assert_applied_once(self, stepfunctions_logs, CloudWatchLoggingSession, "publish_history_log")


if __name__ == "__main__":
    unittest.main()
