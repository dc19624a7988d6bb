"""Per-account limits: reaching one answers 429 problem+json with Retry-After and stores nothing; the place frees
again when what held it ends."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from models.settings import Settings
from tests.conftest import Tenant
from tests.polling import wait_until
from tests.sse import read_stream
from tests.stack import serve_app
from tests.turns.helpers import new_chat_id, user_message
from worker import Workers

PROBLEM = "application/problem+json"
SLOW = "[[words:150]] [[delay:20]]"  # about three seconds of streaming
_LISTENERS = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'")


@contextlib.asynccontextmanager
async def _api(settings: Settings, tenant: Tenant, **limits: int) -> AsyncIterator[httpx.AsyncClient]:
    """The API with these limits over real HTTP, beside the session's worker."""
    server, task, url = await serve_app(create_app(settings.model_copy(update=limits)))
    try:
        async with httpx.AsyncClient(base_url=url, headers=tenant.headers, timeout=30) as http:
            yield http
    finally:
        server.should_exit = True
        await task


def _refused(response: httpx.Response, retry_after: str) -> dict[str, Any]:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.headers["retry-after"] == retry_after
    body: dict[str, Any] = response.json()
    assert body["type"] == "urn:turnflow:problem:limit-reached" and body["status"] == 429
    return body


def _send(chat_id: str, words: str, **extra: Any) -> dict[str, Any]:
    return {"id": chat_id, "messages": [user_message(f"{chat_id} {words}")]} | extra


async def _accepted(http: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> bool:
    """True when the request streams (and reads it to its end), False on 429."""
    async with http.stream(method, path, **kwargs) as response:
        if response.status_code == 429:
            return False
        assert response.status_code in (200, 204), await response.aread()
        await read_stream(response)
        return True


async def test_open_streams_are_limited_and_freed_when_they_end(
    stack_settings: Settings, worker: Workers, tenant: Tenant
) -> None:
    async with _api(stack_settings, tenant, max_open_streams_per_account=2) as http:
        one, two, three = new_chat_id(), new_chat_id(), new_chat_id()
        async with (
            http.stream("POST", "/chat/workflow", json=_send(one, SLOW)) as first,
            http.stream("POST", "/chat/workflow", json=_send(two, SLOW)) as second,
        ):
            assert first.status_code == second.status_code == 200
            _refused(await http.get(f"/chat/workflow/{one}/stream"), "5")
            _refused(await http.get(f"/turns/{first.headers['x-turn-id']}/stream"), "5")
            _refused(await http.post("/chat/workflow", json=_send(three, "hi")), "5")
            assert (await http.get(f"/chats/{three}")).status_code == 404, "a refused send stores nothing"
            await read_stream(first)
        # One stream read to its end, the other left early by its reader: both places are free again.
        replays = [f"/turns/{first.headers['x-turn-id']}/stream", f"/turns/{second.headers['x-turn-id']}/stream"]
        await wait_until(lambda: _all_accepted(http, [("GET", path, {}) for path in replays]), "both places to free")


async def _all_accepted(http: httpx.AsyncClient, requests: list[tuple[str, str, dict[str, Any]]]) -> bool:
    """True when every request is accepted while all of them are open at once."""
    async with contextlib.AsyncExitStack() as opened:
        responses = [await opened.enter_async_context(http.stream(m, path, **kw)) for m, path, kw in requests]
        return all(response.status_code == 200 for response in responses)


async def test_running_and_queued_turns_are_limited(stack_settings: Settings, worker: Workers, tenant: Tenant) -> None:
    async with _api(stack_settings, tenant, max_active_turns_per_account=1, max_queued_turns_per_account=1) as http:
        busy, other = new_chat_id(), new_chat_id()
        async with http.stream("POST", "/chat/workflow", json=_send(busy, SLOW)) as running:
            assert running.status_code == 200
            body = _refused(await http.post("/chat/workflow", json=_send(other, "hi")), "5")
            assert "running turns" in body["detail"]
            assert (await http.get(f"/chats/{other}")).status_code == 404, "a refused send stores nothing"
            async with http.stream(
                "POST", "/chat/workflow", json=_send(busy, "after", multitaskStrategy="enqueue")
            ) as queued:
                assert queued.status_code == 200
                more = _send(busy, "and more", multitaskStrategy="enqueue")
                assert "queued turns" in _refused(await http.post("/chat/workflow", json=more), "10")["detail"]
                await read_stream(running)
                await read_stream(queued)

        async def free() -> bool:
            return await _accepted(http, "POST", "/chat/workflow", json=_send(other, "now"))

        await wait_until(free, "the turns' places to free")


async def test_live_sandboxes_are_limited_and_freed_when_one_stops(
    stack_settings: Settings, worker: Workers, tenant: Tenant
) -> None:
    async with _api(stack_settings, tenant, max_live_sandboxes_per_account=1) as http:
        first = new_chat_id()
        assert await _accepted(http, "POST", "/chat/workflow", json=_send(first, "hi"))
        session = (await http.get(f"/chats/{first}")).json()["sessionId"]

        async def sandbox(state: str) -> bool:
            return bool((await http.get(f"/sessions/{session}")).json()["sandboxState"] == state)

        await wait_until(lambda: sandbox("ready"), "the first session's sandbox")
        second = new_chat_id()
        assert "live sandboxes" in _refused(await http.post("/chat/workflow", json=_send(second, "hi")), "60")["detail"]
        # The session that has one may go on using it.
        assert await _accepted(http, "POST", "/chat/workflow", json=_send(first, "again"))
        assert (await http.post(f"/sessions/{session}/archive")).status_code == 200
        await wait_until(lambda: sandbox("stopped"), "the archived session's sandbox to stop")
        assert await _accepted(http, "POST", "/chat/workflow", json=_send(second, "hi"))


async def test_drafts_are_limited_and_share_one_listen_connection(
    stack_settings: Settings, worker: Workers, tenant: Tenant, db_sessions: async_sessionmaker[AsyncSession]
) -> None:
    drafts = 8
    async with _api(stack_settings, tenant, max_handoff_drafts_per_account=drafts) as http:
        chat_id = new_chat_id()
        assert await _accepted(http, "POST", "/chat/workflow", json=_send(chat_id, "[[ttft:3000]] slow"))
        session = (await http.get(f"/chats/{chat_id}")).json()["sessionId"]
        path, kind = f"/sessions/{session}/handoff-draft", {"kind": "resolve"}
        async with db_sessions() as db:
            listening = await db.scalar(_LISTENERS)
        async with contextlib.AsyncExitStack() as open_drafts:
            for _ in range(drafts):
                response = await open_drafts.enter_async_context(http.stream("POST", path, json=kind))
                assert response.status_code == 200
            async with db_sessions() as db:
                assert await db.scalar(_LISTENERS) == listening, "a draft opened a LISTEN connection of its own"
            _refused(await http.post(path, json=kind), "10")
        # Their readers left: every place is free again.
        again = [("POST", path, {"json": kind})] * drafts
        await wait_until(lambda: _all_accepted(http, again), "the drafts' places to free")


@pytest.mark.parametrize(
    "setting",
    [
        "max_open_streams_per_account",
        "max_handoff_drafts_per_account",
        "max_active_turns_per_account",
        "max_queued_turns_per_account",
        "max_live_sandboxes_per_account",
    ],
)
def test_every_limit_is_a_setting_with_a_default(setting: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().model_dump()[setting] > 0
    monkeypatch.setenv(f"TURNFLOW_{setting.upper()}", "3")
    assert Settings().model_dump()[setting] == 3
