#!/usr/bin/env python3
"""Where the payment workflow's time goes: for the newest executions of the deployed stack's
state machine, each execution's duration split into the time its Lambda task ran (scheduled to
succeeded, the payment function's own work), the time its PutEvents task took, and the rest (the
Step Functions engine moving between states). Reads .local/stack.env.

  workflow_breakdown.py [--executions 200] [--minutes 60] [--markdown FILE]

The workflow is Express: Step Functions keeps no history of its executions (ListExecutions and
GetExecutionHistory refuse Express machines), so the histories are read from its log group
(PAYMENT_WORKFLOW_LOG_GROUP, logged at level ALL), the last --minutes of it: each log event is one
history event, as JSON (id, type, event_timestamp, execution_arn, details). An execution is one
that both started and succeeded in that window.
"""

import argparse
import json
import os
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import boto3
from botocore.config import Config

from stack import read_env_file

LAMBDA_ENDS = ("LambdaFunctionSucceeded", "LambdaFunctionFailed", "LambdaFunctionTimedOut")
TASK_ENDS = ("TaskSucceeded", "TaskFailed", "TaskTimedOut")


def event_time(value):
    """Seconds since the epoch of a logged event_timestamp. AWS writes epoch milliseconds as a
    string; LocalStack writes the datetime's isoformat (microseconds, +00:00)."""
    if isinstance(value, (int, float)) or value.isdigit():
        return int(value) / 1000
    at = datetime.fromisoformat(value)
    return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).timestamp()


def history_event(message):
    """One log event's message as a history event, or None for a line that is not one."""
    try:
        logged = json.loads(message)
    except ValueError:
        return None
    if not isinstance(logged, dict) or not {"id", "type", "event_timestamp", "execution_arn"} <= logged.keys():
        return None
    return {"execution": logged["execution_arn"], "id": int(logged["id"]), "type": logged["type"],
            "at": event_time(logged["event_timestamp"]), "details": logged.get("details") or {}}


def histories(messages):
    """Each execution's history, in event order: the log interleaves executions, and on AWS a
    stream's events need not come in id order."""
    by_execution = {}
    for message in messages:
        event = history_event(message)
        if event is not None:
            by_execution.setdefault(event["execution"], []).append(event)
    for events in by_execution.values():
        events.sort(key=lambda event: event["id"])
    return by_execution


def spans(history):
    """Seconds in the Lambda task and in the PutEvents task, from an execution's history. Each
    attempt of a retried task counts; the waits between attempts are the engine's."""
    started = {}
    lambda_s = put_events_s = 0.0
    for event in history:
        kind, at = event["type"], event["at"]
        if kind in ("LambdaFunctionScheduled", "TaskScheduled"):
            started[event["details"].get("resourceType", "lambda")] = at
        elif kind in LAMBDA_ENDS:
            lambda_s += at - started.pop("lambda", at)
        elif kind in TASK_ENDS:
            resource = event["details"].get("resourceType", "")
            if resource == "lambda":
                lambda_s += at - started.pop("lambda", at)
            else:
                put_events_s += at - started.pop(resource, at)
    return lambda_s, put_events_s


def newest_succeeded(by_execution, count):
    """(whole, Lambda task, PutEvents task) seconds of the `count` succeeded executions that
    started last. One whose start is not in the window read (its first event is not
    ExecutionStarted) is left out, as is one still running."""
    finished = []
    for history in by_execution.values():
        if history[0]["type"] == "ExecutionStarted" and history[-1]["type"] == "ExecutionSucceeded":
            started, ended = history[0]["at"], history[-1]["at"]
            finished.append((started, ended - started, *spans(history)))
    finished.sort(reverse=True)
    return [execution[1:] for execution in finished[:count]]


def logged_messages(logs, group, since_ms):
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group, startTime=since_ms):
        for event in page["events"]:
            yield event["message"]


def markdown(executions):
    total, in_lambda, in_put_events = (list(column) for column in zip(*executions))
    engine = [t - l - p for t, l, p in executions]

    def row(name, values):
        ordered = sorted(values)
        p95 = ordered[round((len(ordered) - 1) * 0.95)]
        return f"| {name} | {statistics.median(ordered):.2f} s | {p95:.2f} s | {sum(values) / sum(total):.0%} |"

    lines = [f"{len(executions)} newest succeeded executions of the payment workflow", "",
             "| part | median | p95 | share of all workflow time |", "| --- | --- | --- | --- |",
             row("whole execution", total), row("payment Lambda task (scheduled to succeeded)", in_lambda),
             row("PutEvents task", in_put_events), row("Step Functions engine between states", engine)]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executions", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=60, help="how far back the log is read")
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    env = read_env_file()
    group = env.get("PAYMENT_WORKFLOW_LOG_GROUP")
    if not group:
        sys.exit("the stack has no PaymentWorkflowLogGroup output (PAYMENT_WORKFLOW_LOG_GROUP in .local/stack.env): "
                 "deploy a template whose payment workflow logs to it")
    logs = boto3.client("logs", region_name=env["AWS_REGION"], endpoint_url=env.get("AWS_ENDPOINT_URL"),
                        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
                        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
                        config=Config(retries={"max_attempts": 5}))
    since_ms = int((time.time() - args.minutes * 60) * 1000)
    executions = newest_succeeded(histories(logged_messages(logs, group, since_ms)), args.executions)
    if not executions:
        sys.exit(f"no succeeded executions in {group} in the last {args.minutes:g} minutes")
    table = markdown(executions)
    print(table)
    if args.markdown:
        args.markdown.write_text(table)


if __name__ == "__main__":
    main()
