#!/usr/bin/env python3
"""Runs a command while holding an exclusive lock on a file: when another process holds it, waits
(and says so) until that process has finished. infra/Makefile runs each function's build this way,
since `sam build --parallel` and `sam sync` start every function's target at once.

  exclusive.py LOCK_FILE COMMAND [ARGUMENT...]
      exits with the command's status

The lock (flock) is this process's, not the command's: nothing the command leaves running, such as
a compiler cache's server, keeps holding it. It is released when this process ends, however it ends.
"""

import argparse
import fcntl
import os
import subprocess
import sys


def hold(lock_file):
    """The open lock file, locked: at once when no other process holds it, else once it is let go."""
    os.makedirs(os.path.dirname(os.path.abspath(lock_file)), exist_ok=True)
    lock = open(lock_file, "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        # On standard output: `sam build` shows a make target's standard error only when it fails.
        print(f"[exclusive] another process holds {lock_file}: waiting for it to finish", flush=True)
        fcntl.flock(lock, fcntl.LOCK_EX)
    return lock


def exit_status(returncode):
    """A shell's exit status for the command's: 128 + N when a signal N ended it."""
    return 128 - returncode if returncode < 0 else returncode


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lock_file")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if not args.command:
        parser.error("a command to run is needed after the lock file")
    with hold(args.lock_file):
        try:
            return exit_status(subprocess.run(args.command).returncode)
        except FileNotFoundError:
            print(f"[exclusive] ERROR: {args.command[0]}: no such command", file=sys.stderr)
            return 127
        except KeyboardInterrupt:
            return 130


if __name__ == "__main__":
    sys.exit(main())
