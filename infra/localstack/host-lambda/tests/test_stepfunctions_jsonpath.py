"""The Step Functions JSONPath patch: a state machine's paths are parsed once, not at every
evaluation (building the parser is most of LocalStack's time under load), and a cached path
evaluates exactly as LocalStack's own, unpatched, evaluation does. Run with LocalStack's Python,
against the installed plugin, from the repository's root:
    .local/venv/bin/python -m unittest discover -s infra/localstack/host-lambda/tests
or this file alone:
    .local/venv/bin/python -m unittest discover -s infra/localstack/host-lambda/tests -p test_stepfunctions_jsonpath.py
(scripts/localstack/install.sh installs the plugin; to test its source as it is, prefix
`PYTHONPATH=infra/localstack/host-lambda`.)
"""

import contextlib
import copy
import unittest
import uuid
from types import SimpleNamespace
from unittest import mock

import jsonpath_ng
import jsonpath_ng.ext
from jsonpath_ng.parser import JsonPathParser

from localstack.services.stepfunctions.asl.component.common.path import result_path
from localstack.services.stepfunctions.asl.component.common.path.result_path import ResultPath
from localstack.services.stepfunctions.asl.utils import json_path
from localstack.services.stepfunctions.asl.utils.json_path import NoSuchJsonPathError, extract_json
from localstack_host_lambda import stepfunctions_jsonpath

from helpers import at_once

# What the payment workflow (infra/statemachines/payment.asl.json) sees: an OrderCreated event from
# EventBridge, with what its earlier states added (settings, the Lambda task's result).
ORDER_CREATED = {
    "version": "0",
    "id": "0d6c8e5e-6d2b-4c59-9d4a-6a9a1f1c7a11",
    "detail-type": "OrderCreated",
    "source": "order-service",
    "detail": {
        "metadata": {
            "eventId": "e-1",
            "eventType": "OrderCreated",
            "eventVersion": 2,
            "correlationId": "c-1",
            "occurredAt": "2026-03-01T10:00:00Z",
        },
        "data": {
            "orderId": "101",
            "amount": 4999,
            "currency": "EUR",
            "items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 3}],
        },
    },
    "settings": {"fraudThreshold": 100000, "resultEventId": "r-1"},
    "payment": {"paymentId": "p-1"},
    "error": {"Error": "PaymentDeclined", "Cause": "card declined"},
    "failure": {"reason": "payment could not be made: PaymentDeclined"},
}
LAMBDA_RESULT = {"ExecutedVersion": "$LATEST", "Payload": {"paymentId": "p-1"}, "StatusCode": 200}
CONTEXT_OBJECT = {"State": {"EnteredTime": "2026-03-01T10:00:01.000Z", "Name": "PublishPaymentSucceeded"}}

# (path, document) as the workflow evaluates them: `.$` parameters, Choice variables, the
# ResultSelector on the Lambda result, `$$` context paths (LocalStack strips one `$`), plus the
# shapes whose results LocalStack post-processes (singleton index unpacked, wildcard and filter
# lists) so that a cached expression is seen to feed that post-processing the same matches.
EXTRACTED = [
    ("$.detail.data", ORDER_CREATED),
    ("$.detail.metadata.eventVersion", ORDER_CREATED),
    ("$.detail.metadata.correlationId", ORDER_CREATED),
    ("$.detail.metadata.eventId", ORDER_CREATED),
    ("$.detail.data.amount", ORDER_CREATED),
    ("$.detail.data.currency", ORDER_CREATED),
    ("$.settings.fraudThreshold", ORDER_CREATED),
    ("$.settings.resultEventId", ORDER_CREATED),
    ("$.payment.paymentId", ORDER_CREATED),
    ("$.error.Error", ORDER_CREATED),
    ("$.failure.reason", ORDER_CREATED),
    ("$.Payload.paymentId", LAMBDA_RESULT),
    ("$.State.EnteredTime", CONTEXT_OBJECT),
    ("$.detail.data.items[1]", ORDER_CREATED),
    ("$.detail.data.items[*].sku", ORDER_CREATED),
    ("$.detail.data.items[?(@.qty > 1)].sku", ORDER_CREATED),
]
# The workflow's ResultPaths, each with the result it stores.
RESULT_PATHS = [
    ("$.settings", {"fraudThreshold": 100000, "resultEventId": "r-2"}),
    ("$.detail.data.currency", "USD"),
    ("$.payment", {"paymentId": "p-2"}),
    ("$.error", {"Error": "States.Timeout", "Cause": "timed out"}),
    ("$.failure", {"reason": "amount 4999 is over the fraud threshold of 1000"}),
]


@contextlib.contextmanager
def unpatched():
    """LocalStack's own evaluation: a fresh parse at every call, with the grammar each module uses."""
    with mock.patch.object(json_path, "parse", jsonpath_ng.ext.parse), mock.patch.object(
        result_path, "parse", jsonpath_ng.parse
    ):
        yield


