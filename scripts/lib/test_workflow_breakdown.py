"""The payment workflow's time split from its execution log (workflow_breakdown.py): run with the
tools' Python, from this folder:
    ../../.local/tools/bin/python -m unittest -q test_workflow_breakdown
The log events are literal: LocalStack's (event_timestamp its datetime's isoformat, as its
Step Functions logging writes them) and AWS's (epoch milliseconds as a string, and a field more).
"""

import unittest

from workflow_breakdown import event_time, histories, markdown, newest_succeeded

LOCAL = "arn:aws:states:us-east-1:000000000000:express:eda-demo-payment-service:e1:1"
AWS = "arn:aws:states:us-east-1:123456789012:express:eda-demo-payment-service:e2:2"
RUNNING = "arn:aws:states:us-east-1:000000000000:express:eda-demo-payment-service:e3:3"
OLD = "arn:aws:states:us-east-1:000000000000:express:eda-demo-payment-service:e0:0"

# e1 on LocalStack, from 00:00:00.100: the Lambda task fails once (0.2 s), is retried after 1 s and
# succeeds (0.3 s), then PutEvents takes 0.15 s; ends at 00:00:02.000, so 1.9 s in all.
LOCALSTACK_LOG = [
    '{"id": "1", "previous_event_id": "0", "event_timestamp": "2026-01-01T00:00:00.100000+00:00", "type": "ExecutionStarted", '
    f'"execution_arn": "{LOCAL}", "details": {{"input": "{{}}", "inputDetails": {{"truncated": false}}, "roleArn": "r"}}}}',
    '{"id": "2", "previous_event_id": "0", "event_timestamp": "2026-01-01T00:00:00.150000+00:00", "type": "TaskStateEntered", '
    f'"execution_arn": "{LOCAL}", "details": {{"name": "Charge", "input": "{{}}"}}}}',
    '{"id": "3", "previous_event_id": "2", "event_timestamp": "2026-01-01T00:00:00.200000+00:00", "type": "TaskScheduled", '
    f'"execution_arn": "{LOCAL}", "details": {{"resourceType": "lambda", "resource": "invoke", "region": "us-east-1", "parameters": "{{}}"}}}}',
    '{"id": "4", "previous_event_id": "3", "event_timestamp": "2026-01-01T00:00:00.400000+00:00", "type": "TaskFailed", '
    f'"execution_arn": "{LOCAL}", "details": {{"resourceType": "lambda", "resource": "invoke", "error": "Lambda.TooManyRequestsException"}}}}',
    '{"id": "5", "previous_event_id": "4", "event_timestamp": "2026-01-01T00:00:01.400000+00:00", "type": "TaskScheduled", '
    f'"execution_arn": "{LOCAL}", "details": {{"resourceType": "lambda", "resource": "invoke", "region": "us-east-1", "parameters": "{{}}"}}}}',
    '{"id": "6", "previous_event_id": "5", "event_timestamp": "2026-01-01T00:00:01.700000+00:00", "type": "TaskSucceeded", '
    f'"execution_arn": "{LOCAL}", "details": {{"resourceType": "lambda", "resource": "invoke", "output": "{{}}"}}}}',
    '{"id": "7", "previous_event_id": "6", "event_timestamp": "2026-01-01T00:00:01.800000+00:00", "type": "TaskScheduled", '
    f'"execution_arn": "{LOCAL}", "details": {{"resourceType": "events", "resource": "putEvents", "region": "us-east-1", "parameters": "{{}}"}}}}',
    '{"id": "8", "previous_event_id": "7", "event_timestamp": "2026-01-01T00:00:01.950000+00:00", "type": "TaskSucceeded", '
    f'"execution_arn": "{LOCAL}", "details": {{"resourceType": "events", "resource": "putEvents", "output": "{{}}"}}}}',
    # A whole second: LocalStack's isoformat then has no fraction.
    '{"id": "9", "previous_event_id": "8", "event_timestamp": "2026-01-01T00:00:02+00:00", "type": "ExecutionSucceeded", '
    f'"execution_arn": "{LOCAL}", "details": {{"output": "{{}}", "outputDetails": {{"truncated": false}}}}}}',
]

