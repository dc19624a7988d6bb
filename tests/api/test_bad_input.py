"""Bad input is answered with a problem naming the field and never stored; another account's chat id reads like an
unknown one; a server error says nothing about its SQL."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from models.settings import Settings
from models.tables import Chat, ChatMessage, Turn
from tests.api.seed import add_turn
from tests.conftest import Tenant
from tests.stack import serve_app
from tests.turns.helpers import new_chat_id, user_message

PROBLEM = "application/problem+json"


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    return body


async def _new_chat(client: httpx.AsyncClient, tenant: Tenant) -> str:
    session = await client.post("/sessions", json={}, headers=tenant.headers)
    chat = await client.post(f"/sessions/{session.json()['id']}/chats", json={}, headers=tenant.headers)
    assert chat.status_code == 201, chat.text
    return str(chat.json()["id"])


async def _stored_messages(db_sessions: async_sessionmaker[AsyncSession], chat_id: str) -> list[ChatMessage]:
    async with db_sessions() as db:
        return list(await db.scalars(select(ChatMessage).where(ChatMessage.chat_id == chat_id)))


@pytest.mark.parametrize("blank", ["", "   ", "\n\t \u3000"])
async def test_blank_message_is_refused_and_not_stored(
    client: httpx.AsyncClient, tenant: Tenant, db_sessions: async_sessionmaker[AsyncSession], blank: str
) -> None:
    chat_id = await _new_chat(client, tenant)
    history = [user_message("earlier"), user_message(blank)]
    response = await client.post("/chat/workflow", json={"id": chat_id, "messages": history}, headers=tenant.headers)
    body = _problem(response, 422)
    assert body["field"] == "messages.1.parts"
    assert await _stored_messages(db_sessions, chat_id) == []


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("/turns/{uuid}/input", {"toolCallId": "toolu_1", "answer": "  \n "}, "answer"),
        ("/turns/{uuid}/input", {"toolCallId": "toolu_1", "answer": ["Front desk", " "]}, "answer"),
        ("/sessions", {"title": " \t "}, "title"),
        ("/sessions", {"evidenceItems": [{"text": "   "}]}, "evidenceItems.0.text"),
    ],
)
async def test_whitespace_only_text_fields_are_422(
    client: httpx.AsyncClient, tenant: Tenant, path: str, payload: dict[str, Any], field: str
) -> None:
    response = await client.post(path.format(uuid=uuid.uuid4()), json=payload, headers=tenant.headers)
    body = _problem(response, 422)
    assert body["field"].startswith(field)


async def test_unknown_models_are_refused_at_send(
    client: httpx.AsyncClient, tenant: Tenant, db_sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat_id = new_chat_id()
    for model in ("claude-3-5-sonnet-99990101", "claude-opus-4", "gpt-5", "claude-"):
        send = {"id": chat_id, "messages": [user_message("hi")], "model": model}
        assert _problem(await client.post("/chat/workflow", json=send, headers=tenant.headers), 422)["field"] == "model"
    session = await client.post("/sessions", json={}, headers=tenant.headers)
    create = await client.post(
        f"/sessions/{session.json()['id']}/chats", json={"modelId": "claude-2.1"}, headers=tenant.headers
    )
    assert _problem(create, 422)["field"] == "modelId"
    # A chat whose stored model has no price (say, from before the list changed) is refused too, nothing stored.
    existing = await _new_chat(client, tenant)
    async with db_sessions.begin() as db:
        await db.execute(update(Chat).where(Chat.id == existing).values(model_id="claude-2.1"))
    send = {"id": existing, "messages": [user_message("hi")]}
    body = _problem(await client.post("/chat/workflow", json=send, headers=tenant.headers), 422)
    assert (body["type"], body["field"]) == ("urn:turnflow:problem:unknown-model", "model")
    assert await _stored_messages(db_sessions, existing) == []


def _shape(body: dict[str, Any], chat_id: str) -> dict[str, Any]:
    return {**body, "detail": body.get("detail", "").replace(chat_id, "<id>")}


async def test_another_accounts_chat_id_reads_like_an_unknown_one(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs, unknown = await _new_chat(client, other_tenant), new_chat_id()
    requests: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "/chats/{id}", None),
        ("PATCH", "/chats/{id}", {"title": "mine now"}),
        ("GET", "/chats/{id}/messages", None),
        ("POST", "/chats/{id}/read", {}),
        ("POST", "/chat/workflow/{id}/stop", {}),
        ("GET", "/chat/workflow/{id}/stream", None),
    ]
    for method, path, payload in requests:
        answers = [
            await client.request(method, path.format(id=chat_id), json=payload, headers=tenant.headers)
            for chat_id in (theirs, unknown)
        ]
        assert _shape(_problem(answers[0], 404), theirs) == _shape(_problem(answers[1], 404), unknown), path
    # A send to it answers like a send that needs an existing chat (answering a question) to an unknown id.
    answer = {"id": "a1", "role": "assistant", "parts": [{"type": "text", "text": "x"}]}
    sends = [
        await client.post(
            "/chat/workflow",
            json={
                "id": chat_id,
                "messages": [user_message("mine?")] if chat_id == theirs else [answer],
                "messageId": "a1",
            },
            headers=tenant.headers,
        )
        for chat_id in (theirs, unknown)
    ]
    assert _shape(_problem(sends[0], 404), theirs) == _shape(_problem(sends[1], 404), unknown)
    assert _problem(sends[0], 404)["field"] == "id"


async def test_another_accounts_chat_or_turn_is_never_locked(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, db_sessions: async_sessionmaker[AsyncSession]
) -> None:
    theirs = await _new_chat(client, other_tenant)
    turn_id = await add_turn(db_sessions, theirs)
    async with db_sessions() as owner:
        # The owner's send or stop in progress holds its rows; a stranger's request must not queue behind them.
        await owner.execute(select(Chat).where(Chat.id == theirs).with_for_update())
        await owner.execute(select(Turn).where(Turn.id == uuid.UUID(turn_id)).with_for_update())
        send = {"id": theirs, "messages": [user_message("let me in")]}
        _problem(await asyncio.wait_for(client.post("/chat/workflow", json=send, headers=tenant.headers), 10), 404)
        cancel = client.post(f"/turns/{turn_id}/cancel", headers=tenant.headers)
        _problem(await asyncio.wait_for(cancel, 10), 404)
        await owner.rollback()


@pytest.fixture
async def served(settings: Settings) -> AsyncIterator[str]:
    """The app over real HTTP: an in-process transport would re-raise the server's error into the test."""
    server, task, url = await serve_app(create_app(settings))
    yield url
    server.should_exit = True
    await task


