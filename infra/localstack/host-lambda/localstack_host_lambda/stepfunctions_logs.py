"""Makes LocalStack's Step Functions put an execution's CloudWatch log events in batches, not one
PutLogEvents call per history event.

LocalStack 2026.3 gives each execution of a state machine that has a logging configuration its own
`CloudWatchLoggingSession` (the provider's `start_execution` and `start_sync_execution`). The
execution's `EventManager.add_event` hands the session every history event its level lets through,
and `publish_history_log` puts that one event with a synchronous `put_log_events` through
LocalStack's internal client (HTTP to its own gateway, the whole handler chain, moto), on the
thread that added the event and while the event manager's lock is held. At Level ALL that is a call
per history event, 18 for a charged payment order, and the execution waits for each.

AWS delivers an execution's log events asynchronously, in batches, best effort: the execution does
not wait for them, and they reach the log group some time later, each with its event's timestamp.

Here a session keeps its events (the message and timestamp LocalStack makes for each, in the order
the events were added) and puts them in one call:
  - at the execution's end event (ExecutionSucceeded, ExecutionFailed, ExecutionTimedOut,
    ExecutionAborted), on the thread that adds it: a short execution makes one call, and its events
    are all in the log group before the execution reports its end, as they were before (a
    StartSyncExecution caller or a test that reads the group afterwards finds every one);
  - before the batch would pass 50 events or 256 KiB (PutLogEvents takes 10,000 and 1 MiB), so
    that a long execution's events still appear while it runs;
  - before an event older than the last one kept: a PutLogEvents whose events are not in
    chronological order is refused whole (moto, as AWS);
  - when the execution's worker returns, for what an end event did not take: a program that timed
    out while a state still runs (its ExecutionTimedOut comes only when the state returns), or an
    error before the end event.
The put is LocalStack's own `_publish_history_log_or_setup`: the stream is created when it is
missing and the events put again; any other error is logged (or ignored) as LocalStack does for a
single event.

Faithful enough: the log group receives the same events, messages, timestamps and order, in fewer
calls, which AWS does too; only when they appear changes. An execution that waits (a Wait state, a
callback task) shows its events from before the wait when it ends or its batch fills, where AWS
shows them within seconds. The payment workflow (Express, at most 5 minutes, about 15 events) is
read from its log group only after its runs end. Nothing changes for AWS, whose Step Functions is
not LocalStack.
"""

import logging
import threading

# CloudWatch Logs counts each event's UTF-8 message plus LOG_EVENT_OVERHEAD_BYTES against
# PutLogEvents' size limit, as it does when it bills.
from localstack_host_lambda.aws_calls import EXECUTION_ENDS, LOG_EVENT_OVERHEAD_BYTES

LOG = logging.getLogger(__name__)
MAX_BATCH_EVENTS = 50
MAX_BATCH_BYTES = 256 * 1024
_applied = False


class _Batch:
    def __init__(self):
        # Parallel branches and Map iterations add events from their own threads. The put is made
        # holding the lock too, so that one batch cannot overtake an earlier one.
        self.lock = threading.Lock()
        self.events = []
        self.size = 0


def _batch_of(session) -> _Batch:
    # Made on first use rather than in __init__, so that a session created before the patch was
    # applied still works; dict.setdefault is atomic, so racing threads get the same batch.
    return vars(session).get("_eda_batch") or vars(session).setdefault("_eda_batch", _Batch())


def _put(session, batch: _Batch) -> None:
    if not batch.events:
        return
    events, batch.events, batch.size = batch.events, [], 0
    session._publish_history_log_or_setup(log_events=events)


def flush(session) -> None:
    """Puts what the session still keeps."""
    batch = _batch_of(session)
    with batch.lock:
        _put(session, batch)


def apply() -> None:
    global _applied
    if _applied:
        return
    from localstack.aws.api.logs import InputLogEvent
    from localstack.services.stepfunctions.asl.eval.event import logging as sfn_logging
    from localstack.services.stepfunctions.asl.utils.encoding import to_json_str
    from localstack.services.stepfunctions.backend.execution_worker import ExecutionWorker

    def publish_history_log(self, history_log):
        # The event as LocalStack's own publish_history_log makes it.
        timestamp = int(history_log["event_timestamp"].timestamp() * 1000)
        message = to_json_str(history_log)
        sfn_logging.LOG.debug("New CloudWatch Log for execution '%s' with message: '%s'", self.execution_arn, message)
        size = len(message.encode()) + LOG_EVENT_OVERHEAD_BYTES
        batch = _batch_of(self)
        with batch.lock:
            if batch.events and (batch.size + size > MAX_BATCH_BYTES or timestamp < batch.events[-1]["timestamp"]):
                _put(self, batch)
            batch.events.append(InputLogEvent(timestamp=timestamp, message=message))
            batch.size += size
            # An ExecutionFailed can also come mid-run (a Parallel state's failed branch, caught):
            # the put is then just early.
            if str(history_log["type"]) in EXECUTION_ENDS or len(batch.events) >= MAX_BATCH_EVENTS:
                _put(self, batch)

    execution_logic = ExecutionWorker._execution_logic

    def _execution_logic(self):
        try:
            return execution_logic(self)
        finally:
            if self._cloud_watch_logging_session is not None:
                flush(self._cloud_watch_logging_session)

    sfn_logging.CloudWatchLoggingSession.publish_history_log = publish_history_log
    ExecutionWorker._execution_logic = _execution_logic
    _applied = True
    LOG.info(
        "Step Functions now puts an execution's log events in batches, at its end or every %d events (host-lambda patch)",
        MAX_BATCH_EVENTS,
    )
