"""What an activity reads about its turn: the ids around it and the conversation so far."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.conversation import StoredMessage
from models.enums import FINAL_TURN_STATUSES, AgentType
from turnlog.assembly import assemble
from turnlog.reader import load_chunks


@dataclass(frozen=True)
class TurnContext:
    turn_id: uuid.UUID
    chat_id: str
    session_id: uuid.UUID
    account_id: uuid.UUID
    # A chat turn's answer and its place in the chat; none for a sub-agent's turn.
    assistant_message_id: str | None
    assistant_seq: int | None
    # A sub-agent's parent turn and the `task` call it works for.
    parent_turn_id: uuid.UUID | None
    agent_call_id: str | None
    # A stop was asked for (of this turn or its parent), or the turn has already ended (a workflow that started
    # after its send gave up on it): an activity starting now must not begin work.
    stop_requested: bool

    @property
    def accounting(self) -> tuple[uuid.UUID, AgentType, str | None]:
        """Whose usage a call is: a sub-agent's counts toward its parent turn, under the `task` call."""
        if self.parent_turn_id is None:
            return self.turn_id, AgentType.MAIN, None
        return self.parent_turn_id, AgentType.SUBAGENT, self.agent_call_id

    @property
    def watched_ids(self) -> list[str]:
        """The turns whose stop requests stop this turn's activities."""
        return [str(self.turn_id), *([str(self.parent_turn_id)] if self.parent_turn_id else [])]


_CONTEXT = text(
    """
    SELECT t.id, t.chat_id, t.session_id, t.account_id, t.assistant_message_id, m.seq AS assistant_seq,
        t.parent_turn_id, t.agent_call_id,
        (t.stop_requested_at IS NOT NULL OR p.stop_requested_at IS NOT NULL OR t.status IN :final) AS stop
    FROM turns t
    LEFT JOIN chat_messages m ON m.chat_id = t.chat_id AND m.id = t.assistant_message_id
    LEFT JOIN turns p ON p.id = t.parent_turn_id
    WHERE t.id = :turn_id
    """
).bindparams(bindparam("final", expanding=True))
_TASK_PROMPT = text("SELECT input FROM tool_calls WHERE turn_id = :parent AND tool_call_id = :call")

_HISTORY = text(
    """
    SELECT role, parts FROM chat_messages
    WHERE chat_id = :chat_id AND seq < :before AND jsonb_array_length(parts) > 0
    ORDER BY seq
    """
)


async def load_turn(conn: AsyncConnection, turn_id: str) -> TurnContext:
    row = (await conn.execute(_CONTEXT, {"turn_id": turn_id, "final": sorted(FINAL_TURN_STATUSES)})).one_or_none()
    if row is None:
        raise LookupError(f"turn {turn_id} has no row")
    return TurnContext(
        turn_id=row.id,
        chat_id=row.chat_id,
        session_id=row.session_id,
        account_id=row.account_id,
        assistant_message_id=row.assistant_message_id,
        assistant_seq=row.assistant_seq,
        parent_turn_id=row.parent_turn_id,
        agent_call_id=row.agent_call_id,
        stop_requested=bool(row.stop),
    )


def chunks_before_step(chunks: list[dict[str, Any]], step: int) -> list[dict[str, Any]]:
    """The log up to where `step` began: earlier steps and their tool results, without any attempt of `step`."""
    finished = 0
    for index, chunk in enumerate(chunks):
        kind = chunk.get("type")
        if kind == "finish-step":
            finished += 1
        elif kind == "start-step" and finished >= step - 1:
            return chunks[:index]
    return chunks


@dataclass(frozen=True)
class StepStart:
    """What a model step starts from: the conversation so far, and what earlier attempts of the step streamed."""

    history: list[StoredMessage]
    earlier_attempts: list[dict[str, Any]]


async def load_step_start(conn: AsyncConnection, turn: TurnContext, step: int) -> StepStart:
    """The chat before this turn's answer, then the answer's earlier steps and their tool results."""
    if turn.parent_turn_id is not None:
        task = (await conn.execute(_TASK_PROMPT, {"parent": turn.parent_turn_id, "call": turn.agent_call_id})).one()
        prompt = str(task.input.get("prompt") or task.input.get("description") or "")
        history = [StoredMessage(role="user", parts=[{"type": "text", "text": prompt}])]
    else:
        rows = await conn.execute(_HISTORY, {"chat_id": turn.chat_id, "before": turn.assistant_seq})
        history = [StoredMessage(role=row.role, parts=row.parts) for row in rows]
    chunks = await load_chunks(conn, turn.turn_id)
    before = chunks_before_step(chunks, step)
    so_far = assemble(before)
    if so_far.parts:
        history.append(StoredMessage(role="assistant", parts=so_far.parts))
    return StepStart(history=history, earlier_attempts=chunks[len(before) :])
