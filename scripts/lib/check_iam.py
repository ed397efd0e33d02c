#!/usr/bin/env python3
"""Least privilege, checked: fails on any IAM statement of the template that allows every action
(`*`, `service:*`) or every resource (`*`) where a narrower one exists; on a grant of
`events:PutEvents` that does not name the one `events:source` its principal may publish as (so
that no service can speak for another); and on a queue or topic policy that lets an AWS service
send without naming the sending resource (`aws:SourceArn`, against the confused deputy), or a
Lambda permission that lets a service invoke a function without naming the source (`SourceArn`:
without it, that service acting for anyone, an API of another account say, may invoke it).

Looks at every policy document the template holds: roles' inline policies, managed policies,
SAM functions' and state machines' `Policies`, and resource policies (queues, topics, buckets,
log groups). Only actions that AWS lets no resource be named for may have `*` as their resource
(`ACTIONS_WITHOUT_RESOURCES`).

  check_iam.py infra/template.yaml
"""

import fnmatch
import json
import sys

from template_check import report, template_from_argv

# Actions whose only possible resource is "*" (the service authorizes no resource ARN for them).
ACTIONS_WITHOUT_RESOURCES = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    # Step Functions' delivery of execution logs (the developer guide's "IAM policies for logging
    # to CloudWatch Logs").
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
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


def condition_values(statement, operators, key):
    """The values a statement's condition gives KEY under any of OPERATORS (keys are case-blind)."""
    values = []
    for operator, tests in (statement.get("Condition") or {}).items():
        if operator in operators:
            for name, value in (tests or {}).items():
                if name.lower() == key.lower():
                    values += as_list(value)
    return values


def grants_put_events(actions):
    """Named or matched by a pattern; `*` and `events:*` are reported as every action already."""
    return any(
        fnmatch.fnmatchcase("events:putevents", a.lower()) and a != "*" and not a.endswith(":*")
        for a in actions
    )


def service_principal(statement):
    principal = statement.get("Principal")
    return isinstance(principal, dict) and "Service" in principal


SENDER_POLICIES = ("AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy")


def problems(template):
    found = []
    declared = template.get("Resources") or {}
    for where, document in policy_documents(template):
        sender_policy = (declared.get(where) or {}).get("Type") in SENDER_POLICIES
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
                found.append(
                    f"{label}: resource * for {', '.join(broad)}, which can name their resources"
                )
            if grants_put_events(actions):
                sources = condition_values(statement, ("StringEquals",), "events:source")
                if len(sources) != 1:
                    found.append(
                        f"{label}: events:PutEvents must name exactly one events:source "
                        f"(StringEquals), not {sources}"
                    )
            if sender_policy and service_principal(statement):
                if not condition_values(statement, ("ArnEquals", "ArnLike"), "aws:SourceArn"):
                    found.append(
                        f"{label}: a service may send here without an aws:SourceArn naming "
                        "the sender"
                    )
    for name, resource in declared.items():
        permission = resource.get("Properties") or {}
        principal = str(permission.get("Principal", ""))
        from_a_service = principal.endswith(".amazonaws.com")
        if resource.get("Type") == "AWS::Lambda::Permission" and from_a_service:
            if not permission.get("SourceArn"):
                found.append(
                    f"{name}: {principal} may invoke the function without a SourceArn naming "
                    "the source"
                )
    return found


def main():
    template = template_from_argv(__doc__)
    documents = sum(1 for _ in policy_documents(template))
    if failed := report("[iam]", problems(template)):
        sys.exit(f"[iam] {failed} statements allow more than they need")
    print(
        f"[iam] {documents} policy documents checked: every action and resource is named, "
        "every publisher has its one source, every queue its sender and every function "
        "permission its source"
    )


if __name__ == "__main__":
    main()
