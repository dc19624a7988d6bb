"""The turn's rows: marked running, its slot claimed or handed on, its message persisted when it ends."""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from temporalio import activity
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from models.enums import FINAL_TURN_STATUSES, MessageStatus, Outcome
from models.names import (
    BEGIN_TURN,
    CLAIM_QUEUED_SLOT,
    FINISH_TURN,
    HOUSEKEEPING_KIND,
    SANDBOX_KIND,
    SANDBOX_LIFECYCLE_WORKFLOW,
    SESSION_SUMMARY_WORKFLOW,
    TURN_FINISHED_SIGNAL,
    TURN_STARTED_SIGNAL,
)
from models.sandboxes import SandboxLifecycleInput, sandbox_workflow_id
from models.search_attributes import start_attributes
from models.session_summary import SessionSummaryInput, session_summary_workflow_id
from models.settings import Settings
from models.turns import FinishTurnInput, FinishTurnResult, TurnRef, turn_workflow_id
from turnlog import chunks
from turnlog.append import append_chunks
from turnlog.assembly import assemble, closing_chunks, unfinished_tool_chunks
from turnlog.control import signal_sandbox
from turnlog.reader import load_chunks

_log = logging.getLogger("turnflow.turn_records")
_MESSAGE_STATUS = {
    Outcome.COMPLETED: MessageStatus.COMPLETE,
    Outcome.STOPPED: MessageStatus.STOPPED,
    Outcome.FAILED: MessageStatus.FAILED,
}

_BEGIN = text(
    """
    WITH t AS (
        UPDATE turns SET status = 'running', attempts = attempts + 1, started_at = COALESCE(started_at, now())
        WHERE id = :turn_id AND status IN ('queued', 'running')
        RETURNING session_id, attempts
    )
    UPDATE sessions s SET last_activity_at = now(), turn_count = turn_count + CASE WHEN t.attempts = 1 THEN 1 ELSE 0 END
    FROM t WHERE s.id = t.session_id
    RETURNING s.id
    """
)
_OWNS_SLOT = text(
    "SELECT 1 FROM turns t JOIN chats c ON c.id = t.chat_id WHERE t.id = :turn_id AND c.active_turn_id = t.id"
)
_LOCK_TURN = text(
    """
    SELECT id, chat_id, session_id, status, assistant_message_id, client_snapshot FROM turns
    WHERE id = :turn_id FOR UPDATE
    """
)
_UNFINISHED_TOOL = {
    Outcome.STOPPED: "stopped before it finished",
    Outcome.FAILED: "the turn failed before this tool finished",
}
_SAVE_MESSAGE = text(
    """
    UPDATE chat_messages SET parts = CAST(:parts AS jsonb), metadata = CAST(:metadata AS jsonb), status = :status,
        updated_at = now()
    WHERE chat_id = :chat_id AND id = :message_id
    """
)
_ROLL_UP_USAGE = text(
    """
    WITH u AS (
        SELECT COALESCE(sum(input_tokens), 0) AS i, COALESCE(sum(output_tokens), 0) AS o,
               COALESCE(sum(cache_write_tokens), 0) AS w, COALESCE(sum(cache_read_tokens), 0) AS r
        FROM usage_events WHERE turn_id = :turn_id
    )
    UPDATE sessions SET input_tokens = input_tokens + u.i, output_tokens = output_tokens + u.o,
        cache_write_tokens = cache_write_tokens + u.w, cache_read_tokens = cache_read_tokens + u.r,
        step_count = step_count + :steps, last_activity_at = now()
    FROM u WHERE sessions.id = :session_id
    RETURNING (sessions.title IS NULL OR sessions.problem_domain IS NULL) AS needs_summary
    """
)
# A turn that ends leaves no tool call open: no late answer or retried tool can act on it afterwards.
_CLOSE_OPEN_CALLS = text(
    """
    UPDATE tool_calls SET status = 'failed', error_text = :reason, finished_at = now()
    WHERE turn_id = :turn_id AND status IN ('pending', 'waiting', 'running')
    """
)
_CLOSE_TURN = text(
    """
    UPDATE turns SET status = :status, finished_at = now(), finish_reason = :finish_reason,
        error = CAST(:error AS jsonb), step_count = GREATEST(step_count, :steps)
    WHERE id = :turn_id
    """
)
# The slot goes to the oldest queued turn of the chat, or is freed. Chat row locked: no send can slip in between.
_RELEASE_SLOT = text(
    """
    WITH chat AS (SELECT id FROM chats WHERE id = :chat_id AND active_turn_id = :turn_id FOR UPDATE),
    next AS (
        SELECT t.id, t.number FROM turns t, chat
        WHERE t.chat_id = chat.id AND t.status = 'queued' AND t.stop_requested_at IS NULL ORDER BY t.number LIMIT 1
    )
    UPDATE chats SET active_turn_id = (SELECT id FROM next), updated_at = now(), last_message_at = now()
    FROM chat WHERE chats.id = chat.id
    RETURNING (SELECT number FROM next) AS next_number
    """
)
_QUEUED_OWNER = text(
    """
    SELECT t.number FROM chats c JOIN turns t ON t.id = c.active_turn_id
    WHERE c.id = :chat_id AND t.status = 'queued'
    """
)


