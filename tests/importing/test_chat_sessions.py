"""The `chat-sessions` shape: conversations, their messages, and the deprecated chat_sessions table with trip ids."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx

from tests.conftest import Tenant
from tests.importing.conftest import Importer
from tests.importing.source_db import BASE_TIME, SourceRows
from turnflow.importing.identity import derived_session_id


async def test_chat_sessions_keep_their_ids_status_and_trip_refs(
    source: asyncpg.Connection, target: asyncpg.Connection, run_import_into: Importer
) -> None:
    rows = SourceRows(source)
    account = await rows.account()
    conversation = await rows.conversation(account, "LIS → JFK, 6 pax")
    hello = await rows.conversation_message(conversation, "user", "Need a jet for 6", 1)
    answer = await rows.conversation_message(conversation, "assistant", "Three operators quoted.", 2)
    request = uuid.uuid4()
    session_id = await rows.chat_session(
        conversation,
        "completed",
        30,
        request_id=request,
        avinode_trip_id="TRIP-77",
        avinode_rfp_id="RFP-1",
        avinode_rfq_id="RFQ-9",
        current_step="quote_review",
    )

    report = await run_import_into("chat-sessions")

    assert (report.chats_matched, report.skipped, report.adjusted) == (1, [], [])
    session = await target.fetchrow("SELECT * FROM sessions WHERE id = $1", session_id)
    assert session is not None
    assert (session["account_id"], session["session_type"], session["status"]) == (account, "chat", "resolved")
    assert session["title"] == "LIS → JFK, 6 pax"
    assert json.loads(session["external_refs"]) == {
        "trip_id": "TRIP-77",
        "rfp_id": "RFP-1",
        "rfq_id": "RFQ-9",
        "request_id": str(request),
        "current_step": "quote_review",
    }
    assert session["last_activity_at"] == BASE_TIME + timedelta(minutes=30)
    chat = await target.fetchrow("SELECT * FROM chats WHERE id = $1", str(conversation))
    assert chat is not None
    assert (chat["session_id"], chat["title"]) == (session_id, "LIS → JFK, 6 pax")
    stored = await target.fetch(
        "SELECT id, role, parts FROM chat_messages WHERE chat_id = $1 ORDER BY seq", str(conversation)
    )
    assert [(r["id"], r["role"]) for r in stored] == [(str(hello), "user"), (str(answer), "assistant")]
    assert json.loads(stored[1]["parts"]) == [{"type": "text", "text": "Three operators quoted."}]


async def test_statuses_map_and_unknown_ones_are_reported(
    source: asyncpg.Connection, target: asyncpg.Connection, run_import_into: Importer
) -> None:
    rows = SourceRows(source)
    account = await rows.account()
    expected = {
        "archived": "archived",
        "paused": "paused",
        "escalated": "escalated",
        "quoting": "active",
        None: "active",
    }
    sessions = {}
    for status in expected:
        conversation = await rows.conversation(account, f"status {status}")
        sessions[status] = await rows.chat_session(conversation, status, 1)

    report = await run_import_into("chat-sessions")

    found = {
        status: await target.fetchval("SELECT status FROM sessions WHERE id = $1", sid)
        for status, sid in sessions.items()
    }
    assert found == expected
    assert {(a.reason, a.source_id) for a in report.adjusted} == {
        ("status-unknown", str(sessions["quoting"])),
        ("status-unknown", str(sessions[None])),
    }


async def test_conversations_without_or_with_several_chat_sessions(
    source: asyncpg.Connection, target: asyncpg.Connection, run_import_into: Importer
) -> None:
    rows = SourceRows(source)
    account = await rows.account()
    alone = await rows.conversation(account, "no chat session")
    await rows.conversation_message(alone, "user", "hello", 1)
    shared = await rows.conversation(account, "two chat sessions")
    older = await rows.chat_session(shared, "active", 5, avinode_trip_id="OLD")
    newer = await rows.chat_session(shared, "active", 50, avinode_trip_id="NEW")
    orphan_message = await rows.conversation_message(uuid.uuid4(), "user", "lost", 1)
    bad_role = await rows.conversation_message(alone, "function", "{}", 2)

    report = await run_import_into("chat-sessions")

    assert await target.fetchval("SELECT session_id FROM chats WHERE id = $1", str(alone)) == derived_session_id(
        str(alone)
    )
    assert await target.fetchval("SELECT session_id FROM chats WHERE id = $1", str(shared)) == newer
    assert {(s.reason, s.source, s.source_id) for s in report.skipped} == {
        ("conversation-shared", "chat_sessions", str(older)),
        ("chat-missing", "conversation_messages", str(orphan_message)),
        ("malformed-content", "conversation_messages", str(bad_role)),
    }
    assert (report.chats_matched, report.mismatches) == (2, [])


async def test_imported_sessions_are_listable_by_trip_at_once(
    source: asyncpg.Connection,
    run_import_into: Importer,
    client: httpx.AsyncClient,
    tenant: Tenant,
    tmp_path: Path,
) -> None:
    rows = SourceRows(source)
    legacy_account = await rows.account()
    conversation = await rows.conversation(legacy_account, "Quote for trip")
    await rows.conversation_message(conversation, "user", "Any update?", 1)
    trip = f"TRIP-{uuid.uuid4().hex[:6]}"
    session_id = await rows.chat_session(conversation, "active", 3, avinode_trip_id=trip, avinode_rfq_id="RFQ-1")
    account_map = tmp_path / "accounts.map"
    account_map.write_text(f"# legacy account → this tenant\n{legacy_account}, {tenant.account_id}\n")

    report = await run_import_into("chat-sessions", account_map=account_map)

    assert report.chats_matched == 1
    listed = await client.get("/sessions", params={"external_ref": f"trip_id:{trip}"}, headers=tenant.headers)
    assert listed.status_code == 200, listed.text
    assert [(s["id"], s["externalRefs"]["rfq_id"]) for s in listed.json()["items"]] == [(str(session_id), "RFQ-1")]
