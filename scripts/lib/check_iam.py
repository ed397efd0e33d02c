#!/usr/bin/env python3
"""Least privilege, checked: fails on any IAM statement of the template that allows every action
(`*`, `service:*`) or every resource (`*`) where a narrower one exists.

Looks at every policy document the template holds: roles' inline policies, managed policies,
SAM functions' and state machines' `Policies`, and resource policies (queues, topics, buckets,
log groups). Only actions that AWS lets no resource be named for may have `*` as their resource
(`ACTIONS_WITHOUT_RESOURCES`).

  check_iam.py infra/template.yaml
"""

import json
import sys

from cfnlint.decode import decode

# Actions whose only possible resource is "*" (the service authorizes no resource ARN for them).
ACTIONS_WITHOUT_RESOURCES = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
}


def as_list(value):
    return value if isinstance(value, list) else [value]


def policy_documents(template):
    """(where, document) for every policy document in the template."""
    for name, resource in (template.get("Resources") or {}).items():
        kind, props = resource.get("Type", ""), resource.get("Properties") or {}
        if kind == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                yield f"{name}.Policies.{policy.get('PolicyName')}", policy.get("PolicyDocument")
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield name, props.get("PolicyDocument")
        elif kind in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            for index, policy in enumerate(as_list(props.get("Policies", []))):
                if isinstance(policy, dict) and "Statement" in policy:
                    yield f"{name}.Policies[{index}]", policy
        elif "PolicyDocument" in props:
            yield name, props["PolicyDocument"]


def statements(document):
    if isinstance(document, dict) and "Fn::Sub" in document:
        # A document written as JSON text with substitutions: the placeholders are inside strings.
        text = document["Fn::Sub"]
        document = json.loads(text if isinstance(text, str) else text[0])
    if isinstance(document, str):
        document = json.loads(document)
    return as_list((document or {}).get("Statement", []))


def problems(template):
    found = []
    for where, document in policy_documents(template):
        for index, statement in enumerate(statements(document)):
            if statement.get("Effect") != "Allow":
                continue
            label = f"{where} statement {statement.get('Sid', index)}"
            for key in ("NotAction", "NotResource"):
                if key in statement:
                    found.append(f"{label}: {key} allows everything but a list")
            actions = [a for a in as_list(statement.get("Action", [])) if isinstance(a, str)]
            for action in actions:
                if action == "*" or action.endswith(":*"):
                    found.append(f"{label}: action {action} allows every action")
            resources = as_list(statement.get("Resource", []))
            if "*" in resources and not set(actions) <= ACTIONS_WITHOUT_RESOURCES:
                broad = sorted(set(actions) - ACTIONS_WITHOUT_RESOURCES)
                found.append(f"{label}: resource * for {', '.join(broad)}, which can name their resources")
    return found


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    template, matches = decode(sys.argv[1])
    if template is None:
        sys.exit(f"cannot read {sys.argv[1]}: {matches}")
    documents = sum(1 for _ in policy_documents(template))
    found = problems(template)
    for problem in found:
        print(f"[iam] {problem}")
    if found:
        sys.exit(f"[iam] {len(found)} statements allow more than they need")
    print(f"[iam] {documents} policy documents checked: every action and resource is named")


if __name__ == "__main__":
    main()
