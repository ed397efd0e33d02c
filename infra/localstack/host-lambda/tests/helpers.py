"""What several of this folder's tests share: running work on several threads at once, and running
the payment workflow (infra/statemachines/payment.asl.json), or another definition, in-process in
LocalStack's own execution worker, with its Lambda and EventBridge tasks answered by LocalStack's
mocked responses (the Step Functions Local mock config), so nothing is called.
"""

import pathlib
import threading
import uuid
from unittest import mock

from localstack.aws.api.stepfunctions import StateMachineType
from localstack.services.stepfunctions.asl.eval.evaluation_details import (
    AWSExecutionDetails,
    EvaluationDetails,
    ExecutionDetails,
    StateMachineDetails,
)
from localstack.services.stepfunctions.backend.execution_worker import SyncExecutionWorker
from localstack.services.stepfunctions.local_mocking.mock_config import (
    LocalMockedResponseReturn,
    LocalMockTestCase,
    StateMockedResponses,
)

ACCOUNT, REGION = "000000000000", "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/payment"
PAYMENT = (
    (pathlib.Path(__file__).parents[4] / "infra/statemachines/payment.asl.json")
    .read_text()
    .replace("${FraudThreshold}", "1000")
    .replace("${EventBusName}", "orders")
    .replace("${PaymentFunctionArn}", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:payment")
)


def at_once(fn, threads=8):
    """fn(n) for n in range(threads), each on its own thread, released together so that they
    overlap: {n: what it returned}. The first error any raised is raised here."""
    results, errors = {}, []
    start = threading.Barrier(threads)

    def run(n):
        try:
            start.wait()
            results[n] = fn(n)
        except BaseException as e:  # raised below, in the test's thread
            errors.append(e)

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    if errors:
        raise errors[0]
    return results


def order_created(order_id, amount, currency="EUR"):
    data = {"orderId": order_id, "amount": amount, "currency": currency, "items": [{"sku": "a", "qty": 1}]}
    if currency is None:
        del data["currency"]
    metadata = {"eventId": f"e-{order_id}", "eventType": "OrderCreated", "eventVersion": 2, "correlationId": f"c-{order_id}"}
    return {"detail-type": "OrderCreated", "source": "order-service", "detail": {"metadata": metadata, "data": data}}


def returns(state, payload):
    return StateMockedResponses(state, f"{state}Ok", [LocalMockedResponseReturn(0, 0, payload)])


PUT_EVENTS = {"Entries": [{"EventId": "bus-1"}], "FailedEntryCount": 0}
MOCKS = LocalMockTestCase(
    "payment",
    "HappyPath",
    [
        returns("Charge", {"StatusCode": 200, "Payload": {"paymentId": "p-1"}}),
        returns("PublishPaymentSucceeded", PUT_EVENTS),
        returns("PublishPaymentFailed", PUT_EVENTS),
    ],
)


def execution_arn(name):
    return f"arn:aws:states:{REGION}:{ACCOUNT}:execution:payment:{name}"


def worker(definition, execution_input=None, logging_session=None, name=None, typ=StateMachineType.STANDARD):
    """LocalStack's worker for a StartSyncExecution of the definition; `start()` runs it on the
    caller's thread. A logging session must be made for `execution_arn(name)`."""
    name = name or uuid.uuid4().hex
    details = EvaluationDetails(
        aws_execution_details=AWSExecutionDetails(account=ACCOUNT, region=REGION, role_arn=ROLE),
        execution_details=ExecutionDetails(
            arn=execution_arn(name),
            name=name,
            role_arn=ROLE,
            inpt=execution_input,
            start_time="2026-03-01T10:00:00Z",
        ),
        state_machine_details=StateMachineDetails(
            arn=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:payment",
            name="payment",
            typ=typ,
            definition=definition,
        ),
    )
    return SyncExecutionWorker(details, mock.Mock(), logging_session, {}, local_mock_test_case=MOCKS)


def assert_applied_once(test, patch, owner, attribute):
    """`patch.apply()` twice leaves `owner.attribute` as the first call made it: the patch's own."""
    patch.apply()
    patched = getattr(owner, attribute)
    patch.apply()
    test.assertIs(getattr(owner, attribute), patched)
    test.assertEqual(patched.__module__, patch.__name__)
