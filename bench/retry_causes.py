"""What made Temporal retry a turn's activities, from its workflow history: after a kill -9 the retry comes either
from a surviving worker failing the dead one's attempt at once (the fast path) or from the attempt's heartbeat
timeout, and the two differ by seconds."""

from __future__ import annotations

from temporalio.api.enums.v1 import TimeoutType
from temporalio.api.failure.v1 import Failure
from temporalio.client import Client

from models.names import WORKER_LOST_ERROR

HEARTBEAT_TIMEOUT = TimeoutType.Name(TimeoutType.TIMEOUT_TYPE_HEARTBEAT)
RETRY_PATHS = {
    WORKER_LOST_ERROR: "fast path (a surviving worker failed the dead one's attempt)",
    HEARTBEAT_TIMEOUT: "heartbeat timeout",
}


async def retry_causes(client: Client, workflow_id: str) -> list[str]:
    """For each retried activity attempt, what ended the attempt before it: an error type or a timeout type."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return [
        _cause(event.activity_task_started_event_attributes.last_failure)
        for event in history.events
        if event.HasField("activity_task_started_event_attributes")
        and event.activity_task_started_event_attributes.attempt > 1
    ]


def retry_path(causes: list[str]) -> str:
    """How a crashed turn's single retry was reached, in words; anything else is named as it was."""
    if len(causes) == 1 and causes[0] in RETRY_PATHS:
        return RETRY_PATHS[causes[0]]
    return f"other: {', '.join(causes) or 'no retry'}"


def _cause(failure: Failure) -> str:
    if failure.HasField("timeout_failure_info"):
        return TimeoutType.Name(failure.timeout_failure_info.timeout_type)
    return failure.application_failure_info.type or failure.message
