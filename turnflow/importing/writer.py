"""Writes one batch of source chats into turnflow in one transaction. Only rows that differ from the source are
written (a re-run with nothing new writes nothing and locks nothing), rows that turns own are never changed, and
a chat with an active turn is left alone and reported, for the next run to pick up."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from models.enums import MessageStatus, SessionStatus
from turnflow.importing.json_text import encode
from turnflow.importing.reconciliation import ImportedState
from turnflow.importing.records import ImportedMessage, ImportedSession, Skip, SourceChat


@dataclass(frozen=True)
class TargetChat:
    """A source chat and the turnflow account it goes to."""

    source: SourceChat
    account_id: uuid.UUID


@dataclass
class BatchOutcome:
    # Rows written per table; in a dry run, rows that would be.
    written: Counter[str] = field(default_factory=Counter)
    # Chats not written because a turn is running in them (or started while the batch was written).
    busy: list[str] = field(default_factory=list)
    taken: list[Skip] = field(default_factory=list)
    # Reconciliation's reading of the batch's chats, when it wrote nothing (taken in the same transaction).
    imported: dict[str, ImportedState] | None = None


class BatchConflict(Exception):
    """A turn or another writer changed the batch's chats while it was written; nothing of the batch was kept."""


@dataclass(frozen=True)
class _Upsert:
    """One table's upsert as two statements that share their parts: which source rows differ, and the write.
    Source rows arrive as one JSON array of objects (one parameter, parsed by the server, which is much cheaper
    than an array per column); `s` is the source row, `t` the table's."""

    table: str
    columns: tuple[tuple[str, str], ...]
    join: str
    differs: str
    assign: str
    values: str
    key: str
    # Rows the import may change; others belong to turnflow (e.g. messages a turn wrote).
    owned: str = "TRUE"

    def source(self, param: int = 1) -> str:
        return f"jsonb_to_recordset(${param}::jsonb) AS s({', '.join(f'{name} {kind}' for name, kind in self.columns)})"

    def changed_sql(self, param: int) -> str:
        return (
            f"SELECT '{self.table}' AS tbl, {self.key} AS key FROM {self.source(param)} "
            f"LEFT JOIN {self.table} t ON {self.join} WHERE t.id IS NULL OR ({self.owned} AND ({self.differs}))"
        )

    @property
    def write_sql(self) -> str:
        return f"""
            WITH updated AS (
                UPDATE {self.table} t SET {self.assign} FROM {self.source()}
                WHERE {self.join} AND {self.owned} AND ({self.differs}) RETURNING 1
            ), inserted AS (
                INSERT INTO {self.table} ({", ".join(name for name, _ in self.columns)})
                SELECT {self.values} FROM {self.source()}
                WHERE NOT EXISTS (SELECT 1 FROM {self.table} t WHERE {self.join}) ON CONFLICT DO NOTHING RETURNING 1
            )
            SELECT (SELECT count(*) FROM updated) + (SELECT count(*) FROM inserted)
        """


_SESSIONS = _Upsert(
    table="sessions",
    columns=(
        ("id", "uuid"),
        ("account_id", "uuid"),
        ("session_type", "text"),
        ("title", "text"),
        ("subject_id", "text"),
        ("external_refs", "jsonb"),
        ("status", "text"),
        ("created_at", "timestamptz"),
        ("last_activity_at", "timestamptz"),
    ),
    join="t.id = s.id",
    differs="""(t.account_id, t.session_type, t.title, t.subject_id, t.external_refs, t.status, t.last_activity_at)
        IS DISTINCT FROM (s.account_id, s.session_type, s.title, s.subject_id, s.external_refs,
        coalesce(s.status, t.status), greatest(t.last_activity_at, s.last_activity_at))""",
    assign="""account_id = s.account_id, session_type = s.session_type, title = s.title, subject_id = s.subject_id,
        external_refs = s.external_refs, status = coalesce(s.status, t.status),
        last_activity_at = greatest(t.last_activity_at, s.last_activity_at), updated_at = now()""",
    values=f"""s.id, s.account_id, s.session_type, s.title, s.subject_id, s.external_refs,
        coalesce(s.status, '{SessionStatus.ACTIVE.value}'), s.created_at, s.last_activity_at""",
    key="s.id::text",
)
# A chat's last_seq, last_message_at and updated_at only move forward: turns in the chat move them too.
_CHATS = _Upsert(
    table="chats",
    columns=(
        ("id", "text"),
        ("session_id", "uuid"),
        ("account_id", "uuid"),
        ("title", "text"),
        ("last_seq", "bigint"),
        ("history_read_seq", "bigint"),
        ("last_message_at", "timestamptz"),
        ("created_at", "timestamptz"),
        ("updated_at", "timestamptz"),
    ),
    join="t.id = s.id",
    differs="""(t.session_id, t.account_id, t.title, t.last_seq, t.history_read_seq, t.last_message_at, t.updated_at)
        IS DISTINCT FROM (s.session_id, s.account_id, s.title, greatest(t.last_seq, s.last_seq), s.history_read_seq,
        greatest(t.last_message_at, s.last_message_at), greatest(t.updated_at, s.updated_at))""",
    assign="""session_id = s.session_id, account_id = s.account_id, title = s.title,
        last_seq = greatest(t.last_seq, s.last_seq), history_read_seq = s.history_read_seq,
        last_message_at = greatest(t.last_message_at, s.last_message_at),
        updated_at = greatest(t.updated_at, s.updated_at)""",
    values="""s.id, s.session_id, s.account_id, s.title, s.last_seq, s.history_read_seq, s.last_message_at,
        s.created_at, s.updated_at""",
    key="s.id",
)
_COMPLETE = MessageStatus.COMPLETE.value
_MESSAGES = _Upsert(
    table="chat_messages",
    columns=(
        ("chat_id", "text"),
        ("id", "text"),
        ("seq", "bigint"),
        ("role", "text"),
        ("parts", "jsonb"),
        ("metadata", "jsonb"),
        ("created_at", "timestamptz"),
    ),
    join="t.chat_id = s.chat_id AND t.id = s.id",
    differs=f"""(t.seq, t.role, t.parts, t.metadata, t.created_at, t.status)
        IS DISTINCT FROM (s.seq, s.role, s.parts, s.metadata, s.created_at, '{_COMPLETE}')""",
    assign=f"""seq = s.seq, role = s.role, parts = s.parts, metadata = s.metadata,
        created_at = s.created_at, status = '{_COMPLETE}', updated_at = now()""",
    values="s.chat_id, s.id, s.seq, s.role, s.parts, s.metadata, s.created_at",
    key="s.chat_id",
    owned="t.turn_id IS NULL",
)
_UPSERTS = {"sessions": _SESSIONS, "chats": _CHATS, "messages": _MESSAGES}
_TABLE_NAMES = {u.table: name for name, u in _UPSERTS.items()}


