"""Seeds messages straight into the database, as turns will, to test reading them back."""

from __future__ import annotations

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.tables import Chat, ChatMessage


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
