"""What the template's checks (check_iam.py, check_api.py) share: a command line of one argument,
the template, read as cfn-lint reads it, and problems printed one a line under the check's tag."""

import argparse
import sys


def template_from_argv(description):
    """The template the command line's one argument names (argparse: --help prints `description`,
    the check's docstring, and reads nothing); exits with the reason when the file cannot be read."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("template", help="the CloudFormation template, infra/template.yaml")
    return read_template(parser.parse_args().template)


def read_template(path):
    """The template at `path`, as cfn-lint reads it (short-form tags as Fn:: mappings); exits with
    the reason when it cannot be read."""
    from cfnlint.decode import decode

    template, matches = decode(str(path))
    if template is None:
        sys.exit(f"cannot read {path}: {matches}")
    return template


def report(prefix, problems):
    """Prints each problem after `prefix` (`[iam]`, `[api] with ...:`); returns how many."""
    for problem in problems:
        print(f"{prefix} {problem}")
    return len(problems)


def resources_of_type(template, kind):
    """The template's resources of type `kind`, by logical name."""
    return {name: r for name, r in (template.get("Resources") or {}).items() if r.get("Type") == kind}
