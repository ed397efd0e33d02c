#!/usr/bin/env python3
"""The system as a CloudFormation stack, on AWS or on LocalStack.

  stack.py whoami  --region R [--endpoint-url URL]
      checks that credentials are there and work, and prints the account (never the secrets)
  stack.py deploy  --stack-name S --region R --template T --artifacts DIR --functions a,b
                   [--asset NAME=PATH] [--parameter KEY=VALUE] [--keep-previous KEY]
                   [--reserve FUNCTION=N] [--api-logging-role auto|create|existing]
                   [--env-file F] [--confirm-changeset] [--endpoint-url URL]
      zips each function's `bootstrap` (built once by `cargo lambda build`) reproducibly, uploads
      the zips and assets to an artifact bucket under a content-hash prefix, points the template's
      local code (CodeUri, DefinitionUri: what `sam build` reads) at them, creates or updates the
      stack with a change set (with --confirm-changeset, shown first and executed only if the
      answer is yes), printing resource events as they happen, and prints the outputs,
      the API's URL first; with --env-file, writes them as shell variables (API=...); with
      --keep-previous, a parameter not given keeps the stack's current value (instead of going
      back to the template's default); with --reserve (LocalStack only), sets the reserved
      concurrency of the function with that logical id, which LocalStack's CloudFormation leaves
      unset; with --api-logging-role, sets ApiGatewayAccountRole (auto: reads the account's API
      Gateway settings and says what it chose)
  stack.py outputs --stack-name S --region R [--env-file F] [--endpoint-url URL]
      prints the outputs of a stack deployed any way (`sam deploy` too), and with --env-file
      writes them as deploy does
  stack.py destroy --stack-name S --region R [--endpoint-url URL] [--delete-retained-tables]
      deletes the stack and everything it created but the tables it keeps (the event store and
      the payment ledger, retained.py), and the artifact bucket (emptied first); says what was
      kept and how to deploy again; with --delete-retained-tables, deletes those tables too
  stack.py concurrency --stack-name S --region R [--endpoint-url URL] [--markdown FILE]
      prints the account's Lambda concurrency and what each of the stack's functions reserves
(The sizes of what deploy uploads: artifacts.py sizes.)
"""

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

import retained
from artifacts import bootstrap, located_in, zip_bootstrap
from console import Console
from template_check import read_template

TEMPLATE_BODY_LIMIT = 51_200
# The bus's archive is named <stack>-events (infra/template.yaml), and archive names are at most
# 48 characters.
ARCHIVE_SUFFIX, ARCHIVE_NAME_LIMIT = "-events", 48
# deploy's exit status when its change set was declined at the review: nothing deployed, no error.
DECLINED = 3
FAILED = ("FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_IN_PROGRESS")
# What LocalStack's CloudFormation gives as the attributes of a resource type it does not support.
LOCALSTACK_UNMADE = "unknown"


class Target:
    """Clients for AWS, or for LocalStack when an endpoint is given, and the console the command
    speaks on."""

    def __init__(self, region, endpoint_url=None, console=Console("stack")):
        self.region, self.endpoint_url, self.console = region, endpoint_url, console
        self.local = endpoint_url is not None
        self.poll = 1.0 if self.local else 5.0
        self.session = boto3.session.Session(region_name=region)
        if self.session.get_credentials() is None:
            console.fail(
                "no AWS credentials found. Configure them first: `aws configure` (or AWS_PROFILE for a "
                "named profile), `aws sso login`, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."
            )
        config = Config(retries={"max_attempts": 10, "mode": "standard"})
        self.client = lambda service: self.session.client(service, endpoint_url=endpoint_url, config=config)
        self.cfn, self.s3 = self.client("cloudformation"), self.client("s3")
        try:
            self.account = self.client("sts").get_caller_identity()["Account"]
        except (ClientError, BotoCoreError) as error:
            console.fail(f"the credentials found do not work: {error}")

    def describe(self):
        where = f"LocalStack at {self.endpoint_url}" if self.local else "AWS"
        return f"{where}, account {self.account}, region {self.region}"

    def artifact_bucket(self, stack):
        """The bucket deploy uploads the stack's artifacts to and destroy deletes: one per stack,
        account and region, since bucket names are global."""
        return f"{stack}-artifacts-{self.account}-{self.region}"


