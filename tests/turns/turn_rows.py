"""A chat whose turn holds the slot with no workflow behind it, written straight into the database, and a look at
which connections wait on row locks: for racing transactions against each other in a chosen order."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from models.enums import MessageRole, MessageStatus, ToolCallStatus, TurnStatus
from models.tables import Chat, ChatMessage, Session, ToolCall, Turn
from models.turns import ASK_USER_QUESTION_TOOL, turn_workflow_id
from tests.conftest import Tenant
from tests.polling import wait_until
from tests.turns.helpers import QUESTION, new_chat_id
from turnlog import chunks
from turnlog.append import append_chunks

_LOCK_WAITERS = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


@dataclass(frozen=True)
class SeededTurn:
    chat_id: str
    session_id: uuid.UUID
    turn_id: uuid.UUID
    assistant_id: str
    call_id: str | None


async def seed_turn(
    db_sessions: async_sessionmaker[AsyncSession], tenant: Tenant, *, question: bool = False
) -> SeededTurn:
    """A running turn (waiting on a question, with `question`) that holds its chat's slot."""
    chat_id = new_chat_id()
    async with db_sessions.begin() as db:
        session = Session(account_id=tenant.account_id)
        db.add(session)
        await db.flush()
        db.add(Chat(id=chat_id, session_id=session.id, account_id=tenant.account_id, last_seq=2))
        await db.flush()
        status = TurnStatus.WAITING if question else TurnStatus.RUNNING
        turn = Turn(
            chat_id=chat_id,
            session_id=session.id,
            account_id=tenant.account_id,
            number=1,
            workflow_id=turn_workflow_id(chat_id, 1),
            status=status.value,
            model_id="claude-sonnet-4-6",
            user_message_id="u1",
            assistant_message_id="a1",
            attempts=1,
        )
        db.add(turn)
        await db.flush()
        parts = [{"type": "text", "text": "hello"}]
        db.add(ChatMessage(chat_id=chat_id, id="u1", seq=1, role=MessageRole.USER.value, parts=parts, turn_id=turn.id))
        db.add(
            ChatMessage(
                chat_id=chat_id,
                id="a1",
                seq=2,
                role=MessageRole.ASSISTANT.value,
                parts=[],
                status=MessageStatus.STREAMING.value,
                turn_id=turn.id,
            )
        )
        call_id = f"toolu_{uuid.uuid4().hex[:12]}" if question else None
        if call_id is not None:
            db.add(
                ToolCall(
                    turn_id=turn.id,
                    tool_call_id=call_id,
                    step=1,
                    tool_name=ASK_USER_QUESTION_TOOL,
                    input=QUESTION,
                    status=ToolCallStatus.WAITING.value,
                )
            )
        await db.flush()
        await db.execute(text("UPDATE chats SET active_turn_id = :t WHERE id = :c"), {"t": turn.id, "c": chat_id})
        logged = [chunks.start("a1", {"turnId": str(turn.id)}), chunks.start_step()]
        if call_id is not None:
            logged.append(chunks.tool_input_available(call_id, ASK_USER_QUESTION_TOOL, QUESTION))
        await append_chunks(await db.connection(), turn.id, logged)
    return SeededTurn(chat_id, session.id, turn.id, "a1", call_id)


async def lock_waiters(engine: AsyncEngine) -> int:
    """Connections of this database waiting for a lock right now."""
    async with engine.connect() as conn:
        return int((await conn.execute(_LOCK_WAITERS)).scalar_one())


async def wait_for_lock_waiters(engine: AsyncEngine, count: int, what: str) -> None:
    """Until at least `count` connections wait for a lock."""

    async def waiting() -> bool:
        return await lock_waiters(engine) >= count

    await wait_until(waiting, what)
