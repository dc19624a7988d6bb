"""An import into a running system: imported history is readable and unread-free at once, is what the next turn
sees, and a chat whose turn is running is left alone until a later run."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.conftest import Tenant
from tests.importing.conftest import Importer
from tests.importing.source_db import SourceRows
from tests.polling import wait_until
from tests.standin.anthropic_server import StandIn
from tests.turns.helpers import persisted_messages, send
from turnflow.importing.report import EXIT_RETRY


def _texts(messages: list[dict[str, Any]]) -> list[str]:
    return [str(p["text"]) for m in messages for p in m["parts"] if p.get("type") == "text"]


async def test_import_beside_a_running_turn(
    source: asyncpg.Connection,
    target: asyncpg.Connection,
    run_import_into: Importer,
    api_url: str,
    tenant: Tenant,
    standin: StandIn,
    tmp_path: Path,
) -> None:
    rows = SourceRows(source)
    legacy = await rows.account()
    room, other = await rows.room(legacy, "Tour"), await rows.room(legacy, "Other")
    marker = uuid.uuid4().hex
    await rows.memory(room, {"role": "user", "content": f"The code word is {marker}."}, 1)
    await rows.memory(room, {"role": "assistant", "content": "Noted, I will remember it."}, 2)
    await rows.memory(other, {"role": "user", "content": "hello"}, 1)
    account_map = tmp_path / "accounts.map"
    account_map.write_text(f"{legacy} {tenant.account_id}\n")
    assert (await run_import_into("rooms", account_map=account_map)).chats_matched == 2

    async with httpx.AsyncClient(base_url=api_url, headers=tenant.headers, timeout=30) as http:
        chat = (await http.get(f"/chats/{room}")).json()
        assert (chat["messageCount"], chat["unreadCount"], chat["lastReadSeq"]) == (2, 0, 2)
        listed = (await http.get("/sessions")).json()["items"]
        assert {s["unreadCount"] for s in listed} == {0} and len(listed) == 2
        assert _texts(await persisted_messages(http, str(room))) == [
            f"The code word is {marker}.",
            "Noted, I will remember it.",
        ]

        turn = asyncio.create_task(send(http, str(room), "What was the code word? [[words:30]] [[delay:60]]"))

        async def turn_running() -> bool:
            return await target.fetchval("SELECT active_turn_id FROM chats WHERE id = $1", str(room)) is not None

        await wait_until(turn_running, "the turn to claim the chat")
        late = await rows.memory(room, {"role": "assistant", "content": "A late answer from the old system."}, 3)
        await source.execute("UPDATE rooms SET topic = 'Other, renamed' WHERE id = $1", other)

        during = await run_import_into("rooms", account_map=account_map)

        assert [(s.reason, s.source_id) for s in during.busy] == [("chat-busy", str(room))]
        assert (during.exit_code, during.chats_matched, during.chats_skipped) == (EXIT_RETRY, 1, 1)
        assert await target.fetchval("SELECT title FROM chats WHERE id = $1", str(other)) == "Other, renamed"
        assert await target.fetchval("SELECT count(*) FROM chat_messages WHERE id = $1", str(late)) == 0

        response, _ = await turn
        assert response.status_code == 200
        first_call = standin.calls_with(marker)[0].body["messages"]
        assert [m["role"] for m in first_call] == ["user", "assistant", "user"]
        assert marker in json.dumps(first_call[0]) and "Noted" in json.dumps(first_call[1])

        after = await run_import_into("rooms", account_map=account_map)

        assert (after.exit_code, after.chats_matched, after.busy, after.mismatches) == (0, 2, [], [])
        history = await persisted_messages(http, str(room))
        assert [m["id"] for m in history][-1] == str(late)
        assert [m["seq"] for m in history] == [1, 2, 3, 4, 5]
        assert history[2]["role"] == "user" and "code word" in _texts([history[2]])[0]
        assert sum((await run_import_into("rooms", account_map=account_map)).written.values()) == 0
