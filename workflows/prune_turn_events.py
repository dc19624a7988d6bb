"""Scheduled clean-up of finished turns' stream logs, visible as runs in the Temporal UI."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from models.names import PRUNE_TURN_EVENTS, PRUNE_TURN_EVENTS_WORKFLOW
    from models.retention import PruneTurnEventsInput, PruneTurnEventsResult


@workflow.defn(name=PRUNE_TURN_EVENTS_WORKFLOW)
class PruneTurnEventsWorkflow:
    @workflow.run
    async def run(self, params: PruneTurnEventsInput) -> PruneTurnEventsResult:
        result: PruneTurnEventsResult = await workflow.execute_activity(
            PRUNE_TURN_EVENTS,
            params,
            result_type=PruneTurnEventsResult,
            start_to_close_timeout=timedelta(minutes=10),
            heartbeat_timeout=timedelta(minutes=1),
            retry_policy=RetryPolicy(maximum_attempts=5),
            summary=f"delete stream logs of turns finished over {params.retention_hours:g} h ago",
        )
        return result