def bucket_exists(s3, bucket):
    try:
        s3.head_bucket(Bucket=bucket)
        return True
    except ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchBucket", "NotFound"):
            return False
        raise


def ensure_bucket(target, bucket):
    if bucket_exists(target.s3, bucket):
        return
    target.console.log(f"creating artifact bucket {bucket}")
    if target.region == "us-east-1":
        target.s3.create_bucket(Bucket=bucket)
    else:
        target.s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": target.region})
    target.s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )


def upload_artifacts(target, bucket, artifacts_dir: Path, functions, assets):
    """Uploads `<function>.zip` for each function and each asset file under one prefix, a hash
    of all of them: a new build is a new prefix, so the stack update replaces exactly what changed.
    Returns the prefix and the names uploaded under it."""
    s3, log, fail = target.s3, target.console.log, target.console.fail
    files = {}
    for name in functions:
        binary = bootstrap(artifacts_dir, name)
        if not binary.is_file():
            fail(f"{binary} is missing: build the functions first (scripts/build.sh)")
        files[f"{name}.zip"] = zip_bootstrap(binary)
        log(f"{name}: bootstrap {binary.stat().st_size / 1e6:.1f} MB, zipped {len(files[name + '.zip']) / 1e6:.1f} MB")
    for name, path in assets.items():
        if not Path(path).is_file():
            fail(f"asset {path} is missing")
        files[name] = Path(path).read_bytes()
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    prefix = f"build/{digest.hexdigest()[:16]}"
    for name, data in files.items():
        key = f"{prefix}/{name}"
        try:
            s3.head_object(Bucket=bucket, Key=key)
            log(f"s3://{bucket}/{key} already uploaded")
        except ClientError:
            s3.put_object(Bucket=bucket, Key=key, Body=data)
            log(f"uploaded s3://{bucket}/{key}")
    return prefix, set(files)


def stack_status(cfn, stack):
    try:
        return cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    except ClientError as error:
        if "does not exist" in error.response["Error"]["Message"]:
            return None
        raise


class EventPrinter:
    """Prints each new stack event once, oldest first."""

    def __init__(self, target, stack):
        self.cfn, self.log, self.stack, self.seen = target.cfn, target.console.log, stack, set()
        for event in self.events():
            self.seen.add(event["EventId"])

    def events(self):
        try:
            return self.cfn.describe_stack_events(StackName=self.stack)["StackEvents"]
        except ClientError:
            return []

    def print_new(self):
        for event in reversed(self.events()):
            if event["EventId"] in self.seen:
                continue
            self.seen.add(event["EventId"])
            reason = event.get("ResourceStatusReason") or ""
            self.log(f"  {event['ResourceStatus']:<22} {event['LogicalResourceId']:<32} {reason}".rstrip())


def wait_for_change_set(target, stack, name):
    cfn = target.cfn
    while True:
        change_set = cfn.describe_change_set(StackName=stack, ChangeSetName=name)
        status = change_set["Status"]
        if status == "CREATE_COMPLETE":
            return change_set
        if status == "FAILED":
            reason = change_set.get("StatusReason", "")
            if "didn't contain changes" in reason or "No updates are to be performed" in reason:
                return None
            target.console.fail(f"change set failed: {reason}")
        time.sleep(target.poll)


def wait_for_stack(target, stack, printer, timeout, goal):
    """Waits until the stack reaches `goal` (a status, or None for gone); fails on any other end."""
    cfn, fail = target.cfn, target.console.fail
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = stack_status(cfn, stack)
        printer.print_new()
        if status == goal or (goal is None and status == "DELETE_COMPLETE"):
            return status
        if status is None:
            fail(f"stack {stack} is gone")
        settled = not status.endswith("IN_PROGRESS")
        if settled and status != goal:
            fail(f"stack {stack} ended in {status}")
        time.sleep(target.poll)
    fail(f"stack {stack} did not finish within {timeout} s")


