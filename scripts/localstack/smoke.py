"""Smoke test of LocalStack in host mode: Lambda functions run as host processes.

Run with the venv's python against a running LocalStack (scripts/localstack/start.sh):
    .local/venv/bin/python scripts/localstack/smoke.py
scripts/test.sh runs it after the plugin's unit tests (infra/localstack/host-lambda/tests), which
cover the executor without LocalStack; this covers what needs LocalStack: a zip deployed through
the Lambda API and run by the host executor, invocations and their logs, the triggers the system
uses, API Gateway (with the body patch), CloudFormation with the SAM transform. About 20 s.

It creates a provided.al2023 function whose `bootstrap` is a small Python script implementing the
Lambda Runtime API loop, and other resources, all named with a random run id (so a deployed stack
such as eda-demo is not touched); checks; deletes what it created and checks that nothing of the
run is left; prints one line per check and exits non-zero if any check failed.
"""

import argparse
import base64
import io
import json
import os
import sys
import textwrap
import time
import urllib.request
import uuid
import zipfile

import boto3
from botocore.config import Config

if __name__ == "__main__":
    # Before anything reaches LocalStack: --help describes the run and starts none.
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()

ENDPOINT = f"http://127.0.0.1:{os.environ.get('EDA_LOCAL_PORT', '4566')}"
REGION = "us-east-1"
RUN = uuid.uuid4().hex[:8]
ROLE = "arn:aws:iam::000000000000:role/lambda-role"  # LocalStack does not check it
BUCKET = f"smoke-{RUN}"

# The function. It runs with the venv's interpreter (boto3 importable) so that it can prove the
# AWS SDK reaches LocalStack through AWS_ENDPOINT_URL alone: for trigger events it writes one S3
# object per record to $RESULT_BUCKET, which the test then looks for.
BOOTSTRAP = textwrap.dedent(
    f"""\
    #!{sys.executable}
    import json, os, sys, time, urllib.request
    api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/"
    print("init: pid", os.getpid(), flush=True)

    def post(url, body):
        urllib.request.urlopen(urllib.request.Request(api + url, json.dumps(body).encode(), method="POST"))

    if os.environ.get("INIT_FAIL"):  # report an init error, as a runtime does when its setup fails
        post("init/error", {{"errorType": "SmokeInitError", "errorMessage": "init failed on purpose"}})
        sys.exit(1)

    def record(kind, key, body):
        import boto3  # no endpoint given: AWS_ENDPOINT_URL set by the executor must do
        boto3.client("s3").put_object(Bucket=os.environ["RESULT_BUCKET"], Key=kind + "/" + key,
                                      Body=json.dumps(body).encode())

    while True:
        with urllib.request.urlopen(api + "invocation/next") as r:
            rid, event = r.headers["Lambda-Runtime-Aws-Request-Id"], json.loads(r.read() or b"null")
            deadline = r.headers["Lambda-Runtime-Deadline-Ms"]
        print("event:", json.dumps(event), "pid", os.getpid(), flush=True)
        if isinstance(event, dict) and event.get("fail"):
            post("invocation/" + rid + "/error", {{"errorType": "SmokeError", "errorMessage": "asked to fail"}})
            continue
        if isinstance(event, dict) and "exit" in event:  # crash in the middle of an invocation
            sys.exit(event["exit"])
        if isinstance(event, dict) and event.get("sleep"):
            time.sleep(event["sleep"])
        result = {{"echo": event, "greeting": os.environ.get("GREETING"), "pid": os.getpid(),
                   "cwd": os.getcwd(), "deadline_ms": deadline,
                   "env": {{k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "LAMBDA_TASK_ROOT",
                            "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_REGION")}}}}
        if isinstance(event, dict) and "httpMethod" in event:  # API Gateway proxy integration
            result = {{"statusCode": 200, "headers": {{"content-type": "application/json"}},
                       "body": json.dumps({{"path": event["path"], "method": event["httpMethod"],
                                           "greeting": os.environ.get("GREETING"), "body": event["body"]}})}}
        elif isinstance(event, dict) and "Records" in event:  # SQS or DynamoDB stream batch
            for rec in event["Records"]:
                if rec.get("eventSource") == "aws:sqs":
                    record("sqs", rec["messageId"], rec["body"])
                else:
                    record("ddb", rec["dynamodb"]["Keys"]["pk"]["S"] + "/" + rec["eventID"],
                           {{"eventName": rec["eventName"], "keys": rec["dynamodb"]["Keys"]}})
            result = {{"batchItemFailures": []}}
        elif isinstance(event, dict) and "detail-type" in event:  # EventBridge
            record("events", event["id"], event["detail"])
        post("invocation/" + rid + "/response", result)
    """
)

