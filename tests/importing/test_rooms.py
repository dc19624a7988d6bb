"""The `rooms` shape end to end on generated data: mapping, skipped rows, unicode and size, re-runs and dry runs."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import asyncpg

from tests.importing.conftest import Importer
from tests.importing.row_versions import row_versions
from tests.importing.source_db import BASE_TIME, SourceRows, generate_rooms, v4_message
from turnflow.importing.identity import IMPORT_NAMESPACE, derived_session_id, indexed_message_id


def test_derived_ids_never_change() -> None:
    """Re-runs by any later version must find what earlier runs wrote."""
    assert uuid.UUID("698369f2-78d9-4ebc-b3eb-0d3b03e0bc48") == IMPORT_NAMESPACE
    room = "00000000-0000-4000-8000-000000000001"
    assert derived_session_id(room) == uuid.UUID("457f0fce-2eb5-52b0-b3b7-154a2df109bf")
    assert indexed_message_id(room, 0) == "1473064a-566e-5c85-9bd7-e437b86f2b05"


async def test_a_room_becomes_a_session_a_chat_and_its_messages_field_by_field(
    source: asyncpg.Connection, target: asyncpg.Connection, run_import_into: Importer
) -> None:
    rows = SourceRows(source)
    account = await rows.account(name=f"Label Ünïcode {uuid.uuid4().hex[:6]}")
    room = await rows.room(account, "Tour 2027 · setlist", minute=10)
    artist = await source.fetchval("SELECT artist_id FROM rooms WHERE id = $1", room)
    # Two memories at the same time: the lower id comes first.
    first_id, second_id = sorted([uuid.uuid4(), uuid.uuid4()])
    v5 = {"id": "client-id-ignored", "role": "user", "parts": [{"type": "text", "text": "Which venue?"}]}
    tool = {"state": "result", "toolCallId": "call_1", "toolName": "venue", "args": {"city": "Lisbon"}, "result": 4000}
    await rows.memory(room, {"role": "assistant", "content": "Coliseu.", "toolInvocations": [tool]}, 12, second_id)
    await rows.memory(room, {"role": "user", "content": "And the date?"}, 12, first_id)
    opening = await rows.memory(room, v5, 11)

    report = await run_import_into("rooms")

    assert (report.chats_read, report.chats_matched, report.mismatches, report.skipped) == (1, 1, [], [])
    assert report.exit_code == 0
    assert dict(report.written) == {"accounts": 1, "sessions": 1, "chats": 1, "messages": 3}
    name = await source.fetchval("SELECT name FROM accounts WHERE id = $1", account)
    assert await target.fetchval("SELECT name FROM accounts WHERE id = $1", account) == name

    session = await target.fetchrow("SELECT * FROM sessions WHERE id = $1", derived_session_id(str(room)))
    assert session is not None
    assert session["id"] == uuid.uuid5(IMPORT_NAMESPACE, str(room))
    assert (session["account_id"], session["session_type"], session["status"]) == (account, "chat", "active")
    assert (session["title"], session["subject_id"]) == ("Tour 2027 · setlist", str(artist))
    assert (session["external_refs"], session["problem_summary"]) == ("{}", None)
    assert session["created_at"] == BASE_TIME + timedelta(minutes=10)
    assert session["last_activity_at"] == BASE_TIME + timedelta(minutes=12)

    chat = await target.fetchrow("SELECT * FROM chats WHERE id = $1", str(room))
    assert chat is not None
    assert (chat["session_id"], chat["account_id"], chat["title"]) == (session["id"], account, "Tour 2027 · setlist")
    assert (chat["last_seq"], chat["history_read_seq"], chat["active_turn_id"]) == (3, 3, None)
    assert chat["last_message_at"] == BASE_TIME + timedelta(minutes=12)
    assert (chat["created_at"], chat["updated_at"]) == (BASE_TIME + timedelta(minutes=10),) * 2

    messages = await target.fetch("SELECT * FROM chat_messages WHERE chat_id = $1 ORDER BY seq", str(room))
    assert [(m["id"], m["seq"], m["role"]) for m in messages] == [
        (str(opening), 1, "user"),
        (str(first_id), 2, "user"),
        (str(second_id), 3, "assistant"),
    ]
    assert [json.loads(m["parts"]) for m in messages] == [
        [{"type": "text", "text": "Which venue?"}],
        [{"type": "text", "text": "And the date?"}],
        [
            {"type": "step-start"},
            {"type": "tool-venue", "toolCallId": "call_1", "state": "output-available"}
            | {"input": {"city": "Lisbon"}, "output": 4000},
            {"type": "step-start"},
            {"type": "text", "text": "Coliseu."},
        ],
    ]
    assert {(m["status"], m["turn_id"], m["metadata"]) for m in messages} == {("complete", None, None)}
    assert [m["created_at"] for m in messages] == [BASE_TIME + timedelta(minutes=m) for m in (11, 12, 12)]


async def test_rows_that_cannot_be_imported_are_skipped_counted_and_listed(
    source: asyncpg.Connection, target: asyncpg.Connection, run_import_into: Importer
) -> None:
    rows = SourceRows(source)
    live, gone = await rows.account(), await rows.account(deleted=True)
    room = await rows.room(live, "kept")
    good = await rows.memory(room, {"role": "user", "content": "hello"}, 1)
    broken = await rows.memory(room, json.dumps('{"role": "user", "content": "unterminated'), 2, raw=True)
    tool_role = await rows.memory(room, {"role": "tool", "content": "x"}, 3)
    null_content = await rows.memory(room, None, 4, raw=True)
    gone_room = await rows.room(gone, "deleted account's room")
    await rows.memory(gone_room, {"role": "user", "content": "lost?"}, 1)
    stray_room = await rows.room(uuid.uuid4(), "no such account")
    orphan = await rows.memory(uuid.uuid4(), {"role": "user", "content": "no room"}, 1)

    report = await run_import_into("rooms")

    listed = {(s.reason, s.source, s.source_id) for s in report.skipped}
    assert listed == {
        ("malformed-content", "memories", str(broken)),
        ("malformed-content", "memories", str(tool_role)),
        ("malformed-content", "memories", str(null_content)),
        ("account-deleted", "rooms", str(gone_room)),
        ("account-unknown", "rooms", str(stray_room)),
        ("chat-missing", "memories", str(orphan)),
    }
    assert report.skipped_by_reason() == {
        "malformed-content": 3,
        "account-deleted": 1,
        "account-unknown": 1,
        "chat-missing": 1,
    }
    assert (report.chats_read, report.chats_matched, len(report.mismatches), report.chats_skipped) == (3, 1, 0, 2)
    assert report.exit_code == 0
    assert await target.fetch("SELECT id FROM chat_messages WHERE chat_id = $1", str(room)) == [(str(good),)]
    missing = [str(gone_room), str(stray_room)]
    assert await target.fetchval("SELECT count(*) FROM chats WHERE id = ANY($1::text[])", missing) == 0
    assert await target.fetchval("SELECT count(*) FROM accounts WHERE id = $1", gone) == 0
    # Skipped rows stay skipped: a re-run reports them again and writes nothing.
    again = await run_import_into("rooms")
    assert again.skipped_by_reason() == report.skipped_by_reason()
    assert sum(again.written.values()) == 0


async def test_unicode_and_a_one_megabyte_message_arrive_intact(
    source: asyncpg.Connection, target: asyncpg.Connection, run_import_into: Importer
) -> None:
    rows = SourceRows(source)
    room = await rows.room(await rows.account(), "Ünïcödé 🎸 — 東京 · مرحبا")
    text = "Zoë's 🎤 set: 東京ドーム, שלום, e\u0301, 𝄞, a literal \\u0000 and a tab\t."
    huge = ("la " * 350_000)[:1_048_576]
    await rows.memory(room, {"role": "user", "content": text}, 1)
    await rows.memory(room, {"role": "assistant", "parts": [{"type": "text", "text": huge}]}, 2)

    report = await run_import_into("rooms")

    assert (report.chats_matched, report.skipped) == (1, [])
    stored = await target.fetch("SELECT parts FROM chat_messages WHERE chat_id = $1 ORDER BY seq", str(room))
    assert [json.loads(r["parts"])[0]["text"] for r in stored] == [text, huge]
    assert await target.fetchval("SELECT title FROM chats WHERE id = $1", str(room)) == "Ünïcödé 🎸 — 東京 · مرحبا"
    assert sum((await run_import_into("rooms")).written.values()) == 0


async def test_a_rerun_with_nothing_new_writes_no_row(
    source: asyncpg.Connection, target: asyncpg.Connection, run_import_into: Importer
) -> None:
    data = generate_rooms(40, 130, deleted_accounts=3, seed=uuid.uuid4().int)
    await data.insert(source)
    first = await run_import_into("rooms", batch_chats=7)
    assert (first.chats_matched, first.chats_skipped, first.mismatches) == (37, 3, [])
    chat_ids = [str(r[0]) for r in data.rooms]
    before = await row_versions(target, chat_ids)
    # A session and a chat per imported room, every memory but those of the 3 deleted accounts' rooms (memories go
    # round-robin over the rooms: 4 each for the first ones), and the live accounts.
    assert len(before) == 37 * 2 + 130 - 3 * (130 // 40 + 1) + len({r[1] for r in data.rooms[3:]})

    second = await run_import_into("rooms", batch_chats=7)

    assert await row_versions(target, chat_ids) == before
    assert sum(second.written.values()) == 0
    assert (second.chats_matched, second.chats_skipped, second.mismatches) == (37, 3, [])


async def test_a_rerun_picks_up_stragglers_and_rewrites_only_what_changed(
    source: asyncpg.Connection, target: asyncpg.Connection, run_import_into: Importer
) -> None:
    rows = SourceRows(source)
    account = await rows.account()
    edited, grown, middle, untouched = [await rows.room(account, f"room {i}") for i in range(4)]
    for room in (edited, grown, middle, untouched):
        for minute in (10, 20, 30):
            await rows.memory(room, {"role": "user", "content": f"at {minute}"}, minute)
    await run_import_into("rooms")
    before = await row_versions(target, [untouched])

    await source.execute("UPDATE rooms SET topic = 'room 0, renamed' WHERE id = $1", edited)
    late = await rows.memory(grown, {"role": "assistant", "content": "at 40"}, 40)
    between = await rows.memory(middle, {"role": "assistant", "content": "at 15"}, 15)
    new_room = await rows.room(account, "new room")
    await rows.memory(new_room, {"role": "user", "content": "first"}, 1)

    report = await run_import_into("rooms")

    assert (report.chats_read, report.chats_matched, report.mismatches, report.skipped) == (5, 5, [], [])
    # Sessions: the renamed, the one with a later message, the new; messages: 3 new, 2 moved down by one.
    assert dict(report.written) == {"accounts": 0, "sessions": 3, "chats": 4, "messages": 5}
    titles = await target.fetch(
        "SELECT c.title, s.title FROM chats c JOIN sessions s ON s.id = c.session_id WHERE c.id = $1", str(edited)
    )
    assert titles == [("room 0, renamed", "room 0, renamed")]
    grown_ids = await target.fetch("SELECT id FROM chat_messages WHERE chat_id = $1 ORDER BY seq", str(grown))
    assert grown_ids[-1]["id"] == str(late)
    ordered = await target.fetch("SELECT parts, seq FROM chat_messages WHERE chat_id = $1 ORDER BY seq", str(middle))
    assert [json.loads(r["parts"])[0]["text"] for r in ordered] == ["at 10", "at 15", "at 20", "at 30"]
    assert [r["seq"] for r in ordered] == [1, 2, 3, 4]
    assert await target.fetchval("SELECT last_seq FROM chats WHERE id = $1", str(middle)) == 4
    assert str(between) in {r["id"] for r in await target.fetch("SELECT id FROM chat_messages")}
    assert await target.fetchval("SELECT count(*) FROM chats WHERE id = $1", str(new_room)) == 1
    assert await row_versions(target, [untouched]) == before
    assert sum((await run_import_into("rooms")).written.values()) == 0


async def test_a_dry_run_writes_nothing_and_says_what_it_would_write(
    source: asyncpg.Connection, target: asyncpg.Connection, run_import_into: Importer
) -> None:
    await generate_rooms(12, 30, deleted_accounts=1, seed=uuid.uuid4().int).insert(source)
    chat_ids = [str(r["id"]) for r in await source.fetch("SELECT id FROM rooms")]
    account_ids = [r["id"] for r in await source.fetch("SELECT id FROM accounts")]

    dry = await run_import_into("rooms", dry_run=True)

    assert dry.dry_run and dry.exit_code == 0
    assert dict(dry.written) == {"accounts": 1, "sessions": 11, "chats": 11, "messages": 30 - 3}
    assert await target.fetchval("SELECT count(*) FROM chats WHERE id = ANY($1::text[])", chat_ids) == 0
    assert await target.fetchval("SELECT count(*) FROM accounts WHERE id = ANY($1::uuid[])", account_ids) == 0

    await run_import_into("rooms")
    before = await row_versions(target, chat_ids)
    room = chat_ids[5]
    await source.execute("UPDATE rooms SET topic = 'changed' WHERE id = $1", uuid.UUID(room))
    second_dry = await run_import_into("rooms", dry_run=True)
    assert dict(second_dry.written) == {"accounts": 0, "sessions": 1, "chats": 1}
    assert await row_versions(target, chat_ids) == before


async def test_since_reads_only_chats_changed_from_then(
    source: asyncpg.Connection, target: asyncpg.Connection, run_import_into: Importer
) -> None:
    rows = SourceRows(source)
    account = await rows.account()
    quiet, busy = await rows.room(account, "quiet"), await rows.room(account, "busy")
    for room in (quiet, busy):
        await rows.memory(room, {"role": "user", "content": "hi"}, 1)
    await run_import_into("rooms")
    await rows.memory(busy, json.loads(v4_message("assistant", "later")), 90)

    report = await run_import_into("rooms", since=BASE_TIME + timedelta(minutes=60))

    assert (report.chats_read, report.chats_matched) == (1, 1)
    assert dict(report.written) == {"accounts": 0, "sessions": 1, "chats": 1, "messages": 1}
    assert await target.fetchval("SELECT count(*) FROM chat_messages WHERE chat_id = $1", str(busy)) == 2


async def test_numbers_past_64_bits_are_kept_exactly(
    source: asyncpg.Connection, target: asyncpg.Connection, run_import_into: Importer
) -> None:
    rows = SourceRows(source)
    room = await rows.room(await rows.account(), "big numbers")
    tool = {"state": "result", "toolCallId": "c1", "toolName": "count", "args": {}, "result": 2**80 + 1}
    await rows.memory(room, {"role": "assistant", "content": "", "toolInvocations": [tool]}, 1)

    report = await run_import_into("rooms")

    assert report.skipped == []
    output = await target.fetchval("SELECT parts->0->>'output' FROM chat_messages WHERE chat_id = $1", str(room))
    assert output == str(2**80 + 1)
