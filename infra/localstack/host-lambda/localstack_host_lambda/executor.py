"""LocalStack Lambda runtime executor that runs functions as host processes (no Docker).

LocalStack normally gives each execution environment a container whose "init" serves the Lambda
Runtime API. Here an execution environment is instead:
  * a small HTTP server on 127.0.0.1:<free port> serving the Runtime API, and
  * the function's `bootstrap` started as a host process in its own process group, pointed at that
    server by AWS_LAMBDA_RUNTIME_API (so any provided.* runtime, e.g. Rust's lambda_runtime, works).
One process per execution environment; LocalStack's ExecutionEnvironment sends it one invocation
at a time. Selected with LAMBDA_RUNTIME_EXECUTOR=host.
"""

import array
import atexit
import fcntl
import json
import logging
import math
import os
import select
import signal
import subprocess
import termios
import threading
import time
from collections import deque
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from queue import Queue
from typing import NamedTuple

from localstack import config
from localstack.aws.api.lambda_ import PackageType
from localstack.services.lambda_.invocation.executor_endpoint import (
    ShutdownDuringStartup,
    StatusErrorException,
)
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.runtime_executor import RuntimeExecutor
from localstack_host_lambda import aws_calls

LOG = logging.getLogger(__name__)
API = "/2018-06-01/runtime"
# Variables of LocalStack's own environment that functions get. The rest (LocalStack's settings,
# the host's AWS credentials, VIRTUAL_ENV...) must not leak into functions. HOST_LAMBDA_OWNER marks
# the processes so that scripts/localstack/stop.sh can find leftovers.
PASSED_ENV = ("PATH", "HOME", "USER", "LANG", "LC_ALL", "TMPDIR", "HOST_LAMBDA_OWNER")
_LIVE: set["HostRuntimeExecutor"] = set()  # executors with a process, killed at exit (no orphans)


