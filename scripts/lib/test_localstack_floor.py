"""How localstack_floor.py prices an order: only the requests that stay one per item at any rate,
each at the cheapest price of its kind, and the ceiling as one core's second over their sum."""

import unittest

from localstack_floor import per_order, report


def request(service, operation, count, internal=False):
    return {"service": service, "operation": operation, "internal": internal, "count": count, "errors": 0}


BILL = {
    "orders": 10,
    "requests": [
        request("dynamodb", "PutItem", 110),
        request("dynamodb", "Query", 20),
        request("dynamodb", "BatchGetItem", 10),  # batches at a higher rate
        request("dynamodb", "Scan", 4),  # the sweep's
        request("sns", "Publish", 30),
        request("execute-api", "Invoke", 10),
        request("logs", "PutLogEvents", 300, internal=True),
        request("lambda", "Invoke", 120, internal=True),
    ],
    "lambda": [
        {"function": "eda-demo-create-order", "invocations": 10},
        {"function": "eda-demo-notification", "invocations": 30},
        {"function": "eda-demo-outbox-processor", "invocations": 10},
        {"function": "eda-demo-projection", "invocations": 11},
        {"function": "eda-demo-recovery-sweep", "invocations": 1},
    ],
}


class LocalStackFloorTest(unittest.TestCase):
    def test_an_order_counts_only_the_calls_that_stay_one_per_item(self):
        self.assertEqual(per_order(BILL), {"dynamodb_item": 13.0, "request": 4.0, "invocation": 4.0})

    def test_the_ceiling_is_one_core_second_over_the_floor(self):
        costs = {"dynamodb_item": 5.0, "request": 2.5, "invocation": 20.0, "idle_ms_per_second": 7.0}
        text = report(costs, per_order(BILL), "bill.json")
        # 13 x 5 + 4 x 2.5 + 4 x 20 = 155 ms: 1000 / 155 = 6.5 orders/s
        self.assertIn("| **at least** | | | | **155** |", text)
        self.assertIn("at most **6.5 orders/s**", text)
        self.assertIn("| 13.0 | DynamoDB GetItem of an absent item | 5.0 | 65 |", text)


if __name__ == "__main__":
    unittest.main()
