"""Makes LocalStack's Step Functions parse each JSONPath once instead of at every evaluation.

LocalStack 2026.3 evaluates every `.$` field, Choice variable and ResultPath of a state machine by
calling jsonpath_ng's `parse(path)`, and that builds a new PLY parser (its LALR tables) each time
before parsing the path. Under load this is most of what LocalStack does, and what limits the
order flow's rate on the local stack (BENCHMARKS.md profiles it). The paths of a state machine are
a handful of fixed strings, and a parsed path is only read when it is evaluated, so each is parsed
once and kept. Nothing changes for AWS, whose Step Functions is not LocalStack.
"""

import functools
import logging

LOG = logging.getLogger(__name__)
# Distinct JSONPath strings kept parsed: far more than the deployed state machines use.
_CACHE_SIZE = 4096
_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    import jsonpath_ng
    import jsonpath_ng.ext

    from localstack.services.stepfunctions.asl.component.common.path import result_path
    from localstack.services.stepfunctions.asl.utils import json_path

    # The two modules use different grammars: json_path the extended one, result_path the plain.
    json_path.parse = functools.lru_cache(maxsize=_CACHE_SIZE)(jsonpath_ng.ext.parse)
    result_path.parse = functools.lru_cache(maxsize=_CACHE_SIZE)(jsonpath_ng.parse)
    _applied = True
    LOG.info("Step Functions now parses each JSONPath once (host-lambda patch)")
