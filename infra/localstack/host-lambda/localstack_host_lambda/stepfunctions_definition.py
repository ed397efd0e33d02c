"""Makes LocalStack's Step Functions parse each state machine definition once instead of at every
execution.

LocalStack 2026.3 starts every execution (`ExecutionWorker._get_evaluation_entrypoint`, which the
synchronous Express worker inherits) by parsing the definition's ASL with ANTLR and turning the
parse tree into a tree of evaluation components (`AmazonStateLanguageParser.parse`); under load
that is 16% of LocalStack's CPU. On the payment definition the ANTLR parse is about four fifths of
that time and building the components the rest, so caching only the ANTLR tree would save little:
the component tree (the `Program`) is what is kept, one per distinct definition string (the parse
reads nothing else), and every execution of that definition evaluates it.

That is safe because the components keep no per-execution state; what was checked:
- No method of a class under `asl/component` but `__init__` and `from_state_props` (which the
  parser calls) assigns an attribute of `self`, nor calls a mutating method on one, except the
  per-evaluation helpers (`JobPool`, `BranchWorkerPool`, `BranchWorker`, `IterationWorker`,
  `MapRunRecord`, `Counter`, Map's iteration `Program`), which Map and Parallel create inside
  `_eval_body` and never store on a component. No component has a `cached_property` or a cache.
- What runs on per execution lives in the `Environment` each execution builds: the stack, the
  heap (retry attempts and backoff multipliers, `MaxAttemptsDecl` and `BackoffRateDecl`, are kept
  in `env.heap`), states' input/result, variables, events, map runs, callbacks.
- Constant values a component hands out (a Pass state's `Result`, literals) are deep-copied before
  anything writes to them (`ResultPath`, `States.set_result`, `States.reset`).
- LocalStack relies on it already: each Map iteration, running in its own thread, evaluates the
  same state objects as the others (`IterationComponent`, whose comment says that components must
  be stateless "to ensure they can be reused or used concurrently").
The one attribute set at run time is `EvalComponent.heap_key`, a unique id made on first use and
kept: two executions making it at once could each use a different id for the first retry's
bookkeeping. So every component's id is made when the definition is parsed, before any execution
sees it. TestState (its own worker and parser) and definition validation are left as they are.
Nothing changes for AWS, whose Step Functions is not LocalStack.
"""

import functools
import logging

LOG = logging.getLogger(__name__)
# Distinct definitions kept parsed: far more than the deployed state machines and their versions.
_CACHE_SIZE = 128
_applied = False


def _make_heap_keys(program) -> None:
    from localstack.services.stepfunctions.asl.component.component import Component
    from localstack.services.stepfunctions.asl.component.eval_component import EvalComponent

    seen, todo = set(), [program]
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, EvalComponent):
            node.heap_key
        if isinstance(node, Component):
            todo.extend(vars(node).values())
        elif isinstance(node, (list, tuple, set, frozenset)):
            todo.extend(node)
        elif isinstance(node, dict):
            todo.extend(node.values())


@functools.lru_cache(maxsize=_CACHE_SIZE)
def parsed_program(definition: str):
    from localstack.services.stepfunctions.asl.parse.asl_parser import AmazonStateLanguageParser

    program, _ = AmazonStateLanguageParser.parse(definition)
    _make_heap_keys(program)
    return program


def apply() -> None:
    global _applied
    if _applied:
        return
    from localstack.services.stepfunctions.backend.execution_worker import ExecutionWorker

    def _get_evaluation_entrypoint(self):
        return parsed_program(self._evaluation_details.state_machine_details.definition)

    ExecutionWorker._get_evaluation_entrypoint = _get_evaluation_entrypoint
    _applied = True
    LOG.info("Step Functions now parses each state machine definition once (host-lambda patch)")
