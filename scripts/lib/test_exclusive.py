"""exclusive.py, which infra/Makefile runs each function's build under, so that the targets
`sam build --parallel` and `sam sync` start at once take turns (python -m unittest)."""

import os
import signal
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

EXCLUSIVE = Path(__file__).resolve().parent / "exclusive.py"


def exclusively(lock, *command, **kwargs):
    return subprocess.Popen([sys.executable, str(EXCLUSIVE), str(lock), *command], text=True, **kwargs)


def python(code):
    return (sys.executable, "-c", code)


class Exclusive(unittest.TestCase):
    def setUp(self):
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.lock = Path(folder.name) / "target" / ".build.lock"

    def test_a_second_command_waits_for_the_first_to_finish_and_says_so(self):
        first = exclusively(self.lock, *python("import sys; print('first holds', flush=True); sys.stdin.read()"),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.addCleanup(first.kill)
        self.assertEqual(first.stdout.readline(), "first holds\n")
        second = exclusively(self.lock, *python("print('second ran')"), stdout=subprocess.PIPE)
        self.addCleanup(second.kill)
        self.assertIn("another process holds", second.stdout.readline())
        # The first holds the lock until its standard input closes: the second cannot have run.
        self.assertIsNone(second.poll())
        first.stdin.close()
        first.stdout.close()
        self.assertEqual(first.wait(), 0)
        out, _ = second.communicate(timeout=60)
        self.assertEqual((out, second.returncode), ("second ran\n", 0))

    def test_what_the_command_leaves_running_does_not_keep_the_lock(self):
        first = exclusively(self.lock, "sh", "-c", "sleep 600 >/dev/null & echo $!", stdout=subprocess.PIPE)
        left_running = int(first.stdout.readline())
        first.stdout.close()
        self.addCleanup(os.kill, left_running, signal.SIGKILL)
        self.assertEqual(first.wait(timeout=60), 0)
        second = exclusively(self.lock, "true", stdout=subprocess.PIPE)
        out, _ = second.communicate(timeout=60)
        self.assertEqual((out, second.returncode), ("", 0))

    def test_the_commands_exit_status_is_its_own(self):
        self.assertEqual(exclusively(self.lock, "sh", "-c", "exit 3").wait(timeout=60), 3)
        self.assertEqual(exclusively(self.lock, "sh", "-c", "kill -TERM $$").wait(timeout=60), 128 + signal.SIGTERM)

    def test_a_command_that_does_not_exist_is_named(self):
        run = exclusively(self.lock, "no-such-command-here", stderr=subprocess.PIPE)
        _, err = run.communicate(timeout=60)
        self.assertEqual(run.returncode, 127)
        self.assertIn("no-such-command-here: no such command", err)

    def test_no_command_is_a_usage_error(self):
        run = exclusively(self.lock, stderr=subprocess.PIPE)
        _, err = run.communicate(timeout=60)
        self.assertEqual(run.returncode, 2)
        self.assertIn("a command to run is needed", err)


if __name__ == "__main__":
    unittest.main()
