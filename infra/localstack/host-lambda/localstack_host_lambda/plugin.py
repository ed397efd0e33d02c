"""plux plugin that registers the executor. Kept tiny: plux imports this module while it lists
the executors, so the real code (executor.py) is imported only when the executor is chosen."""

from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin


class HostRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = "host"

    def load(self, *args, **kwargs):
        from localstack_host_lambda import (
            apigateway_body,
            aws_calls,
            stepfunctions_definition,
            stepfunctions_jsonpath,
            stepfunctions_lambda_errors,
            stepfunctions_logs,
        )
        from localstack_host_lambda.executor import HostRuntimeExecutor

        # Each patch applies itself once and says so in LocalStack's log (INFO, "... (host-lambda patch)").
        apigateway_body.apply()
        aws_calls.apply()
        stepfunctions_definition.apply()
        stepfunctions_jsonpath.apply()
        stepfunctions_lambda_errors.apply()
        stepfunctions_logs.apply()

        return HostRuntimeExecutor
