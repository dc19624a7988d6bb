"""Scratch source databases in the shapes `turnflow import` reads, and generated data to fill them (tests and the
import benchmark use the same)."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from models.database import asyncpg_dsn
from tests.databases import create_database

# Every shape's tables, with a column or two more than the importer reads (as real sources have).
SOURCE_SCHEMA = """
CREATE TABLE accounts (id uuid PRIMARY KEY, name text, plan text, deleted_at timestamptz);
CREATE TABLE rooms (id uuid PRIMARY KEY, account_id uuid, artist_id uuid, topic text, updated_at timestamptz NOT NULL,
    pinned boolean DEFAULT false);
CREATE TABLE memories (id uuid PRIMARY KEY, room_id uuid, content jsonb, updated_at timestamptz NOT NULL,
    embedding_ref text);
CREATE INDEX ON memories (room_id);
CREATE TABLE assistant_chats (id uuid PRIMARY KEY, account_id uuid, title text, messages jsonb,
    created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, model text);
CREATE TABLE conversations (id uuid PRIMARY KEY, account_id uuid, subject text, created_at timestamptz NOT NULL);
CREATE TABLE conversation_messages (id uuid PRIMARY KEY, conversation_id uuid, role text, content text,
    created_at timestamptz NOT NULL, tokens int);
CREATE INDEX ON conversation_messages (conversation_id);
CREATE TABLE chat_sessions (id uuid PRIMARY KEY, conversation_id uuid, request_id uuid, status text,
    avinode_trip_id text, avinode_rfp_id text, avinode_rfq_id text, current_step text,
    last_activity_at timestamptz, legacy_flags jsonb);
CREATE INDEX ON chat_sessions (conversation_id);
"""

BASE_TIME = datetime(2026, 6, 1, tzinfo=UTC)


async def create_source_database(server_url: str) -> str:
    """An empty database with every shape's tables; returns its URL."""
    url = await create_database(server_url, prefix="import_source")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(SOURCE_SCHEMA)
    finally:
        await conn.close()
    return url


@dataclass
class RoomsData:
    """Rows for the `rooms` shape, as tuples in column order."""

    accounts: list[tuple[Any, ...]] = field(default_factory=list)
    rooms: list[tuple[Any, ...]] = field(default_factory=list)
    memories: list[tuple[Any, ...]] = field(default_factory=list)

    async def insert(self, conn: asyncpg.Connection) -> None:
        await _copy(conn, "accounts", ["id", "name", "deleted_at"], self.accounts)
        await _copy(conn, "rooms", ["id", "account_id", "artist_id", "topic", "updated_at"], self.rooms)
        await _copy(conn, "memories", ["id", "room_id", "content", "updated_at"], self.memories)


