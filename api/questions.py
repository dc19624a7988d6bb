"""Answers to the agent's questions: saved at once (first answer wins), streamed, then the turn is woken."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError

from api.problems import ProblemError
from models.chat_schemas import PendingQuestion
from models.enums import ToolCallStatus, TurnStatus
from models.names import QUESTION_ANSWERED_SIGNAL
from models.tables import ToolCall, Turn, TurnEvent
from models.turns import ASK_USER_QUESTION_TOOL
from turnlog import chunks
from turnlog.append import append_chunks

_log = logging.getLogger("turnflow.api.questions")


async def pending_question(db: AsyncSession, turn_id: uuid.UUID) -> PendingQuestion | None:
    """The question the turn waits on, if any, for every device to show."""
    call = await db.scalar(
        select(ToolCall)
        .where(
            ToolCall.turn_id == turn_id,
            ToolCall.tool_name == ASK_USER_QUESTION_TOOL,
            ToolCall.status == ToolCallStatus.WAITING.value,
        )
        .order_by(ToolCall.created_at)
        .limit(1)
    )
    if call is None:
        return None
    return PendingQuestion(
        turn_id=turn_id,
        tool_call_id=call.tool_call_id,
        question=str(call.input.get("question", "")),
        options=call.input.get("options"),
        multi_select=bool(call.input.get("multi_select", False)),
    )


def _checked(call: ToolCall, answer: Any) -> str | list[str]:
    if isinstance(answer, dict) and "answer" in answer:
        answer = answer["answer"]  # an AI SDK client's addToolOutput may wrap it
    if not (isinstance(answer, str) and answer.strip()) and not (
        isinstance(answer, list) and answer and all(isinstance(a, str) and a.strip() for a in answer)
    ):
        raise ProblemError(422, "validation-error", "the answer is text or a list of options", field="answer")
    options = call.input.get("options")
    chosen = answer if isinstance(answer, list) else [answer]
    if isinstance(answer, list) and not call.input.get("multi_select"):
        raise ProblemError(422, "validation-error", "this question takes one answer", field="answer")
    if options and isinstance(answer, list) and any(a not in options for a in chosen):
        raise ProblemError(422, "validation-error", f"choose among {options}", field="answer")
    return answer


async def save_answer(db: AsyncSession, turn: Turn, tool_call_id: str, answer: Any) -> int:
    """Commits the answer and its stream event (returning its seq), or answers 409 for an unknown, stale or
    repeated question, or one of a turn that has ended."""
    await db.refresh(turn, with_for_update=True)
    if turn.status not in (TurnStatus.WAITING, TurnStatus.RUNNING):
        raise ProblemError(409, "question-closed", f"the turn is {turn.status}; it waits for no answer", field="turnId")
    call = await db.scalar(
        select(ToolCall).where(ToolCall.turn_id == turn.id, ToolCall.tool_call_id == tool_call_id).with_for_update()
    )
    if call is None or call.tool_name != ASK_USER_QUESTION_TOOL:
        raise ProblemError(
            409, "unknown-question", f"turn {turn.id} asked no question {tool_call_id}", field="toolCallId"
        )
    if call.status != ToolCallStatus.WAITING:
        raise ProblemError(
            409, "question-closed", "this question was already answered or is no longer waiting", field="toolCallId"
        )
    output = {"answer": _checked(call, answer)}
    call.status, call.output = ToolCallStatus.COMPLETED.value, output
    await db.execute(update(Turn).where(Turn.id == turn.id).values(status=TurnStatus.RUNNING.value))
    connection = await db.connection()
    seq = await append_chunks(connection, turn.id, [chunks.tool_output(tool_call_id, output)])
    await db.commit()
    return seq


async def wake_turn(temporal: Client, turn: Turn, tool_call_id: str) -> None:
    """Tells the waiting workflow; idempotent, so a client retrying after a failed wake-up can send it again."""
    try:
        await temporal.get_workflow_handle(turn.workflow_id).signal(QUESTION_ANSWERED_SIGNAL, tool_call_id)
    except RPCError as exc:
        _log.warning("turn %s: answer to %s saved, wake-up failed: %s", turn.id, tool_call_id, exc)
        raise ProblemError(
            503, "temporal-unavailable", "the answer is saved but the turn was not woken; send the same answer again"
        ) from exc


async def answer_seq(db: AsyncSession, turn_id: uuid.UUID, tool_call_id: str) -> int:
    """Where the saved answer sits in the turn's stream, so a retried answer streams what came after it."""
    seq = await db.scalar(
        select(func.min(TurnEvent.seq)).where(
            TurnEvent.turn_id == turn_id,
            TurnEvent.payload["type"].astext == "tool-output-available",
            TurnEvent.payload["toolCallId"].astext == tool_call_id,
        )
    )
    return int(seq or 0)


async def answered_but_waiting(db: AsyncSession, turn: Turn, tool_call_id: str) -> bool:
    """An answer saved whose wake-up may have been lost: the turn still runs and the question is answered."""
    status = await db.scalar(
        select(ToolCall.status).where(ToolCall.turn_id == turn.id, ToolCall.tool_call_id == tool_call_id)
    )
    return status == ToolCallStatus.COMPLETED and turn.status in (TurnStatus.WAITING, TurnStatus.RUNNING)
