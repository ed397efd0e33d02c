"""The tables a stack leaves behind when it is deleted: the event store and the payment ledger
(DeletionPolicy and UpdateReplacePolicy Retain, deletion protection on, in infra/template.yaml).
What stack.py does about them:

- deploy: a new stack cannot create a table whose name is taken, and CloudFormation would find
  that out only after making half the stack and rolling it back; so a first deploy stops before
  its change set when a table kept from an earlier stack of the same name is there, and says the
  ways out;
- destroy: says what was kept and how to deploy again under the same name; with
  --delete-retained-tables, deletes them on purpose (turns deletion protection off, then deletes).
"""

from botocore.exceptions import ClientError

# Logical id -> the table name's suffix (TableName: ${AWS::StackName}-<suffix>). test_retained.py
# checks this against the template.
RETAINED_TABLES = {"EventStoreTable": "event-store", "PaymentsTable": "payments"}


def table_names(stack):
    return [f"{stack}-{suffix}" for suffix in RETAINED_TABLES.values()]


def existing(dynamodb, stack):
    """The retained tables of `stack` that exist, as DescribeTable gives them."""
    found = []
    for name in table_names(stack):
        try:
            found.append(dynamodb.describe_table(TableName=name)["Table"])
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
    return found


def ways_out(stack, destroy_command):
    """What a user can do to deploy `stack` again while its kept tables are there."""
    return [
        "to deploy this stack name again, either:",
        "  - keep the data: deploy under another name (scripts/deploy.sh --stack-name <new name>; the "
        "kept tables stay readable, and can be restored into the new stack's tables, README 'Data "
        "that survives'), or import the kept tables into a stack of this name (CloudFormation "
        "resource import, README 'Data that survives');",
        f"  - or delete them and their data for good: {destroy_command} --delete-retained-tables",
    ]


def refuse_to_create_over(target, stack, destroy_command):
    """Fails, before anything is made, if a first deploy of `stack` would meet a kept table."""
    kept = existing(target.client("dynamodb"), stack)
    if not kept:
        return
    names = ", ".join(table["TableName"] for table in kept)
    target.console.fail(
        "\n".join(
            [
                f"the tables {names} are there, kept (with their data) when an earlier stack {stack} "
                "was deleted: a new stack of that name cannot create them.",
                *ways_out(stack, destroy_command),
            ]
        )
    )


def describe_kept(dynamodb, table):
    """One line on a kept table: its size as DynamoDB last counted it, and what protects it."""
    name = table["TableName"]
    try:
        backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        pitr = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus", "unknown")
    except ClientError as error:
        pitr = f"unknown ({error.response['Error']['Code']})"
    protection = "on" if table.get("DeletionProtectionEnabled") else "off"
    return (
        f"kept: table {name}, about {table.get('ItemCount', 0)} items (DynamoDB's count, updated every "
        f"few hours), deletion protection {protection}, point-in-time recovery {pitr}"
    )


def report_kept(target, stack, destroy_command):
    """After a stack is deleted: what it left, and the ways to deploy again."""
    dynamodb = target.client("dynamodb")
    kept = existing(dynamodb, stack)
    if not kept:
        target.console.log(f"no table of {stack} was kept ({', '.join(table_names(stack))} do not exist)")
        return
    for table in kept:
        target.console.log(describe_kept(dynamodb, table))
    for line in ways_out(stack, destroy_command):
        target.console.log(line)


def protect_locally(target, stack):
    """LocalStack's CloudFormation creates the kept tables without their deletion protection and
    point-in-time recovery (its DynamoDB honours both when asked directly): asks for them here,
    so that the local stack's tables are protected as AWS's are, then reads them back."""
    dynamodb, log, fail = target.client("dynamodb"), target.console.log, target.console.fail
    if not target.local:
        fail("the template protects the kept tables on AWS; protecting them by hand is for LocalStack only")
    for name in table_names(stack):
        if not dynamodb.describe_table(TableName=name)["Table"].get("DeletionProtectionEnabled"):
            dynamodb.update_table(TableName=name, DeletionProtectionEnabled=True)
        dynamodb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
        line = describe_kept(dynamodb, dynamodb.describe_table(TableName=name)["Table"])
        if "deletion protection on, point-in-time recovery ENABLED" not in line:
            fail(f"LocalStack did not protect {name}: {line}")
        log(f"protected as on AWS: {name} (deletion protection on, point-in-time recovery ENABLED)")


def delete_on_purpose(target, stack, timeout):
    """Deletes the kept tables of `stack`, data and all: deletion protection off first."""
    dynamodb, log = target.client("dynamodb"), target.console.log
    kept = existing(dynamodb, stack)
    if not kept:
        log(f"no kept table of {stack} to delete ({', '.join(table_names(stack))} do not exist)")
        return
    waiter_config = {"Delay": target.poll, "MaxAttempts": max(1, int(timeout / target.poll))}
    for table in kept:
        name = table["TableName"]
        log(f"DELETING table {name} and every item in it (about {table.get('ItemCount', 0)}), as asked")
        if table.get("DeletionProtectionEnabled"):
            log(f"  turning deletion protection of {name} off")
            dynamodb.update_table(TableName=name, DeletionProtectionEnabled=False)
            dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig=waiter_config)
        dynamodb.delete_table(TableName=name)
        dynamodb.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig=waiter_config)
        log(f"  table {name} deleted")
