"""A sub-agent: the `task` tool's own model loop with its own tools, run as a child workflow of the turn.

It works as a turn of its own (its own stream log and tool calls); its progress shows in the parent's stream as
the task's preliminary output, its usage is the parent turn's (agent_type subagent), and its answer becomes the
task tool's output.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow

from workflows.agent_steps import bookkeeping, record_outcome, run_agent_loop, run_to_completion, tool_call

with workflow.unsafe.imports_passed_through():
    from models.names import FINISH_SUBAGENT, START_SUBAGENT, SUBAGENT_WORKFLOW
    from models.turns import FinishSubAgentInput, SubAgentInput, SubAgentStarted, ToolCallResult


@workflow.defn(name=SUBAGENT_WORKFLOW)
class SubAgentWorkflow:
    @workflow.run
    async def run(self, params: SubAgentInput) -> ToolCallResult:
        """The sub-agent's loop; its answer (or why it has none) always reaches the parent's task call."""
        started = await bookkeeping(START_SUBAGENT, params, SubAgentStarted, "open the sub-agent's turn")
        end = await run_agent_loop(
            started.turn_id,
            params.model,
            params.max_steps,
            lambda call: tool_call(started.turn_id, started.session_id, call.tool_call_id, call.tool_name),
            label="sub-agent ",
        )
        finished = await run_to_completion(
            bookkeeping(
                FINISH_SUBAGENT,
                FinishSubAgentInput(started.turn_id, end.outcome, end.error, end.steps),
                ToolCallResult,
                f"hand the {end.outcome} answer to the parent turn",
                timeout_s=60,
            )
        )
        record_outcome(end)
        if end.cancelled:
            raise asyncio.CancelledError()
        return finished
