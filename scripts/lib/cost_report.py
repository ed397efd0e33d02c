#!/usr/bin/env python3
"""BENCHMARKS.md's "Cost per order and capacity on AWS" section, written by a script and never by
hand: our bill beside the original demo's (both from bill.py), and the capacity model
(capacity.py), between the markers below. Without a measured run ours is left "not yet measured".

  cost_report.py [--measured MEASURED.json] [--template infra/template.yaml] [--benchmarks BENCHMARKS.md]
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


def side_by_side(ours, demo):
    """$ per million orders by service, ours beside the demo's (ours None: not measured)."""
    theirs = bill.by_service(demo)
    mine = bill.by_service(ours) if ours is not None else {}
    rows = ["| service | this project | original demo |", "| --- | --- | --- |"]
    for service in dict.fromkeys(list(mine) + list(theirs)):
        ours_text = f"{mine.get(service, 0):.2f}" if ours is not None else "not measured"
        rows.append(f"| {service} | {ours_text} | {theirs.get(service, 0):.2f} |")
    rows.append(f"| **total** | {f'**{bill.total(ours):.2f}**' if ours is not None else 'not measured'} | "
                f"**{bill.total(demo):.2f}** |")
    return "\n".join(rows)


def measured_from(measured):
    """Where our bill's counts come from: the run and the file that keeps them."""
    run = measured.get("note") or f"{measured['orders']} orders"
    kept = f"; the counts are kept in `{measured['file']}`" if measured.get("file") else ""
    return (f"Measured on the local stack ({run}; counting from {measured.get('armed_at', '?')}{kept}). "
            "Lambda durations are the debug build's on this machine, not AWS's: they are a small part of the bill.")


def section(measured, template):
    demo = bill.bill(original_demo.measured())
    ours = bill.bill(measured) if measured else None
    parts = [f"Dollars per million orders at AWS's list prices, {prices.REGION}, read {prices.READ} "
             "(scripts/lib/prices.py names each price's page); no free tier.", "", side_by_side(ours, demo), "",
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
    args = parser.parse_args(argv)
    measured, template = None, None
    if args.measured:
        from template_check import read_template

        measured = json.loads(Path(args.measured).read_text())
        measured["file"] = str(Path(args.measured).resolve().relative_to(REPO))
        template = read_template(args.template)
    path = Path(args.benchmarks)
    path.write_text(replace_region(path.read_text(), section(measured, template)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
