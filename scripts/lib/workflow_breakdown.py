#!/usr/bin/env python3
"""Where the payment workflow's time goes: for the newest executions of the deployed stack's
state machine, each execution's duration split into the time its Lambda task ran (scheduled to
succeeded, the payment function's own work), the time its PutEvents task took, and the rest (the
Step Functions engine moving between states). Reads .local/stack.env.

  workflow_breakdown.py [--executions 200] [--markdown FILE]
"""

import argparse
import os
import statistics
import sys
from pathlib import Path

import boto3
from botocore.config import Config


def stack_env():
    path = Path(__file__).resolve().parents[2] / ".local" / "stack.env"
    values = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            name, value = line.split("=", 1)
            values[name] = value.strip().strip("'\"")
    return values


def spans(history):
    """Seconds in the Lambda task and in the PutEvents task, from an execution's history."""
    started = {}
    lambda_s = put_events_s = 0.0
    for event in history:
        kind, at = event["type"], event["timestamp"].timestamp()
        if kind in ("LambdaFunctionScheduled", "TaskScheduled"):
            resource = event.get("taskScheduledEventDetails", {}).get("resourceType", "lambda")
            started[resource] = at
        elif kind in ("LambdaFunctionSucceeded", "LambdaFunctionFailed"):
            lambda_s += at - started.pop("lambda", at)
        elif kind in ("TaskSucceeded", "TaskFailed"):
            resource = event.get("taskSucceededEventDetails", event.get("taskFailedEventDetails", {})).get(
                "resourceType", "")
            if resource == "lambda":
                lambda_s += at - started.pop("lambda", at)
            else:
                put_events_s += at - started.pop(resource, at)
    return lambda_s, put_events_s


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executions", type=int, default=200)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    env = stack_env()
    client = boto3.client("stepfunctions", region_name=env["AWS_REGION"], endpoint_url=env.get("AWS_ENDPOINT_URL"),
                          aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
                          aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
                          config=Config(retries={"max_attempts": 5}))
    executions = []
    for page in client.get_paginator("list_executions").paginate(stateMachineArn=env["PAYMENT_STATE_MACHINE_ARN"],
                                                                 statusFilter="SUCCEEDED"):
        executions.extend(page["executions"])
    executions.sort(key=lambda e: e["startDate"], reverse=True)
    executions = executions[: args.executions]
    if not executions:
        sys.exit("no finished executions")
    total, in_lambda, in_put_events = [], [], []
    for execution in executions:
        history = client.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
        lambda_s, put_events_s = spans(history)
        total.append((execution["stopDate"] - execution["startDate"]).total_seconds())
        in_lambda.append(lambda_s)
        in_put_events.append(put_events_s)
    engine = [t - l - p for t, l, p in zip(total, in_lambda, in_put_events)]

    def row(name, values):
        ordered = sorted(values)
        p95 = ordered[round((len(ordered) - 1) * 0.95)]
        return f"| {name} | {statistics.median(ordered):.2f} s | {p95:.2f} s | {sum(values) / sum(total):.0%} |"

    lines = [f"{len(executions)} newest succeeded executions of the payment workflow", "",
             "| part | median | p95 | share of all workflow time |", "| --- | --- | --- | --- |",
             row("whole execution", total), row("payment Lambda task (scheduled to succeeded)", in_lambda),
             row("PutEvents task", in_put_events), row("Step Functions engine between states", engine)]
    table = "\n".join(lines) + "\n"
    print(table)
    if args.markdown:
        args.markdown.write_text(table)


if __name__ == "__main__":
    main()
