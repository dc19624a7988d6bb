"""On a clean leave, a worker's running model steps go on elsewhere at once: each is ended with a retryable
WorkerLeaving error, and Temporal retries it on another worker, which continues its text. Everything else the worker
runs (tool calls above all: a half-run command may not be safe to run again) gets the worker's graceful shutdown
time to finish."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from activities.worker_presence import RETRY_AT_ONCE
from models.names import STREAM_MODEL_STEP, WORKER_LEAVING_ERROR


class StepHandover(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _HandedOverOnLeave(next)


class _HandedOverOnLeave(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        if activity.info().activity_type != STREAM_MODEL_STEP:
            return await super().execute_activity(input)
        step = asyncio.ensure_future(super().execute_activity(input))
        leaving = asyncio.ensure_future(activity.wait_for_worker_shutdown())
        try:
            await asyncio.wait({step, leaving}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            step.cancel()  # a stop: the step's own handling decides what the attempt reports
            return await step
        finally:
            leaving.cancel()
        if step.done():
            return step.result()
        step.cancel()
        await asyncio.wait({step})
        raise ApplicationError(
            "this worker is leaving; the step goes on on another",
            type=WORKER_LEAVING_ERROR,
            next_retry_delay=RETRY_AT_ONCE,
        )
