"""The `assistant-chats` shape: one JSONB array of messages per chat."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import asyncpg

from tests.importing.conftest import Importer
from tests.importing.source_db import BASE_TIME, SourceRows
from turnflow.importing.identity import derived_session_id


async def test_an_assistant_chat_becomes_a_chat_session_field_by_field(
    source: asyncpg.Connection, target: asyncpg.Connection, run_import_into: Importer
) -> None:
    rows = SourceRows(source)
    account = await rows.account()
    messages = [
        {"role": "user", "content": "My printer is offline"},
        {"role": "assistant", "content": "Is the cable plugged in?"},
        {"role": "user", "content": [{"type": "text", "text": "Yes, "}, {"type": "text", "text": "it is."}]},
    ]
    chat_id = await rows.assistant_chat(account, "Printer offline", messages)

    report = await run_import_into("assistant-chats")

    assert (report.chats_matched, report.skipped, report.exit_code) == (1, [], 0)
    session = await target.fetchrow("SELECT * FROM sessions WHERE id = $1", derived_session_id(str(chat_id)))
    assert session is not None
    assert (session["account_id"], session["session_type"], session["title"]) == (account, "chat", "Printer offline")
    assert (session["status"], session["problem_summary"], session["subject_id"]) == ("active", None, None)
    assert (session["created_at"], session["last_activity_at"]) == (BASE_TIME, BASE_TIME + timedelta(hours=1))
    chat = await target.fetchrow("SELECT * FROM chats WHERE id = $1", str(chat_id))
    assert chat is not None
    assert (chat["session_id"], chat["title"], chat["last_seq"]) == (session["id"], "Printer offline", 3)
    stored = await target.fetch(
        "SELECT id, seq, role, parts FROM chat_messages WHERE chat_id = $1 ORDER BY seq", str(chat_id)
    )
    assert [r["id"] for r in stored] == [str(uuid.uuid5(chat_id, str(i))) for i in range(3)]
    assert [(r["seq"], r["role"]) for r in stored] == [(1, "user"), (2, "assistant"), (3, "user")]
    assert [json.loads(r["parts"]) for r in stored] == [
        [{"type": "text", "text": "My printer is offline"}],
        [{"type": "text", "text": "Is the cable plugged in?"}],
        [{"type": "text", "text": "Yes, "}, {"type": "text", "text": "it is."}],
    ]


async def test_malformed_arrays_and_elements_are_reported_with_their_place(
    source: asyncpg.Connection, target: asyncpg.Connection, run_import_into: Importer
) -> None:
    rows = SourceRows(source)
    account = await rows.account()
    not_array = await rows.assistant_chat(account, "object", {"role": "user", "content": "hi"})
    mixed = await rows.assistant_chat(account, "mixed", [{"role": "user", "content": "ok"}, 17, {"role": "robot"}])

    report = await run_import_into("assistant-chats")

    assert {(s.reason, s.source, s.source_id) for s in report.skipped} == {
        ("malformed-content", "assistant_chats", str(not_array)),
        ("malformed-content", "assistant_chats.messages", f"{mixed}[1]"),
        ("malformed-content", "assistant_chats.messages", f"{mixed}[2]"),
    }
    assert (report.chats_read, report.chats_matched, report.chats_skipped, report.mismatches) == (2, 1, 1, [])
    # The element that imported keeps the id of its place in the array.
    stored = await target.fetch("SELECT id FROM chat_messages WHERE chat_id = $1", str(mixed))
    assert stored == [(str(uuid.uuid5(mixed, "0")),)]


async def test_appended_messages_and_a_new_title_are_picked_up(
    source: asyncpg.Connection, target: asyncpg.Connection, run_import_into: Importer
) -> None:
    rows = SourceRows(source)
    chat_id = await rows.assistant_chat(await rows.account(), "draft", [{"role": "user", "content": "one"}])
    await run_import_into("assistant-chats")
    more = [{"role": "user", "content": "one"}, {"role": "assistant", "content": "two"}]
    await source.execute(
        "UPDATE assistant_chats SET messages = $2::jsonb, title = 'final' WHERE id = $1", chat_id, json.dumps(more)
    )

    report = await run_import_into("assistant-chats")

    assert (report.chats_matched, report.written["messages"]) == (1, 1)
    assert await target.fetchval("SELECT title FROM chats WHERE id = $1", str(chat_id)) == "final"
    assert await target.fetchval("SELECT count(*) FROM chat_messages WHERE chat_id = $1", str(chat_id)) == 2
