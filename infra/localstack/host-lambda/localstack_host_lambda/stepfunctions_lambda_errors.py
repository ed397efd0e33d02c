"""Makes LocalStack's Step Functions name a failed connection to Lambda as AWS does.

When the Lambda integration (`arn:aws:states:::lambda:invoke`) cannot reach Lambda at all (the
connection refused, timed out or dropped), AWS Step Functions fails the task with
`Lambda.SdkClientException` (or `Lambda.ServiceException`), errors AWS tells every workflow to
retry. LocalStack 2026.3 reports any such exception of its own internal client as
`States.Runtime`, which a workflow cannot sensibly retry (on AWS it is not even catchable) and
which the payment workflow's catch-all turns into a failed payment. Under overload LocalStack's
HTTP server can stop accepting its own connections for minutes (BENCHMARKS.md), and an order
nothing was charged for would be cancelled. With this patch the task fails as it would on AWS and
the workflow's retrier, not its catch-all, handles it. Nothing changes for AWS, whose Step
Functions is not LocalStack.
"""

import logging

LOG = logging.getLogger(__name__)
# What AWS's own Lambda client says when it cannot execute the HTTP request.
ERROR = "Lambda.SdkClientException"
_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    from botocore.exceptions import ConnectionError as BotocoreConnectionError
    from botocore.exceptions import HTTPClientError

    from localstack.services.stepfunctions.asl.component.state.state_execution.state_task.service import (
        state_task_service_lambda as module,
    )

    service = module.StateTaskServiceLambda
    original = service._from_error

    def _from_error(self, env, ex):
        if not isinstance(ex, (BotocoreConnectionError, HTTPClientError)):
            return original(self, env, ex)
        return module.FailureEvent(
            env=env,
            error_name=module.CustomErrorName(ERROR),
            event_type=module.HistoryEventType.TaskFailed,
            event_details=module.EventDetails(
                taskFailedEventDetails=module.TaskFailedEventDetails(
                    error=ERROR,
                    cause=f"Unable to execute HTTP request: {ex}",
                    resource=self._get_sfn_resource(),
                    resourceType=self._get_sfn_resource_type(),
                )
            ),
        )

    service._from_error = _from_error
    _applied = True
    LOG.info("Step Functions now reports a failed connection to Lambda as %s (host-lambda patch)", ERROR)
