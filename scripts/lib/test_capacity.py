"""The capacity model picks the right first ceiling, drains a flash sale as a fluid would, and fails
a waiting place without a dead-letter queue; the report replaces only its region (python -m unittest)."""

import copy
import importlib.util
import unittest
from pathlib import Path

import capacity
import cost_report
from capacity import Hop

MEASURED = {
    "orders": 10,
    "requests": [{"service": "execute-api", "operation": "Invoke", "internal": False, "count": 10}],
    "dynamodb": [{"table": "eda-demo-store", "operation": "PutItem", "read_units": 0.0, "write_units": 20.0}],
    "lambda": [{"function": "eda-demo-api", "invocations": 10, "billed_ms": 1000, "memory_mb": 128},
               {"function": "eda-demo-relay", "invocations": 5, "billed_ms": 500, "memory_mb": 128}],
    "states": [{"state_machine": "m", "executions": 10, "state_transitions": 60}],
    "events": [{"bus": "b", "entries": 20}],
    "rule_deliveries": [{"rule": "r", "target": "t", "count": 30}],
    "sns": [{"topic": "t", "publishes": 10}],
}


def template():
    """A table with a stream, its consumer with a dead-letter queue, and a function a rule invokes."""
    return {
        "Parameters": {"ApiThrottleRate": {"Default": 50}, "ApiThrottleBurst": {"Default": 100}},
        "Resources": {
            "Store": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": {"Fn::Sub": "${AWS::StackName}-store"}}},
            "Dlq": {"Type": "AWS::SQS::Queue"},
            "Relay": {"Type": "AWS::Serverless::Function", "Properties": {
                "FunctionName": {"Fn::Sub": "${AWS::StackName}-relay"},
                "Events": {"S": {"Type": "DynamoDB", "Properties": {
                    "Stream": {"Fn::GetAtt": ["Store", "StreamArn"]}, "BatchSize": 100, "MaximumRetryAttempts": 5,
                    "MaximumRecordAgeInSeconds": 3600,
                    "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["Dlq", "Arn"]}}}}}}}},
            "Consumer": {"Type": "AWS::Serverless::Function", "Properties": {
                "EventInvokeConfig": {"MaximumRetryAttempts": 2, "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["Dlq", "Arn"]}}}},
                "Events": {"R": {"Type": "EventBridgeRule", "Properties": {
                    "RetryPolicy": {"MaximumRetryAttempts": 185}, "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["Dlq", "Arn"]}}}}}}},
        },
    }


class Ceilings(unittest.TestCase):
    def test_the_first_ceiling_is_the_lowest_on_the_order_path(self):
        hops = [Hop("a", 500.0), Hop("b", 300.0), Hop("email", 3.0, on_path=False), Hop("c", 900.0)]
        self.assertEqual(capacity.first_ceiling(hops).name, "b")
        self.assertEqual(capacity.first_ceiling(hops, skip={"b"}).name, "a")

    def test_each_ceiling_is_its_quota_over_what_an_order_uses_of_it(self):
        hops = {h.name: h for h in capacity.hops(MEASURED, template())}
        self.assertEqual(hops["API Gateway stage throttle"].rate, 50)
        self.assertEqual(hops["Step Functions state transitions"].rate, 1500 / 6)
        self.assertEqual(hops["Step Functions StartExecution"].burst, 1300)
        self.assertEqual(hops["EventBridge PutEvents"].rate, 10_000 / 2)
        self.assertEqual(hops["EventBridge target invocations"].rate, 18_750 / 3)
        # Sustained, the table's quota; at once on a new stack, its starting throughput.
        self.assertEqual(hops["DynamoDB eda-demo-store"].rate, 40_000 / 2)
        self.assertEqual(hops["DynamoDB eda-demo-store"].new_stack_rate, 4_000 / 2)
        new_stack = {h.name: h for h in capacity.on_a_new_stack(hops.values())}
        self.assertEqual(new_stack["DynamoDB eda-demo-store"].rate, 4_000 / 2)
        self.assertEqual(new_stack["EventBridge PutEvents"].rate, 10_000 / 2)
        # Only the API function shares the account's concurrency: 1 invocation x 0.1 s per order.
        self.assertAlmostEqual(hops["Lambda concurrency, account"].rate, 1_000 / 0.1)
        # 4 shards x factor 1 x 100 records per 0.1 s batch, 2 records an order.
        self.assertAlmostEqual(hops["stream consumer eda-demo-relay"].rate, 4 * 100 / 0.1 / 2)

    def test_the_hops_saturated_at_a_rate_are_those_below_it(self):
        hops = [Hop("a", 500.0), Hop("b", 3000.0)]
        self.assertEqual(capacity.saturated(hops, 1000), ["a"])


class FlashSale(unittest.TestCase):
    def test_a_backlog_drains_at_the_hops_rate_after_the_sale(self):
        [result] = capacity.flash_sale([Hop("h", 1000.0)], 5000, 60)
        self.assertAlmostEqual(result["peak"], 240_000)
        self.assertAlmostEqual(result["drained_after"], 240)

    def test_a_bucket_serves_its_burst_first_then_its_refill(self):
        [result] = capacity.flash_sale([Hop("h", 300.0, 1300.0)], 5000, 60)
        self.assertAlmostEqual(result["peak"], 300_000 - 1300 - 300 * 60)
        self.assertAlmostEqual(result["drained_after"], (300_000 - 1300 - 300 * 60) / 300, places=6)

    def test_a_hop_behind_a_slower_one_never_waits(self):
        first, second = capacity.flash_sale([Hop("slow", 100.0), Hop("fast", 200.0)], 5000, 10)
        self.assertGreater(first["peak"], 0)
        self.assertEqual(second["peak"], 0)


class DeadLetters(unittest.TestCase):
    def test_every_waiting_place_of_the_fragment_has_its_queue(self):
        places = capacity.waiting_places(template())
        self.assertEqual({(p.resource, p.kind) for p in places},
                         {("Relay", "stream shard"), ("Consumer", "rule delivery"), ("Consumer", "async invocation queue")})
        self.assertEqual(capacity.places_without_dead_letters(places), [])

    def test_a_stream_mapping_without_an_on_failure_destination_fails(self):
        fragment = copy.deepcopy(template())
        del fragment["Resources"]["Relay"]["Properties"]["Events"]["S"]["Properties"]["DestinationConfig"]
        missing = capacity.places_without_dead_letters(capacity.waiting_places(fragment))
        self.assertEqual([(p.resource, p.kind) for p in missing], [("Relay", "stream shard")])

    def test_a_rule_target_without_a_dead_letter_queue_fails_unless_it_is_out_of_the_flow(self):
        fragment = copy.deepcopy(template())
        fragment["Resources"]["CatchAllRule"] = {"Type": "AWS::Events::Rule", "Properties": {"Targets": [{"Arn": "x"}]}}
        fragment["Resources"]["OtherRule"] = {"Type": "AWS::Events::Rule", "Properties": {"Targets": [{"Arn": "y"}]}}
        missing = capacity.places_without_dead_letters(capacity.waiting_places(fragment))
        self.assertEqual([p.resource for p in missing], ["OtherRule"])

    @unittest.skipUnless(importlib.util.find_spec("cfnlint"), "reads the template with cfn-lint (the tools venv)")
    def test_the_projects_template_parks_everything_it_retries(self):
        from template_check import read_template

        template_path = Path(__file__).resolve().parents[2] / "infra/template.yaml"
        places = capacity.waiting_places(read_template(template_path))
        self.assertGreaterEqual(len(places), 7)
        self.assertEqual(capacity.places_without_dead_letters(places), [])


class TheReport(unittest.TestCase):
    def test_only_the_region_between_the_markers_is_replaced(self):
        text = f"before\n{cost_report.BEGIN}\nold\n{cost_report.END}\nafter\n"
        self.assertEqual(cost_report.replace_region(text, "new"), f"before\n{cost_report.BEGIN}\nnew\n{cost_report.END}\nafter\n")

    def test_a_file_without_the_markers_is_refused(self):
        with self.assertRaises(ValueError):
            cost_report.replace_region("no markers here", "new")

    def test_without_a_measured_run_ours_is_not_yet_measured(self):
        body = cost_report.section(None, None)
        self.assertIn(cost_report.NOT_MEASURED, body)
        self.assertIn("original demo", body)


if __name__ == "__main__":
    unittest.main()
