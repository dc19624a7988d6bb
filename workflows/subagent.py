"""A sub-agent: the `task` tool's own model loop with its own tools, run as a child workflow of the turn.

It works as a turn of its own (its own stream log and tool calls); its progress shows in the parent's stream as
the task's preliminary output, its usage is the parent turn's (agent_type subagent), and its answer becomes the
task tool's output.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.agent_steps import BOOKKEEPING_RETRY, model_step, outcome_of, run_to_completion, together, tool_call

with workflow.unsafe.imports_passed_through():
    from models.turns import (
        FINISH_SUBAGENT,
        START_SUBAGENT,
        SUBAGENT_WORKFLOW,
        FinishSubAgentInput,
        SubAgentInput,
        SubAgentStarted,
        ToolCallResult,
    )


@workflow.defn(name=SUBAGENT_WORKFLOW)
class SubAgentWorkflow:
    @workflow.run
    async def run(self, params: SubAgentInput) -> ToolCallResult:
        """The sub-agent's loop; its answer (or why it has none) always reaches the parent's task call."""
        started: SubAgentStarted = await workflow.execute_activity(
            START_SUBAGENT,
            params,
            result_type=SubAgentStarted,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=BOOKKEEPING_RETRY,
            summary="open the sub-agent's turn",
        )
        outcome, error, steps, cancelled = "completed", None, 0, False
        try:
            for step in range(1, params.max_steps + 1):
                steps = step
                result = await model_step(started.turn_id, step, params.model, label="sub-agent ")
                if not result.tool_calls:
                    break
                await together([tool_call(started.turn_id, c.tool_call_id, c.tool_name) for c in result.tool_calls])
        except asyncio.CancelledError:
            outcome, cancelled = "stopped", True
        except ActivityError as exc:
            outcome, error = outcome_of(exc)
        finished: ToolCallResult = await run_to_completion(
            workflow.execute_activity(
                FINISH_SUBAGENT,
                FinishSubAgentInput(started.turn_id, outcome, error, steps),
                result_type=ToolCallResult,
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=BOOKKEEPING_RETRY,
                summary=f"hand the {outcome} answer to the parent turn",
            )
        )
        if cancelled:
            raise asyncio.CancelledError()
        return finished
