#!/usr/bin/env python3
"""Deploys infra/template.yaml as a CloudFormation stack, to AWS or to LocalStack.

Zips each function's `bootstrap` (built once by `cargo lambda build`) reproducibly, uploads the
zips to an artifact bucket under a content-hash prefix, then creates or updates the stack with a
change set, printing resource events as they happen. With --env-file it writes the stack's outputs
as shell variables, including API, the base URL of the order API.
"""

import argparse
import hashlib
import io
import sys
import time
import zipfile
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

TEMPLATE_BODY_LIMIT = 51_200
FAILED = ("FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_IN_PROGRESS")


def log(message):
    print(f"[deploy] {message}", flush=True)


def fail(message):
    print(f"[deploy] ERROR: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def zip_bootstrap(binary: Path) -> bytes:
    """A zip holding `bootstrap`, executable, with a fixed timestamp: same binary, same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        info = zipfile.ZipInfo("bootstrap", date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = (0o100755 & 0xFFFF) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, binary.read_bytes())
    return buffer.getvalue()


def bucket_exists(s3, bucket):
    try:
        s3.head_bucket(Bucket=bucket)
        return True
    except ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchBucket", "NotFound"):
            return False
        raise


def ensure_bucket(s3, bucket, region):
    if bucket_exists(s3, bucket):
        return
    log(f"creating artifact bucket {bucket}")
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )


def upload_artifacts(s3, bucket, artifacts_dir: Path, functions, assets):
    """Uploads `<function>.zip` for each function and each asset file under one prefix, a hash
    of all of them: a new build is a new prefix, so the stack update replaces exactly what changed."""
    files = {}
    for name in functions:
        binary = artifacts_dir / name / "bootstrap"
        if not binary.is_file():
            fail(f"{binary} is missing: build the functions first (cargo lambda build)")
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
    return prefix


def stack_status(cfn, stack):
    try:
        return cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    except ClientError as error:
        if "does not exist" in error.response["Error"]["Message"]:
            return None
        raise


class EventPrinter:
    """Prints each new stack event once, oldest first."""

    def __init__(self, cfn, stack):
        self.cfn, self.stack, self.seen = cfn, stack, set()
        self.prime()

    def prime(self):
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
            log(f"  {event['ResourceStatus']:<22} {event['LogicalResourceId']:<32} {reason}".rstrip())


def wait_for_change_set(cfn, stack, name, poll):
    while True:
        change_set = cfn.describe_change_set(StackName=stack, ChangeSetName=name)
        status = change_set["Status"]
        if status == "CREATE_COMPLETE":
            return change_set
        if status == "FAILED":
            reason = change_set.get("StatusReason", "")
            if "didn't contain changes" in reason or "No updates are to be performed" in reason:
                return None
            fail(f"change set failed: {reason}")
        time.sleep(poll)


def wait_for_stack(cfn, stack, printer, poll, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = stack_status(cfn, stack)
        printer.print_new()
        if status and status.endswith("_COMPLETE") and not any(s in status for s in FAILED):
            return status
        if status is None or any(s in status for s in FAILED) and not status.endswith("IN_PROGRESS"):
            fail(f"stack {stack} ended in {status}")
        time.sleep(poll)
    fail(f"stack {stack} did not finish within {timeout} s")


def deploy(cfn, s3, args, parameters):
    status = stack_status(cfn, args.stack_name)
    if status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED"):
        log(f"stack {args.stack_name} is {status} from a failed first deploy: deleting it")
        cfn.delete_stack(StackName=args.stack_name)
        cfn.get_waiter("stack_delete_complete").wait(
            StackName=args.stack_name, WaiterConfig={"Delay": args.poll, "MaxAttempts": 600}
        )
        status = None
    change_set_type = "CREATE" if status in (None, "REVIEW_IN_PROGRESS") else "UPDATE"
    body = Path(args.template).read_text()
    template = {"TemplateBody": body}
    if len(body.encode()) > TEMPLATE_BODY_LIMIT:
        key = f"templates/{hashlib.sha256(body.encode()).hexdigest()[:16]}.yaml"
        s3.put_object(Bucket=args.bucket, Key=key, Body=body.encode())
        template = {"TemplateURL": f"{s3.meta.endpoint_url}/{args.bucket}/{key}"}
    name = f"deploy-{int(time.time())}"
    log(f"{change_set_type.lower()} stack {args.stack_name} (change set {name})")
    printer = EventPrinter(cfn, args.stack_name)
    cfn.create_change_set(
        StackName=args.stack_name,
        ChangeSetName=name,
        ChangeSetType=change_set_type,
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        **template,
    )
    if wait_for_change_set(cfn, args.stack_name, name, args.poll) is None:
        log("no changes to deploy")
        cfn.delete_change_set(StackName=args.stack_name, ChangeSetName=name)
        return
    cfn.execute_change_set(StackName=args.stack_name, ChangeSetName=name)
    status = wait_for_stack(cfn, args.stack_name, printer, args.poll, args.timeout)
    log(f"stack {args.stack_name}: {status}")


def outputs(cfn, stack):
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def snake(name):
    out = ""
    for i, c in enumerate(name):
        if c.isupper() and i and not name[i - 1].isupper():
            out += "_"
        out += c.upper()
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack-name", required=True)
    parser.add_argument("--template", required=True)
    parser.add_argument("--artifacts", required=True, help="folder holding <function>/bootstrap")
    parser.add_argument("--functions", required=True, help="comma-separated function names")
    parser.add_argument("--asset", action="append", default=[], metavar="NAME=PATH",
                        help="a file to upload beside the zips, e.g. payment.asl.json=infra/statemachines/payment.asl.json")
    parser.add_argument("--region", required=True)
    parser.add_argument("--endpoint-url", help="LocalStack's URL; omit for AWS")
    parser.add_argument("--bucket", help="artifact bucket (default: <stack>-artifacts-<account>-<region>)")
    parser.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--env-file", help="write the outputs here as shell variables")
    parser.add_argument("--poll", type=float, default=None, help="seconds between status checks")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    local = args.endpoint_url is not None
    if args.poll is None:
        args.poll = 1.0 if local else 5.0

    session = boto3.session.Session(region_name=args.region)
    if session.get_credentials() is None:
        fail("no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
    config = Config(retries={"max_attempts": 10, "mode": "standard"})
    client = lambda service: session.client(service, endpoint_url=args.endpoint_url, config=config)
    cfn, s3, sts = client("cloudformation"), client("s3"), client("sts")

    account = sts.get_caller_identity()["Account"]
    args.bucket = args.bucket or f"{args.stack_name}-artifacts-{account}-{args.region}"
    log(f"target: {'LocalStack at ' + args.endpoint_url if local else 'AWS'}, account {account}, region {args.region}")
    ensure_bucket(s3, args.bucket, args.region)
    assets = dict(pair.split("=", 1) for pair in args.asset)
    prefix = upload_artifacts(s3, args.bucket, Path(args.artifacts), args.functions.split(","), assets)

    parameters = {"ArtifactBucket": args.bucket, "ArtifactPrefix": prefix}
    for pair in args.parameter:
        key, _, value = pair.partition("=")
        parameters[key] = value
    deploy(cfn, s3, args, parameters)

    values = outputs(cfn, args.stack_name)
    if local:
        values["ApiUrl"] = f"{args.endpoint_url}/_aws/execute-api/{values['ApiId']}/{values['ApiStage']}"
    log("outputs:")
    for key in ["ApiUrl"] + sorted(k for k in values if k != "ApiUrl"):
        log(f"  {key:<32} {values[key]}")
    if args.env_file:
        lines = [f"API={values['ApiUrl']}", f"AWS_REGION={args.region}", f"STACK_NAME={args.stack_name}"]
        if local:
            lines.append(f"AWS_ENDPOINT_URL={args.endpoint_url}")
        lines += [f"{snake(k)}={v}" for k, v in sorted(values.items())]
        Path(args.env_file).parent.mkdir(parents=True, exist_ok=True)
        Path(args.env_file).write_text("\n".join(lines) + "\n")
        log(f"wrote {args.env_file}")


if __name__ == "__main__":
    main()
