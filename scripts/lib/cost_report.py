#!/usr/bin/env python3
"""BENCHMARKS.md's "Cost per order and capacity on AWS" section, written by a script and never by
hand: our bill beside the original demo's (both from bill.py), and the capacity model
(capacity.py), between the markers below. Without a measured run ours is left "not yet measured".

  cost_report.py [--measured MEASURED.json] [--template infra/template.yaml] [--benchmarks BENCHMARKS.md]
                 [--before MEASURED.json --before-rev REV]

With --before, the section opens with the figures before a change beside those after it: the
before run's counts with the template as it was at the commit REV (read with git show).
"""

import argparse
import json
import sys
from pathlib import Path

import bill
import capacity
import original_demo
import prices

REPO = Path(__file__).resolve().parents[2]
BEGIN, END = "<!-- cost-model:begin -->", "<!-- cost-model:end -->"
NOT_MEASURED = "(produced by scripts/lib/cost_report.py from a measured run; not yet measured)"


def side_by_side(ours, demo, before=None):
    """$ per million orders by service, ours (and ours before a change) beside the demo's (ours
    None: not measured)."""
    theirs = bill.by_service(demo)
    mine = bill.by_service(ours) if ours is not None else {}
    earlier = bill.by_service(before) if before is not None else None
    head = "| service | this project |" + (" before |" if earlier is not None else "") + " original demo |"
    rows = [head, "| --- " * head.count(" |") + "|"]
    for service in dict.fromkeys(list(mine) + list(earlier or {}) + list(theirs)):
        ours_text = f"{mine.get(service, 0):.2f}" if ours is not None else "not measured"
        before_text = f" {earlier.get(service, 0):.2f} |" if earlier is not None else ""
        rows.append(f"| {service} | {ours_text} |{before_text} {theirs.get(service, 0):.2f} |")
    before_total = f" **{bill.total(before):.2f}** |" if before is not None else ""
    rows.append(f"| **total** | {f'**{bill.total(ours):.2f}**' if ours is not None else 'not measured'} |"
                f"{before_total} **{bill.total(demo):.2f}** |")
    return "\n".join(rows)


def ceilings(measured, template):
    """The capacity model's three headline ceilings, as text."""
    return tuple(f"{hop.name}, {capacity.rate_text(hop.rate)} orders/s"
                 for hop in capacity.headline_ceilings(capacity.hops(measured, template)))


def before_and_after(before, after):
    """The headline figures before a change and after it; each a (measured, template, label)."""
    rows = [f"| | before ({before[2]}) | after ({after[2]}) |", "| --- | --- | --- |",
            f"| price per million orders | ${bill.total(bill.bill(before[0])):.2f} | ${bill.total(bill.bill(after[0])):.2f} |"]
    labels = ("first ceiling, as deployed", "first ceiling, the stage throttle raised",
              "first ceiling on a stack just deployed (new tables)")
    for label, was, now in zip(labels, ceilings(before[0], before[1]), ceilings(after[0], after[1])):
        rows.append(f"| {label} | {was} | {now} |")
    return "\n".join(rows)


def measured_from(measured):
    """Where our bill's counts come from: the run and the file that keeps them."""
    run = measured.get("note") or f"{measured['orders']} orders"
    kept = f"; the counts are kept in `{measured['file']}`" if measured.get("file") else ""
    return (f"Measured on the local stack ({run}; counting from {measured.get('armed_at', '?')}{kept}). "
            "Lambda durations are the debug build's on this machine, not AWS's: they are a small part of the bill.")


def section(measured, template, before=None):
    """The whole section; `before`: (measured, template, label) of the run before a change."""
    demo = bill.bill(original_demo.measured())
    ours = bill.bill(measured) if measured else None
    opening = []
    if before and measured:
        opening = ["### Before and after", "", before_and_after(before, (measured, template, measured.get("file", "this run"))), ""]
    parts = opening + [f"Dollars per million orders at AWS's list prices, {prices.REGION}, read {prices.READ} "
             "(scripts/lib/prices.py names each price's page); no free tier.", "",
             side_by_side(ours, demo, bill.bill(before[0]) if before else None), "",
             "### This project's bill, per order", "",
             bill.markdown(ours) + "\n\n" + measured_from(measured) if ours else NOT_MEASURED,
             "", "### The original Node.js demo's bill, per order (derived from its code, not measured)", "",
             bill.markdown(demo), "", "Assumptions: " + "; ".join(original_demo.assumptions()) + ".", "",
             "What it does not do, which is part of why it costs less: " + "; ".join(original_demo.DOES_NOT_DO) + ".", "",
             "Both send 3 emails per paid order to the topic's one subscriber ($2.00 per 100,000 emails, SNS pricing: "
             "$60 per million orders each), left out of both bills.", "",
             "### Capacity on AWS with a new account's default quotas", "",
             capacity.markdown(measured, template) if measured else NOT_MEASURED]
    return "\n".join(parts)


def template_at(rev):
    """The template as it was at commit `rev`."""
    import subprocess
    import tempfile

    from template_check import read_template

    text = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:infra/template.yaml"], check=True,
                          capture_output=True, text=True).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as file:
        file.write(text)
        file.flush()
        return read_template(file.name)


def replace_region(text, body):
    """`text` with what is between the markers replaced by `body`; refuses a text without them."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the markers {BEGIN} ... {END} are missing")
    return text[:start + len(BEGIN)] + "\n" + body.strip() + "\n" + text[end:]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--measured", help="a measured run's JSON (absent: ours is 'not yet measured')")
    parser.add_argument("--template", default=REPO / "infra/template.yaml")
    parser.add_argument("--benchmarks", default=REPO / "BENCHMARKS.md")
    parser.add_argument("--before", help="the measured run before a change (with --before-rev)")
    parser.add_argument("--before-rev", help="the commit whose template the before run was deployed from")
    args = parser.parse_args(argv)
    if bool(args.before) != bool(args.before_rev):
        parser.error("--before and --before-rev go together")
    measured, template, before = None, None, None
    if args.measured:
        from template_check import read_template

        measured = json.loads(Path(args.measured).read_text())
        measured["file"] = str(Path(args.measured).resolve().relative_to(REPO))
        template = read_template(args.template)
        if args.before:
            before = (json.loads(Path(args.before).read_text()), template_at(args.before_rev),
                      f"{Path(args.before).name}, template of {args.before_rev}")
    path = Path(args.benchmarks)
    path.write_text(replace_region(path.read_text(), section(measured, template, before)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
