"""Model-written text about a session, each a one-activity workflow so it runs on the workers that hold the
model providers: the title and problem domain after the first exchange, and resolve/escalate drafts."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from models.names import DRAFT_HANDOFF, HANDOFF_DRAFT_WORKFLOW, SESSION_SUMMARY_WORKFLOW, SUMMARIZE_SESSION
    from models.session_summary import HandoffDraftInput, HandoffDraftResult, SessionSummaryInput, SessionSummaryResult

SUMMARY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2, maximum_interval=timedelta(seconds=30)
)
# Few attempts: someone is watching a draft, and asking again is cheap.
DRAFT_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=500), maximum_attempts=3)


@workflow.defn(name=SESSION_SUMMARY_WORKFLOW)
class SessionSummaryWorkflow:
    """Started fire-and-forget after a turn, so a slow or failing model never delays the turn itself."""

    @workflow.run
    async def run(self, params: SessionSummaryInput) -> SessionSummaryResult:
        result: SessionSummaryResult = await workflow.execute_activity(
            SUMMARIZE_SESSION,
            params,
            result_type=SessionSummaryResult,
            start_to_close_timeout=timedelta(minutes=2),
            schedule_to_close_timeout=timedelta(hours=1),
            retry_policy=SUMMARY_RETRY,
            summary="title and problem domain",
        )
        return result


@workflow.defn(name=HANDOFF_DRAFT_WORKFLOW)
class HandoffDraftWorkflow:
    """The API relays the text as it is written; this workflow only says when the draft ended and how."""

    @workflow.run
    async def run(self, params: HandoffDraftInput) -> HandoffDraftResult:
        result: HandoffDraftResult = await workflow.execute_activity(
            DRAFT_HANDOFF,
            params,
            result_type=HandoffDraftResult,
            start_to_close_timeout=timedelta(minutes=3),
            # Heartbeats carry the cancellation of a draft whose reader left.
            heartbeat_timeout=timedelta(seconds=10),
            retry_policy=DRAFT_RETRY,
            summary=f"{params.kind} draft",
        )
        return result
