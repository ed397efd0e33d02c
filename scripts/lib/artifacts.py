#!/usr/bin/env python3
"""The functions' deployment artifacts: each `bootstrap` (built once by `cargo lambda build`), the
zip of it that stack.py deploy uploads, and the template pointed at what was uploaded.

  artifacts.py sizes --artifacts DIR --functions a,b [--markdown FILE]
      prints each function's bootstrap size and the size of the zip deploy would upload
"""

import argparse
import io
import json
import zipfile
from pathlib import Path, PurePosixPath

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


# What the template names by a local path, the way `sam build` reads it, and the name deploy
# uploads it under: a function's crate folder as <crate>.zip, a state machine's definition file
# under its own name.
LOCAL_CODE = {
    "AWS::Serverless::Function": ("CodeUri", "{}.zip"),
    "AWS::Serverless::StateMachine": ("DefinitionUri", "{}"),
}


def located_in(template, bucket, prefix, uploaded=None):
    """The template as deploy gives it to CloudFormation, as `sam package` would: each local
    CodeUri and DefinitionUri replaced by the S3 location of what deploy uploaded for it,
    `<prefix>/<name>`. Raises ValueError for a local path whose name is not in `uploaded` (when
    given: deploy uploaded nothing for it)."""
    located = json.loads(json.dumps(template))
    for name, resource in (located.get("Resources") or {}).items():
        if resource.get("Type") not in LOCAL_CODE:
            continue
        field, upload_name = LOCAL_CODE[resource["Type"]]
        properties = resource.get("Properties") or {}
        local = properties.get(field)
        if not isinstance(local, str) or local.startswith("s3://"):
            continue
        key = upload_name.format(PurePosixPath(local).name)
        if uploaded is not None and key not in uploaded:
            raise ValueError(f"{name}'s {field} is {local}, and deploy uploads no {key} (it uploads {', '.join(sorted(uploaded))})")
        properties[field] = {"Bucket": bucket, "Key": f"{prefix}/{key}"}
    return located


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
