"""The tables a deleted stack keeps (python -m unittest): the template keeps exactly the tables
retained.py knows; a first deploy stops at a kept table, destroy says what it kept, and
deletes it only when asked, deletion protection off first. With a fake DynamoDB that refuses to
delete a protected table, as DynamoDB does."""

import contextlib
import io
import unittest
from pathlib import Path
from types import SimpleNamespace

from botocore.exceptions import ClientError
from cfnlint.decode import decode

import retained
import stack
from console import Console

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "template.yaml"


class FakeDynamoDb:
    """Tables by name; DeleteTable refuses a protected one. Records the calls that change things."""

    def __init__(self, *tables):
        self.tables = {t["TableName"]: dict(t) for t in tables}
        self.calls = []

    def describe_table(self, TableName):
        if TableName not in self.tables:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no"}}, "DescribeTable")
        return {"Table": dict(self.tables[TableName])}

    def describe_continuous_backups(self, TableName):
        status = self.tables[TableName].get("pitr", "DISABLED")
        return {"ContinuousBackupsDescription": {"PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": status}}}

    def update_table(self, TableName, DeletionProtectionEnabled):
        self.calls.append(("update_table", TableName, DeletionProtectionEnabled))
        self.tables[TableName]["DeletionProtectionEnabled"] = DeletionProtectionEnabled

    def update_continuous_backups(self, TableName, PointInTimeRecoverySpecification):
        self.calls.append(("update_continuous_backups", TableName))
        enabled = PointInTimeRecoverySpecification["PointInTimeRecoveryEnabled"]
        self.tables[TableName]["pitr"] = "ENABLED" if enabled else "DISABLED"

    def delete_table(self, TableName):
        self.calls.append(("delete_table", TableName))
        if self.tables[TableName].get("DeletionProtectionEnabled"):
            raise ClientError({"Error": {"Code": "ValidationException", "Message": "protected"}}, "DeleteTable")
        del self.tables[TableName]

    def get_waiter(self, name):
        def wait(TableName, WaiterConfig):
            assert (TableName in self.tables) == (name == "table_exists"), (name, TableName)

        return SimpleNamespace(wait=wait)


def target_with(dynamodb, local=False):
    return SimpleNamespace(
        console=Console("destroy"), client=lambda service: {"dynamodb": dynamodb}[service], poll=0.01,
        local=local, region="eu-west-1",
    )


def kept_table(name, items=3):
    return {"TableName": name, "ItemCount": items, "DeletionProtectionEnabled": True, "pitr": "ENABLED"}


