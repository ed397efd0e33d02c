#!/usr/bin/env python3
"""What a deployed stack says about itself, found from nothing but its API's URL: for the curl
checks (scripts/e2e.sh), which must work against any deployment, on AWS or on LocalStack, without
the files deploying it wrote.

  deployed.py outputs --api URL
      finds the stack whose API that is and prints its outputs as KEY=VALUE lines, as
      .local/stack.env has them (STACK_NAME, AWS_REGION, AWS_ENDPOINT_URL on LocalStack, then each
      output in upper snake case: EVENT_STORE_TABLE_NAME=...); an output the stack does not
      have (SIMULATED_OUTAGE_CUSTOMER when it simulates no outage) is not printed
  deployed.py stored-events --api URL --order ID
      prints how many events the stack's event store holds for that order (a consistent read)
  deployed.py order-view --api URL --order ID
      prints the order's view in the stack's order views table as JSON (a consistent read), or
      null when it has none
  deployed.py function-env --api URL --function NAME
      prints, as KEY=VALUE lines, the environment the stack gives its function NAME (create-order,
      projection, ...: a crate under crates/), then AWS_REGION and, on LocalStack, its endpoint and
      test credentials: an env file to run that function on this machine against the stack's
      tables and bus (`cargo lambda watch --env-file`; scripts/function.sh env writes it)

The URL is one of `https://{api id}.execute-api.{region}.amazonaws.com/{stage}` (AWS; a custom
domain is not recognised) or `{endpoint}/_aws/execute-api/{api id}/{stage}` (LocalStack, in the
region of AWS_REGION, else us-east-1). On AWS the credentials of the environment need only
cloudformation:DescribeStacks and dynamodb:Query on the event store (order-view: dynamodb:GetItem
on the order views; function-env: lambda:GetFunctionConfiguration).
"""

import argparse
import json
import os
import re
import sys
from urllib.parse import urlsplit

from console import Console
from stack import Target, snake

CONSOLE = Console("deployed")
fail = CONSOLE.fail

AWS_API = re.compile(r"^(?P<id>[a-z0-9]+)\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?$")
LOCAL_API = re.compile(r"^/_aws/execute-api/(?P<id>[^/]+)/[^/]+/?$")


def locate(url):
    """(api id, region, LocalStack endpoint or None) of an API's base URL."""
    parts = urlsplit(url)
    found = AWS_API.match(parts.hostname or "")
    if parts.scheme == "https" and found:
        return found["id"], found["region"], None
    found = LOCAL_API.match(parts.path)
    if found:
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        return found["id"], region, f"{parts.scheme}://{parts.netloc}"
    raise ValueError(
        f"{url} is neither an API Gateway URL (https://ID.execute-api.REGION.amazonaws.com/STAGE) "
        "nor a LocalStack one (http://HOST:PORT/_aws/execute-api/ID/STAGE)"
    )


def stack_of(target, api_id):
    """The description of the stack whose ApiId output is `api_id`."""
    for page in target.cfn.get_paginator("describe_stacks").paginate():
        for stack in page["Stacks"]:
            if any(o["OutputKey"] == "ApiId" and o["OutputValue"] == api_id for o in stack.get("Outputs", [])):
                return stack
    fail(f"no stack in {target.describe()} has the API {api_id} (an ApiId output)")


def outputs(target, api_id):
    stack = stack_of(target, api_id)
    lines = [f"STACK_NAME={stack['StackName']}", f"AWS_REGION={target.region}"]
    if target.local:
        lines.append(f"AWS_ENDPOINT_URL={target.endpoint_url}")
    lines += [f"{snake(o['OutputKey'])}={o['OutputValue']}" for o in stack.get("Outputs", [])]
    return lines


def stored_events(target, api_id, order):
    table = output_values(target, api_id).get("EventStoreTableName") or fail("the stack has no EventStoreTableName output")
    dynamodb = target.client("dynamodb")
    query = dict(
        TableName=table,
        KeyConditionExpression="aggregateId = :id",
        ExpressionAttributeValues={":id": {"S": order}},
        ConsistentRead=True,
        Select="COUNT",
    )
    return sum(page["Count"] for page in dynamodb.get_paginator("query").paginate(**query))


def output_values(target, api_id):
    return {o["OutputKey"]: o["OutputValue"] for o in stack_of(target, api_id).get("Outputs", [])}


def order_view(target, api_id, order):
    """The order's view as the order views table holds it (a JSON document), or None."""
    table = output_values(target, api_id).get("OrderViewsTableName") or fail("the stack has no OrderViewsTableName output")
    item = target.client("dynamodb").get_item(
        TableName=table, Key={"orderKey": {"S": order}}, ConsistentRead=True
    ).get("Item")
    return item and json.loads(item["view"]["S"])


def function_output(function):
    """The stack's output that names a function's deployed name: create-order -> CreateOrderFunctionName."""
    return "".join(word.capitalize() for word in function.split("-")) + "FunctionName"


def env_line(key, value):
    """KEY=VALUE as env files (cargo lambda's, dotenv's) read it: single-quoted unless plain."""
    if re.fullmatch(r"[\w.:/@+,=-]*", value):
        return f"{key}={value}"
    if "'" in value or "\n" in value:
        fail(f"{key}'s value cannot be written to an env file: {value!r}")
    return f"{key}='{value}'"


def function_env(target, api_id, function):
    """The environment lines of `deployed.py function-env`."""
    outputs = output_values(target, api_id)
    name = outputs.get(function_output(function))
    if not name:
        known = sorted(snake(k[: -len("FunctionName")]).lower().replace("_", "-") for k in outputs if k.endswith("FunctionName"))
        fail(f"the stack has no function {function}; it has {', '.join(known)}")
    configuration = target.client("lambda").get_function_configuration(FunctionName=name)
    variables = configuration.get("Environment", {}).get("Variables", {})
    lines = [env_line(key, value) for key, value in sorted(variables.items())]
    lines.append(f"AWS_REGION={target.region}")
    if target.local:
        lines += [f"AWS_ENDPOINT_URL={target.endpoint_url}", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test"]
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("outputs", "stored-events", "order-view", "function-env"):
        command = commands.add_parser(name)
        command.add_argument("--api", required=True, help="the API's base URL")
        if name in ("stored-events", "order-view"):
            command.add_argument("--order", required=True, help="the order's id")
        if name == "function-env":
            command.add_argument("--function", required=True, help="the function: create-order, projection, ...")
    args = parser.parse_args()
    try:
        api_id, region, endpoint = locate(args.api)
    except ValueError as error:
        fail(str(error))
    if endpoint:
        # LocalStack accepts any credentials; never use the developer's real ones against it.
        os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ.pop("AWS_PROFILE", None)
    target = Target(region, endpoint, CONSOLE)
    if args.command == "outputs":
        print("\n".join(outputs(target, api_id)))
    elif args.command == "stored-events":
        print(stored_events(target, api_id, args.order))
    elif args.command == "order-view":
        print(json.dumps(order_view(target, api_id, args.order)))
    else:
        print("\n".join(function_env(target, api_id, args.function)))


if __name__ == "__main__":
    sys.exit(main())
