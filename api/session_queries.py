"""Session rows with the counts a sidebar shows, computed in one query per page."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.dependencies import Caller
from api.ownership import visible_sessions
from api.problems import ProblemError, not_found
from models.enums import MessageRole, SessionStatus, can_transition
from models.session_schemas import SessionOut
from models.tables import Chat, ChatMessage, ChatRead, Session


def session_rows(caller: Caller) -> Select[Any]:
    """Sessions of the caller's account, each with its message count and the reader's unread count."""
    message_count = (
        select(func.count())
        .select_from(ChatMessage)
        .join(Chat, Chat.id == ChatMessage.chat_id)
        .where(Chat.session_id == Session.id)
        .scalar_subquery()
    )
    unread_count = (
        select(func.count())
        .select_from(ChatMessage)
        .join(Chat, Chat.id == ChatMessage.chat_id)
        .outerjoin(ChatRead, and_(ChatRead.chat_id == Chat.id, ChatRead.reader_id == caller.reader_id))
        .where(
            Chat.session_id == Session.id,
            ChatMessage.role == MessageRole.ASSISTANT.value,
            ChatMessage.seq > func.greatest(func.coalesce(ChatRead.last_read_seq, 0), Chat.history_read_seq),
        )
        .scalar_subquery()
    )
    return select(Session, message_count.label("message_count"), unread_count.label("unread_count")).where(
        visible_sessions(caller)
    )


def to_session_out(session: Session, message_count: int = 0, unread_count: int = 0) -> SessionOut:
    out = SessionOut.model_validate(session, from_attributes=True)
    return out.model_copy(update={"message_count": message_count, "unread_count": unread_count})


async def load_session_out(db: AsyncSession, caller: Caller, session_id: uuid.UUID) -> SessionOut:
    row = (await db.execute(session_rows(caller).where(Session.id == session_id))).one_or_none()
    if row is None:
        raise not_found("session", session_id, "session_id")
    return to_session_out(row.Session, row.message_count, row.unread_count)


def reject_archived(status: str, field: str = "session_id") -> None:
    """Archived answers alike for every change, so a client knows to unarchive rather than try another action."""
    if status == SessionStatus.ARCHIVED:
        raise ProblemError(
            409, "session-archived", "unarchive the session first (POST /sessions/{id}/unarchive)", field=field
        )


def check_transition(status: str, target: SessionStatus) -> None:
    """The one status check of every path that moves a session (PATCH and the lifecycle actions)."""
    reject_archived(status)
    if not can_transition(SessionStatus(status), target):
        raise ProblemError(409, "invalid-transition", f"a {status} session cannot become {target}", field="status")


async def lock_session(db: AsyncSession, caller: Caller, session_id: uuid.UUID) -> Session:
    """The session row, locked for a status change so two changes cannot interleave."""
    session = (
        await db.execute(select(Session).where(Session.id == session_id, visible_sessions(caller)).with_for_update())
    ).scalar_one_or_none()
    if session is None:
        raise not_found("session", session_id, "session_id")
    return session
