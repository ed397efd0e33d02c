#!/usr/bin/env python3
"""The project's defaults in samconfig.toml, the SAM CLI's settings file, for the scripts that
deploy without the SAM CLI (scripts/deploy.sh): a command's parameters in one config
environment, as `sam <command> --config-env ENV` reads them (the command's own section over the
environment's global one).

  samconfig.py get --config-env ENV --command COMMAND KEY...
      prints each key's value, one a line: true or false for a flag, empty for a key not set
"""

import argparse
import sys
import tomllib
from pathlib import Path

SAMCONFIG = Path(__file__).resolve().parents[2] / "samconfig.toml"


def parameters(config, environment, command):
    """The parameters `sam COMMAND --config-env ENVIRONMENT` takes from `config` (samconfig.toml
    as read): the environment's global ones, overridden by the command's own."""
    if environment not in config:
        raise ValueError(f"samconfig.toml has no environment {environment!r} (it has {', '.join(sorted(k for k in config if k != 'version'))})")
    sections = config[environment]
    return {**sections.get("global", {}).get("parameters", {}), **sections.get(command, {}).get("parameters", {})}


def shell_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command_name", required=True)
    get = commands.add_parser("get")
    get.add_argument("--config-env", required=True)
    get.add_argument("--command", required=True, help="the SAM CLI command: deploy, build, ...")
    get.add_argument("--file", default=str(SAMCONFIG), help="default: the repository's samconfig.toml")
    get.add_argument("keys", nargs="+")
    args = parser.parse_args()
    try:
        with open(args.file, "rb") as file:
            config = tomllib.load(file)
        values = parameters(config, args.config_env, args.command)
    except (OSError, ValueError) as error:  # TOMLDecodeError is a ValueError
        sys.exit(f"[samconfig] {args.file}: {error}")
    for key in args.keys:
        print(shell_value(values.get(key)))


if __name__ == "__main__":
    main()
