"""Opening a sub-agent's turn and handing its answer back to the parent turn's `task` call."""

from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from activities.turn_context import load_turn
from models.enums import Outcome, ToolCallStatus
from models.names import FINISH_SUBAGENT, START_SUBAGENT
from models.turns import FinishSubAgentInput, SubAgentInput, SubAgentStarted, ToolCallResult
from turnlog import chunks
from turnlog.append import append_chunks
from turnlog.assembly import assemble
from turnlog.lock_order import lock_turn
from turnlog.reader import load_chunks

_OPEN = text(
    """
    INSERT INTO turns (chat_id, session_id, account_id, workflow_id, parent_turn_id, agent_call_id, status,
                       trigger, model_id, started_at, attempts)
    SELECT chat_id, session_id, account_id, :workflow_id, id, :call, 'running', 'task', :model, now(), 1
    FROM turns WHERE id = :parent
    ON CONFLICT (workflow_id) DO UPDATE SET attempts = turns.attempts + 1
    RETURNING id, session_id
    """
)
_CALL = text("SELECT status, input FROM tool_calls WHERE turn_id = :parent AND tool_call_id = :call FOR UPDATE")
_SAVE_CALL = text(
    """
    UPDATE tool_calls SET status = :status, output = CAST(:output AS jsonb), error_text = :error,
        started_at = COALESCE(started_at, now()), finished_at = now()
    WHERE turn_id = :parent AND tool_call_id = :call
    """
)
_CLOSE_TURN = text(
    "UPDATE turns SET status = :status, finished_at = now(), step_count = :steps, error = CAST(:error AS jsonb) "
    "WHERE id = :turn_id"
)


class SubAgentActivities:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @activity.defn(name=START_SUBAGENT)
    async def start_subagent(self, params: SubAgentInput) -> SubAgentStarted:
        """The sub-agent's own turn row (its stream log, tool calls); idempotent on the child workflow id."""
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    _OPEN,
                    {
                        "workflow_id": activity.info().workflow_id,
                        "parent": params.parent_turn_id,
                        "call": params.tool_call_id,
                        "model": params.model,
                    },
                )
            ).one()
        return SubAgentStarted(turn_id=str(row.id), session_id=str(row.session_id))

    @activity.defn(name=FINISH_SUBAGENT)
    async def finish_subagent(self, params: FinishSubAgentInput) -> ToolCallResult:
        """The sub-agent's last answer becomes the task's output in the parent's stream, once."""
        async with self._engine.begin() as conn:
            turn = await load_turn(conn, params.turn_id)
            assert turn.parent_turn_id is not None
            await lock_turn(conn, turn.parent_turn_id)  # the parent turn, then its tool call, then this turn
            keys = {"parent": turn.parent_turn_id, "call": turn.agent_call_id}
            call = (await conn.execute(_CALL, keys)).one()
            if call.status in (ToolCallStatus.COMPLETED, ToolCallStatus.FAILED):
                return ToolCallResult(ok=call.status == ToolCallStatus.COMPLETED)
            parts = assemble(await load_chunks(conn, turn.turn_id)).parts
            steps = [i for i, p in enumerate(parts) if p["type"] == "step-start"]
            answer = "".join(p["text"] for p in parts[steps[-1] if steps else 0 :] if p["type"] == "text")
            error = None
            if params.outcome == Outcome.STOPPED:
                error = "stopped before it finished"
            elif params.outcome == Outcome.FAILED:
                error = f"the sub-agent failed: {params.error}"
            output = {
                "answer": answer,
                "steps": params.steps,
                "description": call.input.get("description"),
            }
            await conn.execute(
                _SAVE_CALL,
                keys
                | {
                    "status": ToolCallStatus.FAILED if error else ToolCallStatus.COMPLETED,
                    "output": None if error else json.dumps(output),
                    "error": error,
                },
            )
            assert turn.agent_call_id is not None  # a sub-agent's turn always works for a `task` call
            await append_chunks(conn, turn.parent_turn_id, [chunks.tool_result(turn.agent_call_id, output, error)])
            await conn.execute(
                _CLOSE_TURN,
                {
                    "turn_id": turn.turn_id,
                    "status": params.outcome.value,
                    "steps": params.steps,
                    "error": json.dumps({"message": params.error}) if params.error else None,
                },
            )
        return ToolCallResult(ok=error is None)
