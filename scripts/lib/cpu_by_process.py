#!/usr/bin/env python3
"""CPU time by process while something runs: LocalStack's Python process, DynamoDB Local, each
function (its bootstraps together) and the rest of the machine. Reads
/proc/<pid>/stat (utime + stime) when started and again when stopped; processes that start and
end in between are counted when they end (from their parent's cutime/cstime, under the parent's
group, so a short-lived bootstrap counts under LocalStack). Shows what the local stack spends,
and where, per order.

  cpu_by_process.py --until-signal [--orders N] [--markdown FILE]
      samples until SIGTERM or SIGINT, then prints (and writes) the table
"""

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
# Everything else: the load generator (gone by the time the sampler stops), the kernel, other jobs.
REST = "rest of the machine (load generator, kernel, other jobs)"


def group_of(cmdline: str) -> str:
    if "localstack.runtime.main" in cmdline:
        return "LocalStack (Python)"
    if "DynamoDBLocal" in cmdline:
        return "DynamoDB Local (Java)"
    if "/awslambda-" in cmdline and cmdline.rstrip().endswith("/bootstrap"):
        # .../awslambda-<region>-tasks/<function name>-<uuid>/code/bootstrap
        folder = cmdline.split("-tasks/", 1)[-1].split("/", 1)[0]
        return "function " + folder[: -len("-00000000-0000-0000-0000-000000000000")]
    return REST


def processes() -> dict[int, tuple[str, float]]:
    """pid -> (group, CPU seconds used so far by it and its reaped children)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            found[int(entry)] = (group_of(cmdline), cpu_seconds(int(entry)))
        except OSError:
            continue  # gone meanwhile
    return found


def cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by the process and its reaped children (OSError if it is gone)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return (utime + stime + cutime + cstime) / TICK


def machine_busy() -> tuple[float, float]:
    """(all CPU seconds, idle CPU seconds) of the machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(values) / TICK, (values[3] + values[4]) / TICK


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--until-signal", action="store_true", required=True)
    parser.add_argument("--orders", type=int, help="orders placed meanwhile: adds CPU milliseconds per order")
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    before, machine_before, t0 = processes(), machine_busy(), time.monotonic()
    print(f"[cpu] sampling CPU time by process (pid {os.getpid()}) until signalled", flush=True)
    stop.wait()
    after, machine_after, wall = processes(), machine_busy(), time.monotonic() - t0

    used: dict[str, float] = {}
    for pid, (group, seconds) in after.items():
        start = before.get(pid)
        used[group] = used.get(group, 0.0) + seconds - (start[1] if start and start[0] == group else 0.0)
    total, idle = (a - b for a, b in zip(machine_after, machine_before))
    accounted = sum(used.values())
    used[REST] = used.get(REST, 0.0) + max(0.0, (total - idle) - accounted)

    per_order = args.orders and args.orders > 0
    lines = [
        f"CPU time over {wall:.0f} s of wall time on {os.cpu_count()} cores; the machine was busy "
        f"{100 * (total - idle) / total:.0f}% of the time.",
        "",
        "| process | CPU seconds | share of one core | " + ("CPU ms per order |" if per_order else ""),
        "| --- | --- | --- | " + ("--- |" if per_order else ""),
    ]
    for group, seconds in sorted(used.items(), key=lambda item: -item[1]):
        row = f"| {group} | {seconds:.1f} | {100 * seconds / wall:.0f}% | "
        if per_order:
            row += f"{1000 * seconds / args.orders:.0f} |"
        lines.append(row)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