def _error(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def _localstack_host() -> str:
    host = config.GATEWAY_LISTEN[0].host
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host


def _unsupported(function_version: FunctionVersion) -> str | None:
    cfg = function_version.config
    if cfg.package_type != PackageType.Zip:
        return "container-image functions are not supported by the 'host' Lambda executor"
    if not str(cfg.runtime or "").startswith("provided"):
        return (f"runtime {cfg.runtime} is not supported by the 'host' Lambda executor: only provided.* "
                "runtimes (a 'bootstrap' executable in the zip) run as host processes")
    return None


class _Invocation:
    def __init__(self, payload: dict, timeout_s: int):
        self.request_id = payload["invoke-id"]
        self.body = payload["payload"].encode()
        self.headers = {
            "Lambda-Runtime-Aws-Request-Id": self.request_id,
            "Lambda-Runtime-Deadline-Ms": str(int((time.time() + timeout_s) * 1000)),
            "Lambda-Runtime-Invoked-Function-Arn": payload["invoked-function-arn"],
            "Lambda-Runtime-Trace-Id": payload.get("trace-id") or "",
        }
        # LocalStack 2026.3 does not hand these to executors yet; pass them on if it ever does.
        for key, header in (("client-context", "Client-Context"), ("cognito-identity", "Cognito-Identity")):
            if payload.get(key):
                self.headers[f"Lambda-Runtime-{header}"] = payload[key]
        self.result: Future[tuple[bytes, bool]] = Future()  # (payload, is_error)

    def finish(self, body: bytes, is_error: bool) -> bool:
        try:
            self.result.set_result((body, is_error))
            return True
        except Exception:  # already finished (e.g. a late response after a timeout)
            return False


class _RuntimeAPI(BaseHTTPRequestHandler):
    """The Runtime API (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html)."""

    protocol_version = "HTTP/1.1"  # keep-alive, as runtimes expect
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms ACK stalls

    def log_message(self, *args):  # no access log on LocalStack's stderr
        pass

    def _reply(self, status: int, body: bytes = b'{"status":"OK"}', headers: dict | None = None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        try:
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the runtime went away (killed after a timeout, or stopping)
            self.close_connection = True

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        data = b""
        while size := int(self.rfile.readline().split(b";")[0], 16):
            data += self.rfile.read(size)
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
            pass
        return data

    def do_GET(self):
        if self.path != f"{API}/invocation/next":
            return self._reply(404, _error("NotFound", self.path))
        inv = self.server.executor.next_invocation()  # blocks until there is an event
        if inv is None:  # environment stopping: the process is being killed anyway
            return self._reply(410, _error("Runtime.Shutdown", "execution environment stopped"))
        self._reply(200, inv.body, inv.headers)

    def do_POST(self):
        body, executor = self._read_body(), self.server.executor
        parts = self.path.removeprefix(API).strip("/").split("/")
        error_type = self.headers.get("Lambda-Runtime-Function-Error-Type") or "Runtime.Unknown"
        if parts == ["init", "error"]:
            executor.init_failed(body or _error(error_type, "init error"))
            return self._reply(202)
        if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            if parts[2] == "error" and not body:
                body = _error(error_type, "function error")
            if executor.complete(parts[1], body, is_error=parts[2] == "error"):
                return self._reply(202)
            return self._reply(400, _error("InvalidRequestID", f"no invocation {parts[1]} in progress"))
        self._reply(404, _error("NotFound", self.path))


class HostRuntimeExecutor(RuntimeExecutor):
    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        code = function_version.config.code
        self.code_dir = str(code.get_unzipped_code_location()) if code else ""
        self._server: ThreadingHTTPServer | None = None
        self._proc: subprocess.Popen | None = None
        self._queue: Queue[_Invocation | None] = Queue()  # events for the process's /next
        self._current: _Invocation | None = None
        self._ready = threading.Event()  # the runtime asked for its first event: init is done
        self._wakeup = threading.Event()
        self._init_error: bytes | None = None
        self._init_ms: float | None = None
        self._stopped = False
        self._output: list[str] = []  # process output not yet attributed to an invocation
        self._output_lock = threading.Lock()
        self._history: deque[str] = deque(maxlen=2000)  # for get_logs()
        self._logfile = None
        self._pump: threading.Thread | None = None
        self._pipe: _Pipe | None = None  # the current process's output

    # --- RuntimeExecutor interface -------------------------------------------------------------
    def start(self, env_vars: dict[str, str]) -> None:
        if reason := _unsupported(self.function_version):
            raise StatusErrorException(f"Unsupported function: {reason}", payload=_error("Runtime.Unsupported", reason))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _RuntimeAPI)
        self._server.daemon_threads = True
        self._server.executor = self
        threading.Thread(target=_serve, args=(self._server,), name=f"lambda-api-{self.id}", daemon=True).start()
        log_dir = os.environ.get("HOST_LAMBDA_LOG_DIR") or os.path.join(config.dirs.tmp, "lambda-logs")
        os.makedirs(log_dir, exist_ok=True)
        name = self.function_version.id.function_name
        self._logfile = open(os.path.join(log_dir, f"{name}.log"), "a", buffering=1, errors="replace")
        self._env = self._build_env(env_vars)
        if error := self._spawn():
            self._kill()
            raise StatusErrorException(f"Environment startup failed: {error.decode(errors='replace')}", payload=error)

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        timeout = self.function_version.config.timeout
        inv = _Invocation(payload, timeout)
        if failure := self._restart_if_exited(inv.request_id):
            return failure
        init_ms, self._init_ms = self._init_ms, None
        head = self._start_log(inv.request_id)
        outcome = self._run(inv, timeout)
        logs = "\n".join(head + self._end_log(inv.request_id, outcome, timeout, init_ms)) + "\n"
        return InvocationResult(inv.request_id, outcome.body, is_error=outcome.is_error, logs=logs)

    def stop(self) -> None:
        self._stopped = True
        self._kill()
        if inv := self._current:  # stopped mid-invocation (function deleted, LocalStack stopping)
            inv.finish(_error("Runtime.ExitError", "execution environment stopped"), True)
        if self._server:
            # shutdown() waits for the server's next poll (up to 0.5 s), and LocalStack stops a
            # function's environments one after another: the server ends and closes on its own.
            threading.Thread(target=self._server.shutdown, daemon=True).start()
        if self._logfile:
            self._logfile.close()
        self._wakeup.set()

    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        # Used by LocalStack for LOCALSTACK_HOSTNAME and AWS_ENDPOINT_URL: the process runs on
        # this host, so LocalStack is simply its gateway address.
        return _localstack_host()

    def get_runtime_endpoint(self) -> str:
        port = config.GATEWAY_LISTEN[0].port
        return f"http://{_localstack_host()}:{port}/_localstack_lambda/{self.id}"

    def get_logs(self) -> str:
        return "\n".join(self._history)

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        # An unsupported function is only refused when it is invoked (see _unsupported): a function
        # that fails here goes to state Failed, and LocalStack 2026.3 cannot delete such a function.
        if reason := _unsupported(function_version):
            LOG.warning("%s: %s", function_version.qualified_arn, reason)
        elif function_version.config.code:
            function_version.config.code.prepare_for_execution()  # unzip (mode 755) to the code dir
        if function_version.config.layers:
            LOG.warning("Lambda layers are ignored by the 'host' executor (%s)", function_version.qualified_arn)

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        pass  # nothing beyond the unzipped code, which LocalStack removes itself

    # --- process management --------------------------------------------------------------------
    def _restart_if_exited(self, request_id: str) -> InvocationResult | None:
        """Starts the process again if it died or was killed after a timeout, as AWS re-initialises
        the sandbox. Returns the invocation's failure if it cannot start, else None."""
        if self._proc is not None and self._proc.poll() is None:
            return None
        self._kill()  # whatever the old process group left behind
        if error := self._spawn():
            self._kill()
            # The process is gone: its output is all it printed, up to its end.
            return InvocationResult(request_id, error, is_error=True, logs="\n".join(self._collect_output()))
        return None

    def _run(self, inv: _Invocation, timeout: int) -> "_Outcome":
        """Hands the invocation to the process and waits for its answer up to the function's
        timeout; past it, kills the process like Lambda does (the next invocation starts a new one)."""
        t0 = time.monotonic()
        self._current = inv
        self._queue.put(inv)
        timed_out = False
        try:
            body, is_error = inv.result.result(timeout=timeout)
        except FutureTimeout:
            timed_out, is_error = True, True
            body = _error("Sandbox.Timedout", f"RequestId: {inv.request_id} Error: {_timed_out_text(timeout)}")
        duration_ms = (time.monotonic() - t0) * 1000
        self._current = None
        max_memory_mb = self._max_memory_mb()  # while the process is there to ask
        if timed_out:
            self._kill()
        return _Outcome(body, is_error, timed_out, duration_ms, max_memory_mb)

    def _build_env(self, env_vars: dict) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k in PASSED_ENV}
        env.update({k: str(v) for k, v in env_vars.items()})  # LocalStack's + the function's own
        fn = self.function_version
        defaults = {
            "AWS_LAMBDA_FUNCTION_NAME": fn.id.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.config.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": fn.id.qualifier,
            "AWS_REGION": fn.id.region,
            "AWS_DEFAULT_REGION": fn.id.region,
        }
        if not config.LAMBDA_DISABLE_AWS_ENDPOINT_URL:  # LocalStack sets it too; keep a user's value
            defaults["AWS_ENDPOINT_URL"] = f"http://{_localstack_host()}:{config.GATEWAY_LISTEN[0].port}"
        for key, value in defaults.items():
            env.setdefault(key, value)
        env["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{self._server.server_port}"
        env["LAMBDA_TASK_ROOT"] = self.code_dir  # LocalStack says /var/task, the container path
        return env

    def _spawn(self) -> bytes | None:
        """Start the bootstrap and wait for the end of its init phase (its first /next call).
        Returns None on success, else the error payload (init error, exit, bad entrypoint)."""
        self._ready.clear()
        self._init_error = None
        self._queue = Queue()
        bootstrap = os.path.join(self.code_dir, "bootstrap")
        t0 = time.monotonic()
        try:
            proc = subprocess.Popen(
                [bootstrap], cwd=self.code_dir, env=self._env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        except OSError as e:
            return _error("Runtime.InvalidEntrypoint", f"cannot run {bootstrap}: {e}")
        self._proc = proc
        _LIVE.add(self)
        self._pipe = _Pipe(proc.stdout.fileno())
        self._pump = threading.Thread(target=self._pump_output, args=(proc, self._pipe), daemon=True)
        self._pump.start()
        threading.Thread(target=self._watch_exit, args=(proc,), daemon=True).start()
        deadline = t0 + config.LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT
        while True:
            self._wakeup.clear()
            if self._ready.is_set():
                self._init_ms = (time.monotonic() - t0) * 1000
                return None
            if self._init_error is not None:
                return self._init_error
            if self._stopped:
                raise ShutdownDuringStartup("execution environment stopped during startup")
            if proc.poll() is not None:
                return _error("Runtime.ExitError", f"Runtime exited during init: {self._exit_text(proc)}")
            if time.monotonic() > deadline:
                return _error("Sandbox.Timedout", f"init did not finish within {config.LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT} s")
            self._wakeup.wait(0.5)

    def _kill(self) -> None:
        # SIGKILL to the whole process group (the bootstrap and anything it started), as Lambda
        # does with a runtime that has no extensions.
        if proc := self._proc:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
        self._queue.put(None)  # releases a /next handler blocked on this process's queue
        _LIVE.discard(self)

    def _watch_exit(self, proc: subprocess.Popen) -> None:
        proc.wait()
        if proc is self._proc and (inv := self._current):
            text = f"RequestId: {inv.request_id} Error: Runtime exited with error: {self._exit_text(proc)}"
            inv.finish(_error("Runtime.ExitError", text), True)
        self._wakeup.set()

    @staticmethod
    def _exit_text(proc: subprocess.Popen) -> str:
        code = proc.returncode
        return f"signal: {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"

    def _max_memory_mb(self) -> int:
        try:  # peak resident set size of the bootstrap process
            with open(f"/proc/{self._proc.pid}/status") as f:
                kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
            return math.ceil(kb / 1024)
        except Exception:
            return 0

    # --- for the Runtime API handler (_RuntimeAPI) ------------------------------------------------
    def next_invocation(self) -> _Invocation | None:
        """The next event for the process, waiting for one; None when the environment stops.
        The first call ends the process's init."""
        queue = self._queue
        self._ready.set()
        self._wakeup.set()
        return queue.get()

    def complete(self, request_id: str, body: bytes, is_error: bool) -> bool:
        """The process's answer to the invocation in progress; False if that is not `request_id`."""
        inv = self._current
        return inv is not None and inv.request_id == request_id and inv.finish(body, is_error)

    def init_failed(self, body: bytes) -> None:
        """The process's init error: the start fails with it."""
        self._init_error = body
        self._wakeup.set()

    # --- logs ---------------------------------------------------------------------------------------
    def _start_log(self, request_id: str) -> list[str]:
        """An invocation's log up to its start: what the process printed since (its init's output,
        which goes before START, as in CloudWatch), then START."""
        lines = self._collect_output()
        lines.append(f"START RequestId: {request_id} Version: {self.function_version.id.qualifier}")
        self._log_line(lines[-1])
        return lines

    def _end_log(self, request_id: str, outcome: "_Outcome", timeout: int, init_ms: float | None) -> list[str]:
        """The rest of an invocation's log: its output, the timeout if it timed out, END and REPORT.
        The process's lines are in the log file already; the executor's are added."""
        lines = self._collect_output()
        memory_size = self.function_version.config.memory_size
        ours = [_timed_out_line(request_id, timeout)] if outcome.timed_out else []
        ours += [f"END RequestId: {request_id}", _report_line(request_id, outcome, memory_size, init_ms)]
        # What the REPORT line says, counted while /_eda/aws-calls is armed (aws_calls.py).
        aws_calls.lambda_reported(self.function_version.id.function_name, outcome.duration_ms, memory_size, init_ms)
        for line in ours:
            self._log_line(line)
        return lines + ours

    def _pump_output(self, proc: subprocess.Popen, pipe: "_Pipe") -> None:
        """Moves the process's stdout+stderr into lines for the invocation logs and the debug file,
        as it comes. It waits for output without the output lock, and reads only what is in the
        pipe, with the lock held: so whoever holds the lock knows that all output is either still
        in the pipe or already in lines, never on its way between the two."""
        poller = select.poll()  # not select(): LocalStack may well hold more than 1024 files open
        poller.register(pipe.fd, select.POLLIN)
        ended = select.POLLHUP | select.POLLERR | select.POLLNVAL
        while True:
            events = poller.poll()
            with self._output_lock:
                if not self._drain(pipe) and any(event & ended for _, event in events):
                    break  # nothing left, and no writer: the end
        with self._output_lock:
            self._add_output([pipe.partial] if pipe.partial else [])
            pipe.partial = b""
        proc.stdout.close()

    def _drain(self, pipe: "_Pipe") -> int:
        """Moves what is in the pipe now into lines, with the output lock held: never blocks, since
        it reads no more than the pipe holds and only holders of the lock read. Returns the bytes."""
        available = array.array("i", [0])
        try:
            fcntl.ioctl(pipe.fd, termios.FIONREAD, available, True)
        except OSError:
            return 0
        if not available[0]:
            return 0
        chunk = os.read(pipe.fd, available[0])
        *lines, pipe.partial = (pipe.partial + chunk).split(b"\n")
        self._add_output(lines)
        return len(chunk)

    def _add_output(self, lines: list[bytes]) -> None:  # with the output lock held
        for line in lines:
            self._output.append(line.decode(errors="replace"))
            self._log_line(self._output[-1])

    def _log_line(self, line: str) -> None:
        self._history.append(line)
        try:
            self._logfile.write(line + "\n")
        except (AttributeError, ValueError):  # not opened yet / closed by stop()
            pass

    def _wait_for_output(self) -> None:
        # The runtime prints, then posts its response (or asks for its first event): by then what
        # it printed is in the pipe or already in lines. Take what is in the pipe now, without
        # waiting for the pump thread, which can lag far behind on a loaded machine.
        proc = self._proc
        if proc and proc.poll() is not None:  # exited: the pump gets everything up to the end
            self._pump.join(1.0)
            return
        with self._output_lock:
            if self._pipe and not proc.stdout.closed:
                self._drain(self._pipe)

    def _take_output(self) -> list[str]:
        with self._output_lock:
            lines, self._output = self._output, []
        return lines

    def _collect_output(self) -> list[str]:
        """What the process printed since the last call, up to now."""
        self._wait_for_output()
        return self._take_output()


class _Outcome(NamedTuple):
    body: bytes
    is_error: bool
    timed_out: bool
    duration_ms: float
    max_memory_mb: int


# --- the lines of an invocation's log that say how it went, as Lambda writes them -------------------
def _timed_out_text(timeout: int) -> str:
    return f"Task timed out after {timeout:.2f} seconds"


def _timed_out_line(request_id: str, timeout: int) -> str:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return f"{now} {request_id} {_timed_out_text(timeout)}"


def _report_line(request_id: str, outcome: _Outcome, memory_size: int, init_ms: float | None) -> str:
    duration_ms = outcome.duration_ms
    return (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms"
        f"\tBilled Duration: {math.ceil(duration_ms)} ms"
        f"\tMemory Size: {memory_size} MB\tMax Memory Used: {outcome.max_memory_mb} MB"
        + (f"\tInit Duration: {init_ms:.2f} ms" if init_ms is not None else "")
        + ("\tStatus: timeout" if outcome.timed_out else "")
    )


def _serve(server: ThreadingHTTPServer) -> None:
    try:
        server.serve_forever()
    finally:
        server.server_close()  # once stop()'s shutdown() has ended the loop


class _Pipe:
    """One process's stdout+stderr: its descriptor, and what came after its last newline."""

    def __init__(self, fd: int):
        self.fd = fd
        self.partial = b""


@atexit.register
def _kill_all() -> None:
    for executor in list(_LIVE):
        executor._kill()
