"""The Step Functions definition patch: a state machine's definition is parsed once, not at every
execution (the parse is 16% of LocalStack's time under load), and executions of the one parsed
definition run as they run with LocalStack's own parse at every start, each with its own state.
Run with LocalStack's Python, against the installed plugin, from the repository's root:
    .local/venv/bin/python -m unittest discover -s infra/localstack/host-lambda/tests
or this file alone:
    .local/venv/bin/python -m unittest discover -s infra/localstack/host-lambda/tests -p test_stepfunctions_definition.py
(scripts/localstack/install.sh installs the plugin; to test its source as it is, prefix
`PYTHONPATH=infra/localstack/host-lambda`.)

The executions run the payment workflow (infra/statemachines/payment.asl.json) in LocalStack's
own execution worker, with its Lambda and EventBridge tasks answered by LocalStack's mocked
responses (the Step Functions Local mock config), so nothing is called.
"""

import contextlib
import json
import re
import unittest
import uuid
from types import SimpleNamespace
from unittest import mock

from localstack.services.stepfunctions.asl.component import eval_component
from localstack.services.stepfunctions.asl.component.common.retry.max_attempts_decl import (
    MaxAttemptsDecl,
    MaxAttemptsOutcome,
)
from localstack.services.stepfunctions.asl.eval.program_state import ProgramEnded
from localstack.services.stepfunctions.asl.parse.asl_parser import AmazonStateLanguageParser
from localstack.services.stepfunctions.backend.execution_worker import ExecutionWorker
from localstack_host_lambda import stepfunctions_definition

from helpers import PAYMENT, assert_applied_once, at_once, order_created, worker


