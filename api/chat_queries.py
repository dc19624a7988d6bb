"""Chat rows with unread counts for one reader, shared by the list and the detail routes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.dependencies import Caller
from api.ownership import visible_chats
from api.problems import not_found
from models.enums import MessageRole
from models.tables import Chat, ChatMessage, ChatRead, Session


def chat_rows(caller: Caller) -> Select[Any]:
    last_read = (
        select(ChatRead.last_read_seq)
        .where(ChatRead.chat_id == Chat.id, ChatRead.reader_id == caller.reader_id)
        # Nested in the unread count below, it must still refer to the listed chat, not a chats table of its own.
        .correlate(Chat)
        .scalar_subquery()
    )
    read_through = func.greatest(func.coalesce(last_read, 0), Chat.history_read_seq)
    unread = (
        select(func.count())
        .select_from(ChatMessage)
        .where(
            ChatMessage.chat_id == Chat.id,
            ChatMessage.role == MessageRole.ASSISTANT.value,
            ChatMessage.seq > read_through,
        )
        .scalar_subquery()
    )
    messages = select(func.count()).select_from(ChatMessage).where(ChatMessage.chat_id == Chat.id).scalar_subquery()
    return (
        select(
            Chat,
            Session.subject_id,
            Session.title.label("session_title"),
            Session.status.label("session_status"),
            unread.label("unread_count"),
            messages.label("message_count"),
            read_through.label("last_read_seq"),
        )
        .join(Session, and_(Session.id == Chat.session_id))
        .where(visible_chats(caller))
    )


def row_fields(row: Any) -> dict[str, Any]:
    """The fields of ChatRow/ChatOut from one `chat_rows` result row."""
    chat: Chat = row.Chat
    return {
        "id": chat.id,
        # A chat without a title of its own shows its session's (generated after the first exchange).
        "title": chat.title or row.session_title,
        "session_id": chat.session_id,
        "subject_id": row.subject_id,
        "updated_at": chat.updated_at,
        "unread_count": row.unread_count,
        "active_turn_id": chat.active_turn_id,
        "model_id": chat.model_id,
        "message_count": row.message_count,
        "last_read_seq": row.last_read_seq,
        "last_message_at": chat.last_message_at,
        "created_at": chat.created_at,
    }


async def load_chat_row(db: AsyncSession, caller: Caller, chat_id: str) -> Any:
    row = (await db.execute(chat_rows(caller).where(Chat.id == chat_id))).one_or_none()
    if row is None:
        raise not_found("chat", chat_id, "chat_id")
    return row
