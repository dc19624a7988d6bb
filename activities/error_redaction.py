"""Keeps unexpected exception text out of Temporal: a database error's message quotes its SQL and parameters (user
text among them), and whatever an activity fails with is written into the workflow history and shown in the UI."""

from __future__ import annotations

import logging
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError, FailureError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

_log = logging.getLogger("turnflow.activities")


class ErrorRedaction(Interceptor):
    """Worker interceptor: an activity's own ApplicationErrors pass as written (their text is chosen for the user),
    without the exceptions they were raised from; any other exception is logged in full and reaches Temporal as its
    class name only, retryable as before."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _RedactingInbound(next)


class _RedactingInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except FailureError as exc:
            _drop_foreign_causes(exc)
            raise
        except Exception as exc:
            info = activity.info()
            _log.exception(
                "activity %s of workflow %s failed (attempt %s)", info.activity_type, info.workflow_id, info.attempt
            )
            kind = type(exc).__name__
            raise ApplicationError(
                f"{info.activity_type} failed with {kind}; the worker log has the details", type=kind
            ) from None


def _drop_foreign_causes(error: BaseException) -> None:
    """Temporal records an error's causes as well: only errors written for Temporal may follow it there."""
    while True:
        cause = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
        if cause is None:
            return
        if not isinstance(cause, FailureError):
            error.__cause__, error.__suppress_context__ = None, True
            return
        error = cause
