"""Every script answers --help with its usage and starts nothing (python -m unittest, from this
folder, with the tools' Python: scripts/test.sh runs it):
    ../../.local/tools/bin/python -m unittest -q test_script_help

The scripts are found, not listed: every executable scripts/**/*.sh and .ci/run (a .sh that is not
executable must say it is sourced, not run), and every scripts/**/*.py with a __main__ that is not a
test. Each runs in a sandbox where starting anything is seen: from a fresh copy of scripts/ and .ci/
(no .local/, so no tool or venv of the real tree is within reach, and REPO, LOCAL and the rest point
into the copy), with a PATH whose first folder holds stubs of every program a script could start
(each logs its name and arguments and fails), a HOME and a TMPDIR of their own, Python's sockets
and subprocesses refused and logged (a sitecustomize), and a decoy: the copy's .local/localstack.pid
names a process of ours that carries the copy's marker, which a stop would kill. A run has started
nothing when the log is empty, the copy, HOME and TMPDIR are as they were and the decoy lives.

Each bash script's --help must print exactly its header comment (common.sh's usage: nothing else
ran), with a `Usage: <script>` line and every option its loop matches; each option that takes a value,
given last without one or followed by another option, must be refused in words; and an unknown
option with the one message that points at the script's --help.
"""

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# What a script could start, found on PATH: each is stubbed.
STUBBED = (
    "cargo", "cargo-lambda", "cargo-deny", "rustc", "rustup", "zig",
    "python", "python3", "python3.11", "python3.12", "python3.13", "python3.14", "pyenv", "pip", "pip3",
    "curl", "wget", "docker", "aws", "sam", "localstack", "schemathesis", "cfn-lint", "checkov",
    "kill", "pkill", "killall", "setsid", "nohup", "ss",
    "npm", "npx", "node", "java", "javac", "jar", "git", "sha256sum",
)
# Python's ways of reaching out, refused and logged in the sandbox (on PYTHONPATH as sitecustomize).
SITECUSTOMIZE = '''
import os, socket, subprocess

def refused(what):
    def call(*args, **kwargs):
        with open(os.environ["STUB_LOG"], "a") as log:
            log.write(f"python {what} {args[1:]!r}\\n")
        raise OSError(f"{what}: refused in the --help sandbox")
    return call

socket.socket.connect = refused("socket.connect")
socket.socket.connect_ex = refused("socket.connect_ex")
subprocess.Popen._execute_child = refused("subprocess")
os.system = refused("os.system")
os.posix_spawn = refused("os.posix_spawn")
os.execv = os.execve = refused("os.exec")
'''
# A script whose options another script reads: .ci/run passes its own to scripts/test.sh.
DELEGATES = {".ci/run": "scripts/test.sh"}


def bash_scripts():
    scripts = [p for p in sorted(REPO.glob("scripts/**/*.sh")) if os.access(p, os.X_OK)]
    return [str(p.relative_to(REPO)) for p in scripts] + [".ci/run"]


def sourced_scripts():
    return [str(p.relative_to(REPO)) for p in sorted(REPO.glob("scripts/**/*.sh")) if not os.access(p, os.X_OK)]


def python_tools():
    tools = [p for p in sorted(REPO.glob("scripts/**/*.py"))
             if not p.name.startswith("test_") and 'if __name__ == "__main__":' in p.read_text()]
    return [str(p.relative_to(REPO)) for p in tools]


def header(script):
    """The script's header comment as common.sh's usage prints it."""
    lines = []
    for line in (REPO / script).read_text().splitlines()[1:]:
        if not line.startswith("#"):
            break
        lines.append(re.sub(r"^# ?", "", line))
    return "".join(line + "\n" for line in lines)


def options_matched(script):
    """The options the script's loop matches, each with whether its branch takes a value."""
    options = {}
    branches = re.finditer(r"^\s*(-[-\w]+(?:\s*\|\s*-[-\w]+)*)\)(.*?);;", (REPO / script).read_text(), re.M | re.S)
    for branch in branches:
        for option in re.split(r"\s*\|\s*", branch[1]):
            if option not in ("-h", "--help"):
                options[option] = "need_value" in branch[2]
    return options


def options_with_values(script):
    """The options that take a value: by the script's loop (need_value) or by its --help (an
    option at a line's start followed by one space and its value's name: `--region REGION`)."""
    documented = re.findall(r"^\s*(--[\w-]+) [^\s-]", header(script), re.M)
    return sorted({o for o, takes_value in options_matched(script).items() if takes_value} | set(documented))


def snapshot(folder):
    return {str(p.relative_to(folder)): (p.stat().st_mode, hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "")
            for p in sorted(folder.rglob("*"))}


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    started: list = field(default_factory=list)  # what shows that something started


