#!/usr/bin/env python3
"""Where LocalStack's Python process spends its time: samples it with py-spy (only the thread
holding the GIL, which is the one doing work, since LocalStack is one Python process) and sums
the samples by what they were doing. Run it while the local stack is under load.

  localstack_profile.py --seconds 30 [--rate 20] [--markdown FILE] [--raw FILE]
"""

import argparse
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PID_FILE = REPO / ".local" / "localstack.pid"

# (area, test on the frames of one sample), first match wins: the specific before the general.
AREAS = [
    ("Step Functions: building a JSONPath parser (PLY) at each evaluation", lambda s: "ply/yacc.py" in s),
    ("Step Functions: parsing the state machine's definition at each execution (ANTLR)",
     lambda s: "AmazonStateLanguageParser.parse" in s),
    ("Step Functions: the rest of the interpreter", lambda s: "services/stepfunctions/" in s),
    ("DynamoDB: forwarding each call to DynamoDB Local (HTTP + JSON)", lambda s: "DynamoDBProvider.forward_request" in s),
    ("Lambda: invocations, event-source pollers, async queue", lambda s: "services/lambda_/" in s),
    ("EventBridge: rules and targets", lambda s: "services/events/" in s),
    ("API Gateway", lambda s: "services/apigateway/" in s),
    ("other AWS services (SQS, SNS, Logs, DynamoDB Streams...)", lambda s: "services/" in s),
    ("AWS request handling (parse, route, serialize)", lambda s: re.search(r"\(aws/|\(localstack/aws/", s)),
    ("the HTTP server (Twisted), hand-offs between threads, logging", lambda s: True),
]


def summarize(raw: str) -> tuple[int, Counter]:
    samples, by_area = 0, Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples += int(count)
        by_area[next(area for area, test in AREAS if test(stack))] += int(count)
    return samples, by_area


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--rate", type=int, default=20, help="samples per second")
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--raw", type=Path, help="keep py-spy's raw stacks (flamegraph.pl input)")
    args = parser.parse_args()
    pid = PID_FILE.read_text().strip() if PID_FILE.exists() else ""
    if not pid.isdigit():
        sys.exit(f"[profile] no LocalStack pid in {PID_FILE}: is the local stack up?")
    raw_path = args.raw or Path(tempfile.mkstemp(suffix=".txt")[1])
    print(f"[profile] sampling LocalStack (pid {pid}) with py-spy for {args.seconds} s", flush=True)
    # --gil: only the thread holding the GIL; --nonblocking: do not pause LocalStack to sample it.
    result = subprocess.run(
        ["py-spy", "record", "--pid", pid, "--duration", str(args.seconds), "--rate", str(args.rate),
         "--gil", "--nonblocking", "--format", "raw", "--output", str(raw_path)],
        capture_output=True, text=True)
    if result.returncode != 0 or not raw_path.exists():
        sys.exit(f"[profile] py-spy failed ({result.returncode}): {result.stderr.strip()[-500:]}")
    samples, by_area = summarize(raw_path.read_text())
    if not args.raw:
        raw_path.unlink()
    possible = args.seconds * args.rate
    lines = [
        f"py-spy, {args.seconds} s at {args.rate} samples/s, GIL holder only: {samples} samples, so the "
        f"GIL was held {100 * samples / possible:.0f}% of the time.",
        "",
        "| LocalStack was | share of its samples |",
        "| --- | --- |",
    ]
    lines += [f"| {area} | {100 * n / samples:.1f}% |" for area, n in by_area.most_common()] if samples else []
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text)


if __name__ == "__main__":
    main()