AWS = dict(endpoint_url=ENDPOINT, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test",
           config=Config(retries={"max_attempts": 2}, read_timeout=70))
lam, s3, sqs, ddb, events, apigw, cfn, logs, iam = (
    boto3.client(name, **AWS)
    for name in ("lambda", "s3", "sqs", "dynamodb", "events", "apigateway", "cloudformation", "logs", "iam")
)
results: list[tuple[str, bool, str]] = []
cleanup: list = []  # callables, run in reverse order


def check(name):
    def wrap(fn):
        t0 = time.monotonic()
        try:
            detail = fn() or ""
            results.append((name, True, detail))
            print(f"PASS {name} ({time.monotonic() - t0:.2f} s) {detail}", flush=True)
        except Exception as e:
            results.append((name, False, repr(e)))
            print(f"FAIL {name} ({time.monotonic() - t0:.2f} s): {e!r}", flush=True)
        return fn

    return wrap


def ensure(cond, message):
    if not cond:
        raise AssertionError(message)


def wait_for(what, fn, timeout=30.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        z.writestr(info, BOOTSTRAP)
    return buf.getvalue()


def create_function(name, timeout=10, runtime="provided.al2023", env=None):
    lam.create_function(FunctionName=name, Runtime=runtime, Role=ROLE, Handler="bootstrap",
                        Code={"ZipFile": zip_bytes()}, Timeout=timeout, MemorySize=128,
                        Environment={"Variables": {"GREETING": "hello", "RESULT_BUCKET": BUCKET, **(env or {})}})
    cleanup.append(lambda: lam.delete_function(FunctionName=name))
    conf = wait_for(f"{name} to leave Pending", lambda: (lambda c: c if c["State"] != "Pending" else None)(
        lam.get_function(FunctionName=name)["Configuration"]), timeout=30)
    ensure(conf["State"] == "Active", f"{name}: {conf['State']} {conf.get('StateReason')}")
    return conf


def invoke(name, event, **kw):
    t0 = time.monotonic()
    r = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode(), **kw)
    r["elapsed"] = time.monotonic() - t0
    r["body"] = json.loads(r["Payload"].read() or b"null")
    return r


def results_in(prefix):
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


def pid_alive(pid):
    try:  # a zombie has exited
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


FN = f"smoke-fn-{RUN}"
FN_TIMEOUT = f"smoke-timeout-{RUN}"
state = {}