def deploy(target, args):
    """Uploads the build, creates or updates the stack with a change set, and reports its outputs."""
    stack, bucket = args.stack_name, target.artifact_bucket(args.stack_name)
    check_stack_name(target.console, stack)
    ensure_bucket(target, bucket)
    assets = dict(pair.split("=", 1) for pair in args.asset)
    prefix, uploaded = upload_artifacts(target, bucket, Path(args.artifacts), args.functions.split(","), assets)
    try:
        located = located_in(read_template(args.template), bucket, prefix, uploaded)
    except ValueError as error:
        target.console.fail(str(error))
    parameters = given_parameters(args.parameter)
    status = stack_status(target.cfn, stack)
    if args.api_logging_role:
        parameters["ApiGatewayAccountRole"] = api_logging_role(target, stack, status, args.api_logging_role)
    status = remove_failed_first_deploy(target, stack, status, args.timeout)
    change_set_type = "CREATE" if status in (None, "REVIEW_IN_PROGRESS") else "UPDATE"
    if change_set_type == "CREATE":
        retained.refuse_to_create_over(target, stack, destroy_command(target, stack))
    kept = []
    if change_set_type == "UPDATE" and args.keep_previous:
        kept = kept_parameters(target, stack, parameters, args.keep_previous)
    template = template_source(target, bucket, json.dumps(located))
    given = [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()]
    run_change_set(target, stack, change_set_type, given + kept, template, args.timeout, args.confirm_changeset)
    if args.reserve:
        reserve_concurrency(target, stack, args.reserve)
    if target.local:
        retained.protect_locally(target, stack)
    outputs(target, args)


def outputs(target, args):
    """Prints the stack's outputs, the API's URL first, and with --env-file writes them as shell
    variables: for a stack deployed another way too (`sam deploy`)."""
    values = stack_outputs(target, args.stack_name)
    print_outputs(target.console, values)
    if args.env_file:
        write_env_file(target.console, args.env_file, env_lines(target, args.stack_name, values))


def check_stack_name(console, stack):
    """Fails on a stack name too long for the names the template derives from it."""
    archive = f"{stack}{ARCHIVE_SUFFIX}"
    if len(archive) > ARCHIVE_NAME_LIMIT:
        console.fail(
            f"the stack name {stack!r} is too long: its event archive would be {archive!r}, and archive "
            f"names have at most {ARCHIVE_NAME_LIMIT} characters (so at most "
            f"{ARCHIVE_NAME_LIMIT - len(ARCHIVE_SUFFIX)} for the stack name)"
        )


def destroy_command(target, stack):
    """The command that deletes `stack` where `target` is, as a user types it."""
    if target.local:
        return "scripts/destroy.sh --local"
    return f"scripts/destroy.sh --stack-name {stack} --region {target.region}"


def given_parameters(pairs):
    """--parameter KEY=VALUE, in the order given (a pair without `=` gives its key an empty value)."""
    return {key: value for key, _, value in (pair.partition("=") for pair in pairs)}


def remove_failed_first_deploy(target, stack, status, timeout):
    """A stack left by a failed first deploy cannot be updated, only deleted: deletes it. Returns
    the status to deploy from."""
    if status not in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED"):
        return status
    target.console.log(f"stack {stack} is {status} from a failed first deploy: deleting it")
    printer = EventPrinter(target, stack)
    target.cfn.delete_stack(StackName=stack)
    wait_for_stack(target, stack, printer, timeout, None)
    return None


def kept_parameters(target, stack, parameters, keys):
    """--keep-previous: each of `keys` the stack has and `parameters` lacks keeps its value."""
    described = target.cfn.describe_stacks(StackName=stack)["Stacks"][0]
    current = {p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])}
    kept = []
    for key in keys:
        if key not in parameters and key in current:
            kept.append({"ParameterKey": key, "UsePreviousValue": True})
            target.console.log(f"keeping {key}={current[key]!r}, as deployed (give it to change it)")
    return kept


def template_source(target, bucket, body):
    """The template as a change set takes it: its body, or, past the size CloudFormation accepts
    inline, the URL of a copy in the artifact bucket."""
    if len(body.encode()) <= TEMPLATE_BODY_LIMIT:
        return {"TemplateBody": body}
    key = f"templates/{hashlib.sha256(body.encode()).hexdigest()[:16]}.yaml"
    target.s3.put_object(Bucket=bucket, Key=key, Body=body.encode())
    return {"TemplateURL": f"{target.s3.meta.endpoint_url}/{bucket}/{key}"}