def apply_result_path(path, document, result):
    """Runs LocalStack's ResultPath as a state does after its task: the state's input and the
    task's result in, the state's output out."""
    states = SimpleNamespace(get_input=lambda: copy.deepcopy(document))
    env = SimpleNamespace(stack=[copy.deepcopy(result)], states=states)
    ResultPath(result_path_src=path)._eval_body(env)
    return env.stack.pop()


def parses_while(fn):
    """How many times the JSONPath grammar ran (both grammars share JsonPathParser.parse)."""
    original = JsonPathParser.parse
    with mock.patch.object(JsonPathParser, "parse", autospec=True, side_effect=original) as counted:
        fn()
    return counted.call_count


def fresh(path, document):
    """The path and document moved under a field no other test used, so that the path's first
    evaluation cannot be answered from the cache."""
    key = f"f{uuid.uuid4().hex}"
    return path.replace("$.", f"$.{key}.", 1), {key: document}


class PathsAreParsedOnce(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stepfunctions_jsonpath.apply()

    def test_a_path_evaluated_again_and_again_is_parsed_only_the_first_time(self):
        path, document = fresh("$.detail.data.amount", ORDER_CREATED)
        first = parses_while(lambda: extract_json(path, document))
        again = parses_while(lambda: [extract_json(path, document) for _ in range(50)])
        # The first count proves the counter sees parsing at all, so that zero later means cached.
        self.assertGreater(first, 0)
        self.assertEqual(again, 0)

    def test_a_result_path_applied_again_and_again_is_parsed_only_the_first_time(self):
        path, _ = fresh("$.payment", None)
        first = parses_while(lambda: apply_result_path(path, ORDER_CREATED, {"paymentId": "p"}))
        again = parses_while(lambda: [apply_result_path(path, ORDER_CREATED, {"paymentId": i}) for i in range(50)])
        self.assertGreater(first, 0)
        self.assertEqual(again, 0)


class CachedPathsEvaluateAsLocalStackDoes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stepfunctions_jsonpath.apply()

    def test_the_workflows_paths_extract_what_localstack_extracts(self):
        for path, document in EXTRACTED:
            with self.subTest(path=path):
                with unpatched():
                    expected = extract_json(path, document)
                extract_json(path, document)  # the second time comes from the cache
                self.assertEqual(extract_json(path, document), expected)

    def test_a_cached_path_reads_each_new_document_not_the_first_one(self):
        # The cache is shared by every execution: a parsed path must carry nothing of the
        # document it was first evaluated on.
        path = "$.detail.data.amount"
        for amount in (1, 250, 99999):
            document = copy.deepcopy(ORDER_CREATED)
            document["detail"]["data"]["amount"] = amount
            self.assertEqual(extract_json(path, document), amount)

    def test_a_missing_field_is_still_missing_when_the_path_is_cached(self):
        # HasCurrency's `IsPresent: false` relies on the path failing on an event without a currency.
        without_currency = copy.deepcopy(ORDER_CREATED)
        del without_currency["detail"]["data"]["currency"]
        extract_json("$.detail.data.currency", ORDER_CREATED)
        with self.assertRaises(NoSuchJsonPathError):
            extract_json("$.detail.data.currency", without_currency)
        with self.assertRaises(NoSuchJsonPathError):
            extract_json("$.detail.data.currency", without_currency)

    def test_filters_still_work_because_state_paths_keep_the_extended_grammar(self):
        # The plain grammar (ResultPath's) cannot even parse a filter.
        self.assertEqual(extract_json("$.detail.data.items[?(@.qty >= 1)].sku", ORDER_CREATED), ["a", "b"])

    def test_the_workflows_result_paths_build_the_output_localstack_builds(self):
        without_currency = copy.deepcopy(ORDER_CREATED)
        del without_currency["detail"]["data"]["currency"]
        for path, result in RESULT_PATHS:
            for document in (ORDER_CREATED, without_currency):
                with self.subTest(path=path, currency="currency" in document["detail"]["data"]):
                    with unpatched():
                        expected = apply_result_path(path, document, result)
                    apply_result_path(path, document, result)
                    self.assertEqual(apply_result_path(path, document, result), expected)

    def test_a_cached_result_path_does_not_write_into_the_previous_output(self):
        first = apply_result_path("$.detail.data.currency", {"detail": {"data": {}}}, "USD")
        second = apply_result_path("$.detail.data.currency", {"detail": {"data": {"amount": 1}}}, "GBP")
        self.assertEqual(first, {"detail": {"data": {"currency": "USD"}}})
        self.assertEqual(second, {"detail": {"data": {"amount": 1, "currency": "GBP"}}})

    def test_executions_running_at_once_share_a_parsed_path_safely(self):
        path, _ = fresh("$.detail.data.amount", None)
        key = path.split(".")[1]
        results = at_once(lambda n: [extract_json(path, {key: {"detail": {"data": {"amount": n}}}}) for _ in range(20)])
        self.assertEqual(results, {n: [n] * 20 for n in range(8)})


if __name__ == "__main__":
    unittest.main()