def main():
    s3.create_bucket(Bucket=BUCKET)
    cleanup.append(lambda: [s3.delete_object(Bucket=BUCKET, Key=k) for k in results_in("")]
                   and None or s3.delete_bucket(Bucket=BUCKET))

    @check("create provided.al2023 function (zip with bootstrap) -> Active")
    def _():
        state["arn"] = create_function(FN)["FunctionArn"]

    @check("sync invoke returns the payload (cold)")
    def _():
        r = invoke(FN, {"hello": "world"})
        b = r["body"]
        ensure("FunctionError" not in r, f"unexpected error {b}")
        ensure(b["echo"] == {"hello": "world"} and b["greeting"] == "hello", f"bad payload {b}")
        ensure(b["env"]["AWS_ENDPOINT_URL"] == ENDPOINT, f"AWS_ENDPOINT_URL={b['env']['AWS_ENDPOINT_URL']}")
        ensure(b["env"]["LAMBDA_TASK_ROOT"] == b["cwd"], f"cwd {b['cwd']} != LAMBDA_TASK_ROOT")
        ensure(b["env"]["AWS_LAMBDA_FUNCTION_NAME"] == FN, "AWS_LAMBDA_FUNCTION_NAME")
        state["pid"] = b["pid"]
        return f"cold invoke {r['elapsed'] * 1000:.0f} ms, env {b['env']}"

    @check("sync invoke again reuses the process (warm)")
    def _():
        times = []
        for i in range(5):
            r = invoke(FN, {"n": i})
            ensure(r["body"]["pid"] == state["pid"], "a new process was started")
            times.append(r["elapsed"] * 1000)
        return f"warm invokes {', '.join(f'{t:.0f}' for t in times)} ms"

    @check("function error is reported as FunctionError")
    def _():
        r = invoke(FN, {"fail": True})
        ensure(r.get("FunctionError") == "Unhandled", f"FunctionError={r.get('FunctionError')}")
        ensure(r["body"] == {"errorType": "SmokeError", "errorMessage": "asked to fail"}, f"payload {r['body']}")
        ensure(invoke(FN, {"after": "error"})["body"]["pid"] == state["pid"], "process not reused after an error")

    @check("timeout (2 s) is reported and the process is killed")
    def _():
        create_function(FN_TIMEOUT, timeout=2)
        r = invoke(FN_TIMEOUT, {"sleep": 0})
        pid = r["body"]["pid"]
        r = invoke(FN_TIMEOUT, {"sleep": 6}, LogType="Tail")
        tail = base64.b64decode(r["LogResult"]).decode()
        ensure(r.get("FunctionError") == "Unhandled", f"FunctionError={r.get('FunctionError')} body={r['body']}")
        ensure("Task timed out after 2.00 seconds" in r["body"].get("errorMessage", ""), f"payload {r['body']}")
        ensure(r["elapsed"] < 5, f"took {r['elapsed']:.1f} s")
        ensure("Task timed out after 2.00 seconds" in tail and "REPORT RequestId" in tail, f"log tail {tail!r}")
        ensure(not pid_alive(pid), f"process {pid} still alive after the timeout")
        elapsed = r["elapsed"]
        r = invoke(FN_TIMEOUT, {"sleep": 0})
        ensure("FunctionError" not in r and r["body"]["pid"] != pid, f"no fresh process after timeout: {r['body']}")
        return f"timed-out invoke returned after {elapsed:.2f} s; the next one ran in a new process"

    @check("process exiting during an invocation is reported as Runtime.ExitError")
    def _():
        r = invoke(FN_TIMEOUT, {"exit": 3})
        ensure(r.get("FunctionError") == "Unhandled", f"FunctionError={r.get('FunctionError')} body={r['body']}")
        ensure(r["body"].get("errorType") == "Runtime.ExitError" and "exit status 3" in r["body"]["errorMessage"],
               f"payload {r['body']}")
        err = r["body"]
        r = invoke(FN_TIMEOUT, {"sleep": 0})
        ensure("FunctionError" not in r, f"no recovery after the exit: {r['body']}")
        state["timeout_pid"] = r["body"]["pid"]
        return f"payload {err}"

    @check("init error (runtime/init/error) is reported as a function error")
    def _():
        name = f"smoke-initfail-{RUN}"
        create_function(name, env={"INIT_FAIL": "1"})
        r = invoke(name, {})
        ensure(r.get("FunctionError") == "Unhandled", f"FunctionError={r.get('FunctionError')} body={r['body']}")
        ensure(r["body"].get("errorType") == "SmokeInitError", f"payload {r['body']}")
        lam.delete_function(FunctionName=name)
        return f"payload {r['body']}"

    @check("a non-provided runtime gets a clear error when invoked")
    def _():
        name = f"smoke-python-{RUN}"
        create_function(name, runtime="python3.12")
        r = invoke(name, {})
        ensure(r.get("FunctionError") == "Unhandled" and r["body"].get("errorType") == "Runtime.Unsupported"
               and "only provided.*" in r["body"].get("errorMessage", ""), f"{r.get('FunctionError')} {r['body']}")
        lam.delete_function(FunctionName=name)
        return f"payload {r['body']}"

    @check("SQS event source mapping -> function")
    def _():
        url = sqs.create_queue(QueueName=f"smoke-{RUN}")["QueueUrl"]
        cleanup.append(lambda: sqs.delete_queue(QueueUrl=url))
        qarn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        uid = lam.create_event_source_mapping(EventSourceArn=qarn, FunctionName=FN, BatchSize=1)["UUID"]
        cleanup.append(lambda: lam.delete_event_source_mapping(UUID=uid))
        wait_for("mapping Enabled", lambda: lam.get_event_source_mapping(UUID=uid)["State"] == "Enabled")
        t0 = time.monotonic()
        mid = sqs.send_message(QueueUrl=url, MessageBody="from-sqs")["MessageId"]
        wait_for("SQS message processed", lambda: results_in(f"sqs/{mid}"))
        return f"trigger latency {time.monotonic() - t0:.2f} s"

    @check("EventBridge rule -> function (async invoke)")
    def _():
        rule = f"smoke-{RUN}"
        rule_arn = events.put_rule(Name=rule, EventPattern=json.dumps({"source": [f"smoke.{RUN}"]}))["RuleArn"]
        lam.add_permission(FunctionName=FN, StatementId="events", Action="lambda:InvokeFunction",
                           Principal="events.amazonaws.com", SourceArn=rule_arn)
        events.put_targets(Rule=rule, Targets=[{"Id": "fn", "Arn": state["arn"]}])
        cleanup.append(lambda: (events.remove_targets(Rule=rule, Ids=["fn"]), events.delete_rule(Name=rule)))
        t0 = time.monotonic()
        eid = events.put_events(Entries=[{"Source": f"smoke.{RUN}", "DetailType": "smoke",
                                          "Detail": json.dumps({"n": 1})}])["Entries"][0]["EventId"]
        wait_for("event delivered", lambda: results_in(f"events/{eid}"))
        return f"trigger latency {time.monotonic() - t0:.2f} s"

    @check("DynamoDB stream (NEW_IMAGE) + filter INSERT + ReportBatchItemFailures -> INSERTs only")
    def _():
        table = f"smoke-{RUN}"
        desc = ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
        cleanup.append(lambda: ddb.delete_table(TableName=table))
        ddb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 0.5})
        stream_arn = desc["TableDescription"]["LatestStreamArn"]
        uid = lam.create_event_source_mapping(
            EventSourceArn=stream_arn, FunctionName=FN, StartingPosition="TRIM_HORIZON", BatchSize=10,
            MaximumBatchingWindowInSeconds=0, FunctionResponseTypes=["ReportBatchItemFailures"],
            FilterCriteria={"Filters": [{"Pattern": json.dumps({"eventName": ["INSERT"]})}]},
        )["UUID"]
        cleanup.append(lambda: lam.delete_event_source_mapping(UUID=uid))
        wait_for("mapping Enabled", lambda: lam.get_event_source_mapping(UUID=uid)["State"] == "Enabled")
        t0 = time.monotonic()
        ddb.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
        ddb.update_item(TableName=table, Key={"pk": {"S": "a"}}, UpdateExpression="SET v = :v",
                        ExpressionAttributeValues={":v": {"N": "2"}})
        ddb.put_item(TableName=table, Item={"pk": {"S": "b"}, "v": {"N": "1"}})
        ddb.delete_item(TableName=table, Key={"pk": {"S": "a"}})
        # The stream delivers in order and the function stores a batch before answering: once the
        # last INSERT is stored, a MODIFY or REMOVE that got through the filter would be too.
        ddb.put_item(TableName=table, Item={"pk": {"S": "last"}, "v": {"N": "1"}})
        wait_for("the last INSERT", lambda: results_in("ddb/last/"))
        latency = time.monotonic() - t0
        names = [json.loads(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read())["eventName"]
                 for k in results_in("ddb/")]
        ensure(sorted(names) == ["INSERT", "INSERT", "INSERT"], f"records delivered: {names}")
        return f"delivered {names}, trigger latency {latency:.2f} s"

    @check("API Gateway v1 REST API, {proxy+} ANY, AWS_PROXY -> function")
    def _():
        api = apigw.create_rest_api(name=f"smoke-{RUN}")["id"]
        cleanup.append(lambda: apigw.delete_rest_api(restApiId=api))
        root = next(r["id"] for r in apigw.get_resources(restApiId=api)["items"] if r["path"] == "/")
        res = apigw.create_resource(restApiId=api, parentId=root, pathPart="{proxy+}")["id"]
        apigw.put_method(restApiId=api, resourceId=res, httpMethod="ANY", authorizationType="NONE")
        uri = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{state['arn']}/invocations"
        apigw.put_integration(restApiId=api, resourceId=res, httpMethod="ANY", type="AWS_PROXY",
                              integrationHttpMethod="POST", uri=uri)
        lam.add_permission(FunctionName=FN, StatementId="apigw", Action="lambda:InvokeFunction",
                           Principal="apigateway.amazonaws.com")
        apigw.create_deployment(restApiId=api, stageName="test")
        # Both URL forms LocalStack serves (stack.py gives the second as the stack's ApiUrl). JSON
        # sent as a form, as `curl -d` sends it: the function must get it unchanged, as on AWS
        # (the plugin's apigateway_body patch).
        expected = {"path": "/orders/42", "method": "POST", "greeting": "hello", "body": '{"a":1}'}
        for url in (f"{ENDPOINT}/restapis/{api}/test/_user_request_/orders/42?x=1",
                    f"{ENDPOINT}/_aws/execute-api/{api}/test/orders/42?x=1"):
            req = urllib.request.Request(url, data=b'{"a":1}', method="POST",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
            with urllib.request.urlopen(req, timeout=30) as r:
                body = json.loads(r.read())
            ensure(body == expected, f"{url.replace(api, '<id>')}: function answered {body}")
        return "both URL forms reach the function, with the body as sent"

    @check("CloudFormation with the SAM transform (CodeUri in S3) deploys and the function runs")
    def _():
        s3.put_object(Bucket=BUCKET, Key="code/fn.zip", Body=zip_bytes())
        cleanup.append(lambda: s3.delete_object(Bucket=BUCKET, Key="code/fn.zip"))
        template = {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Transform": "AWS::Serverless-2016-10-31",
            "Resources": {"Fn": {"Type": "AWS::Serverless::Function", "Properties": {
                "CodeUri": {"Bucket": BUCKET, "Key": "code/fn.zip"}, "Handler": "bootstrap",
                "Runtime": "provided.al2023", "Timeout": 10,
                "Environment": {"Variables": {"GREETING": "from-sam", "RESULT_BUCKET": BUCKET}}}}},
            "Outputs": {"FnName": {"Value": {"Ref": "Fn"}}},
        }
        stack = f"smoke-{RUN}"
        t0 = time.monotonic()
        cfn.create_stack(StackName=stack, TemplateBody=json.dumps(template),
                         Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
        cleanup.append(lambda: (cfn.delete_stack(StackName=stack), cfn.get_waiter("stack_delete_complete").wait(
            StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 60})))
        st = wait_for("stack to settle", lambda: (lambda s: s if not s["StackStatus"].endswith("IN_PROGRESS") else None)(
            cfn.describe_stacks(StackName=stack)["Stacks"][0]), timeout=120, interval=0.5)
        ensure(st["StackStatus"] == "CREATE_COMPLETE", f"{st['StackStatus']}: {st.get('StackStatusReason')}")
        deployed = time.monotonic() - t0
        name = next(o["OutputValue"] for o in st["Outputs"] if o["OutputKey"] == "FnName")
        r = invoke(name, {"via": "sam"})
        ensure("FunctionError" not in r and r["body"]["greeting"] == "from-sam", f"invoke {r['body']}")
        return f"stack deployed in {deployed:.1f} s, function {name} answered"

    @check("function logs reach CloudWatch Logs /aws/lambda/<name>")
    def _():
        group = f"/aws/lambda/{FN}"

        def found():
            evs = logs.filter_log_events(logGroupName=group).get("events", [])
            text = "".join(e["message"] for e in evs)
            return text if all(s in text for s in ("START RequestId", '"hello": "world"', "REPORT RequestId",
                                                   "init: pid")) else None
        text = wait_for(f"log lines in {group}", found, timeout=15, interval=0.5)
        cleanup.append(lambda: logs.delete_log_group(logGroupName=group))
        report = next(line for line in text.splitlines() if line.startswith("REPORT"))
        return f"e.g. {report.strip()!r}"

    @check("deleting the functions stops their processes")
    def _():
        pids = [state["pid"], state["timeout_pid"]]
        ensure(all(map(pid_alive, pids)), f"processes {pids} not running before the functions are deleted")
        lam.delete_function(FunctionName=FN_TIMEOUT)
        lam.delete_function(FunctionName=FN)
        wait_for("process exit", lambda: not any(map(pid_alive, pids)), timeout=10)


def listed(client, op, key, field=None, **kw):
    """Every item an AWS list operation returns, all pages, or each item's `field`."""
    pages = client.get_paginator(op).paginate(**kw) if client.can_paginate(op) else [getattr(client, op)(**kw)]
    return [item if field is None else item[field] for page in pages for item in page.get(key, [])]


def our_log_groups():
    prefix = "/aws/lambda/smoke-"
    return [g for g in listed(logs, "describe_log_groups", "logGroups", "logGroupName", logGroupNamePrefix=prefix)
            if RUN in g]


def leftovers() -> list[str]:
    """What of this run is still there: every name it gives contains RUN, the SAM stack's too."""
    found = [f"function {n}" for n in listed(lam, "list_functions", "Functions", "FunctionName") if RUN in n]
    mappings = listed(lam, "list_event_source_mappings", "EventSourceMappings")
    found += [f"event source mapping {m['UUID']}" for m in mappings if RUN in m.get("FunctionArn", "")]
    found += [f"bucket {n}" for n in listed(s3, "list_buckets", "Buckets", "Name") if RUN in n]
    found += [f"queue {u}" for u in listed(sqs, "list_queues", "QueueUrls", QueueNamePrefix=f"smoke-{RUN}")]
    found += [f"table {n}" for n in listed(ddb, "list_tables", "TableNames") if RUN in n]
    found += [f"rule {n}" for n in listed(events, "list_rules", "Rules", "Name", NamePrefix=f"smoke-{RUN}")]
    found += [f"REST API {n}" for n in listed(apigw, "get_rest_apis", "items", "name") if RUN in n]
    found += [f"stack {st['StackName']} ({st['StackStatus']})" for st in listed(cfn, "describe_stacks", "Stacks")
              if RUN in st["StackName"] and st["StackStatus"] != "DELETE_COMPLETE"]
    found += [f"log group {g}" for g in our_log_groups()]
    found += [f"role {n}" for n in listed(iam, "list_roles", "Roles", "RoleName") if RUN in n]
    return found


def clean_up() -> list[str]:
    """Deletes what the run created; returns the errors, which leftovers() judges (a resource a
    check already deleted fails to delete again)."""
    errors = []

    def attempt(delete):
        try:
            delete()
        except Exception as e:
            errors.append(repr(e))

    for delete in reversed(cleanup):
        attempt(delete)

    def delete_log_groups():  # Lambda creates them, not this script or the stack
        for group in our_log_groups():
            attempt(lambda: logs.delete_log_group(logGroupName=group))

    attempt(delete_log_groups)
    return errors


try:
    urllib.request.urlopen(f"{ENDPOINT}/_localstack/health", timeout=5).close()
except OSError as e:
    sys.exit(f"no LocalStack answers at {ENDPOINT} ({e}): start it with scripts/localstack/start.sh")

try:
    main()
finally:
    cleanup_errors = clean_up()

    @check("nothing of this run is left in LocalStack")
    def _():
        # Deletions LocalStack finishes in the background (event source mappings) get a moment.
        deadline = time.monotonic() + 15
        while (left := leftovers()) and time.monotonic() < deadline:
            time.sleep(0.5)
        ensure(not left, f"left behind: {left}; cleanup errors: {cleanup_errors}")

failed = [name for name, ok, _ in results if not ok]
print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