def _changed_sql() -> str:
    """Which rows differ, for all three tables in one round trip."""
    return " UNION ALL ".join(f"({upsert.changed_sql(param)})" for param, upsert in enumerate(_UPSERTS.values(), 1))


_CHANGED = _changed_sql()
# Each chat with its messages' ids, seqs and whether a turn wrote them, in seq order.
_EXISTING = """
    SELECT c.id, c.session_id, c.account_id, c.last_seq, c.history_read_seq,
        coalesce(array_agg(m.id ORDER BY m.seq) FILTER (WHERE m.id IS NOT NULL), '{}') AS message_ids,
        coalesce(array_agg(m.seq ORDER BY m.seq) FILTER (WHERE m.id IS NOT NULL), '{}') AS seqs,
        coalesce(array_agg(m.turn_id IS NOT NULL ORDER BY m.seq) FILTER (WHERE m.id IS NOT NULL), '{}') AS by_turn
    FROM chats c LEFT JOIN chat_messages m ON m.chat_id = c.id WHERE c.id = ANY($1::text[]) GROUP BY c.id
"""
# Out of the way first, so a straggler can take a seq that an already imported message is about to leave.
_SET_ASIDE = """
    UPDATE chat_messages t SET seq = -t.seq FROM unnest($1::text[], $2::text[]) AS s(chat_id, id)
    WHERE t.chat_id = s.chat_id AND t.id = s.id
"""
# Only idle chats are locked (the condition is checked again once a row's lock is had): a running turn locks its
# session before its chat when it finishes, so holding its chat here while writing sessions could deadlock.
_LOCK_IDLE = """
    SELECT id FROM chats WHERE id = ANY($1::text[]) AND active_turn_id IS NULL ORDER BY id FOR NO KEY UPDATE
"""


@dataclass(frozen=True)
class _ExistingChat:
    row: Any
    # Message id → (seq, written by a turn), in seq order.
    messages: dict[str, tuple[int, bool]]

    def imported(self, source: SourceChat) -> ImportedState:
        """What reconciliation reads back: messages no turn wrote, or that came from the source."""
        ids = {m.id for m in source.messages}
        kept = [m_id for m_id, (_, by_turn) in self.messages.items() if not by_turn or m_id in ids]
        return len(kept), kept[-1] if kept else None


@dataclass
class _Plan:
    """The batch as column arrays for the upserts, after placing each message in its chat."""

    chats: list[TargetChat] = field(default_factory=list)
    existing: dict[str, _ExistingChat] = field(default_factory=dict)
    rows: dict[str, list[str]] = field(default_factory=lambda: {name: [] for name in _UPSERTS})
    session_chats: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    set_aside: tuple[list[str], list[str]] = field(default_factory=lambda: ([], []))
    taken: list[Skip] = field(default_factory=list)

    def document(self, table: str) -> str:
        return f"[{','.join(self.rows[table])}]"

    @property
    def documents(self) -> list[str]:
        return [self.document(table) for table in _UPSERTS]

    def add_session(self, session: ImportedSession, account_id: uuid.UUID, chat_id: str) -> None:
        key = str(session.id)
        if key not in self.session_chats:
            row = {
                "id": session.id,
                "account_id": account_id,
                "session_type": session.session_type,
                "title": session.title,
                "subject_id": session.subject_id,
                "external_refs": session.external_refs,
                "status": session.status,
                "created_at": session.created_at,
                "last_activity_at": session.last_activity_at,
            }
            self.rows["sessions"].append(encode(row))
        self.session_chats[key].append(chat_id)

    def imported(self) -> dict[str, ImportedState]:
        return {
            c.source.id: self.existing[c.source.id].imported(c.source)
            for c in self.chats
            if c.source.id in self.existing
        }


