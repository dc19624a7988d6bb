"""Scheduled owner of turns a crash left without a workflow, visible as runs in the Temporal UI."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from models.names import RECONCILE_TURNS, RECONCILE_TURNS_WORKFLOW
    from models.reconciliation import ReconcileTurnsInput, ReconcileTurnsResult


@workflow.defn(name=RECONCILE_TURNS_WORKFLOW)
class ReconcileTurnsWorkflow:
    @workflow.run
    async def run(self, params: ReconcileTurnsInput) -> ReconcileTurnsResult:
        result: ReconcileTurnsResult = await workflow.execute_activity(
            RECONCILE_TURNS,
            params,
            result_type=ReconcileTurnsResult,
            start_to_close_timeout=timedelta(minutes=5),
            heartbeat_timeout=timedelta(seconds=30),
            # The next scheduled run tries again; a failing one must not pile up behind it.
            retry_policy=RetryPolicy(maximum_attempts=3),
            summary=f"start or fail turns without a workflow for over {params.stranded_after_s:g} s",
        )
        return result
