"""The `chat-sessions` shape: conversations and their messages, plus a deprecated `chat_sessions` table that
tracked each conversation's trip and RFQ. A chat session becomes a turnflow session of the same id whose
external refs carry the trip, RFP, RFQ and request ids, so `external_ref=trip_id:…` finds it; its conversation
becomes the session's chat (id kept), the conversation's messages its messages (ids kept). A conversation with no
chat session gets a session of its own (uuidv5 of the conversation id)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import datetime
from functools import partial
from typing import Any

from models.enums import SessionStatus, SessionType
from turnflow.importing.identity import derived_session_id
from turnflow.importing.legacy_messages import text_message
from turnflow.importing.records import ImportedSession, Skip, SourceBatch, SourceChat
from turnflow.importing.source_tables import DatabaseSource

# The source's status words that mean one of turnflow's; any other valid turnflow status is kept as it is.
STATUS_MAP = {"completed": SessionStatus.RESOLVED.value, "archived": SessionStatus.ARCHIVED.value}
_VALID_STATUSES = frozenset(s.value for s in SessionStatus)
# Source column → external ref key.
_REFS = {
    "avinode_trip_id": "trip_id",
    "avinode_rfp_id": "rfp_id",
    "avinode_rfq_id": "rfq_id",
    "request_id": "request_id",
    "current_step": "current_step",
}

_CHANGED = """($2::timestamptz IS NULL OR c.created_at >= $2
    OR EXISTS (SELECT 1 FROM conversation_messages m WHERE m.conversation_id = c.id AND m.created_at >= $2)
    OR EXISTS (SELECT 1 FROM chat_sessions s WHERE s.conversation_id = c.id AND s.last_activity_at >= $2))"""
_CONVERSATIONS = f"""
    SELECT c.id::text AS id, c.account_id::text AS account_id, c.subject, c.created_at
    FROM conversations c WHERE ($1::uuid IS NULL OR c.id > $1) AND {_CHANGED} ORDER BY c.id LIMIT $3
"""
_COUNT = f"SELECT count(*) FROM conversations c WHERE {_CHANGED.replace('$2', '$1')}"
_MESSAGES = """
    SELECT id::text AS id, conversation_id::text AS conversation_id, role, content, created_at
    FROM conversation_messages WHERE conversation_id = ANY($1::uuid[]) ORDER BY conversation_id, created_at, id
"""
_SESSIONS = """
    SELECT id, conversation_id::text AS conversation_id, request_id::text AS request_id, status, avinode_trip_id,
        avinode_rfp_id, avinode_rfq_id, current_step, last_activity_at
    FROM chat_sessions WHERE conversation_id = ANY($1::uuid[])
    ORDER BY conversation_id, last_activity_at DESC NULLS LAST, id
"""
_ORPHANS = """
    SELECT 'conversation_messages' AS source, m.id::text AS id, m.conversation_id::text AS conversation_id
    FROM conversation_messages m WHERE NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = m.conversation_id)
    UNION ALL
    SELECT 'chat_sessions', s.id::text, s.conversation_id::text
    FROM chat_sessions s WHERE NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = s.conversation_id)
    ORDER BY 1, 2
"""


class ChatSessionsSource(DatabaseSource):
    name = "chat-sessions"
    chat_table = "conversations"
    tables = ("conversations", "conversation_messages", "chat_sessions")
    count_sql = _COUNT

    async def batches(self) -> AsyncIterator[SourceBatch]:
        orphans = await self._conn.fetch(_ORPHANS)
        if orphans:
            yield SourceBatch(
                skipped=[
                    Skip("chat-missing", r["source"], r["id"], f"conversation {r['conversation_id']} does not exist")
                    for r in orphans
                ]
            )
        after = None
        while conversations := await self._conn.fetch(_CONVERSATIONS, after, self._since, self._page):
            after = conversations[-1]["id"]
            ids = [c["id"] for c in conversations]
            messages: dict[str, list[Any]] = defaultdict(list)
            for message in await self._conn.fetch(_MESSAGES, ids):
                messages[message["conversation_id"]].append(message)
            sessions: dict[str, list[Any]] = defaultdict(list)
            for session in await self._conn.fetch(_SESSIONS, ids):
                sessions[session["conversation_id"]].append(session)
            batch = SourceBatch()
            for conversation in conversations:
                batch.chats.append(_conversation_chat(conversation, sessions[conversation["id"]], messages, batch))
            yield batch


def _conversation_chat(
    conversation: Any, sessions: list[Any], messages: dict[str, list[Any]], batch: SourceBatch
) -> SourceChat:
    """The conversation's chat, in the session of its most recently active chat session; a conversation's other
    chat sessions are reported, since a chat belongs to one session."""
    chat_id = conversation["id"]
    own = messages[chat_id]
    last_message_at = own[-1]["created_at"] if own else conversation["created_at"]
    session, *others = sessions or [None]
    batch.skipped.extend(
        Skip("conversation-shared", "chat_sessions", str(o["id"]), f"conversation {chat_id} went to {session['id']}")
        for o in others
    )
    chat = SourceChat(
        id=chat_id,
        source_account_id=conversation["account_id"],
        session=_session(conversation, session, last_message_at, batch),
        title=conversation["subject"],
        created_at=conversation["created_at"],
        updated_at=last_message_at,
        messages=[],
    )
    for message in own:
        role, content = message["role"], message["content"]
        chat.take("conversation_messages", message["id"], message["created_at"], partial(text_message, role, content))
    return chat


def _session(conversation: Any, row: Any | None, last_message_at: datetime, batch: SourceBatch) -> ImportedSession:
    if row is None:
        return ImportedSession(
            id=derived_session_id(conversation["id"]),
            session_type=SessionType.CHAT.value,
            title=conversation["subject"],
            subject_id=None,
            created_at=conversation["created_at"],
            last_activity_at=last_message_at,
        )
    status = STATUS_MAP.get(row["status"], row["status"])
    if status not in _VALID_STATUSES:
        batch.adjusted.append(Skip("status-unknown", "chat_sessions", str(row["id"]), f"{row['status']!r} → active"))
        status = SessionStatus.ACTIVE.value
    refs = {key: str(row[column]) for column, key in _REFS.items() if row[column] not in (None, "")}
    return ImportedSession(
        id=row["id"],
        session_type=SessionType.CHAT.value,
        title=conversation["subject"],
        subject_id=None,
        created_at=conversation["created_at"],
        last_activity_at=max(filter(None, [row["last_activity_at"], last_message_at])),
        external_refs=refs,
        status=status,
    )