# e2 on AWS, started after e1 (1767225603000 is 2026-01-01T00:00:03Z): Lambda 0.4 s, PutEvents 0.1 s, 0.75 s in all.
AWS_LOG = [
    '{"id": "1", "type": "ExecutionStarted", "details": {"input": "{}", "inputDetails": {"truncated": false}, '
    f'"roleArn": "r"}}, "previous_event_id": "0", "event_timestamp": "1767225603000", "execution_arn": "{AWS}", "redrive_count": "0"}}',
    '{"id": "3", "type": "TaskScheduled", "details": {"parameters": "{}", "region": "us-east-1", "resource": "invoke", '
    f'"resourceType": "lambda"}}, "previous_event_id": "2", "event_timestamp": "1767225603100", "execution_arn": "{AWS}", "redrive_count": "0"}}',
    '{"id": "5", "type": "TaskSucceeded", "details": {"output": "{}", "outputDetails": {"truncated": false}, "resource": "invoke", '
    f'"resourceType": "lambda"}}, "previous_event_id": "4", "event_timestamp": "1767225603500", "execution_arn": "{AWS}", "redrive_count": "0"}}',
    '{"id": "7", "type": "TaskScheduled", "details": {"parameters": "{}", "region": "us-east-1", "resource": "putEvents", '
    f'"resourceType": "events"}}, "previous_event_id": "6", "event_timestamp": "1767225603600", "execution_arn": "{AWS}", "redrive_count": "0"}}',
    '{"id": "9", "type": "TaskSucceeded", "details": {"output": "{}", "outputDetails": {"truncated": false}, "resource": "putEvents", '
    f'"resourceType": "events"}}, "previous_event_id": "8", "event_timestamp": "1767225603700", "execution_arn": "{AWS}", "redrive_count": "0"}}',
    '{"id": "10", "type": "ExecutionSucceeded", "details": {"output": "{}", "outputDetails": {"truncated": false}}, '
    f'"previous_event_id": "9", "event_timestamp": "1767225603750", "execution_arn": "{AWS}", "redrive_count": "0"}}',
]

# Neither is counted: one still running (the newest), one whose start is before the window read.
OTHERS = [
    '{"id": "1", "previous_event_id": "0", "event_timestamp": "2026-01-01T00:00:09.000000+00:00", "type": "ExecutionStarted", '
    f'"execution_arn": "{RUNNING}", "details": {{}}}}',
    '{"id": "9", "previous_event_id": "8", "event_timestamp": "2026-01-01T00:00:00.050000+00:00", "type": "ExecutionSucceeded", '
    f'"execution_arn": "{OLD}", "details": {{}}}}',
]


def interleaved():
    """The log as FilterLogEvents gives it: executions interleaved, one event out of order, and a
    line that is no history event (the stream LocalStack makes to check the group is writable)."""
    lines = [line for pair in zip(LOCALSTACK_LOG, AWS_LOG) for line in pair] + LOCALSTACK_LOG[len(AWS_LOG):]
    lines[0], lines[2] = lines[2], lines[0]
    return lines + OTHERS + ["not JSON", '{"message": "JSON, not an event"}']


class Timestamps(unittest.TestCase):
    def test_aws_epoch_milliseconds_and_localstack_isoformat_are_the_same_instant(self):
        self.assertEqual(event_time("1767225603750"), 1767225603.75)
        self.assertEqual(event_time("2026-01-01T00:00:03.750000+00:00"), 1767225603.75)
        self.assertEqual(event_time("2026-01-01T00:00:03+00:00"), 1767225603.0)
        self.assertEqual(event_time(1767225603750), 1767225603.75)


class Breakdown(unittest.TestCase):
    def test_the_log_is_grouped_per_execution_in_event_order(self):
        by_execution = histories(interleaved())
        self.assertEqual(set(by_execution), {LOCAL, AWS, RUNNING, OLD})
        self.assertEqual([e["id"] for e in by_execution[LOCAL]], list(range(1, 10)))
        self.assertEqual(by_execution[AWS][1]["details"]["resourceType"], "lambda")

    def test_each_execution_is_split_into_its_lambda_task_its_put_events_task_and_the_rest(self):
        newest_first = newest_succeeded(histories(interleaved()), 10)
        self.assertEqual(len(newest_first), 2)
        for got, expected in zip(newest_first, [(0.75, 0.4, 0.1), (1.9, 0.2 + 0.3, 0.15)]):
            for g, e in zip(got, expected):
                self.assertAlmostEqual(g, e, places=6)

    def test_only_the_newest_by_start_are_taken(self):
        (only,) = newest_succeeded(histories(interleaved()), 1)
        self.assertAlmostEqual(only[0], 0.75)

    def test_the_markdown_table_keeps_its_shape(self):
        table = markdown(newest_succeeded(histories(interleaved()), 10)).splitlines()
        self.assertEqual(table[:4], ["2 newest succeeded executions of the payment workflow", "",
                                     "| part | median | p95 | share of all workflow time |", "| --- | --- | --- | --- |"])
        # Of 2.65 s in all: 0.9 s in the Lambda task, 0.25 s in PutEvents, 1.5 s between states.
        self.assertEqual([(row.split(" | ")[0], row.split(" | ")[2], row.split(" | ")[3]) for row in table[4:]], [
            ("| whole execution", "1.90 s", "100% |"),
            ("| payment Lambda task (scheduled to succeeded)", "0.50 s", "34% |"),
            ("| PutEvents task", "0.15 s", "9% |"),
            ("| Step Functions engine between states", "1.25 s", "57% |"),
        ])

if __name__ == "__main__":
    unittest.main()
