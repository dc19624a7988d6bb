"""The JSON Lines interchange format: one session per line with its chats and messages."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from tests.importing.conftest import Importer
from turnflow.importing.identity import derived_session_id


def _write(path: Path, *lines: Any) -> Path:
    encoded = [
        line if isinstance(line, bytes) else (line if isinstance(line, str) else json.dumps(line)).encode()
        for line in lines
    ]
    path.write_bytes(b"".join(line + b"\n" for line in encoded))
    return path


async def test_sessions_chats_and_both_message_shapes(
    target: asyncpg.Connection, run_import_into: Importer, tmp_path: Path
) -> None:
    account, session_id, chat_id = uuid.uuid4(), uuid.uuid4(), f"chat-{uuid.uuid4().hex[:8]}"
    line = {
        "id": str(session_id),
        "account_id": str(account),
        "account_name": f"acme-{account.hex[:8]}",
        "type": "guided",
        "title": "Printer offline",
        "subject_id": "client-4411",
        "status": "paused",
        "external_refs": {"ticket_id": "T-1009"},
        "created_at": "2026-05-01T09:00:00Z",
        "updated_at": "2026-05-01T10:00:00Z",
        "chats": [
            {
                "id": chat_id,
                "title": "First contact",
                "messages": [
                    {"id": "m1", "role": "user", "content": "It is offline", "created_at": "2026-05-01T09:01:00Z"},
                    {
                        "id": "m2",
                        "role": "assistant",
                        "parts": [{"type": "text", "text": "Restart it."}],
                        "metadata": {"source": "legacy"},
                    },
                    {"role": "user", "content": "Done"},
                ],
            }
        ],
    }
    report = await run_import_into("jsonl", file=_write(tmp_path / "in.jsonl", line))

    assert (report.chats_matched, report.skipped, report.exit_code) == (1, [], 0)
    session = await target.fetchrow("SELECT * FROM sessions WHERE id = $1", session_id)
    assert session is not None
    assert (session["session_type"], session["status"], session["subject_id"]) == ("guided", "paused", "client-4411")
    assert json.loads(session["external_refs"]) == {"ticket_id": "T-1009"}
    assert await target.fetchval("SELECT name FROM accounts WHERE id = $1", account) == f"acme-{account.hex[:8]}"
    stored = await target.fetch(
        "SELECT id, role, parts, metadata FROM chat_messages WHERE chat_id = $1 ORDER BY seq", chat_id
    )
    assert [r["id"] for r in stored] == ["m1", "m2", str(uuid.uuid5(derived_session_id(chat_id), "2"))]
    assert json.loads(stored[1]["metadata"]) == {"source": "legacy"}
    again = await run_import_into("jsonl", file=tmp_path / "in.jsonl")
    assert sum(again.written.values()) == 0


async def test_bad_lines_are_skipped_whole_and_named_by_line(
    target: asyncpg.Connection, run_import_into: Importer, tmp_path: Path
) -> None:
    account = uuid.uuid4()
    good_chat = f"ok-{uuid.uuid4().hex[:8]}"
    half_chat = f"half-{uuid.uuid4().hex[:8]}"
    base = {"account_id": str(account), "account_name": f"n-{account.hex[:8]}", "created_at": "2026-05-01T09:00:00Z"}
    path = _write(
        tmp_path / "in.jsonl",
        base | {"chats": [{"id": good_chat, "messages": [{"role": "user", "content": "hi"}, {"role": "x"}]}]},
        "{not json",
        base | {"chats": [{"id": half_chat}, {"title": "no id"}]},
        base | {"account_id": "acct-7", "chats": []},
        {"account_id": str(account), "chats": [{"id": "t"}]},
        json.dumps(base | {"chats": [{"id": "lone-surrogate"}]}).replace("lone-surrogate", "\\ud800"),
        b"\xff\xfe not utf-8",
    )

    report = await run_import_into("jsonl", file=path)

    reasons = {(s.source_id, s.reason) for s in report.skipped}
    assert reasons == {
        (f"chat {good_chat} message 1", "malformed-content"),
        ("line 2", "malformed-content"),
        ("line 3", "malformed-content"),
        ("line 4", "malformed-content"),
        ("line 5", "malformed-content"),
        ("line 6", "malformed-content"),
        ("line 7", "malformed-content"),
    }
    details = {s.source_id: s.detail for s in report.skipped}
    assert "not JSON" in details["line 2"]
    assert "`id` must be a non-empty string" in details["line 3"]
    assert "not a UUID" in details["line 4"]
    assert "created_at" in details["line 5"]
    assert await target.fetchval("SELECT count(*) FROM chats WHERE id = $1", half_chat) == 0
    assert await target.fetchval("SELECT count(*) FROM chat_messages WHERE chat_id = $1", good_chat) == 1
