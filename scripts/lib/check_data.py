#!/usr/bin/env python3
"""Data that survives, checked on the template (LocalStack's community edition makes no event
archive and honours neither deletion protection's every rule nor point-in-time recovery, so the
local stack cannot show these):

- the event store and the payment ledger (retained.py's tables) are kept when the stack goes or
  replaces them (DeletionPolicy and UpdateReplacePolicy Retain), protected from DeleteTable, and
  recoverable to any second of the last 35 days (point-in-time recovery);
- every queue is encrypted at rest with SSE-SQS, never the AWS managed KMS key, which EventBridge,
  Lambda and SNS cannot send with;
- the notification topic is encrypted with the key NotificationTopicKmsKey names;
- the bus has an archive of every event (no pattern), named from the stack name, kept for
  EventArchiveRetentionDays, whose ARN and the bus's reach .local/stack.env as outputs (eda-admin
  replay --from-archive reads them there).

  check_data.py infra/template.yaml
"""

import sys

from retained import RETAINED_TABLES
from template_check import report, resources_of_type, template_from_argv

ARCHIVE_OUTPUTS = {"EventArchiveArn": {"Fn::GetAtt": ["EventArchive", "Arn"]}}


def of_type(template, kind):
    """The properties of the template's resources of type `kind`, by logical name."""
    return {name: r.get("Properties") or {} for name, r in resources_of_type(template, kind).items()}


def retained_tables(template):
    found = []
    resources = template.get("Resources") or {}
    for name in RETAINED_TABLES:
        resource = resources.get(name)
        if resource is None:
            found.append(f"{name}: missing (retained.py keeps it)")
            continue
        props = resource.get("Properties") or {}
        for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
            if resource.get(policy) != "Retain":
                found.append(f"{name}: {policy} is {resource.get(policy)!r}, not Retain")
        if props.get("DeletionProtectionEnabled") is not True:
            found.append(f"{name}: DeletionProtectionEnabled is not true")
        pitr = props.get("PointInTimeRecoverySpecification") or {}
        if pitr.get("PointInTimeRecoveryEnabled") is not True:
            found.append(f"{name}: point-in-time recovery is not enabled")
    return found


def queues(template):
    found = []
    for name, props in of_type(template, "AWS::SQS::Queue").items():
        key = props.get("KmsMasterKeyId")
        if key is not None:
            found.append(f"{name}: KmsMasterKeyId {key!r}: use SqsManagedSseEnabled (services cannot send with alias/aws/sqs)")
        elif props.get("SqsManagedSseEnabled") is not True:
            found.append(f"{name}: not encrypted at rest (SqsManagedSseEnabled: true)")
    return found


def topic(template):
    props = of_type(template, "AWS::SNS::Topic").get("NotificationTopic")
    if props is None:
        return ["NotificationTopic: missing"]
    if props.get("KmsMasterKeyId") != {"Ref": "NotificationTopicKmsKey"}:
        return [f"NotificationTopic: KmsMasterKeyId is {props.get('KmsMasterKeyId')!r}, not the parameter NotificationTopicKmsKey"]
    return []


def archive(template):
    archives = of_type(template, "AWS::Events::Archive")
    on_bus = {n: p for n, p in archives.items() if p.get("SourceArn") == {"Fn::GetAtt": ["EventBus", "Arn"]}}
    if list(on_bus) != ["EventArchive"]:
        return [f"the bus needs one archive, EventArchive, with SourceArn its ARN; found {sorted(on_bus) or 'none'}"]
    props, found = on_bus["EventArchive"], []
    if "EventPattern" in props:
        found.append("EventArchive: has an EventPattern, so it keeps only some events (every event is the point)")
    if props.get("RetentionDays") != {"Ref": "EventArchiveRetentionDays"}:
        found.append("EventArchive: RetentionDays is not the parameter EventArchiveRetentionDays")
    if "EventArchiveRetentionDays" not in (template.get("Parameters") or {}):
        found.append("the parameter EventArchiveRetentionDays is missing")
    name = (props.get("ArchiveName") or {}).get("Fn::Sub", "") if isinstance(props.get("ArchiveName"), dict) else ""
    if not name.startswith("${AWS::StackName}"):
        found.append(f"EventArchive: ArchiveName {props.get('ArchiveName')!r} is not derived from the stack name (unique per account and region)")
    outputs = template.get("Outputs") or {}
    wanted = {**ARCHIVE_OUTPUTS, "EventBusArn": {"Fn::GetAtt": ["EventBus", "Arn"]}}
    for output, value in wanted.items():
        if (outputs.get(output) or {}).get("Value") != value:
            found.append(f"output {output} must be {value} (eda-admin replay --from-archive reads it from stack.env)")
    return found


def problems(template):
    return retained_tables(template) + queues(template) + topic(template) + archive(template)


def main():
    template = template_from_argv(__doc__)
    if failed := report("[data]", problems(template)):
        sys.exit(f"[data] {failed} problems with the data's protection")
    kept = ", ".join(RETAINED_TABLES)
    print(
        f"[data] {kept} retained, protected and recoverable; every queue and the topic encrypted; "
        "the bus archived whole, its ARN an output"
    )


if __name__ == "__main__":
    main()
