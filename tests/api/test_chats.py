"""Chats API: idempotent creation, listing, renaming, message paging and read cursors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.api.seed import append_messages
from tests.conftest import Tenant


async def _session(client: httpx.AsyncClient, tenant: Tenant, **body: object) -> str:
    response = await client.post("/sessions", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _chat(client: httpx.AsyncClient, tenant: Tenant, session_id: str, **body: object) -> dict[str, Any]:
    response = await client.post(f"/sessions/{session_id}/chats", json=body, headers=tenant.headers)
    assert response.status_code in (200, 201), response.text
    data: dict[str, Any] = response.json()
    return data


async def test_create_chat_is_idempotent_on_client_id(client: httpx.AsyncClient, tenant: Tenant) -> None:
    session_id = await _session(client, tenant, subjectId="artist-9")
    first = await client.post(
        f"/sessions/{session_id}/chats", json={"id": "chatAbc123", "title": "Flights"}, headers=tenant.headers
    )
    assert first.status_code == 201
    again = await client.post(
        f"/sessions/{session_id}/chats", json={"id": "chatAbc123", "title": "Other"}, headers=tenant.headers
    )
    assert again.status_code == 200
    assert again.json() == first.json()
    body = first.json()
    assert (body["id"], body["title"], body["sessionId"], body["subjectId"]) == (
        "chatAbc123",
        "Flights",
        session_id,
        "artist-9",
    )
    assert body["unreadCount"] == 0 and body["activeTurnId"] is None


async def test_generated_chat_id(client: httpx.AsyncClient, tenant: Tenant) -> None:
    session_id = await _session(client, tenant)
    chat = await _chat(client, tenant, session_id)
    assert isinstance(chat["id"], str) and len(chat["id"]) == 16


async def test_chat_id_taken_by_other_session_or_account(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    one, two = await _session(client, tenant), await _session(client, tenant)
    await _chat(client, tenant, one, id="sharedId1")
    same_account = await client.post(f"/sessions/{two}/chats", json={"id": "sharedId1"}, headers=tenant.headers)
    assert same_account.status_code == 409 and same_account.json()["field"] == "id"
    theirs = await _session(client, other_tenant)
    other_account = await client.post(
        f"/sessions/{theirs}/chats", json={"id": "sharedId1"}, headers=other_tenant.headers
    )
    assert other_account.status_code == 409


async def test_list_chats_filters_and_hides_archived(client: httpx.AsyncClient, tenant: Tenant) -> None:
    s1 = await _session(client, tenant, subjectId="subj-a")
    s2 = await _session(client, tenant, subjectId="subj-b")
    c1 = await _chat(client, tenant, s1, title="one")
    c2 = await _chat(client, tenant, s2, title="two")

    async def ids(**params: Any) -> list[Any]:
        response = await client.get("/chats", params=params, headers=tenant.headers)
        assert response.status_code == 200, response.text
        return [row["id"] for row in response.json()["items"]]

    assert set(await ids()) == {c1["id"], c2["id"]}
    assert await ids(session_id=s1) == [c1["id"]]
    assert await ids(subject_id="subj-b") == [c2["id"]]
    row = (await client.get("/chats", params={"session_id": s1}, headers=tenant.headers)).json()["items"][0]
    assert set(row) == {"id", "title", "sessionId", "subjectId", "updatedAt", "unreadCount", "activeTurnId"}
    await client.post(f"/sessions/{s2}/archive", headers=tenant.headers)
    assert await ids() == [c1["id"]]
    refused = await client.post(f"/sessions/{s2}/chats", json={}, headers=tenant.headers)
    assert refused.status_code == 409


async def test_rename_chat(client: httpx.AsyncClient, tenant: Tenant) -> None:
    chat = await _chat(client, tenant, await _session(client, tenant), title="old")
    renamed = await client.patch(f"/chats/{chat['id']}", json={"title": "  new  "}, headers=tenant.headers)
    assert renamed.status_code == 200 and renamed.json()["title"] == "new"
    assert (await client.get(f"/chats/{chat['id']}", headers=tenant.headers)).json()["title"] == "new"
    for bad in ({"title": ""}, {}, {"title": None}):
        response = await client.patch(f"/chats/{chat['id']}", json=bad, headers=tenant.headers)
        assert response.status_code == 422 and response.json()["field"] == "title"


async def test_message_paging_both_ways(
    client: httpx.AsyncClient, tenant: Tenant, db_sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat = await _chat(client, tenant, await _session(client, tenant))
    await append_messages(db_sessions, str(chat["id"]), ["user", "assistant"] * 6)

    async def page(**params: Any) -> dict[str, Any]:
        response = await client.get(f"/chats/{chat['id']}/messages", params=params, headers=tenant.headers)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    latest = await page(limit=5)
    assert [m["seq"] for m in latest["items"]] == [8, 9, 10, 11, 12]
    assert (latest["hasMoreBefore"], latest["hasMoreAfter"]) == (True, False)
    older = await page(before=8, limit=5)
    assert [m["seq"] for m in older["items"]] == [3, 4, 5, 6, 7]
    assert (older["hasMoreBefore"], older["hasMoreAfter"]) == (True, True)
    oldest = await page(before=3, limit=5)
    assert [m["seq"] for m in oldest["items"]] == [1, 2]
    assert oldest["hasMoreBefore"] is False
    forward = await page(after=2, limit=4)
    assert [m["seq"] for m in forward["items"]] == [3, 4, 5, 6]
    assert (forward["hasMoreBefore"], forward["hasMoreAfter"]) == (True, True)
    first = forward["items"][0]
    assert first == {
        "id": "m3",
        "role": "user",
        "parts": [{"type": "text", "text": "#3"}],
        "metadata": None,
        "seq": 3,
        "status": "complete",
        "createdAt": first["createdAt"],
    }
    both = await client.get(f"/chats/{chat['id']}/messages", params={"before": 3, "after": 1}, headers=tenant.headers)
    assert both.status_code == 422


async def test_read_cursor_only_moves_forward(
    client: httpx.AsyncClient, tenant: Tenant, db_sessions: async_sessionmaker[AsyncSession]
) -> None:
    session_id = await _session(client, tenant)
    chat = await _chat(client, tenant, session_id)
    url = f"/chats/{chat['id']}/read"
    await append_messages(db_sessions, str(chat["id"]), ["user", "assistant", "user", "assistant"])
    assert (await client.get(f"/chats/{chat['id']}", headers=tenant.headers)).json()["unreadCount"] == 2

    moved = await client.post(url, json={"seq": 2}, headers=tenant.headers)
    assert moved.json() == {"lastReadSeq": 2, "unreadCount": 1}
    back = await client.post(url, json={"seq": 1}, headers=tenant.headers)
    assert back.json() == {"lastReadSeq": 2, "unreadCount": 1}
    beyond = await client.post(url, json={"seq": 999}, headers=tenant.headers)
    assert beyond.json() == {"lastReadSeq": 4, "unreadCount": 0}

    # Another reader of the same account keeps its own cursor.
    reader = {**tenant.headers, "X-Reader-Id": "user-7"}
    assert (await client.get(f"/chats/{chat['id']}", headers=reader)).json()["unreadCount"] == 2
    sessions = (await client.get("/sessions", headers=reader)).json()["items"]
    listed = next(s for s in sessions if s["id"] == session_id)
    assert (listed["unreadCount"], listed["messageCount"]) == (2, 4)
    everything = await client.post(url, json={}, headers=reader)
    assert everything.json() == {"lastReadSeq": 4, "unreadCount": 0}
    negative = await client.post(url, json={"seq": -1}, headers=tenant.headers)
    assert negative.status_code == 422 and negative.json()["field"] == "seq"


@pytest.mark.parametrize("chat_id", ["has space", "x" * 129])
async def test_create_chat_rejects_bad_ids(client: httpx.AsyncClient, tenant: Tenant, chat_id: str) -> None:
    session_id = await _session(client, tenant)
    response = await client.post(f"/sessions/{session_id}/chats", json={"id": chat_id}, headers=tenant.headers)
    assert response.status_code == 422 and response.json()["field"] == "id"


async def test_a_chat_without_a_title_shows_its_sessions(client: httpx.AsyncClient, tenant: Tenant) -> None:
    session = (await client.post("/sessions", json={"title": "Printer offline"}, headers=tenant.headers)).json()
    untitled = await _chat(client, tenant, session["id"])
    titled = await _chat(client, tenant, session["id"], title="Its own")
    listed = {c["id"]: c["title"] for c in (await client.get("/chats", headers=tenant.headers)).json()["items"]}
    assert listed[untitled["id"]] == "Printer offline" and listed[titled["id"]] == "Its own"
    read = await client.get(f"/chats/{untitled['id']}", headers=tenant.headers)
    assert read.json()["title"] == "Printer offline"
