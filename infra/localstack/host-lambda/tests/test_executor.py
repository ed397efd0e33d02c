"""The host executor: a function's `bootstrap` runs as a host process that is served the Lambda
Runtime API, and behaves as it would in Lambda: an invocation returns what the function answered,
a function error is an error, a timeout kills the process (and whatever it started) and the next
invocation starts a new one, logs are framed by START/END/REPORT, init failures fail the start,
and stopping the environment ends the process.

Each test starts a real `bootstrap` (a small Python script implementing the Runtime API loop, run by
this interpreter) through the executor, with no LocalStack running and nothing on the network but
the loopback Runtime API. What needs a running LocalStack (deploying a zip, invoking through the
Lambda API, triggers, CloudWatch Logs) is checked by scripts/localstack/smoke.py.

Run with LocalStack's Python, against the installed plugin, from the repository's root:
    .local/venv/bin/python -m unittest discover -s infra/localstack/host-lambda/tests
or this file alone:
    .local/venv/bin/python -m unittest discover -s infra/localstack/host-lambda/tests -p test_executor.py
(scripts/localstack/install.sh installs the plugin; to test its source as it is, prefix
`PYTHONPATH=infra/localstack/host-lambda`.)
"""

import json
import os
import socket
import socketserver
import sys
import tempfile
import textwrap
import threading
import time
import unittest
import uuid
from datetime import datetime
from unittest import mock

from localstack import config
from localstack.aws.api.lambda_ import Architecture, PackageType, Runtime, State, TracingMode
from localstack.services.lambda_.invocation import execution_environment
from localstack.services.lambda_.invocation.execution_environment import (
    EnvironmentStartupTimeoutException,
    ExecutionEnvironment,
    InvalidStatusException,
)
from localstack.services.lambda_.invocation.executor_endpoint import ShutdownDuringStartup, StatusErrorException
from localstack.services.lambda_.invocation.lambda_models import (
    FunctionVersion,
    HotReloadingCode,
    InitializationType,
    Invocation,
    LambdaEphemeralStorage,
    VersionFunctionConfiguration,
    VersionIdentifier,
    VersionState,
)
from localstack_host_lambda.executor import HostRuntimeExecutor
from localstack_host_lambda.plugin import HostRuntimeExecutorPlugin

# The function. Its init is steered by environment variables, each invocation by its event.
# `-S` skips site-packages: the script needs only the standard library and starts faster.
BOOTSTRAP = textwrap.dedent(
    f"""\
    #!{sys.executable} -Su
    import http.client, json, os, subprocess, sys, threading, time, urllib.error, urllib.request
    api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/"
    print("init: pid", os.getpid())
    with open("pids", "a") as f:  # for tests that never get an answer from this process
        print(os.getpid(), file=f)

    def post(url, body):
        request = urllib.request.Request(api + url, json.dumps(body).encode(), method="POST")
        try:
            return urllib.request.urlopen(request).status
        except urllib.error.HTTPError as e:
            return e.code

    init = os.environ.get("INIT", "")
    if init == "fail-after-first" and os.path.exists("initialised-once"):
        init = "error"
    open("initialised-once", "w").close()
    if init == "error":  # as a runtime whose setup failed
        post("init/error", {{"errorType": "TestInitError", "errorMessage": "init failed on purpose"}})
        sys.exit(1)
    if init == "exit":
        sys.exit(4)
    if init == "hang":  # long enough for any test, short enough to end a test that waits for it
        time.sleep(10)

    while True:
        with urllib.request.urlopen(api + "invocation/next") as r:
            rid, event = r.headers["Lambda-Runtime-Aws-Request-Id"], json.loads(r.read())
            headers = dict(r.headers)
        for line in event.get("print", []):
            print(line)
        if event.get("fail"):
            post("invocation/" + rid + "/error", {{"errorType": "TestError", "errorMessage": "asked to fail"}})
            continue
        if "exit" in event:
            sys.exit(event["exit"])
        result = {{"event": event, "pid": os.getpid(), "cwd": os.getcwd(), "env": dict(os.environ),
                   "headers": headers}}
        if event.get("chatter"):  # a background thread that never stops printing
            def chatter():
                while True:
                    print("chatter " * 20)
            threading.Thread(target=chatter, daemon=True).start()
        if event.get("spawn"):  # something the function started, in its process group
            result["child"] = subprocess.Popen(["sleep", "300"]).pid
        if "answer_for" in event:  # a response for some other invocation
            result["status_for_other"] = post("invocation/" + event["answer_for"] + "/response", {{}})
        time.sleep(event.get("sleep", 0))
        if event.get("chunked"):  # as runtimes that stream their response do
            host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
            conn = http.client.HTTPConnection(host, int(port))
            body = json.dumps(result).encode()
            conn.request("POST", "/2018-06-01/runtime/invocation/" + rid + "/response",
                         body=iter([body[:10], body[10:]]), encode_chunked=True)
            conn.getresponse().read()
            conn.close()
            continue
        post("invocation/" + rid + "/response", result)
    """
)
ACCOUNT, REGION = "000000000000", "us-east-1"


