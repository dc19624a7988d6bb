"""The `rooms` shape: accounts, rooms and memories. A room becomes a chat session (id uuidv5 of the room id,
subject the artist) holding one chat with the room's id; its memories become the chat's messages, ids kept."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from models.enums import SessionType
from turnflow.importing.identity import derived_session_id
from turnflow.importing.legacy_messages import ConvertedMessage, convert_message, decode_stored
from turnflow.importing.records import ImportedSession, Skip, SourceBatch, SourceChat
from turnflow.importing.source_tables import DatabaseSource

_CHANGED = """($2::timestamptz IS NULL OR r.updated_at >= $2
    OR EXISTS (SELECT 1 FROM memories m WHERE m.room_id = r.id AND m.updated_at >= $2))"""
_ROOMS = f"""
    SELECT r.id::text AS id, r.account_id::text AS account_id, r.artist_id::text AS artist_id, r.topic, r.updated_at
    FROM rooms r WHERE ($1::uuid IS NULL OR r.id > $1) AND {_CHANGED} ORDER BY r.id LIMIT $3
"""
_COUNT = f"SELECT count(*) FROM rooms r WHERE {_CHANGED.replace('$2', '$1')}"
_MEMORIES = """
    SELECT id::text AS id, room_id::text AS room_id, content::text AS content, updated_at
    FROM memories WHERE room_id = ANY($1::uuid[]) ORDER BY room_id, updated_at, id
"""
_ORPHANS = """
    SELECT m.id::text AS id, m.room_id::text AS room_id FROM memories m
    WHERE NOT EXISTS (SELECT 1 FROM rooms r WHERE r.id = m.room_id) AND ($1::timestamptz IS NULL OR m.updated_at >= $1)
    ORDER BY m.id
"""


class RoomsSource(DatabaseSource):
    name = "rooms"
    chat_table = "rooms"
    tables = ("rooms", "memories")
    count_sql = _COUNT
    accounts_required = True

    async def batches(self) -> AsyncIterator[SourceBatch]:
        orphans = await self._conn.fetch(_ORPHANS, self._since)
        if orphans:
            yield SourceBatch(
                skipped=[
                    Skip("chat-missing", "memories", r["id"], f"room {r['room_id']} does not exist") for r in orphans
                ]
            )
        after = None
        while rooms := await self._conn.fetch(_ROOMS, after, self._since, self._page):
            after = rooms[-1]["id"]
            memories: dict[str, list[Any]] = defaultdict(list)
            for memory in await self._conn.fetch(_MEMORIES, [r["id"] for r in rooms]):
                memories[memory["room_id"]].append(memory)
            yield SourceBatch(chats=[_room_chat(room, memories[room["id"]]) for room in rooms])


def _room_chat(room: Any, memories: list[Any]) -> SourceChat:
    first = memories[0]["updated_at"] if memories else room["updated_at"]
    chat = SourceChat(
        id=room["id"],
        source_account_id=room["account_id"],
        session=ImportedSession(
            id=derived_session_id(room["id"]),
            session_type=SessionType.CHAT.value,
            title=room["topic"],
            subject_id=room["artist_id"],
            created_at=min(first, room["updated_at"]),
            last_activity_at=max(room["updated_at"], memories[-1]["updated_at"] if memories else room["updated_at"]),
        ),
        title=room["topic"],
        created_at=min(first, room["updated_at"]),
        updated_at=room["updated_at"],
        messages=[],
    )
    for memory in memories:
        content = memory["content"]
        chat.take("memories", memory["id"], memory["updated_at"], partial(_memory_message, content))
    return chat


def _memory_message(content: str | None) -> ConvertedMessage:
    return convert_message(decode_stored(content))
