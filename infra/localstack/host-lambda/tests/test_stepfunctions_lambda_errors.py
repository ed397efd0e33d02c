"""The Step Functions patch: a failed connection to Lambda is Lambda.SdkClientException, as on
AWS; every other failure is named as LocalStack names it. Run with LocalStack's Python, against
the installed plugin, from the repository's root:
    .local/venv/bin/python -m unittest discover -s infra/localstack/host-lambda/tests
or this file alone:
    .local/venv/bin/python -m unittest discover -s infra/localstack/host-lambda/tests -p test_stepfunctions_lambda_errors.py
(scripts/localstack/install.sh installs the plugin; to test its source as it is, prefix
`PYTHONPATH=infra/localstack/host-lambda`.)
"""

import unittest
from types import SimpleNamespace

from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

from localstack.services.stepfunctions.asl.component.state.state_execution.state_task.service.state_task_service_lambda import (
    StateTaskServiceLambda,
)
from localstack_host_lambda import stepfunctions_lambda_errors

URL = "http://localhost:4566/2015-03-31/functions/payment/invocations"


def failure(ex):
    task = StateTaskServiceLambda()
    task.resource = SimpleNamespace(api_action="invoke", service_name="lambda", condition=None)
    env = SimpleNamespace(next_state_name="Charge", event_history_context=SimpleNamespace(source_event_id=7))
    event = task._from_error(env, ex)
    return event.error_name.error_name, event.event_details["taskFailedEventDetails"]


class FailedConnections(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stepfunctions_lambda_errors.apply()

    def test_a_connection_that_times_out_is_an_sdk_client_exception(self):
        name, details = failure(ConnectTimeoutError(endpoint_url=URL))
        self.assertEqual(name, "Lambda.SdkClientException")
        self.assertEqual(details["error"], "Lambda.SdkClientException")
        self.assertIn("Connect timeout on endpoint URL", details["cause"])
        self.assertEqual((details["resource"], details["resourceType"]), ("invoke", "lambda"))

    def test_an_answer_that_never_comes_is_an_sdk_client_exception(self):
        name, _ = failure(ReadTimeoutError(endpoint_url=URL))
        self.assertEqual(name, "Lambda.SdkClientException")

    def test_lambdas_own_errors_keep_their_names(self):
        throttled = ClientError(
            {
                "Error": {"Code": "TooManyRequestsException", "Message": "Rate Exceeded."},
                "ResponseMetadata": {"HTTPStatusCode": 429, "RequestId": "r-1"},
            },
            "Invoke",
        )
        name, _ = failure(throttled)
        self.assertEqual(name, "Lambda.TooManyRequestsException")

    def test_anything_else_is_still_a_runtime_error(self):
        name, _ = failure(ValueError("not a connection"))
        self.assertEqual(name, "States.Runtime")


if __name__ == "__main__":
    unittest.main()
