"""The per-order bill prices what was counted, and the demo's bill is what its code does (python -m unittest)."""

import json
import unittest
from pathlib import Path

import bill
import original_demo
import prices

SMALL_RUN = {
    "orders": 10,
    "requests": [{"service": "execute-api", "operation": "Invoke", "internal": False, "count": 10},
                 {"service": "dynamodbstreams", "operation": "GetRecords", "internal": False, "count": 40},
                 {"service": "lambda", "operation": "Invoke", "internal": True, "count": 20}],
    "dynamodb": [{"table": "store", "operation": "PutItem", "read_units": 0.0, "write_units": 20.0},
                 {"table": "store", "operation": "GetItem", "read_units": 5.0, "write_units": 0.0}],
    "lambda": [{"function": "f", "invocations": 20, "billed_ms": 2048, "memory_mb": 512}],
    "states": [{"state_machine": "arn:aws:states:us-east-1:1:stateMachine:pay", "executions": 10, "state_transitions": 50}],
    "events": [{"bus": "b", "entries": 30}, {"bus": "default", "entries": 20}],
    "rule_deliveries": [{"rule": "r", "target": "lambda", "count": 20}],
    "sns": [{"topic": "arn:aws:sns:us-east-1:1:t", "publishes": 30}],
    "logs": [{"log_group": "/aws/lambda/f", "events": 100, "bytes": 10 * prices.GIB // 1000}],
}


class TheBill(unittest.TestCase):
    def test_a_small_run_costs_what_was_computed_by_hand(self):
        # Per order: 1 request x 3.50; 2 invocations x 0.20; 2048 ms x 0.5 GB / 10 = 0.1024 GB-s
        # x 13.3334; 2 WRU x 0.625 + 0.5 RRU x 0.125; 5 transitions x 25; 3 events x 1; 3
        # publishes x 0.50; 0.001 GB x 0.50 per GB (all $ per million orders).
        by_hand = 3.50 + 0.40 + 0.1024 * 13.3334 + 1.25 + 0.0625 + 125 + 3 + 1.50 + 500
        self.assertAlmostEqual(bill.total(bill.bill(SMALL_RUN)), by_hand, places=4)

    def test_free_calls_are_listed_at_no_cost_with_the_reason(self):
        free = [line for line in bill.bill(SMALL_RUN) if line.unit_price == 0]
        self.assertEqual({line.what for line in free},
                         {"stream reads (GetRecords...)", "rule deliveries to targets", "calls one AWS service made to another",
                          "default: AWS service events (execution status changes)"})
        self.assertTrue(all(line.note for line in free))

    def test_an_express_machine_is_billed_per_request_and_per_100_ms_of_at_least_64_mb(self):
        run = {"orders": 1, "states": [{"state_machine": "m", "type": "EXPRESS", "executions": 2, "duration_ms": 240,
                                        "memory_mb": 10}]}
        lines = bill.bill(run)
        duration = next(line for line in lines if "duration" in line.what)
        self.assertAlmostEqual(duration.per_order, 2 * 0.2 * 64 / 1024)  # 120 ms each: 200 ms billed

    def test_an_express_machines_counted_billed_duration_is_preferred_to_its_mean(self):
        # 50 ms and 150 ms: 100 + 200 ms billed; the mean, 100 ms, would say 200.
        run = {"orders": 1, "states": [{"state_machine": "m", "type": "EXPRESS", "executions": 2, "duration_ms": 200,
                                        "billed_ms": 300}]}
        duration = next(line for line in bill.bill(run) if "duration" in line.what)
        self.assertAlmostEqual(duration.per_order, 0.3 * 64 / 1024)

    def test_without_api_gateway_counts_one_request_per_order_is_assumed(self):
        self.assertEqual(bill.bill({"orders": 5})[0].per_order, 1.0)

    def test_the_markdown_table_ends_with_the_total(self):
        self.assertIn(f"**{bill.total(bill.bill(SMALL_RUN)):.2f}**", bill.markdown(bill.bill(SMALL_RUN)).splitlines()[-1])


class TheOriginalDemo(unittest.TestCase):
    def test_its_counts_are_those_the_anchors_give(self):
        # 3 transitions, 5 invocations, 2 DynamoDB writes, 3 bus events, 3 SNS messages per order.
        demo = original_demo.measured()
        self.assertEqual(demo["states"][0]["state_transitions"], 3)
        self.assertEqual(sum(f["invocations"] for f in demo["lambda"]), 5)
        self.assertEqual(sum(d["write_units"] for d in demo["dynamodb"]), 2)
        self.assertEqual(demo["events"][0]["entries"], 3)
        self.assertEqual(demo["sns"][0]["publishes"], 3)

    def test_the_stored_json_is_what_the_module_builds(self):
        stored = json.loads(Path(original_demo.OUT).read_text())
        self.assertEqual(stored, original_demo.measured())

    def test_its_lambda_is_priced_as_x86(self):
        duration = next(line for line in bill.bill(original_demo.measured()) if "duration" in line.what)
        self.assertEqual(duration.unit_price, prices.LAMBDA_GB_SECOND["x86_64"])


if __name__ == "__main__":
    unittest.main()
