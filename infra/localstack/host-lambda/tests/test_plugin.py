"""The plugin: loading the executor also applies the six patches to LocalStack (API Gateway
bodies, the AWS call counter, Step Functions definitions and JSONPaths, Step Functions' Lambda
connection errors, Step Functions' log batches), each
where LocalStack looks for it, and each says so in LocalStack's log, once. Run as the other tests of this folder
(their docstrings say how), with LocalStack's Python.

The patches are for the whole process and the other tests apply them too, so the plugin is loaded
in a fresh interpreter, as LocalStack loads it, without LocalStack running.
"""

import json
import os
import subprocess
import sys
import textwrap
import unittest

import localstack_host_lambda

PROBE = textwrap.dedent(
    """\
    import json, logging

    records = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: records.append([record.name, record.levelname, record.getMessage()])
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)

    from localstack_host_lambda.plugin import HostRuntimeExecutorPlugin

    plugin = HostRuntimeExecutorPlugin()
    executor = plugin.load()
    plugin.load()  # LocalStack may load it again: the patches stay applied once

    from localstack.services.apigateway.next_gen.execute_api.handlers import parse
    from localstack.services.stepfunctions.asl.component.common.path import result_path
    from localstack.services.stepfunctions.asl.component.state.state_execution.state_task.service import (
        state_task_service_lambda,
    )
    from localstack.services.stepfunctions.asl.utils import json_path
    from localstack.services.stepfunctions.backend.execution_worker import ExecutionWorker
    from werkzeug.wrappers import Request
    from localstack.aws import handlers
    from localstack.services.edge import ROUTER
    from localstack.services.events.target import TargetSender
    from localstack.services.stepfunctions.asl.eval.event.event_manager import EventManager
    from localstack.services.stepfunctions.asl.eval.event.logging import CloudWatchLoggingSession

    print(json.dumps({
        "executor": f"{executor.__module__}.{executor.__name__}",
        "patched": {
            "apigateway_body": [Request._load_form_data.__module__, parse.restore_payload.__module__],
            "aws_calls": [
                [f.__module__ for f in handlers.serve_custom_service_request_handlers.handlers],
                [f.__module__ for f in handlers.run_custom_response_handlers.handlers],
                [r.rule for r in ROUTER.url_map.iter_rules() if r.rule.startswith("/_eda/")],
                [m.__module__ for m in (
                    ExecutionWorker._get_evaluation_environment, EventManager.add_event, TargetSender.process_event
                )],
            ],
            "stepfunctions_definition": ExecutionWorker._get_evaluation_entrypoint.__module__,
            "stepfunctions_jsonpath": [hasattr(f, "cache_info") for f in (json_path.parse, result_path.parse)],
            "stepfunctions_lambda_errors": state_task_service_lambda.StateTaskServiceLambda._from_error.__module__,
            "stepfunctions_logs": [
                m.__module__ for m in (CloudWatchLoggingSession.publish_history_log, ExecutionWorker._execution_logic)
            ],
        },
        "log": [r for r in records if r[0].startswith("localstack_host_lambda")],
    }))
    """
)


class Loading(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # The same plugin source as this process imported (installed, or PYTHONPATH's).
        source = os.path.dirname(os.path.dirname(localstack_host_lambda.__file__))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")])))
        run = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
        if run.returncode != 0:
            raise AssertionError(f"loading the plugin failed:\n{run.stderr}")
        cls.loaded = json.loads(run.stdout.strip().splitlines()[-1])

    def test_loading_gives_the_host_executor(self):
        self.assertEqual(self.loaded["executor"], "localstack_host_lambda.executor.HostRuntimeExecutor")

    def test_loading_applies_the_six_patches_where_localstack_looks_for_them(self):
        patched = self.loaded["patched"]
        self.assertEqual(patched["apigateway_body"], ["localstack_host_lambda.apigateway_body"] * 2)
        self.assertEqual(
            patched["aws_calls"],
            [
                ["localstack_host_lambda.aws_calls"],  # once, though the plugin was loaded twice
                ["localstack_host_lambda.aws_calls"],
                ["/_eda/aws-calls"],
                ["localstack_host_lambda.aws_calls"] * 3,
            ],
        )
        self.assertEqual(patched["stepfunctions_definition"], "localstack_host_lambda.stepfunctions_definition")
        self.assertEqual(patched["stepfunctions_jsonpath"], [True, True])
        self.assertEqual(patched["stepfunctions_lambda_errors"], "localstack_host_lambda.stepfunctions_lambda_errors")
        self.assertEqual(patched["stepfunctions_logs"], ["localstack_host_lambda.stepfunctions_logs"] * 2)

    def test_each_patch_says_once_in_localstacks_log_that_it_is_active(self):
        # Whoever reads LocalStack's log must know that its behaviour here is not LocalStack's own.
        log = self.loaded["log"]
        self.assertEqual(
            [(name, level) for name, level, _ in log],
            [
                ("localstack_host_lambda.apigateway_body", "INFO"),
                ("localstack_host_lambda.aws_calls", "INFO"),
                ("localstack_host_lambda.stepfunctions_definition", "INFO"),
                ("localstack_host_lambda.stepfunctions_jsonpath", "INFO"),
                ("localstack_host_lambda.stepfunctions_lambda_errors", "INFO"),
                ("localstack_host_lambda.stepfunctions_logs", "INFO"),
            ],
        )
        for _, _, message in log:
            self.assertTrue(message.endswith("(host-lambda patch)"), message)


if __name__ == "__main__":
    unittest.main()