async def write_batch(conn: asyncpg.Connection, chats: list[TargetChat], *, dry_run: bool) -> BatchOutcome:
    """One transaction: read what turnflow has, find what differs, lock and write only those chats."""
    outcome = BatchOutcome()
    try:
        async with conn.transaction():
            plan = await _plan(conn, chats)
            outcome.taken = plan.taken
            changed = await conn.fetch(_CHANGED, *plan.documents)
            outcome.written.update(Counter(_TABLE_NAMES[r["tbl"]] for r in changed))
            dirty = {r["key"] for r in changed if r["tbl"] != "sessions"}
            dirty |= {chat for r in changed if r["tbl"] == "sessions" for chat in plan.session_chats[r["key"]]}
            if dry_run or not dirty:
                outcome.imported = plan.imported()
                return outcome
            locked = {r["id"] for r in await conn.fetch(_LOCK_IDLE, sorted(dirty))}
            outcome.busy = sorted((dirty & plan.existing.keys()) - locked)
            # Planned again under the lock: a turn may have added messages since the first read.
            plan = await _plan(conn, [c for c in plan.chats if c.source.id in dirty - set(outcome.busy)])
            if plan.set_aside[0]:
                await conn.execute(_SET_ASIDE, *plan.set_aside)
            outcome.written.clear()
            for name, upsert in _UPSERTS.items():
                outcome.written[name] += int(await conn.fetchval(upsert.write_sql, plan.document(name)))
    except (asyncpg.IntegrityConstraintViolationError, asyncpg.TransactionRollbackError) as exc:
        raise BatchConflict(str(exc)) from exc
    return outcome


async def _plan(conn: asyncpg.Connection, chats: list[TargetChat]) -> _Plan:
    plan = _Plan()
    for row in await conn.fetch(_EXISTING, [c.source.id for c in chats]):
        messages = dict(zip(row["message_ids"], zip(row["seqs"], row["by_turn"], strict=True), strict=True))
        plan.existing[row["id"]] = _ExistingChat(row, messages)
    for chat in chats:
        existing = plan.existing.get(chat.source.id)
        row = existing.row if existing else None
        if row is not None and row["account_id"] != chat.account_id and row["session_id"] != chat.source.session.id:
            detail = f"turnflow already has chat {chat.source.id} in another account's session {row['session_id']}"
            plan.taken.append(Skip("chat-id-taken", "chat", chat.source.id, detail, chat.source.id, True))
            continue
        plan.chats.append(chat)
        _place(plan, chat, existing)
    return plan


def _place(plan: _Plan, chat: TargetChat, existing: _ExistingChat | None) -> None:
    """Seqs follow the source order while the chat holds only imported messages (a straggler moves later ones down);
    once turnflow has added messages of its own, new source messages go after them and nothing moves."""
    source = chat.source
    ids = {m.id for m in source.messages}
    have = existing.messages if existing else {}
    if all(m_id in ids and not by_turn for m_id, (_, by_turn) in have.items()):
        seqs = {m.id: index for index, m in enumerate(source.messages, start=1)}
        history_read = len(source.messages)
    else:
        assert existing is not None
        next_seq = existing.row["last_seq"]
        seqs = {}
        for message in source.messages:
            if message.id in have:
                seqs[message.id] = have[message.id][0]
            else:
                next_seq += 1
                seqs[message.id] = next_seq
        history_read = existing.row["history_read_seq"]
    for message_id, seq in seqs.items():
        if message_id in have and have[message_id][0] != seq:
            plan.set_aside[0].append(source.id)
            plan.set_aside[1].append(message_id)
    plan.add_session(source.session, chat.account_id, source.id)
    chat_row = {
        "id": source.id,
        "session_id": source.session.id,
        "account_id": chat.account_id,
        "title": source.title,
        "last_seq": max(seqs.values(), default=0),
        "history_read_seq": history_read,
        "last_message_at": source.messages[-1].created_at if source.messages else None,
        "created_at": source.created_at,
        "updated_at": source.updated_at,
    }
    plan.rows["chats"].append(encode(chat_row))
    plan.rows["messages"] += [_message_row(source.id, m, seqs[m.id]) for m in source.messages]


def _message_row(chat_id: str, message: ImportedMessage, seq: int) -> str:
    """Parts and metadata are JSON already: spliced in, not parsed and encoded again."""
    fields = encode(
        {"chat_id": chat_id, "id": message.id, "seq": seq, "role": message.role, "created_at": message.created_at}
    )
    return f'{fields[:-1]},"parts":{message.parts},"metadata":{message.metadata or "null"}}}'