def run(execution_input, definition=PAYMENT):
    """An execution of the definition, as LocalStack runs it, and what it leaves: how it ended, the
    event it put on the bus, and its history with the fields that differ at every run (ids, times)
    blanked."""
    execution = worker(definition, execution_input)
    # HasCurrency's `IsPresent: false` logs the missing path as an error; it is expected here.
    with mock.patch.object(eval_component.LOG, "disabled", True):
        execution.start()
    env = execution.env
    history = env.event_manager.get_event_history()
    entries = [
        json.loads(e["taskScheduledEventDetails"]["parameters"])["Entries"][0]
        for e in history
        if e["type"] == "TaskScheduled" and e["taskScheduledEventDetails"]["resource"] == "putEvents"
    ]
    blanked = json.dumps(history, default=str, sort_keys=True)
    blanked = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", blanked)
    blanked = re.sub(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d[.\d]*(\+00:00|Z)?", "<time>", blanked)
    return type(env.program_state()), entries, json.loads(blanked)


@contextlib.contextmanager
def unpatched():
    """LocalStack's own start: the definition parsed again by every execution."""
    own = lambda self: AmazonStateLanguageParser.parse(self._evaluation_details.state_machine_details.definition)[0]
    with mock.patch.object(ExecutionWorker, "_get_evaluation_entrypoint", own):
        yield


def parses_while(fn):
    """How many times a definition was parsed."""
    original = AmazonStateLanguageParser.parse
    with mock.patch.object(AmazonStateLanguageParser, "parse", side_effect=original) as counted:
        fn()
    return counted.call_count


def fresh(definition):
    """The definition under a comment no other test used, so that it is not in the cache yet."""
    return definition.replace('"Comment": "', f'"Comment": "{uuid.uuid4().hex} ', 1)


class DefinitionsAreParsedOnce(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stepfunctions_definition.apply()

    def test_a_definition_started_again_and_again_is_parsed_only_the_first_time(self):
        definition = fresh(PAYMENT)
        first = parses_while(lambda: worker(definition)._get_evaluation_entrypoint())
        programs = []
        again = parses_while(lambda: programs.extend(worker(definition)._get_evaluation_entrypoint() for _ in range(20)))
        # The first count proves the counter sees parsing at all, so that zero later means cached.
        self.assertEqual(first, 1)
        self.assertEqual(again, 0)
        self.assertEqual(len({id(p) for p in programs}), 1)

    def test_a_different_definition_is_parsed_on_its_own(self):
        one, other = fresh(PAYMENT), fresh(PAYMENT)
        programs = []
        count = parses_while(lambda: programs.extend(worker(d)._get_evaluation_entrypoint() for d in (one, other, one, other)))
        self.assertEqual(count, 2)
        self.assertIsNot(programs[0], programs[1])
        self.assertEqual([programs[0], programs[1]], programs[2:])


class CachedDefinitionsRunAsLocalStackRunsThem(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stepfunctions_definition.apply()

    def test_the_payment_workflow_ends_with_the_output_and_history_localstack_gives_it(self):
        inputs = {
            "charged": order_created("1", 49),
            "without a currency": order_created("2", 20, currency=None),
            "refused as fraud": order_created("3", 4999),
        }
        for case, execution_input in inputs.items():
            with self.subTest(case):
                with unpatched():
                    ended, _, history = run(execution_input)
                run(execution_input)  # the second run comes from the cache
                self.assertEqual(run(execution_input)[::2], (ended, history))
                self.assertEqual(ended, ProgramEnded)

    def test_each_execution_of_a_cached_definition_publishes_from_its_own_input(self):
        # The executions share one parsed program: what one reads or decides must not reach another.
        [charged], [refused], [defaulted] = (run(order)[1] for order in (
            order_created("11", 10), order_created("12", 5000), order_created("13", 10, currency=None)
        ))
        self.assertEqual(charged["DetailType"], "PaymentSucceeded")
        self.assertEqual(charged["Detail"]["data"], {"orderId": "11", "amount": 10, "currency": "EUR", "paymentId": "p-1"})
        self.assertEqual(refused["DetailType"], "PaymentFailed")
        self.assertEqual(refused["Detail"]["data"]["reason"], "amount 5000 is over the fraud threshold of 1000")
        self.assertEqual(defaulted["Detail"]["data"]["currency"], "USD")
        self.assertEqual(charged["Detail"]["metadata"]["causationId"], "e-11")
        # States.UUID() in ReadSettings: a new id at every execution, never the first one's.
        self.assertNotEqual(charged["Detail"]["metadata"]["eventId"], defaulted["Detail"]["metadata"]["eventId"])

    def test_executions_running_at_once_share_a_parsed_definition_safely(self):
        definition = fresh(PAYMENT)
        results = at_once(
            lambda n: run(order_created(str(n), 500 * n, currency=None if n % 3 == 0 else "EUR"), definition)
        )
        self.assertEqual(sorted(results), list(range(8)))
        for n, (ended, [entry], _) in results.items():
            with self.subTest(n=n):
                self.assertEqual(ended, ProgramEnded)
                self.assertEqual(entry["Detail"]["data"]["orderId"], str(n))
                self.assertEqual(entry["DetailType"], "PaymentFailed" if 500 * n > 1000 else "PaymentSucceeded")
                self.assertEqual(entry["Detail"]["data"]["currency"], "USD" if n % 3 == 0 else "EUR")

    def test_retry_attempts_are_counted_per_execution_not_on_the_shared_program(self):
        charge = worker(PAYMENT)._get_evaluation_entrypoint().states.states["Charge"]
        max_attempts = charge.retry.retriers[1].max_attempts  # the provider's errors: 3 tries
        self.assertIsInstance(max_attempts, MaxAttemptsDecl)

        def attempt(execution):
            max_attempts._eval_body(execution)
            return execution.stack.pop()

        first, second = SimpleNamespace(stack=[], heap={}), SimpleNamespace(stack=[], heap={})
        self.assertEqual([attempt(first) for _ in range(4)], [MaxAttemptsOutcome.SUCCESS] * 3 + [MaxAttemptsOutcome.EXHAUSTED])
        self.assertEqual(attempt(second), MaxAttemptsOutcome.SUCCESS)

    def test_the_ids_that_key_retry_counters_are_made_before_any_execution_runs(self):
        # Made lazily, two executions at once could each make one and split a retry count.
        program = stepfunctions_definition.parsed_program(fresh(PAYMENT))
        for retrier in program.states.states["Charge"].retry.retriers:
            for decl in (retrier.max_attempts, retrier.backoff_rate):
                self.assertIsNotNone(decl._EvalComponent__heap_key)


class Applying(unittest.TestCase):
    def test_applying_twice_patches_once(self):
        assert_applied_once(self, stepfunctions_definition, ExecutionWorker, "_get_evaluation_entrypoint")


if __name__ == "__main__":
    unittest.main()
