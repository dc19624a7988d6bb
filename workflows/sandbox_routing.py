"""Sends a session's sandbox activities (its tool calls and lifecycle) to the worker holding its sandbox.

Where that is, is asked before each one (a local activity reading the database), so a sandbox whose worker left or
died is found again: with no live holder the activity goes to the shared queue, and the worker that takes it holds
the sandbox from then on (restoring it from its snapshot). An activity that reached a worker no longer holding the
sandbox, or whose worker died under it, is sent again to wherever the sandbox is now."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError, TimeoutType

with workflow.unsafe.imports_passed_through():
    from models.names import PLACE_SANDBOX, SANDBOX_AFFINITY_PATCH, SANDBOX_MOVED_ERROR, WORKER_LOST_ERROR
    from models.sandboxes import SandboxPlacement, SandboxRef

T = TypeVar("T")
ROUTE_AGAIN_ERRORS = (SANDBOX_MOVED_ERROR, WORKER_LOST_ERROR)
# A holder that died after it was named leaves the activity waiting on its queue: after this, ask again (and wait
# again if the same live worker still holds the sandbox: it is only busy).
HOST_PICKUP_TIMEOUT = timedelta(seconds=10)
MAX_WAITS = 60  # ten minutes without a worker taking it: the activity fails
MAX_MOVES = 30  # sent on this often: something is wrong, the activity fails


async def on_sandbox_host(
    session_id: str,
    activity: str,
    arg: object,
    result_type: type[T],
    *,
    start_to_close_timeout: timedelta,
    retry_policy: RetryPolicy,
    summary: str,
    heartbeat_timeout: timedelta | None = None,
) -> T:
    """Runs the activity where the session's sandbox is (turns started before sandboxes had holders: anywhere)."""
    if not session_id or not workflow.patched(SANDBOX_AFFINITY_PATCH):
        unrouted: T = await workflow.execute_activity(
            activity,
            arg,
            result_type=result_type,
            start_to_close_timeout=start_to_close_timeout,
            heartbeat_timeout=heartbeat_timeout,
            retry_policy=retry_policy,
            summary=summary,
        )
        return unrouted
    policy = dataclasses.replace(
        retry_policy,
        non_retryable_error_types=[*(retry_policy.non_retryable_error_types or ()), *ROUTE_AGAIN_ERRORS],
    )
    waits = moves = 0
    while True:
        placement = await workflow.execute_local_activity(
            PLACE_SANDBOX,
            SandboxRef(session_id),
            result_type=SandboxPlacement,
            start_to_close_timeout=timedelta(seconds=10),
        )
        try:
            result: T = await workflow.execute_activity(
                activity,
                arg,
                result_type=result_type,
                task_queue=placement.task_queue or workflow.info().task_queue,
                schedule_to_start_timeout=HOST_PICKUP_TIMEOUT,
                start_to_close_timeout=start_to_close_timeout,
                heartbeat_timeout=heartbeat_timeout,
                retry_policy=policy,
                summary=summary,
            )
            return result
        except ActivityError as exc:
            if _not_taken(exc):
                waits += 1
            elif _moved(exc):
                moves += 1
            else:
                raise
            if waits == MAX_WAITS or moves == MAX_MOVES:
                raise
            workflow.logger.info("session %s: %s goes where its sandbox is now (%s)", session_id, activity, exc.cause)


def _moved(exc: ActivityError) -> bool:
    return isinstance(exc.cause, ApplicationError) and exc.cause.type in ROUTE_AGAIN_ERRORS


def _not_taken(exc: ActivityError) -> bool:
    return isinstance(exc.cause, TimeoutError) and exc.cause.type == TimeoutType.SCHEDULE_TO_START
