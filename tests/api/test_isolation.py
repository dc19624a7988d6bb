"""No route lets one account see or touch another account's sessions or chats."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.api.seed import add_turn
from tests.conftest import Tenant

# The smallest valid body for each route that needs one, so a 404 cannot hide behind a 422.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/sessions/{session_id}"): {"title": "stolen"},
    ("POST", "/sessions/{session_id}/chats"): {"id": "intruderChat"},
    ("PATCH", "/chats/{chat_id}"): {"title": "stolen"},
    ("POST", "/chats/{chat_id}/read"): {"seq": 1},
    ("POST", "/turns/{turn_id}/input"): {"toolCallId": "toolu_1", "answer": "yes"},
    ("POST", "/sessions/{session_id}/resolve"): {"resolutionSummary": "stolen"},
    ("POST", "/sessions/{session_id}/escalate"): {
        "escalationReason": "stolen",
        "escalatedTo": "intruders",
        "escalationPackage": {"summary": "stolen"},
    },
    ("POST", "/sessions/{session_id}/status-update"): {"text": "stolen"},
    ("PATCH", "/sessions/{session_id}/triage"): {"clientName": "stolen"},
    ("POST", "/sessions/{session_id}/handoff-draft"): {"kind": "resolve"},
}


async def test_every_route_refuses_another_accounts_ids(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, db_sessions: async_sessionmaker[AsyncSession]
) -> None:
    session = (await client.post("/sessions", json={"title": "mine"}, headers=tenant.headers)).json()
    chat = (await client.post(f"/sessions/{session['id']}/chats", json={}, headers=tenant.headers)).json()
    ids = {"session_id": session["id"], "chat_id": chat["id"], "turn_id": await add_turn(db_sessions, chat["id"])}

    spec = (await client.get("/openapi.json")).json()
    checked = 0
    for template, operations in spec["paths"].items():
        if "{" not in template:
            continue
        for method in operations:
            response = await client.request(
                method.upper(),
                template.format(**ids),
                json=BODIES.get((method.upper(), template)),
                headers=other_tenant.headers,
            )
            assert response.status_code == 404, (method, template, response.text)
            assert response.json()["type"] == "urn:turnflow:problem:not-found"
            checked += 1
    assert checked >= 12

    theirs_sessions = (await client.get("/sessions", params={"status": "all"}, headers=other_tenant.headers)).json()
    assert session["id"] not in {s["id"] for s in theirs_sessions["items"]}
    theirs_chats = (await client.get("/chats", headers=other_tenant.headers)).json()
    assert chat["id"] not in {c["id"] for c in theirs_chats["items"]}
    mine = (await client.get(f"/sessions/{session['id']}", headers=tenant.headers)).json()
    assert mine["title"] == "mine" and mine["status"] == "active"
    # The intruder's rename did not land: the chat still shows its session's title, having none of its own.
    assert (await client.get(f"/chats/{chat['id']}", headers=tenant.headers)).json()["title"] == "mine"