def change_set_changes(cfn, stack, name):
    """Every resource change of the change set, on every page of its description."""
    pages = cfn.get_paginator("describe_change_set").paginate(StackName=stack, ChangeSetName=name)
    return [change["ResourceChange"] for page in pages for change in page.get("Changes", []) if "ResourceChange" in change]


def confirmed(target, stack, name, answer=input):
    """Shows what the change set would change, as `sam deploy --confirm-changeset` does, and asks
    whether to execute it: True for yes, False for no; fails when no answer comes (the standard
    input closed), since a review nobody answers must not pass for either."""
    log = target.console.log
    changes = change_set_changes(target.cfn, stack, name)
    log(f"change set {name} of stack {stack}: {len(changes)} resources")
    for change in changes:
        replacement = {"True": ", replaced", "Conditional": ", may be replaced"}.get(change.get("Replacement"), "")
        log(f"  {change['Action']:<7} {change['LogicalResourceId']:<40} {change['ResourceType']}{replacement}")
    try:
        reply = answer(f"[{target.console.tag}] execute this change set? [y/N] ")
    except EOFError:
        reply = None
    if not sys.stdin.isatty():
        print(reply.strip() if reply is not None else "", flush=True)  # a terminal would have echoed it
    if reply is None:
        target.cfn.delete_change_set(StackName=stack, ChangeSetName=name)
        target.console.fail("no answer to the change set review (the standard input is closed): nothing deployed; "
                            "answer y or n, or deploy with --no-confirm-changeset")
    return reply.strip().lower() in ("y", "yes")


def run_change_set(target, stack, change_set_type, parameters, template, timeout, confirm=False, answer=input):
    """Creates a change set and, unless it changes nothing, executes it, printing the stack's
    events until the stack is done. With `confirm`, shows the change set first and executes it
    only if the answer is yes; otherwise deletes it and exits with DECLINED."""
    cfn, log = target.cfn, target.console.log
    name = f"deploy-{int(time.time())}"
    log(f"{change_set_type.lower()} stack {stack} (change set {name})")
    printer = EventPrinter(target, stack)
    cfn.create_change_set(
        StackName=stack,
        ChangeSetName=name,
        ChangeSetType=change_set_type,
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        Parameters=parameters,
        **template,
    )
    if wait_for_change_set(target, stack, name) is None:
        log("no changes to deploy")
        cfn.delete_change_set(StackName=stack, ChangeSetName=name)
        return
    if confirm and not confirmed(target, stack, name, answer):
        cfn.delete_change_set(StackName=stack, ChangeSetName=name)
        if change_set_type == "CREATE":
            cfn.delete_stack(StackName=stack)  # empty: a stack exists from its first change set
        log(f"change set declined: nothing deployed, stack {stack} is as it was")
        sys.exit(DECLINED)
    cfn.execute_change_set(StackName=stack, ChangeSetName=name)
    goal = "CREATE_COMPLETE" if change_set_type == "CREATE" else "UPDATE_COMPLETE"
    log(f"stack {stack}: {wait_for_stack(target, stack, printer, timeout, goal)}")


def stack_outputs(target, stack):
    """The stack's outputs; on LocalStack, ApiUrl is the URL LocalStack serves the API at."""
    described = target.cfn.describe_stacks(StackName=stack)["Stacks"][0]
    values = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    if target.local:
        values["ApiUrl"] = f"{target.endpoint_url}/_aws/execute-api/{values['ApiId']}/{values['ApiStage']}"
    return values


def print_outputs(console, values):
    console.log("outputs:")
    for key in ["ApiUrl"] + sorted(k for k in values if k != "ApiUrl"):
        console.log(f"  {key:<34} {values[key]}")


def env_lines(target, stack, values):
    """The outputs as shell variables: API, where the stack is, then each output in upper snake case.
    On LocalStack, an output of a resource it does not make (it deploys an unsupported type as a
    stand-in whose attributes are "unknown", such as the event archive) is left out, and said."""
    lines = [f"API={values['ApiUrl']}", f"AWS_REGION={target.region}", f"STACK_NAME={stack}"]
    if target.local:
        lines.append(f"AWS_ENDPOINT_URL={target.endpoint_url}")
        for key in sorted(k for k, v in values.items() if v == LOCALSTACK_UNMADE):
            target.console.log(f"output {key} left out of the env file: LocalStack made no resource for it")
        values = {k: v for k, v in values.items() if v != LOCALSTACK_UNMADE}
    return lines + [f"{snake(k)}={v}" for k, v in sorted(values.items())]


