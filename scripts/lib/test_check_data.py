"""The data-protection check passes the template and catches what it is there to catch (python
-m unittest): each test takes the real template and breaks one thing."""

import copy
import unittest
from pathlib import Path

from cfnlint.decode import decode

from check_data import problems

TEMPLATE, _ = decode(str(Path(__file__).resolve().parents[2] / "infra" / "template.yaml"))


def broken(change):
    template = copy.deepcopy(TEMPLATE)
    change(template["Resources"], template)
    return problems(template)


class CheckData(unittest.TestCase):
    def test_the_template_passes(self):
        self.assertEqual(problems(TEMPLATE), [])

    def test_a_kept_table_that_is_deleted_with_the_stack_fails(self):
        found = broken(lambda r, _: r["PaymentsTable"].pop("DeletionPolicy"))
        self.assertEqual(found, ["PaymentsTable: DeletionPolicy is None, not Retain"])

    def test_a_kept_table_without_protection_or_recovery_fails(self):
        def change(resources, _):
            props = resources["EventStoreTable"]["Properties"]
            props["DeletionProtectionEnabled"] = False
            del props["PointInTimeRecoverySpecification"]

        self.assertEqual(len(broken(change)), 2)

    def test_a_queue_with_the_aws_managed_key_or_none_fails(self):
        def managed_key(resources, _):
            props = resources["OutboxDeadLetterQueue"]["Properties"]
            props.pop("SqsManagedSseEnabled")
            props["KmsMasterKeyId"] = "alias/aws/sqs"

        self.assertIn("use SqsManagedSseEnabled", broken(managed_key)[0])
        found = broken(lambda r, _: r["ProjectionDeadLetterQueue"]["Properties"].pop("SqsManagedSseEnabled"))
        self.assertEqual(found, ["ProjectionDeadLetterQueue: not encrypted at rest (SqsManagedSseEnabled: true)"])

    def test_a_topic_with_a_fixed_key_or_none_fails(self):
        found = broken(lambda r, _: r["NotificationTopic"]["Properties"].update(KmsMasterKeyId="alias/aws/sns"))
        self.assertEqual(len(found), 1)
        self.assertEqual(len(broken(lambda r, _: r["NotificationTopic"]["Properties"].pop("KmsMasterKeyId"))), 1)

    def test_no_archive_or_a_partial_one_fails(self):
        self.assertIn("the bus needs one archive", broken(lambda r, _: r.pop("EventArchive"))[0])
        pattern = broken(lambda r, _: r["EventArchive"]["Properties"].update(EventPattern={"source": ["order-service"]}))
        self.assertEqual(len(pattern), 1)
        self.assertIn("keeps only some events", pattern[0])
        fixed = broken(lambda r, _: r["EventArchive"]["Properties"].update(ArchiveName="events", RetentionDays=7))
        self.assertEqual(len(fixed), 2)

    def test_an_archive_whose_arn_is_not_an_output_fails(self):
        found = broken(lambda _, t: t["Outputs"].pop("EventArchiveArn"))
        self.assertEqual(len(found), 1)
        self.assertIn("output EventArchiveArn", found[0])


if __name__ == "__main__":
    unittest.main()
