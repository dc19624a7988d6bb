"""Where a source account's chats go: the same account, a mapped one, or nowhere, with the reason reported."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg

from tests.importing.conftest import Importer
from tests.importing.source_db import SourceRows


async def test_a_name_held_by_another_account_is_refused_until_mapped(
    source: asyncpg.Connection, target: asyncpg.Connection, run_import_into: Importer, tmp_path: Path
) -> None:
    name = f"acme-{uuid.uuid4().hex[:8]}"
    existing = await target.fetchval("INSERT INTO accounts (name) VALUES ($1) RETURNING id", name)
    rows = SourceRows(source)
    legacy = await rows.account(name=name)
    room = await rows.room(legacy, "same name")
    await rows.memory(room, {"role": "user", "content": "hi"}, 1)

    refused = await run_import_into("rooms")

    assert [(s.reason, s.source_id) for s in refused.skipped] == [("account-name-taken", str(room))]
    assert str(existing) in refused.skipped[0].detail
    account_map = tmp_path / "accounts.map"
    account_map.write_text(f"{legacy},{existing}\n")
    mapped = await run_import_into("rooms", account_map=account_map)
    assert (mapped.chats_matched, mapped.skipped) == (1, [])
    assert await target.fetchval("SELECT account_id FROM chats WHERE id = $1", str(room)) == existing


async def test_accounts_mapped_to_skip_are_excluded(
    source: asyncpg.Connection, target: asyncpg.Connection, run_import_into: Importer, tmp_path: Path
) -> None:
    rows = SourceRows(source)
    kept, excluded = await rows.account(), await rows.account()
    kept_room, excluded_room = await rows.room(kept, "kept"), await rows.room(excluded, "excluded")
    account_map = tmp_path / "accounts.map"
    account_map.write_text(f"# test accounts stay behind\n{excluded} skip\n")

    report = await run_import_into("rooms", account_map=account_map)

    assert [(s.reason, s.source_id) for s in report.skipped] == [("account-excluded", str(excluded_room))]
    assert await target.fetchval("SELECT count(*) FROM chats WHERE id = $1", str(kept_room)) == 1
    assert await target.fetchval("SELECT count(*) FROM accounts WHERE id = $1", excluded) == 0


async def test_a_chat_id_another_account_uses_is_not_taken_over(
    source: asyncpg.Connection, target: asyncpg.Connection, run_import_into: Importer
) -> None:
    rows = SourceRows(source)
    room = await rows.room(await rows.account(), "collides")
    await rows.memory(room, {"role": "user", "content": "mine"}, 1)
    other = await target.fetchval("INSERT INTO accounts (name) VALUES ($1) RETURNING id", f"o-{uuid.uuid4().hex[:8]}")
    session = await target.fetchval("INSERT INTO sessions (account_id) VALUES ($1) RETURNING id", other)
    await target.execute(
        "INSERT INTO chats (id, session_id, account_id) VALUES ($1, $2, $3)", str(room), session, other
    )

    report = await run_import_into("rooms")

    assert [(s.reason, s.source_id) for s in report.skipped] == [("chat-id-taken", str(room))]
    assert (report.chats_skipped, report.chats_matched) == (1, 0)
    assert await target.fetchval("SELECT count(*) FROM chat_messages WHERE chat_id = $1", str(room)) == 0
