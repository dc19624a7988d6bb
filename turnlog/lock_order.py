"""The one order in which transactions lock rows, so that no two can each hold a row the other waits for:

    chats → sessions → turns (a parent turn before its sub-agents') → chat_messages → tool_calls

A transaction that changes rows of several of these tables locks them in this order (skipping any it does not
need). Appending to a turn's stream log updates the turn row (its seq counter), so it takes the turn's lock: a
transaction that appends and then changes a tool call follows the order; one that changed the tool call first
would not. No transaction stays open across a network wait or while a response streams, and an early return ends
its transaction like any other.

Locks are taken FOR NO KEY UPDATE, the strength a plain UPDATE takes: no key ever changes, and the KEY SHARE locks
that inserting a referencing row takes (a usage event's chat and session, a stream event's turn) do not wait for it.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_TURN_IDS = text("SELECT chat_id, session_id FROM turns WHERE id = :turn_id")
_LOCK_CHAT = text("SELECT 1 FROM chats WHERE id = :chat_id FOR NO KEY UPDATE")
_LOCK_SESSION = text("SELECT 1 FROM sessions WHERE id = :session_id FOR NO KEY UPDATE")
_LOCK_TURN = text(
    """
    SELECT id, chat_id, session_id, number, workflow_id, status, assistant_message_id, client_snapshot FROM turns
    WHERE id = :turn_id FOR NO KEY UPDATE
    """
)


async def lock_turn(conn: AsyncConnection, turn_id: uuid.UUID | str) -> Any:
    """The turn's row, locked; None when there is no such turn. Take chat and session locks first, if any."""
    return (await conn.execute(_LOCK_TURN, {"turn_id": str(turn_id)})).one_or_none()


async def lock_turn_with_chat(conn: AsyncConnection, turn_id: uuid.UUID | str) -> Any:
    """The chat, session and turn rows of a turn, locked in order (a turn never moves to another chat or session,
    so reading its ids before locking is safe); returns the turn's row."""
    ids = (await conn.execute(_TURN_IDS, {"turn_id": str(turn_id)})).one_or_none()
    if ids is None:
        return None
    await conn.execute(_LOCK_CHAT, {"chat_id": ids.chat_id})
    await conn.execute(_LOCK_SESSION, {"session_id": ids.session_id})
    return await lock_turn(conn, turn_id)
