#!/usr/bin/env python3
"""The functions' deployment artifacts: each `bootstrap` (built once by `cargo lambda build`) and
the zip of it that stack.py deploy uploads.

  artifacts.py sizes --artifacts DIR --functions a,b [--markdown FILE]
      prints each function's bootstrap size and the size of the zip deploy would upload
"""

import argparse
import io
import zipfile
from pathlib import Path

from console import Console


def bootstrap(artifacts_dir, name) -> Path:
    """Where the build puts the function's executable: <artifacts>/<function>/bootstrap."""
    return Path(artifacts_dir) / name / "bootstrap"


def zip_bootstrap(binary: Path) -> bytes:
    """A zip holding `bootstrap`, executable, with a fixed timestamp: same binary, same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        info = zipfile.ZipInfo("bootstrap", date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = (0o100755 & 0xFFFF) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, binary.read_bytes())
    return buffer.getvalue()


def sizes(console, args):
    total = 0
    rows = ["| function | bootstrap (MiB) | zipped (MiB) |", "| --- | --- | --- |"]
    for name in args.functions.split(","):
        binary = bootstrap(args.artifacts, name)
        if not binary.is_file():
            console.fail(f"{binary} is missing")
        zipped = len(zip_bootstrap(binary))
        total += zipped
        size = binary.stat().st_size
        console.log(f"{name:<18} bootstrap {size / 2**20:6.2f} MiB   zipped {zipped / 2**20:6.2f} MiB")
        rows.append(f"| {name} | {size / 2**20:.2f} | {zipped / 2**20:.2f} |")
    console.log(f"{'all':<18} {'':<24} zipped {total / 2**20:6.2f} MiB")
    if args.markdown:
        Path(args.markdown).write_text("\n".join(rows) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    sizes_command = commands.add_parser("sizes")
    sizes_command.add_argument("--artifacts", required=True)
    sizes_command.add_argument("--functions", required=True)
    sizes_command.add_argument("--markdown", help="also write the sizes here as a Markdown table")
    args = parser.parse_args()
    sizes(Console(args.command), args)


if __name__ == "__main__":
    main()