async def _copy(conn: asyncpg.Connection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    if rows:
        await conn.copy_records_to_table(table, records=rows, columns=list(columns))


def v4_message(role: str, text: str, tools: list[dict[str, Any]] | None = None) -> str:
    message: dict[str, Any] = {"role": role, "content": text}
    if tools:
        message["toolInvocations"] = tools
    return json.dumps(message, ensure_ascii=False)


def v5_message(role: str, text: str) -> str:
    return json.dumps({"id": uuid.uuid4().hex, "role": role, "parts": [{"type": "text", "text": text}]})


def generate_rooms(rooms: int, memories: int, *, deleted_accounts: int = 0, seed: int = 7) -> RoomsData:
    """Accounts of ~50 rooms each, rooms with `memories` spread over them in alternating v4 and v5 shapes (some
    with a tool invocation); the last `deleted_accounts` accounts are deleted, one room each."""
    rng = random.Random(seed)
    data = RoomsData()
    live_accounts = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(max(1, rooms // 50))]
    data.accounts += [(a, f"artist-co-{a.hex[:10]}", None) for a in live_accounts]
    deleted = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(deleted_accounts)]
    data.accounts += [(a, f"gone-{a.hex[:10]}", BASE_TIME) for a in deleted]
    owners = [deleted[i] if i < deleted_accounts else rng.choice(live_accounts) for i in range(rooms)]
    room_ids = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(rooms)]
    for index, (room_id, owner) in enumerate(zip(room_ids, owners, strict=True)):
        at = BASE_TIME + timedelta(minutes=index)
        data.rooms.append((room_id, owner, uuid.UUID(int=rng.getrandbits(128)), f"Room {index} · setlist", at))
    for index in range(memories):
        room = index % rooms
        at = BASE_TIME + timedelta(minutes=room, seconds=index // rooms)
        role = "user" if (index // rooms) % 2 == 0 else "assistant"
        text = f"message {index} in room {room}: " + "lyrics " * rng.randint(5, 60)
        if index % 7 == 3 and role == "assistant":
            tool = {"state": "result", "toolCallId": f"call_{index}", "toolName": "lookup_venue"}
            content = v4_message(role, text, [tool | {"args": {"city": "Lisbon"}, "result": {"venue": "Coliseu"}}])
        else:
            content = v4_message(role, text) if index % 2 else v5_message(role, text)
        data.memories.append((uuid.UUID(int=rng.getrandbits(128)), room_ids[room], content, at))
    return data


@dataclass
class SourceRows:
    """Adds rows to a scratch source database one at a time, with fresh ids, for tests that shape each row."""

    conn: asyncpg.Connection

    async def account(self, *, deleted: bool = False, name: str | None = None) -> uuid.UUID:
        account_id = uuid.uuid4()
        deleted_at = BASE_TIME if deleted else None
        await self.conn.execute(
            "INSERT INTO accounts (id, name, deleted_at) VALUES ($1, $2, $3)",
            account_id,
            name or f"label-{account_id.hex[:12]}",
            deleted_at,
        )
        return account_id

    async def room(self, account_id: uuid.UUID, topic: str | None, minute: int = 0) -> uuid.UUID:
        room_id = uuid.uuid4()
        await self.conn.execute(
            "INSERT INTO rooms (id, account_id, artist_id, topic, updated_at) VALUES ($1, $2, $3, $4, $5)",
            room_id,
            account_id,
            uuid.uuid4(),
            topic,
            BASE_TIME + timedelta(minutes=minute),
        )
        return room_id

    async def memory(
        self, room_id: uuid.UUID, content: Any, minute: int, memory_id: uuid.UUID | None = None, *, raw: bool = False
    ) -> uuid.UUID:
        """`content` is stored as JSON; with `raw`, it is already the column's JSON text."""
        memory_id = memory_id or uuid.uuid4()
        await self.conn.execute(
            "INSERT INTO memories (id, room_id, content, updated_at) VALUES ($1, $2, $3::jsonb, $4)",
            memory_id,
            room_id,
            content if raw else json.dumps(content),
            BASE_TIME + timedelta(minutes=minute),
        )
        return memory_id

    async def assistant_chat(
        self, account_id: uuid.UUID, title: str | None, messages: Any, *, raw: bool = False
    ) -> uuid.UUID:
        chat_id = uuid.uuid4()
        await self.conn.execute(
            "INSERT INTO assistant_chats (id, account_id, title, messages, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4::jsonb, $5, $6)",
            chat_id,
            account_id,
            title,
            messages if raw else json.dumps(messages),
            BASE_TIME,
            BASE_TIME + timedelta(hours=1),
        )
        return chat_id

    async def conversation(self, account_id: uuid.UUID, subject: str | None) -> uuid.UUID:
        conversation_id = uuid.uuid4()
        await self.conn.execute(
            "INSERT INTO conversations (id, account_id, subject, created_at) VALUES ($1, $2, $3, $4)",
            conversation_id,
            account_id,
            subject,
            BASE_TIME,
        )
        return conversation_id

    async def conversation_message(self, conversation_id: uuid.UUID, role: str, content: str, minute: int) -> uuid.UUID:
        message_id = uuid.uuid4()
        await self.conn.execute(
            "INSERT INTO conversation_messages (id, conversation_id, role, content, created_at)"
            " VALUES ($1, $2, $3, $4, $5)",
            message_id,
            conversation_id,
            role,
            content,
            BASE_TIME + timedelta(minutes=minute),
        )
        return message_id

    async def chat_session(self, conversation_id: uuid.UUID, status: str | None, minute: int, **refs: Any) -> uuid.UUID:
        """`refs`: the columns request_id, avinode_trip_id, avinode_rfp_id, avinode_rfq_id and current_step."""
        session_id = uuid.uuid4()
        await self.conn.execute(
            "INSERT INTO chat_sessions (id, conversation_id, request_id, status, avinode_trip_id, avinode_rfp_id,"
            " avinode_rfq_id, current_step, last_activity_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            session_id,
            conversation_id,
            refs.get("request_id"),
            status,
            refs.get("avinode_trip_id"),
            refs.get("avinode_rfp_id"),
            refs.get("avinode_rfq_id"),
            refs.get("current_step"),
            BASE_TIME + timedelta(minutes=minute),
        )
        return session_id