def run_sandboxed(script, *args):
    """Runs `script args` (a path from the repository's root) in the sandbox the module describes."""
    with tempfile.TemporaryDirectory() as sandbox:
        sandbox = Path(sandbox)
        copy, stubs, home, tmp, site = (sandbox / name for name in ("tree", "stubs", "home", "tmp", "site"))
        for folder in ("scripts", ".ci"):
            shutil.copytree(REPO / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
        for folder in (stubs, home, tmp, site):
            folder.mkdir()
        log = sandbox / "started.log"
        for name in STUBBED:
            stub = stubs / name
            stub.write_text(f"#!/bin/sh\nprintf '%s\\n' \"{name} $*\" >>'{log}'\nexit 1\n")
            stub.chmod(0o755)
        (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
        local = copy / ".local"
        decoy = subprocess.Popen(["sleep", "600"], env={"PATH": os.environ["PATH"], "HOST_LAMBDA_OWNER": str(local)})
        try:
            local.mkdir()
            (local / "localstack.pid").write_text(f"{decoy.pid}\n")
            before = snapshot(copy)
            env = {
                "PATH": f"{stubs}:/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(tmp), "LANG": "C.UTF-8",
                "STUB_LOG": str(log), "PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": "1",
                # Were anything to reach for a local stack, it would find none (and not another's).
                "EDA_LOCAL_PORT": "9",
            }
            command = [sys.executable, str(copy / script)] if script.endswith(".py") else [str(copy / script)]
            process = subprocess.Popen([*command, *args], cwd=copy, env=env, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                       start_new_session=True)
            try:
                stdout, stderr = process.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                stdout, stderr = process.communicate()
                stderr += "\n(killed after 60 s)"
            result = Run(process.returncode, stdout, stderr)
            if log.exists():
                result.started += log.read_text().splitlines()
            after = snapshot(copy)
            result.started += [f"{path} changed in the tree" for path in sorted(before.keys() | after.keys())
                               if before.get(path) != after.get(path)]
            result.started += [f"{p} was made" for folder in (home, tmp) for p in folder.rglob("*")]
            if decoy.poll() is not None:
                result.started.append("the decoy LocalStack was stopped")
            return result
        finally:
            decoy.kill()
            decoy.wait()


class SandboxedRuns(unittest.TestCase):
    def check_runs(self, scripts, args, check):
        """Runs each script with `args` in the sandbox, in a subTest: it must start nothing, and
        pass check(script, run)."""
        for script in scripts:
            with self.subTest(script=script, args=args):
                run = run_sandboxed(script, *args)
                self.assertEqual(run.started, [])
                check(script, run)


class BashScripts(SandboxedRuns):
    def test_they_are_found(self):
        found = bash_scripts()
        for script in ("scripts/deploy.sh", "scripts/local-down.sh", "scripts/localstack/stop.sh", ".ci/run"):
            self.assertIn(script, found)
        for script in sourced_scripts():
            with self.subTest(script=script):
                self.assertIn("(sourced, not run)", (REPO / script).read_text().split("\n\n")[0],
                              f"{script} is not executable: make it so, or say in its header that it is sourced")

    def test_help_prints_the_usage_and_starts_nothing(self):
        def check(script, run):
            self.assertEqual((run.code, run.stderr), (0, ""))
            self.assertEqual(run.stdout, header(script), "nothing but the header comment")
            self.assertRegex(run.stdout, rf"(?m)^Usage: {re.escape(script)}\b")

        for flag in ("--help", "-h"):
            self.check_runs(bash_scripts(), [flag], check)

    def test_help_explains_every_option(self):
        for script in bash_scripts():
            with self.subTest(script=script):
                usage = header(script)
                for option in options_matched(script):
                    if option != "-*":
                        self.assertRegex(usage, rf"(?<![\w-]){re.escape(option)}(?![\w-])")

    def test_an_option_without_its_value_is_refused_in_words(self):
        def check(script, run):
            self.assertNotEqual(run.code, 0)
            self.assertIn(f"{option} needs a value (", run.stderr)
            self.assertIn(f"; see {DELEGATES.get(script, script)} --help", run.stderr)
            self.assertNotRegex(run.stderr, r"line \d+:", "bash's own words")

        checked = 0
        for script in bash_scripts():
            for option in options_with_values(script):
                for args in ([option], [option, "--no-such-option"]):  # last, or before another
                    checked += 1
                    self.check_runs([script], args, check)
        self.assertGreater(checked, 20)

    def test_an_unknown_option_gets_the_one_message(self):
        def check(script, run):
            self.assertEqual((run.code, run.stdout), (1, ""))
            self.assertRegex(run.stderr, rf"^\[[\w-]+\] ERROR: unknown option --no-such-option; "
                                         rf"see {re.escape(DELEGATES.get(script, script))} --help\n\Z")

        self.check_runs(bash_scripts(), ["--no-such-option"], check)


class PythonTools(SandboxedRuns):
    def test_they_are_found(self):
        found = python_tools()
        for tool in ("scripts/lib/stack.py", "scripts/lib/capacity.py", "scripts/localstack/smoke.py"):
            self.assertIn(tool, found)
        self.assertNotIn("scripts/lib/test_stack.py", found)

    def test_help_prints_the_usage_and_starts_nothing(self):
        def check(tool, run):
            self.assertEqual((run.code, run.stderr), (0, ""))
            self.assertRegex(run.stdout, rf"^usage: {re.escape(Path(tool).name)}\b")

        self.check_runs(python_tools(), ["--help"], check)

    def test_an_unknown_option_is_refused(self):
        def check(tool, run):
            self.assertEqual(run.code, 2)
            self.assertRegex(run.stderr, rf"^usage: {re.escape(Path(tool).name)}\b")
            self.assertIn(f"{Path(tool).name}: error: ", run.stderr)

        self.check_runs(python_tools(), ["--no-such-option"], check)


if __name__ == "__main__":
    unittest.main()
