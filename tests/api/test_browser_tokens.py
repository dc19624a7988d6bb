"""Browser tokens: minted by an API key for one end user, they see and touch only that user's sessions and chats,
and stop working when they expire or their key is revoked."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from api.browser_tokens import BrowserClaims, mint_token, read_token
from models.settings import Settings
from tests.api.seed import add_turn
from tests.api.test_isolation import BODIES
from tests.conftest import Tenant
from tests.polling import wait_until
from turnflow.keys import revoke_key

SECRET = "browser-token-secret-for-tests-0123456789"


@pytest.fixture(scope="module")
async def token_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings.model_validate(settings.model_dump() | {"browser_token_secret": SECRET}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://turnflow.test") as http:
            yield http


async def _token(http: httpx.AsyncClient, tenant: Tenant, **body: Any) -> dict[str, str]:
    response = await http.post("/browser-tokens", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def test_a_token_sees_only_its_subjects_sessions_and_chats(
    token_client: httpx.AsyncClient, tenant: Tenant, db_sessions: async_sessionmaker[AsyncSession]
) -> None:
    alice, bob = await _token(token_client, tenant, subject="alice"), await _token(token_client, tenant, subject="bob")
    session = (await token_client.post("/sessions", json={"title": "alice's"}, headers=alice)).json()
    chat = (await token_client.post(f"/sessions/{session['id']}/chats", json={}, headers=alice)).json()
    ids = {"session_id": session["id"], "chat_id": chat["id"], "turn_id": await add_turn(db_sessions, chat["id"])}
    assert [s["id"] for s in (await token_client.get("/sessions", headers=alice)).json()["items"]] == [session["id"]]
    assert [c["id"] for c in (await token_client.get("/chats", headers=alice)).json()["items"]] == [chat["id"]]
    assert (await token_client.get("/sessions", headers=bob)).json()["items"] == []
    assert (await token_client.get("/chats", headers=bob)).json()["items"] == []
    account_view = (await token_client.get("/sessions", headers=tenant.headers)).json()["items"]
    assert session["id"] in {s["id"] for s in account_view}, "the API key sees its whole account"

    spec = (await token_client.get("/openapi.json")).json()
    checked = 0
    for template, operations in spec["paths"].items():
        if "{" not in template:
            continue
        for method in operations:
            response = await token_client.request(
                method.upper(), template.format(**ids), json=BODIES.get((method.upper(), template)), headers=bob
            )
            assert response.status_code == 404, (method, template, response.text)
            checked += 1
    assert checked >= 12
    assert (await token_client.get(f"/sessions/{session['id']}", headers=alice)).status_code == 200
    assert (await token_client.get(f"/turns/{ids['turn_id']}", headers=alice)).status_code == 200


async def test_a_token_limited_to_one_chat_sees_nothing_else(token_client: httpx.AsyncClient, tenant: Tenant) -> None:
    carol = await _token(token_client, tenant, subject="carol")
    session = (await token_client.post("/sessions", json={}, headers=carol)).json()
    first = (await token_client.post(f"/sessions/{session['id']}/chats", json={}, headers=carol)).json()
    second = (await token_client.post(f"/sessions/{session['id']}/chats", json={}, headers=carol)).json()
    only_first = await _token(token_client, tenant, subject="carol", chatId=first["id"])
    assert [c["id"] for c in (await token_client.get("/chats", headers=only_first)).json()["items"]] == [first["id"]]
    assert (await token_client.get(f"/chats/{second['id']}", headers=only_first)).status_code == 404
    assert (await token_client.post("/sessions", json={}, headers=only_first)).status_code == 403
    other = await token_client.post(
        "/browser-tokens", json={"subject": "dave", "chatId": first["id"]}, headers=tenant.headers
    )
    assert other.status_code == 404 and other.json()["field"] == "chatId", "a chat is scoped only to its own subject"


async def test_minting_rules(token_client: httpx.AsyncClient, tenant: Tenant, client: httpx.AsyncClient) -> None:
    token = await _token(token_client, tenant, subject="erin")
    again = await token_client.post("/browser-tokens", json={"subject": "erin"}, headers=token)
    assert again.status_code == 403 and again.json()["type"].endswith("api-key-required")
    too_long = await token_client.post(
        "/browser-tokens", json={"subject": "erin", "ttlSeconds": 86_401}, headers=tenant.headers
    )
    assert too_long.status_code == 422 and too_long.json()["field"] == "ttlSeconds"
    blank = await token_client.post("/browser-tokens", json={"subject": "  "}, headers=tenant.headers)
    assert blank.status_code == 422 and blank.json()["field"] == "subject"
    disabled = await client.post("/browser-tokens", json={"subject": "erin"}, headers=tenant.headers)
    assert disabled.status_code == 503, "no secret configured: browser tokens are off"


async def test_expired_forged_and_revoked_tokens_answer_401(
    token_client: httpx.AsyncClient, tenant: Tenant, db_sessions: async_sessionmaker[AsyncSession]
) -> None:
    minted = (await token_client.post("/browser-tokens", json={"subject": "frank"}, headers=tenant.headers)).json()
    claims = read_token(SECRET.encode(), minted["token"])
    assert claims is not None and claims.subject == "frank"
    expired = mint_token(SECRET.encode(), BrowserClaims(**(vars(claims) | {"expires_at": int(time.time()) - 1})))
    forged = mint_token(b"some-other-secret-0123456789abcdef", claims)
    for bad in (expired, forged, minted["token"][:-2] + "xx"):
        response = await token_client.get("/sessions", headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401 and response.json()["type"].endswith("invalid-token")
    good = {"Authorization": f"Bearer {minted['token']}"}
    assert (await token_client.get("/sessions", headers=good)).status_code == 200
    async with db_sessions.begin() as db:
        await revoke_key(db, str(claims.api_key_id))

    async def refused() -> bool:
        return (await token_client.get("/sessions", headers=good)).status_code == 401

    await wait_until(refused, "the revoked key's token to be refused")
    assert claims.account_id == tenant.account_id and isinstance(claims.api_key_id, uuid.UUID)
