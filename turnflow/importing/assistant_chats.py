"""The `assistant-chats` shape: free-form assistant chats whose messages are one JSONB array of `{role, content}`.
Each row becomes a `chat` session (id uuidv5 of the row id) with one chat of the row's id; a message's id is
uuidv5(chat id, its index in the array). The problem summary is left for the summary workflow to write."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from models.enums import SessionType
from turnflow.importing.identity import derived_session_id, indexed_message_id
from turnflow.importing.legacy_messages import MalformedMessage, convert_message, decode_stored
from turnflow.importing.records import ImportedSession, Skip, SourceBatch, SourceChat
from turnflow.importing.source_tables import DatabaseSource

_CHANGED = "($2::timestamptz IS NULL OR updated_at >= $2)"
_CHATS = f"""
    SELECT id::text AS id, account_id::text AS account_id, title, messages::text AS messages, created_at, updated_at
    FROM assistant_chats WHERE ($1::uuid IS NULL OR id > $1) AND {_CHANGED} ORDER BY id LIMIT $3
"""
_COUNT = f"SELECT count(*) FROM assistant_chats WHERE {_CHANGED.replace('$2', '$1')}"


class AssistantChatsSource(DatabaseSource):
    name = "assistant-chats"
    chat_table = "assistant_chats"
    tables = ("assistant_chats",)
    count_sql = _COUNT

    async def batches(self) -> AsyncIterator[SourceBatch]:
        after = None
        while rows := await self._conn.fetch(_CHATS, after, self._since, self._page):
            after = rows[-1]["id"]
            batch = SourceBatch()
            for row in rows:
                try:
                    messages = _message_array(row["messages"])
                except (MalformedMessage, json.JSONDecodeError) as exc:
                    batch.skipped.append(
                        Skip("malformed-content", self.chat_table, row["id"], str(exc), row["id"], True)
                    )
                    continue
                batch.chats.append(_assistant_chat(row, messages))
            yield batch


def _message_array(raw: str | None) -> list[Any]:
    value = decode_stored(raw)
    if not isinstance(value, list):
        raise MalformedMessage(f"`messages` is a JSON {type(value).__name__}, not an array")
    return value


def _assistant_chat(row: Any, messages: list[Any]) -> SourceChat:
    chat_id = row["id"]
    chat = SourceChat(
        id=chat_id,
        source_account_id=row["account_id"],
        session=ImportedSession(
            id=derived_session_id(chat_id),
            session_type=SessionType.CHAT.value,
            title=row["title"],
            subject_id=None,
            created_at=row["created_at"],
            last_activity_at=row["updated_at"],
        ),
        title=row["title"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        messages=[],
    )
    for index, message in enumerate(messages):
        chat.take(
            "assistant_chats.messages",
            indexed_message_id(chat_id, index),
            row["created_at"],
            partial(convert_message, message),
            source_ref=f"{chat_id}[{index}]",
        )
    return chat