class TurnRecordActivities:
    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings

    @activity.defn(name=BEGIN_TURN)
    async def begin_turn(self, params: TurnRef) -> None:
        """Marks the turn running and tells the session's sandbox lifecycle a turn needs it (starting it if new)."""
        async with self._engine.begin() as conn:
            session_id = (await conn.execute(_BEGIN, {"turn_id": params.turn_id})).scalar_one_or_none()
        if session_id is None:
            return  # already finished (stopped while queued)
        await activity.client().start_workflow(
            SANDBOX_LIFECYCLE_WORKFLOW,
            SandboxLifecycleInput(str(session_id), self._settings.sandbox_idle_hibernate_s),
            id=sandbox_workflow_id(str(session_id)),
            task_queue=activity.info().task_queue,
            start_signal=TURN_STARTED_SIGNAL,
            start_signal_args=[params.turn_id],
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"sandbox of session {session_id}",
            search_attributes=start_attributes(SANDBOX_KIND, session_id=str(session_id)),
        )

    @activity.defn(name=CLAIM_QUEUED_SLOT)
    async def claim_queued_slot(self, params: TurnRef) -> bool:
        """True when the chat's slot already belongs to this queued turn."""
        async with self._engine.connect() as conn:
            return (await conn.execute(_OWNS_SLOT, {"turn_id": params.turn_id})).first() is not None

    @activity.defn(name=FINISH_TURN)
    async def finish_turn(self, params: FinishTurnInput) -> FinishTurnResult:
        """Ends the stream, persists the message as the client assembled it, rolls up usage, hands on the slot.

        Idempotent: a retry after a crash finds the turn final and only reports who holds the slot now.
        """
        async with self._engine.begin() as conn:
            turn = (await conn.execute(_LOCK_TURN, {"turn_id": params.turn_id})).one()
            if turn.status in FINAL_TURN_STATUSES:
                number = (await conn.execute(_QUEUED_OWNER, {"chat_id": turn.chat_id})).scalar_one_or_none()
                await signal_sandbox(activity.client(), str(turn.session_id), TURN_FINISHED_SIGNAL, str(turn.id))
                return FinishTurnResult(turn_workflow_id(turn.chat_id, number) if number is not None else None)
            await self._persist_message(conn, turn, params)
            needs_summary = (
                await conn.execute(
                    _ROLL_UP_USAGE, {"turn_id": turn.id, "session_id": turn.session_id, "steps": params.steps}
                )
            ).scalar_one()
            if params.outcome in _UNFINISHED_TOOL:
                await conn.execute(_CLOSE_OPEN_CALLS, {"turn_id": turn.id, "reason": _UNFINISHED_TOOL[params.outcome]})
            await conn.execute(
                _CLOSE_TURN,
                {
                    "turn_id": turn.id,
                    "status": params.outcome.value,
                    "finish_reason": params.finish_reason,
                    "error": json.dumps({"message": params.error}) if params.error else None,
                    "steps": params.steps,
                },
            )
            released = (await conn.execute(_RELEASE_SLOT, {"chat_id": turn.chat_id, "turn_id": turn.id})).first()
        await signal_sandbox(activity.client(), str(turn.session_id), TURN_FINISHED_SIGNAL, str(turn.id))
        if params.outcome == Outcome.COMPLETED and needs_summary:
            await _start_summary(str(turn.session_id))
        next_number = released.next_number if released is not None else None
        return FinishTurnResult(turn_workflow_id(turn.chat_id, next_number) if next_number is not None else None)

    async def _persist_message(self, conn: AsyncConnection, turn: Any, params: FinishTurnInput) -> None:
        logged = await load_chunks(conn, turn.id)
        so_far = assemble(logged)
        ending = closing_chunks(so_far)
        if params.outcome in _UNFINISHED_TOOL:
            ending += unfinished_tool_chunks(so_far, _UNFINISHED_TOOL[params.outcome])
        if params.outcome == Outcome.COMPLETED:
            ending.append(chunks.finish())
        elif params.outcome == Outcome.STOPPED:
            ending.append(chunks.abort())
        else:
            ending.append(chunks.error(params.error or "the turn failed"))
        await append_chunks(conn, turn.id, ending)
        message = assemble(logged + ending)
        parts = message.parts
        if params.outcome == Outcome.STOPPED and not _has_content(parts) and turn.client_snapshot:
            parts = turn.client_snapshot  # the server streamed nothing; keep what the client had
        await conn.execute(
            _SAVE_MESSAGE,
            {
                "chat_id": turn.chat_id,
                "message_id": turn.assistant_message_id,
                "parts": json.dumps(parts),
                "metadata": json.dumps(message.metadata) if message.metadata is not None else None,
                "status": _MESSAGE_STATUS[params.outcome],
            },
        )


async def _start_summary(session_id: str) -> None:
    """Title and problem domain, written by their own workflow after the answer is out: never in the turn's way."""
    try:
        await activity.client().start_workflow(
            SESSION_SUMMARY_WORKFLOW,
            SessionSummaryInput(session_id),
            id=session_summary_workflow_id(session_id),
            task_queue=activity.info().task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"title and domain of session {session_id}",
            search_attributes=start_attributes(HOUSEKEEPING_KIND, session_id=session_id),
        )
    except RPCError as exc:
        _log.warning("session %s: title generation not started (the next turn tries again): %s", session_id, exc)


def _has_content(parts: list[dict[str, Any]]) -> bool:
    return any(p["type"] != "step-start" and (p["type"] != "text" or p.get("text")) for p in parts)
