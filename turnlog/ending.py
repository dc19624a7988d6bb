"""Ending a turn, whoever ends it (its workflow, a send whose workflow could not start, a stop or the reconciler
finding it has no workflow): the stream closed, the message saved as the client assembled it, usage rolled up, open
tool calls closed and the chat's slot handed to the next queued turn, in one transaction."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from temporalio.client import Client
from temporalio.service import RPCError

from models.enums import FINAL_TURN_STATUSES, MessageStatus, Outcome
from models.names import SLOT_GRANTED_SIGNAL
from models.turns import turn_workflow_id
from turnlog import chunks
from turnlog.append import append_chunks
from turnlog.assembly import assemble, closing_chunks, unfinished_tool_chunks
from turnlog.lock_order import lock_turn_with_chat
from turnlog.reader import load_chunks

_log = logging.getLogger("turnflow.turnlog.ending")
_MESSAGE_STATUS = {
    Outcome.COMPLETED: MessageStatus.COMPLETE,
    Outcome.STOPPED: MessageStatus.STOPPED,
    Outcome.FAILED: MessageStatus.FAILED,
}
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
# The slot goes to the oldest queued turn of the chat, or is freed; the chat row is already locked, so no send
# can slip in between.
_RELEASE_SLOT = text(
    """
    WITH next AS (
        SELECT id, number FROM turns
        WHERE chat_id = :chat_id AND status = 'queued' AND stop_requested_at IS NULL ORDER BY number LIMIT 1
    )
    UPDATE chats SET active_turn_id = (SELECT id FROM next), updated_at = now(), last_message_at = now()
    WHERE id = :chat_id AND active_turn_id = :turn_id
    RETURNING (SELECT number FROM next) AS next_number
    """
)
_QUEUED_OWNER = text(
    """
    SELECT t.number FROM chats c JOIN turns t ON t.id = c.active_turn_id
    WHERE c.id = :chat_id AND t.status = 'queued'
    """
)


@dataclass(frozen=True)
class TurnEnding:
    session_id: str
    # False when the turn had already ended: nothing was written.
    ended_now: bool
    # The queued turn that holds the chat's slot now, to be told so.
    next_workflow_id: str | None = None
    needs_summary: bool = False


async def end_turn(
    conn: AsyncConnection,
    turn_id: uuid.UUID | str,
    outcome: Outcome,
    *,
    error: str | None = None,
    finish_reason: str | None = None,
    steps: int = 0,
) -> TurnEnding | None:
    """Within the caller's transaction; idempotent: a turn already ended is left as it is. None: no such turn."""
    turn = await lock_turn_with_chat(conn, turn_id)
    if turn is None:
        return None
    if turn.status in FINAL_TURN_STATUSES:
        number = (await conn.execute(_QUEUED_OWNER, {"chat_id": turn.chat_id})).scalar_one_or_none()
        return TurnEnding(str(turn.session_id), False, _workflow_of(turn.chat_id, number))
    await _save_message(conn, turn, outcome, error)
    needs_summary = (
        await conn.execute(_ROLL_UP_USAGE, {"turn_id": turn.id, "session_id": turn.session_id, "steps": steps})
    ).scalar_one()
    if outcome in _UNFINISHED_TOOL:
        await conn.execute(_CLOSE_OPEN_CALLS, {"turn_id": turn.id, "reason": _UNFINISHED_TOOL[outcome]})
    await conn.execute(
        _CLOSE_TURN,
        {
            "turn_id": turn.id,
            "status": outcome.value,
            "finish_reason": finish_reason,
            "error": json.dumps({"message": error}) if error else None,
            "steps": steps,
        },
    )
    released = (await conn.execute(_RELEASE_SLOT, {"chat_id": turn.chat_id, "turn_id": turn.id})).first()
    next_number = released.next_number if released is not None else None
    return TurnEnding(str(turn.session_id), True, _workflow_of(turn.chat_id, next_number), bool(needs_summary))


def _workflow_of(chat_id: str, number: int | None) -> str | None:
    return turn_workflow_id(chat_id, number) if number is not None else None


async def _save_message(conn: AsyncConnection, turn: Any, outcome: Outcome, error: str | None) -> None:
    logged = await load_chunks(conn, turn.id)
    so_far = assemble(logged)
    ending = closing_chunks(so_far)
    if outcome in _UNFINISHED_TOOL:
        ending += unfinished_tool_chunks(so_far, _UNFINISHED_TOOL[outcome])
    if outcome == Outcome.COMPLETED:
        ending.append(chunks.finish())
    elif outcome == Outcome.STOPPED:
        ending.append(chunks.abort())
    else:
        ending.append(chunks.error(error or "the turn failed"))
    await append_chunks(conn, turn.id, ending)
    message = assemble(logged + ending)
    parts = message.parts
    if outcome == Outcome.STOPPED and not _has_content(parts) and turn.client_snapshot:
        parts = turn.client_snapshot  # the server streamed nothing; keep what the client had
    await conn.execute(
        _SAVE_MESSAGE,
        {
            "chat_id": turn.chat_id,
            "message_id": turn.assistant_message_id,
            "parts": json.dumps(parts),
            "metadata": json.dumps(message.metadata) if message.metadata is not None else None,
            "status": _MESSAGE_STATUS[outcome],
        },
    )


def _has_content(parts: list[dict[str, Any]]) -> bool:
    return any(p["type"] != "step-start" and (p["type"] != "text" or p.get("text")) for p in parts)


async def hand_slot_on(temporal: Client, workflow_id: str) -> None:
    """Tells the queued turn that now holds the slot, from outside a workflow. Best effort: a turn not running yet
    claims the slot when it starts, and a waiting one re-checks its claim, so a lost signal only delays it."""
    try:
        await temporal.get_workflow_handle(workflow_id).signal(SLOT_GRANTED_SIGNAL)
    except RPCError as exc:
        _log.info("queued turn %s not told of its slot (it will find it itself): %s", workflow_id, exc)