def write_env_file(console, path, lines):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(lines) + "\n")
    console.log(f"wrote {path}")


# Where deploy.sh --local has the local stack's env file written (scripts/lib/common.sh's STACK_ENV).
LOCAL_STACK_ENV = Path(__file__).resolve().parents[2] / ".local" / "stack.env"


def read_env_file(path=LOCAL_STACK_ENV):
    """What write_env_file wrote, as a dict, for the scripts that work on the local stack (a value
    quoted by hand, as the shell that sources the file would take it, is unquoted)."""
    path = Path(path)
    if not path.exists():
        raise SystemExit(f"{path} is missing: run scripts/local-up.sh first")
    values = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            name, value = line.split("=", 1)
            values[name.strip()] = value.strip().strip("'\"")
    return values


def empty_bucket(s3, bucket):
    """Deletes every object version and delete marker: a bucket must be empty to go."""
    removed = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        doomed = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        for start in range(0, len(doomed), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed[start : start + 1000], "Quiet": True})
        removed += len(doomed)
    return removed


def destroy(target, args):
    cfn, stack, log = target.cfn, args.stack_name, target.console.log
    status = stack_status(cfn, stack)
    if status is None:
        log(f"there is no stack {stack} in {target.describe()}")
    else:
        try:
            kept_role = cfn.describe_stack_resource(StackName=stack, LogicalResourceId="ApiGatewayLogsRole")[
                "StackResourceDetail"
            ]["PhysicalResourceId"]
        except ClientError:
            kept_role = None  # the stack relies on the account's own role, or is older than it
        log(f"deleting stack {stack} ({status}) and everything it created but its kept tables")
        printer = EventPrinter(target, stack)
        cfn.delete_stack(StackName=stack)
        wait_for_stack(target, stack, printer, args.timeout, None)
        log(f"stack {stack} deleted")
        if kept_role:
            log(
                f"kept: the IAM role {kept_role}, which the account's API Gateway settings in {target.region} "
                "name for every API's logs there; delete it (aws iam delete-role-policy, delete-role) once no "
                "API of the account logs in this region"
            )
    bucket = target.artifact_bucket(stack)
    if bucket_exists(target.s3, bucket):
        removed = empty_bucket(target.s3, bucket)
        target.s3.delete_bucket(Bucket=bucket)
        log(f"artifact bucket {bucket} emptied ({removed} objects) and deleted")
    if args.delete_retained_tables:
        retained.delete_on_purpose(target, stack, args.timeout)
    else:
        retained.report_kept(target, stack, destroy_command(target, stack))


def api_logging_role(target, stack, status, requested):
    """ApiGatewayAccountRole: whether the stack makes the role API Gateway logs through and names
    it in the account's settings (per region, shared by every API there), or relies on the one
    they name. Auto reads those settings, and says what it chose and why."""
    log = target.console.log
    if requested != "auto":
        log(f"API Gateway logging role: {requested}, as asked (ApiGatewayAccountRole={requested})")
        return requested
    where = f"account {target.account}, {target.region}"
    arn = target.client("apigateway").get_account().get("cloudwatchRoleArn")
    if not arn:
        log(
            f"API Gateway logging role: the API Gateway settings of {where} name none, and access logs "
            "need one: the stack creates a role and names it there, for every API of the account in this "
            "region (the role is kept when the stack is deleted) (ApiGatewayAccountRole=create)"
        )
        return "create"
    name = arn.rsplit("/", 1)[-1]
    if status is not None:
        try:
            ours = target.cfn.describe_stack_resource(StackName=stack, LogicalResourceId="ApiGatewayLogsRole")
            if ours["StackResourceDetail"]["PhysicalResourceId"] == name:
                log(f"API Gateway logging role: {arn}, made by this stack, which keeps it (ApiGatewayAccountRole=create)")
                return "create"
        except ClientError:
            pass  # the stack has no such resource
    try:
        target.client("iam").get_role(RoleName=name)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code == "NoSuchEntity":
            log(
                f"API Gateway logging role: the settings of {where} name {arn}, which no longer exists: the "
                "stack creates a role and names it there instead (ApiGatewayAccountRole=create)"
            )
            return "create"
        log(f"API Gateway logging role: cannot check that {arn} exists ({code}); relying on it")
    log(f"API Gateway logging role: {arn}, named in the settings of {where}; the stack relies on it (ApiGatewayAccountRole=existing)")
    return "existing"