async def test_a_database_error_answers_without_sql_or_exception_text(
    served: str, tenant: Tenant, client: httpx.AsyncClient, db_sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat_id = await _new_chat(client, tenant)
    reader = f"reader-{uuid.uuid4().hex}"
    async with db_sessions.begin() as db:
        await db.execute(text("ALTER TABLE chat_reads RENAME TO chat_reads_away"))
    try:
        async with httpx.AsyncClient(base_url=served, headers={**tenant.headers, "X-Reader-Id": reader}) as http:
            response = await http.get(f"/chats/{chat_id}")
    finally:
        async with db_sessions.begin() as db:
            await db.execute(text("ALTER TABLE chat_reads_away RENAME TO chat_reads"))
    body = _problem(response, 500)
    assert body == {
        "type": "urn:turnflow:problem:internal-error",
        "title": "Internal error",
        "status": 500,
        "detail": "the server failed; the error is logged",
    }
    for leak in ("SELECT", "chat_reads", reader, "sqlalchemy", "asyncpg", "UndefinedTable", "Traceback"):
        assert leak not in response.text


def _cursor(at: str, row_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([at, row_id]).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "field"),
    [
        ("POST", "/sessions", {"json": {"title": "a\u0000b"}}, "title"),
        ("POST", "/sessions", {"json": {"externalRefs": {"trip": "x\u0000"}}}, "externalRefs.trip"),
        (
            "POST",
            "/sessions",
            {"json": {"evidenceItems": [{"text": "ok"}, {"text": "\u0000"}]}},
            "evidenceItems.1.text",
        ),
        (
            "POST",
            "/chat/workflow",
            {"json": {"id": "nulChat", "messages": [user_message("hi\u0000")]}},
            "messages.0.parts.0.text",
        ),
        ("GET", "/sessions", {"params": {"subject_id": "a\u0000"}}, "subject_id"),
        ("GET", "/chats/abc%00def", {}, "path"),
        ("GET", "/chats", {"params": {"cursor": _cursor("2026-01-01T00:00:00+00:00", "a\u0000")}}, "cursor"),
        ("GET", "/chats", {"params": {"cursor": _cursor("0001-01-01T00:00:00+14:00", "abc")}}, "cursor"),
        ("GET", "/usage", {"params": {"to": "9999-12-31T23:59:59-14:00"}}, "to"),
        ("GET", "/chats/abc/messages", {"params": {"before": str(2**63)}}, "before"),
        ("GET", f"/turns/{uuid.uuid4()}/stream", {"params": {"starting_after": str(2**63)}}, "starting_after"),
    ],
)
async def test_values_the_database_cannot_hold_are_422(
    client: httpx.AsyncClient, tenant: Tenant, method: str, path: str, kwargs: dict[str, Any], field: str
) -> None:
    """U+0000 (PostgreSQL text cannot hold it), times outside years 1-9999 in UTC, seqs past bigint."""
    response = await client.request(method, path, headers=tenant.headers, **kwargs)
    assert _problem(response, 422)["field"] == field