def alive(pid: int) -> bool:
    # A killed process whose parent is gone may stay a zombie (no init reaps it in a container): dead.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def accepts_connections(host, port):
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def wait_until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


class ExecutorTest(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.code_dir = os.path.join(tmp.name, "code")
        self.log_dir = os.path.join(tmp.name, "logs")
        os.makedirs(self.code_dir)
        path = os.path.join(self.code_dir, "bootstrap")
        with open(path, "w") as f:
            f.write(BOOTSTRAP)
        os.chmod(path, 0o755)
        patcher = mock.patch.dict(os.environ, {"HOST_LAMBDA_LOG_DIR": self.log_dir})
        patcher.start()
        self.addCleanup(patcher.stop)

    def function_version(self, timeout=3, runtime=Runtime.provided_al2023, name="orders-fn", environment=None):
        return FunctionVersion(
            id=VersionIdentifier(function_name=name, qualifier="$LATEST", region=REGION, account=ACCOUNT),
            config=VersionFunctionConfiguration(
                description="", role=f"arn:aws:iam::{ACCOUNT}:role/fn", timeout=timeout, runtime=runtime,
                memory_size=128, handler="bootstrap", package_type=PackageType.Zip, environment=environment or {},
                architectures=[Architecture.x86_64], internal_revision="1",
                ephemeral_storage=LambdaEphemeralStorage(size=512), snap_start=None,
                tracing_config_mode=TracingMode.PassThrough, code=HotReloadingCode(host_path=self.code_dir),
                last_modified="", state=VersionState(state=State.Active),
            ),
        )  # fmt: skip

    def executor(self, timeout=3, env=None, runtime=Runtime.provided_al2023, start=True):
        executor = HostRuntimeExecutor(uuid.uuid4().hex, self.function_version(timeout, runtime))
        self.addCleanup(executor.stop)
        if start:
            executor.start({"GREETING": "hello", **(env or {})})
        return executor

    def pids(self):
        """Every bootstrap process started so far (that got as far as saying so)."""
        try:
            with open(os.path.join(self.code_dir, "pids")) as f:
                return [int(line) for line in f]
        except FileNotFoundError:
            return []

    def invoke(self, executor, event, request_id=None):
        """Returns the invocation's result and its payload, decoded."""
        fv = executor.function_version
        result = executor.invoke({
            "invoke-id": request_id or str(uuid.uuid4()),
            "invoked-function-arn": fv.qualified_arn,
            "payload": json.dumps(event),
            "trace-id": "Root=1-67890abc-0123456789abcdef01234567;Parent=1234567890abcdef;Sampled=0",
        })  # fmt: skip
        return result, json.loads(result.payload)


class Invocations(ExecutorTest):
    def test_an_invocation_returns_what_the_function_answered(self):
        result, answer = self.invoke(self.executor(), {"order": 101})
        self.assertFalse(result.is_error)
        self.assertEqual(answer["event"], {"order": 101})

    def test_the_function_is_told_which_invocation_it_serves_and_its_deadline(self):
        # Runtimes answer by request id and compute their remaining time from the deadline.
        executor = self.executor(timeout=3)
        before = time.time() * 1000
        result, answer = self.invoke(executor, {}, request_id="6f1c5ab5-3d1e-4d0a-9a43-1f0d8e0c2b11")
        headers = answer["headers"]
        self.assertEqual(result.request_id, "6f1c5ab5-3d1e-4d0a-9a43-1f0d8e0c2b11")
        self.assertEqual(headers["Lambda-Runtime-Aws-Request-Id"], "6f1c5ab5-3d1e-4d0a-9a43-1f0d8e0c2b11")
        self.assertEqual(headers["Lambda-Runtime-Invoked-Function-Arn"], executor.function_version.qualified_arn)
        self.assertTrue(headers["Lambda-Runtime-Trace-Id"].startswith("Root=1-67890abc"))
        self.assertAlmostEqual(int(headers["Lambda-Runtime-Deadline-Ms"]), before + 3000, delta=1000)

    def test_a_warm_function_answers_from_the_same_process(self):
        # One process per execution environment, as one sandbox per environment in Lambda: its
        # connections and caches outlive an invocation.
        executor = self.executor()
        pids = {self.invoke(executor, {"n": n})[1]["pid"] for n in range(3)}
        self.assertEqual(len(pids), 1)

    def test_a_function_error_is_an_error_carrying_the_functions_error_document(self):
        result, answer = self.invoke(self.executor(), {"fail": True})
        self.assertTrue(result.is_error)
        self.assertEqual(answer, {"errorType": "TestError", "errorMessage": "asked to fail"})

    def test_a_function_error_leaves_the_process_to_serve_the_next_invocation(self):
        # As in Lambda: a handled error is not a crash, the sandbox is kept.
        executor = self.executor()
        pid = self.invoke(executor, {})[1]["pid"]
        self.invoke(executor, {"fail": True})
        result, answer = self.invoke(executor, {})
        self.assertFalse(result.is_error)
        self.assertEqual(answer["pid"], pid)

    def test_a_response_sent_in_chunks_is_received_whole(self):
        # HTTP clients send a body of unknown length chunked (Rust's hyper, for one).
        result, answer = self.invoke(self.executor(), {"chunked": True, "order": 101})
        self.assertFalse(result.is_error)
        self.assertEqual(answer["event"], {"chunked": True, "order": 101})

    def test_an_answer_for_an_invocation_not_in_progress_is_refused(self):
        # Otherwise a late answer to a timed-out invocation could complete a later one.
        result, answer = self.invoke(self.executor(), {"answer_for": str(uuid.uuid4())})
        self.assertFalse(result.is_error)
        self.assertEqual(answer["status_for_other"], 400)

    def test_a_runtime_that_exits_mid_invocation_fails_it_and_the_next_invocation_starts_a_new_process(self):
        # A panic must fail its invocation at once, not after the timeout, and not the function for good.
        executor = self.executor()
        pid = self.invoke(executor, {})[1]["pid"]
        result, answer = self.invoke(executor, {"exit": 3})
        self.assertTrue(result.is_error)
        self.assertEqual(answer["errorType"], "Runtime.ExitError")
        self.assertIn("exit status 3", answer["errorMessage"])
        result, answer = self.invoke(executor, {})
        self.assertFalse(result.is_error)
        self.assertNotEqual(answer["pid"], pid)

    def test_an_init_error_when_a_crashed_function_restarts_is_the_invocations_error(self):
        # The restart happens inside an invocation: its failure is that invocation's answer.
        executor = self.executor(env={"INIT": "fail-after-first"})
        self.invoke(executor, {"exit": 3})
        result, answer = self.invoke(executor, {})
        self.assertTrue(result.is_error)
        self.assertEqual(answer, {"errorType": "TestInitError", "errorMessage": "init failed on purpose"})


class Timeouts(ExecutorTest):
    def test_an_invocation_that_overruns_its_timeout_fails_when_the_timeout_is_reached(self):
        # Step Functions retries Sandbox.Timedout; waiting for the function instead would hold
        # the caller as long as the function hangs.
        executor = self.executor(timeout=1)
        t0 = time.monotonic()
        result, answer = self.invoke(executor, {"sleep": 30})
        elapsed = time.monotonic() - t0
        self.assertTrue(result.is_error)
        self.assertEqual(answer["errorType"], "Sandbox.Timedout")
        self.assertIn("Task timed out after 1.00 seconds", answer["errorMessage"])
        self.assertLess(elapsed, 2.5)

    def test_a_timed_out_function_is_killed_with_everything_it_started(self):
        # As Lambda does: a hung function would otherwise hold its memory, connections and
        # locks for good, and a retried invocation could run twice at once.
        executor = self.executor(timeout=1)
        _, answer = self.invoke(executor, {"spawn": True})
        pid, child = answer["pid"], answer["child"]
        self.invoke(executor, {"sleep": 30})
        self.assertTrue(wait_until(lambda: not alive(pid) and not alive(child), timeout=2),
                        f"still alive: bootstrap {alive(pid)}, its child {alive(child)}")

    def test_the_invocation_after_a_timeout_runs_in_a_new_process(self):
        # The function must not stay broken after one timeout: Lambda re-initialises the sandbox.
        executor = self.executor(timeout=1)
        pid = self.invoke(executor, {})[1]["pid"]
        self.invoke(executor, {"sleep": 30})
        result, answer = self.invoke(executor, {})
        self.assertFalse(result.is_error)
        self.assertNotEqual(answer["pid"], pid)

    def test_a_timed_out_invocations_logs_say_it_timed_out(self):
        # The line people search the logs for, in Lambda's format.
        result, _ = self.invoke(self.executor(timeout=1), {"sleep": 30})
        lines = result.logs.splitlines()
        self.assertRegex(lines[-3], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S+ Task timed out after 1\.00 seconds$")
        self.assertTrue(lines[-1].startswith("REPORT") and lines[-1].endswith("\tStatus: timeout"), lines[-1])


class Logs(ExecutorTest):
    def test_an_invocations_logs_are_framed_by_start_end_and_report_as_in_cloudwatch(self):
        # CloudWatch Logs and `--log-type Tail` show these; tools and people read the REPORT line.
        executor = self.executor()
        rid = str(uuid.uuid4())
        result, _ = self.invoke(executor, {"print": ["charging order 101", "charged"]}, request_id=rid)
        lines = result.logs.splitlines()
        self.assertRegex(lines[0], r"^init: pid \d+$")  # init output goes before START
        self.assertEqual(lines[1], f"START RequestId: {rid} Version: $LATEST")
        self.assertEqual(lines[2:4], ["charging order 101", "charged"])
        self.assertEqual(lines[4], f"END RequestId: {rid}")
        self.assertRegex(
            lines[5],
            rf"^REPORT RequestId: {rid}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB"
            r"\tMax Memory Used: \d+ MB\tInit Duration: \d+\.\d\d ms$",
        )
        self.assertEqual(len(lines), 6)

    def test_only_the_invocation_that_started_the_process_reports_an_init_duration(self):
        executor = self.executor()
        self.invoke(executor, {})
        result, _ = self.invoke(executor, {"print": ["warm"]})
        lines = result.logs.splitlines()
        self.assertEqual(lines[1], "warm")
        self.assertNotIn("Init Duration", lines[-1])
        self.assertNotIn("init: pid", result.logs)

    def test_a_function_that_never_stops_printing_still_gets_its_answers_through(self):
        # Collecting an invocation's output must not wait for the output to end.
        executor = self.executor()
        self.invoke(executor, {"chatter": True})
        t0, logs = time.monotonic(), ""
        for n in range(3):
            result, answer = self.invoke(executor, {"n": n})
            self.assertEqual(answer["event"], {"n": n})
            logs += result.logs
        self.assertLess(time.monotonic() - t0, 5)
        self.assertIn("chatter", logs)

    def test_the_functions_output_also_goes_to_its_log_file(self):
        # README: function logs are in .local/logs/lambda/<function>.log.
        executor = self.executor()
        self.invoke(executor, {"print": ["order 101 charged"]})
        executor.stop()
        with open(os.path.join(self.log_dir, "orders-fn.log")) as f:
            text = f.read()
        self.assertIn("order 101 charged\n", text)
        self.assertIn("REPORT RequestId:", text)
        self.assertIn("order 101 charged", executor.get_logs())


class Init(ExecutorTest):
    def test_an_init_error_the_runtime_reports_fails_the_start_with_its_error(self):
        # LocalStack answers the invocation with this payload: the function's own words.
        with self.assertRaises(StatusErrorException) as raised:
            self.executor(env={"INIT": "error"})
        self.assertEqual(json.loads(raised.exception.payload),
                         {"errorType": "TestInitError", "errorMessage": "init failed on purpose"})

    def test_a_runtime_that_exits_during_init_fails_the_start_with_its_exit_status(self):
        with self.assertRaises(StatusErrorException) as raised:
            self.executor(env={"INIT": "exit"})
        error = json.loads(raised.exception.payload)
        self.assertEqual(error["errorType"], "Runtime.ExitError")
        self.assertIn("exit status 4", error["errorMessage"])

    def test_a_runtime_that_never_asks_for_an_event_fails_the_start_after_the_startup_timeout(self):
        # A runtime is ready when it asks for its first event; one that never does must not hang
        # the invocation waiting for it.
        executor = self.executor(start=False)
        with mock.patch.object(config, "LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT", 1):
            t0 = time.monotonic()
            with self.assertRaises(StatusErrorException) as raised:
                executor.start({"INIT": "hang"})
        self.assertEqual(json.loads(raised.exception.payload)["errorType"], "Sandbox.Timedout")
        self.assertLess(time.monotonic() - t0, 3)

    def test_a_zip_without_an_executable_bootstrap_fails_the_start_as_an_invalid_entrypoint(self):
        # Zipped without its mode bits, a bootstrap cannot run: say so, as Lambda does.
        os.chmod(os.path.join(self.code_dir, "bootstrap"), 0o644)
        with self.assertRaises(StatusErrorException) as raised:
            self.executor()
        self.assertEqual(json.loads(raised.exception.payload)["errorType"], "Runtime.InvalidEntrypoint")

    def test_a_non_provided_runtime_is_accepted_when_created_and_refused_when_started(self):
        # A function that fails at creation goes to state Failed, which LocalStack cannot delete.
        executor = self.executor(runtime=Runtime.python3_12, start=False)
        with self.assertLogs("localstack_host_lambda.executor", "WARNING") as logs:
            HostRuntimeExecutor.prepare_version(executor.function_version)
        self.assertIn("runtime python3.12 is not supported", logs.output[0])
        with self.assertRaises(StatusErrorException) as raised:
            executor.start({})
        error = json.loads(raised.exception.payload)
        self.assertEqual(error["errorType"], "Runtime.Unsupported")
        self.assertIn("only provided.*", error["errorMessage"])


class Stopping(ExecutorTest):
    def test_stopping_ends_the_process_and_everything_it_started(self):
        # A deleted or updated function must not keep running old code on the host.
        executor = self.executor()
        answer = self.invoke(executor, {"spawn": True})[1]
        executor.stop()
        self.assertTrue(wait_until(lambda: not alive(answer["pid"]) and not alive(answer["child"]), timeout=2))

    def test_stopping_closes_the_runtime_api(self):
        # Every environment LocalStack ever started would otherwise keep a port and a thread.
        executor = self.executor()
        host, port = self.invoke(executor, {})[1]["env"]["AWS_LAMBDA_RUNTIME_API"].split(":")
        executor.stop()
        self.assertTrue(wait_until(lambda: not accepts_connections(host, int(port)), timeout=2))

    def test_stopping_does_not_wait_for_the_runtime_api_to_shut_down(self):
        # LocalStack stops a function's environments one after another, and a server's shutdown()
        # waits for its next poll: each stop would add that wait. Here shutdown() is held until
        # stop() has returned; the API still closes once it runs.
        executor = self.executor()
        host, port = self.invoke(executor, {})[1]["env"]["AWS_LAMBDA_RUNTIME_API"].split(":")
        shutdown, release = socketserver.BaseServer.shutdown, threading.Event()

        def held_shutdown(server):
            release.wait(5)
            shutdown(server)

        with mock.patch.object(socketserver.BaseServer, "shutdown", held_shutdown):
            t0 = time.monotonic()
            executor.stop()
            stopping = time.monotonic() - t0
            release.set()
        self.assertLess(stopping, 2)
        self.assertTrue(wait_until(lambda: not accepts_connections(host, int(port)), timeout=2))

    def test_stopping_during_an_invocation_ends_the_invocation_with_an_error(self):
        # LocalStack stops environments when a function is deleted or updated mid-invocation.
        executor = self.executor(timeout=30)
        done = {}

        def invocation():
            done["result"], done["answer"] = self.invoke(executor, {"sleep": 30})

        thread = threading.Thread(target=invocation)
        thread.start()
        time.sleep(0.3)
        executor.stop()
        thread.join(5)
        self.assertFalse(thread.is_alive(), "the invocation is still waiting")
        self.assertTrue(done["result"].is_error)
        self.assertEqual(done["answer"]["errorType"], "Runtime.ExitError")

    def test_stopping_during_init_ends_the_start_at_once(self):
        # LocalStack's own startup timer stops an environment whose start takes too long.
        executor = self.executor(start=False)
        stopped = {}

        def stop_during_init():
            wait_until(self.pids, timeout=10)
            stopped["at"] = time.monotonic()
            executor.stop()

        threading.Thread(target=stop_during_init).start()
        with self.assertRaises(ShutdownDuringStartup):
            executor.start({"INIT": "hang"})
        self.assertLess(time.monotonic() - stopped["at"], 1.5)
        self.assertTrue(wait_until(lambda: not any(map(alive, self.pids())), timeout=2))


class Environment(ExecutorTest):
    def test_the_function_runs_in_its_code_directory_which_lambda_task_root_names(self):
        # LocalStack says /var/task, the path inside a Lambda container; here the code is elsewhere.
        answer = self.invoke(self.executor(env={"LAMBDA_TASK_ROOT": "/var/task"}), {})[1]
        self.assertEqual(os.path.realpath(answer["cwd"]), os.path.realpath(self.code_dir))
        self.assertEqual(answer["env"]["LAMBDA_TASK_ROOT"], self.code_dir)

    def test_the_function_gets_its_variables_and_none_of_localstacks_own_environment(self):
        # On the host, LocalStack's environment holds its settings and the developer's own AWS
        # credentials: a function must run with its role's, as in Lambda, and see its variables.
        host = {"AWS_SECRET_ACCESS_KEY": "the-hosts-key", "LOCALSTACK_SETTING": "x", "PATH": "/usr/bin:/bin"}
        with mock.patch.dict(os.environ, host):
            env = self.invoke(self.executor(env={"AWS_SECRET_ACCESS_KEY": "the-roles-key"}), {})[1]["env"]
        self.assertEqual(env["GREETING"], "hello")
        self.assertEqual(env["AWS_SECRET_ACCESS_KEY"], "the-roles-key")
        self.assertEqual(env["PATH"], "/usr/bin:/bin")
        self.assertNotIn("LOCALSTACK_SETTING", env)
        self.assertEqual(env["AWS_LAMBDA_FUNCTION_NAME"], "orders-fn")
        self.assertEqual(env["AWS_REGION"], REGION)

    def test_functions_reach_localstack_on_loopback_when_it_listens_on_all_interfaces(self):
        # 0.0.0.0 is where to listen, not an address to connect to.
        listen = [config.HostAndPort(host="0.0.0.0", port=4566)]
        with mock.patch.object(config, "GATEWAY_LISTEN", listen), mock.patch.object(
            config, "LAMBDA_DISABLE_AWS_ENDPOINT_URL", False
        ):
            executor = self.executor()
            env = self.invoke(executor, {})[1]["env"]
            self.assertEqual(executor.get_endpoint_from_executor(), "127.0.0.1")
        self.assertEqual(env["AWS_ENDPOINT_URL"], "http://127.0.0.1:4566")

    def test_the_function_keeps_an_aws_endpoint_url_of_its_own(self):
        # A function configured to talk to some other endpoint must not be redirected.
        env = self.invoke(self.executor(env={"AWS_ENDPOINT_URL": "http://elsewhere:4566"}), {})[1]["env"]
        self.assertEqual(env["AWS_ENDPOINT_URL"], "http://elsewhere:4566")


class ThroughLocalStacksExecutionEnvironment(ExecutorTest):
    """LocalStack's own ExecutionEnvironment driving the executor the plugin registers, as the
    Lambda service does (minus the STS call for the role's credentials)."""

    def setUp(self):
        super().setUp()
        credentials = {"AccessKeyId": "ASIATEST", "SecretAccessKey": "role-secret", "SessionToken": "token"}
        plugin = HostRuntimeExecutorPlugin()
        for patcher in (
            mock.patch.object(execution_environment, "get_runtime_executor", plugin.load),
            mock.patch.object(ExecutionEnvironment, "get_credentials", return_value=credentials),
        ):
            patcher.start()
            self.addCleanup(patcher.stop)

    def environment(self, **kw):
        env = ExecutionEnvironment(self.function_version(**kw), InitializationType.on_demand,
                                   on_timeout=lambda *_: None, version_manager_id="test")
        self.addCleanup(stop_unless_stopped, env)
        return env

    def test_the_lambda_service_starts_invokes_and_stops_a_function(self):
        env = self.environment()
        env.start()
        env.reserve()
        rid = str(uuid.uuid4())
        result = env.invoke(Invocation(
            payload=b'{"order": 101}', invoked_arn=env.function_version.qualified_arn, client_context=None,
            invocation_type="RequestResponse", invoke_time=datetime.now(), request_id=rid, trace_context={},
        ))  # fmt: skip
        env.release()
        answer = json.loads(result.payload)
        self.assertFalse(result.is_error)
        self.assertEqual(answer["event"], {"order": 101})
        self.assertEqual(answer["headers"]["Lambda-Runtime-Aws-Request-Id"], rid)
        self.assertEqual(answer["env"]["AWS_ACCESS_KEY_ID"], "ASIATEST")
        self.assertEqual(answer["env"]["AWS_LAMBDA_FUNCTION_NAME"], "orders-fn")
        self.assertEqual(answer["env"]["LAMBDA_TASK_ROOT"], self.code_dir)
        self.assertIn(f"END RequestId: {rid}", result.logs)
        env.stop()
        self.assertTrue(wait_until(lambda: not alive(answer["pid"]), timeout=2))

    def test_the_lambda_services_startup_timeout_stops_a_function_stuck_in_init(self):
        env = self.environment(environment={"INIT": "hang"})
        t0 = time.monotonic()
        # (assertLogs keeps LocalStack's warning about the timeout out of the test output)
        with mock.patch.object(ExecutionEnvironment, "_get_startup_timeout_seconds", return_value=2), \
                self.assertLogs(execution_environment.LOG, "WARNING"), \
                self.assertRaises(EnvironmentStartupTimeoutException):
            env.start()
        self.assertLess(time.monotonic() - t0, 4)
        self.assertTrue(wait_until(lambda: not any(map(alive, self.pids())), timeout=2), "the bootstrap still runs")


def stop_unless_stopped(env):
    try:
        env.stop()
    except InvalidStatusException:  # stopped by the test, or by LocalStack after a failed start
        pass


if __name__ == "__main__":
    unittest.main()