def reserve_concurrency(target, stack, reservations):
    """LocalStack's CloudFormation accepts a function's ReservedConcurrentExecutions but never
    applies it (its resource provider does not call PutFunctionConcurrency), so the local stack's
    reservations are applied here, then read back."""
    log, fail = target.console.log, target.console.fail
    if not target.local:
        fail("--reserve is for LocalStack only: on AWS the template's ReservedConcurrentExecutions applies")
    lambda_ = target.client("lambda")
    for pair in reservations:
        logical_id, _, count = pair.partition("=")
        name = target.cfn.describe_stack_resource(StackName=stack, LogicalResourceId=logical_id)[
            "StackResourceDetail"
        ]["PhysicalResourceId"]
        if int(count) > 0:
            lambda_.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=int(count))
        else:
            lambda_.delete_function_concurrency(FunctionName=name)
        applied = lambda_.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions", 0)
        if applied != int(count):
            fail(f"{name}: reserved concurrency is {applied}, not {count}")
        log(f"reserved concurrency of {name}: {applied or 'none'}")


def concurrency(target, args):
    lambda_ = target.client("lambda")
    account = lambda_.get_account_settings()["AccountLimit"]
    resources = target.cfn.get_paginator("list_stack_resources").paginate(StackName=args.stack_name)
    functions = sorted(
        r["PhysicalResourceId"]
        for page in resources
        for r in page["StackResourceSummaries"]
        if r["ResourceType"] == "AWS::Lambda::Function"
    )
    reserved = []
    for name in functions:
        count = lambda_.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
        if count is not None:
            reserved.append(f"{name.removeprefix(args.stack_name + '-')} {count}")
    line = (
        f"Lambda concurrency: {account['ConcurrentExecutions']} for the account "
        f"({account['UnreservedConcurrentExecutions']} unreserved); reserved: {', '.join(reserved) or 'none'}."
    )
    target.console.log(line)
    if args.markdown:
        Path(args.markdown).write_text(line + "\n")


def snake(name):
    out = ""
    for i, c in enumerate(name):
        if c.isupper() and i and not name[i - 1].isupper():
            out += "_"
        out += c.upper()
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("whoami", "deploy", "outputs", "destroy", "concurrency"):
        command = commands.add_parser(name)
        command.add_argument("--region", required=True)
        command.add_argument("--endpoint-url", help="LocalStack's URL; omit for AWS")
        command.add_argument("--timeout", type=float, default=1800)
        if name != "whoami":
            command.add_argument("--stack-name", required=True)
        if name == "deploy":
            command.add_argument("--template", required=True)
            command.add_argument("--artifacts", required=True, help="folder holding <function>/bootstrap")
            command.add_argument("--functions", required=True, help="comma-separated function names")
            command.add_argument("--asset", action="append", default=[], metavar="NAME=PATH")
            command.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE")
            command.add_argument("--keep-previous", action="append", default=[], metavar="KEY")
            command.add_argument("--reserve", action="append", default=[], metavar="FUNCTION=N")
            command.add_argument("--api-logging-role", choices=["auto", "create", "existing"])
            command.add_argument(
                "--confirm-changeset",
                action="store_true",
                help=f"show the change set and execute it only if the answer is yes (exit {DECLINED} on no)",
            )
        if name in ("deploy", "outputs"):
            command.add_argument("--env-file", help="write the outputs here as shell variables")
        if name == "concurrency":
            command.add_argument("--markdown", help="also write the line here")
        if name == "destroy":
            command.add_argument(
                "--delete-retained-tables",
                action="store_true",
                help="also delete the tables the stack keeps (the event store, the payment ledger), data and all",
            )
    args = parser.parse_args()
    target = Target(args.region, args.endpoint_url, Console(args.command))
    target.console.log(f"target: {target.describe()}")
    if args.command == "deploy":
        deploy(target, args)
    elif args.command == "outputs":
        outputs(target, args)
    elif args.command == "destroy":
        destroy(target, args)
    elif args.command == "concurrency":
        concurrency(target, args)


if __name__ == "__main__":
    main()
