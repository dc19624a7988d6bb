"""What a caller may see: an API key sees its whole account; a browser token only its subject's sessions, and
within them the one session or chat it was minted for. Every route asks here, so a row outside the caller's view
answers exactly as an unknown id would (404)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, select, true

from api.dependencies import Caller
from models.tables import Chat, Session, Turn, UsageEvent


def narrowed(caller: Caller) -> bool:
    """The caller sees less than its whole account (a browser token)."""
    return caller.is_browser or caller.session_scope is not None or caller.chat_scope is not None


def visible_sessions(caller: Caller) -> ColumnElement[bool]:
    conditions = [Session.account_id == caller.account_id]
    if caller.is_browser:
        conditions.append(Session.owner_subject == caller.subject)
    if caller.session_scope is not None:
        conditions.append(Session.id == caller.session_scope)
    if caller.chat_scope is not None:
        conditions.append(Session.id.in_(select(Chat.session_id).where(Chat.id == caller.chat_scope)))
    return and_(*conditions)


def visible_chats(caller: Caller) -> ColumnElement[bool]:
    conditions = [Chat.account_id == caller.account_id]
    if narrowed(caller):
        conditions.append(Chat.session_id.in_(select(Session.id).where(visible_sessions(caller))))
    if caller.chat_scope is not None:
        conditions.append(Chat.id == caller.chat_scope)
    return and_(*conditions)


def visible_turns(caller: Caller) -> ColumnElement[bool]:
    in_view = Turn.chat_id.in_(select(Chat.id).where(visible_chats(caller))) if narrowed(caller) else true()
    return and_(Turn.account_id == caller.account_id, in_view)


def visible_usage(caller: Caller) -> ColumnElement[bool]:
    in_view = (
        UsageEvent.session_id.in_(select(Session.id).where(visible_sessions(caller))) if narrowed(caller) else true()
    )
    chat = UsageEvent.chat_id == caller.chat_scope if caller.chat_scope is not None else true()
    return and_(UsageEvent.account_id == caller.account_id, in_view, chat)