def said_by(step, *args):
    """What the step printed, and how it ended (None, or the SystemExit of a failure)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            step(*args)
            ended = None
        except SystemExit as exit:
            ended = exit
    return out.getvalue() + err.getvalue(), ended


class TheTemplate(unittest.TestCase):
    def test_keeps_exactly_the_tables_retained_knows_under_the_names_it_derives(self):
        # How they are protected is check_data.py's to check.
        template, matches = decode(str(TEMPLATE))
        self.assertIsNotNone(template, matches)
        kept = {
            name: resource["Properties"]["TableName"]["Fn::Sub"].removeprefix("${AWS::StackName}-")
            for name, resource in template["Resources"].items()
            if resource["Type"] == "AWS::DynamoDB::Table" and resource.get("DeletionPolicy") == "Retain"
        }
        self.assertEqual(kept, retained.RETAINED_TABLES)


class FirstDeploy(unittest.TestCase):
    def test_stops_at_a_kept_table_and_says_the_ways_out(self):
        dynamodb = FakeDynamoDb(kept_table("eda-demo-payments"))
        said, ended = said_by(retained.refuse_to_create_over, target_with(dynamodb), "eda-demo", "scripts/destroy.sh --local")
        self.assertIsNotNone(ended)
        self.assertIn("the tables eda-demo-payments are there", said)
        self.assertIn("scripts/destroy.sh --local --delete-retained-tables", said)
        self.assertIn("--stack-name <new name>", said)
        self.assertEqual(dynamodb.calls, [])

    def test_goes_on_when_no_table_was_kept(self):
        said, ended = said_by(retained.refuse_to_create_over, target_with(FakeDynamoDb()), "eda-demo", "x")
        self.assertEqual((said, ended), ("", None))


class Destroy(unittest.TestCase):
    def test_says_what_it_kept_and_deletes_nothing(self):
        dynamodb = FakeDynamoDb(kept_table("eda-demo-event-store", items=12), kept_table("eda-demo-payments"))
        said, ended = said_by(retained.report_kept, target_with(dynamodb), "eda-demo", "scripts/destroy.sh --local")
        self.assertIsNone(ended)
        self.assertIn(
            "kept: table eda-demo-event-store, about 12 items (DynamoDB's count, updated every few hours), "
            "deletion protection on, point-in-time recovery ENABLED",
            said,
        )
        self.assertIn("kept: table eda-demo-payments", said)
        self.assertIn("scripts/destroy.sh --local --delete-retained-tables", said)
        self.assertEqual(dynamodb.calls, [])

    def test_deletes_the_kept_tables_when_asked_protection_off_first(self):
        dynamodb = FakeDynamoDb(kept_table("eda-demo-event-store"), kept_table("eda-demo-payments"), kept_table("other-payments"))
        said, ended = said_by(retained.delete_on_purpose, target_with(dynamodb), "eda-demo", 60)
        self.assertIsNone(ended)
        self.assertEqual(list(dynamodb.tables), ["other-payments"])
        self.assertEqual(dynamodb.calls, [
            ("update_table", "eda-demo-event-store", False), ("delete_table", "eda-demo-event-store"),
            ("update_table", "eda-demo-payments", False), ("delete_table", "eda-demo-payments"),
        ])  # fmt: skip
        self.assertIn("DELETING table eda-demo-event-store and every item in it (about 3), as asked", said)

    def test_nothing_to_delete_is_said(self):
        said, ended = said_by(retained.delete_on_purpose, target_with(FakeDynamoDb()), "eda-demo", 60)
        self.assertIsNone(ended)
        self.assertIn("no kept table of eda-demo to delete", said)

    def test_the_command_to_give_is_the_one_for_where_the_stack_is(self):
        self.assertEqual(stack.destroy_command(target_with(None, local=True), "eda-demo"), "scripts/destroy.sh --local")
        self.assertEqual(
            stack.destroy_command(target_with(None), "shop"), "scripts/destroy.sh --stack-name shop --region eu-west-1"
        )


class LocalStack(unittest.TestCase):
    def test_the_kept_tables_are_protected_by_hand_as_the_template_protects_them_on_aws(self):
        made = [{"TableName": name, "ItemCount": 0} for name in retained.table_names("eda-demo")]
        dynamodb = FakeDynamoDb(*made)
        said, ended = said_by(retained.protect_locally, target_with(dynamodb, local=True), "eda-demo")
        self.assertIsNone(ended)
        for name in ("eda-demo-event-store", "eda-demo-payments"):
            self.assertEqual((dynamodb.tables[name]["DeletionProtectionEnabled"], dynamodb.tables[name]["pitr"]), (True, "ENABLED"))
            self.assertIn(f"protected as on AWS: {name}", said)

    def test_never_on_aws(self):
        _, ended = said_by(retained.protect_locally, target_with(FakeDynamoDb(), local=False), "eda-demo")
        self.assertIsNotNone(ended)


class StackName(unittest.TestCase):
    def test_a_name_whose_archive_name_fits_is_taken_a_longer_one_refused(self):
        fits = "s" * (stack.ARCHIVE_NAME_LIMIT - len(stack.ARCHIVE_SUFFIX))
        self.assertEqual(said_by(stack.check_stack_name, Console("deploy"), fits), ("", None))
        said, ended = said_by(stack.check_stack_name, Console("deploy"), fits + "s")
        self.assertIsNotNone(ended)
        self.assertIn("archive names have at most 48 characters", said)


if __name__ == "__main__":
    unittest.main()
