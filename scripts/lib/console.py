"""How the deploy tools speak: each line tagged with the command saying it (`[deploy] ...`), errors
on stderr, and a failure ends the command."""

import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Console:
    tag: str

    def log(self, message):
        print(f"[{self.tag}] {message}", flush=True)

    def fail(self, message):
        print(f"[{self.tag}] ERROR: {message}", file=sys.stderr, flush=True)
        sys.exit(1)
