"""Seeds messages straight into the database, as turns will, to test reading them back."""

from __future__ import annotations

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.tables import Chat, ChatMessage, Turn, TurnEvent


async def append_messages(db_sessions: async_sessionmaker[AsyncSession], chat_id: str, roles: list[str]) -> list[int]:
    """Appends one text message per role, allocating seqs the way turns do; returns the seqs."""
    seqs: list[int] = []
    async with db_sessions.begin() as db:
        for role in roles:
            seq = await db.scalar(
                update(Chat)
                .where(Chat.id == chat_id)
                .values(last_seq=Chat.last_seq + 1, last_message_at=func.now())
                .returning(Chat.last_seq)
            )
            assert seq is not None
            db.add(
                ChatMessage(
                    chat_id=chat_id, id=f"m{seq}", seq=seq, role=role, parts=[{"type": "text", "text": f"#{seq}"}]
                )
            )
            seqs.append(seq)
    return seqs


async def add_turn(db_sessions: async_sessionmaker[AsyncSession], chat_id: str) -> str:
    """A finished turn row with a one-event log, as a worker leaves it."""
    async with db_sessions.begin() as db:
        chat = await db.get(Chat, chat_id)
        assert chat is not None
        turn = Turn(
            chat_id=chat.id,
            session_id=chat.session_id,
            account_id=chat.account_id,
            number=1,
            workflow_id=f"turn:{chat.id}:1",
            status="completed",
            last_event_seq=1,
        )
        db.add(turn)
        await db.flush()
        db.add(TurnEvent(turn_id=turn.id, seq=1, payload={"type": "finish"}))
    return str(turn.id)
