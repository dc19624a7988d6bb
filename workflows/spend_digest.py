"""The scheduled spend digest: one window of usage, summed and posted by one activity."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from models.digest import DigestWindow, SpendDigestInput, SpendDigestResult
    from models.names import POST_SPEND_DIGEST, SPEND_DIGEST_WORKFLOW

# Set by Temporal on every run a schedule starts: the action's nominal time, whatever delay the start had.
SCHEDULED_START_TIME = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


def _window_end(params: SpendDigestInput) -> datetime:
    """Windows end on the schedule's own times, so consecutive runs tile the ledger with no gap and no overlap."""
    if params.window_end is not None:
        return params.window_end
    return workflow.info().typed_search_attributes.get(SCHEDULED_START_TIME) or workflow.now()


@workflow.defn(name=SPEND_DIGEST_WORKFLOW)
class SpendDigestWorkflow:
    @workflow.run
    async def run(self, params: SpendDigestInput) -> SpendDigestResult:
        end = _window_end(params)
        window = DigestWindow(start=end - timedelta(minutes=params.interval_minutes), end=end)
        result: SpendDigestResult = await workflow.execute_activity(
            POST_SPEND_DIGEST,
            window,
            result_type=SpendDigestResult,
            start_to_close_timeout=timedelta(minutes=1),
            # A dead webhook fails this window after a few tries instead of retrying forever; the next window
            # posts on its own.
            retry_policy=RetryPolicy(maximum_attempts=5),
            summary=f"post the spend of {window.start.isoformat()} to {window.end.isoformat()}",
        )
        return result
