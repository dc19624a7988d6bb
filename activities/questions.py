"""Opening and closing a question to the user. While it is open the turn waits in its workflow, holding no
worker; the answer is saved by the API (first answer wins) and the workflow is signalled."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from temporalio import activity

from activities.tools.questions import QuestionInput, parse_question
from models.enums import ToolCallStatus
from models.names import CLOSE_QUESTION, OPEN_QUESTION
from models.settings import Settings
from models.turns import QuestionOpened, ToolCallInput, ToolCallResult
from turnlog import chunks
from turnlog.append import append_chunks
from turnlog.lock_order import lock_turn

_LOCK = text(
    "SELECT status, input, error_text FROM tool_calls WHERE turn_id = :turn_id AND tool_call_id = :call FOR UPDATE"
)
_SET_CALL = text(
    """
    UPDATE tool_calls SET status = :status, error_text = :error,
        finished_at = CASE WHEN :status = 'failed' THEN now() ELSE finished_at END
    WHERE turn_id = :turn_id AND tool_call_id = :call
    """
)
_SET_TURN = text("UPDATE turns SET status = :status WHERE id = :turn_id AND status IN ('running', 'waiting')")


class QuestionActivities:
    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings

    @activity.defn(name=OPEN_QUESTION)
    async def open_question(self, params: ToolCallInput) -> QuestionOpened:
        """Marks the question waiting (visible to every device); an invalid one fails at once instead."""
        keys = {"turn_id": params.turn_id, "call": params.tool_call_id}
        async with self._engine.begin() as conn:
            row = await _lock_question(conn, params)
            if row.status != ToolCallStatus.PENDING:
                return QuestionOpened(waiting=row.status == ToolCallStatus.WAITING, timeout_s=self._cap(row.input))
            question = parse_question(row.input) if not row.error_text else str(row.error_text)
            if isinstance(question, str):
                await _fail(conn, params, question)
                return QuestionOpened(waiting=False)
            await conn.execute(_SET_CALL, keys | {"status": ToolCallStatus.WAITING.value, "error": None})
            await conn.execute(_SET_TURN, {"turn_id": params.turn_id, "status": "waiting"})
        return QuestionOpened(waiting=True, timeout_s=self._cap(row.input))

    @activity.defn(name=CLOSE_QUESTION)
    async def close_question(self, params: ToolCallInput) -> ToolCallResult:
        """After the answer (or the timeout): a question still unanswered fails with a clear error for the model."""
        async with self._engine.begin() as conn:
            row = await _lock_question(conn, params)
            if row.status == ToolCallStatus.WAITING:
                await _fail(conn, params, "the user did not answer in time; go on without the answer")
            await conn.execute(_SET_TURN, {"turn_id": params.turn_id, "status": "running"})
        return ToolCallResult(ok=row.status == ToolCallStatus.COMPLETED)

    def _cap(self, raw: dict[str, Any]) -> float:
        question = parse_question(raw)
        asked = question.timeout_s if isinstance(question, QuestionInput) and question.timeout_s else None
        return min(float(asked), self._settings.question_timeout_s) if asked else self._settings.question_timeout_s


async def _lock_question(conn: AsyncConnection, params: ToolCallInput) -> Any:
    """The question's tool call row, locked after its turn: the order the API's answer takes too."""
    await lock_turn(conn, params.turn_id)
    return (await conn.execute(_LOCK, {"turn_id": params.turn_id, "call": params.tool_call_id})).one()


async def _fail(conn: AsyncConnection, params: ToolCallInput, error: str) -> None:
    keys = {"turn_id": params.turn_id, "call": params.tool_call_id}
    await conn.execute(_SET_CALL, keys | {"status": ToolCallStatus.FAILED.value, "error": error})
    await append_chunks(conn, params.turn_id, [chunks.tool_output_error(params.tool_call_id, error)])
