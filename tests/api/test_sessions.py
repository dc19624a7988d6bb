"""Sessions API: success paths, filters, status rules and bad inputs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Tenant


async def _create(client: httpx.AsyncClient, tenant: Tenant, **body: object) -> dict[str, Any]:
    response = await client.post("/sessions", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_create_and_get_session(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await _create(
        client,
        tenant,
        sessionType="guided",
        title="Printer offline",
        subjectId="client-1",
        externalRefs={"ticket_id": "T-1"},
        clientName="Acme",
        evidenceItems=[{"text": "light blinks", "status": "confirmed"}],
    )
    assert created["sessionType"] == "guided"
    assert created["status"] == "active"
    assert created["evidenceItems"] == [{"text": "light blinks", "status": "confirmed"}]
    assert created["messageCount"] == 0
    fetched = (await client.get(f"/sessions/{created['id']}", headers=tenant.headers)).json()
    assert fetched == created


async def test_list_filters(client: httpx.AsyncClient, tenant: Tenant) -> None:
    chat = await _create(
        client, tenant, title="c", subjectId="artist-1", externalRefs={"trip_id": "LIS"}, organizationId="org-1"
    )
    guided = await _create(client, tenant, sessionType="guided", title="g", subjectId="artist-2")
    paused = await _create(client, tenant, title="p")
    await client.patch(f"/sessions/{paused['id']}", json={"status": "paused"}, headers=tenant.headers)
    resolved = await _create(client, tenant, title="r")
    await client.patch(f"/sessions/{resolved['id']}", json={"status": "resolved"}, headers=tenant.headers)
    archived = await _create(client, tenant, title="a")
    await client.post(f"/sessions/{archived['id']}/archive", headers=tenant.headers)

    async def ids(**params: Any) -> set[Any]:
        response = await client.get("/sessions", params=params, headers=tenant.headers)
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    assert await ids() == {chat["id"], guided["id"], paused["id"]}
    assert await ids(status="all") == {chat["id"], guided["id"], paused["id"], resolved["id"]}
    assert await ids(status="archived") == {archived["id"]}
    assert await ids(status=["resolved", "archived"]) == {resolved["id"], archived["id"]}
    assert await ids(status="resolved,paused") == {resolved["id"], paused["id"]}
    assert await ids(session_type="guided") == {guided["id"]}
    assert await ids(session_type="chat") == {chat["id"], paused["id"]}
    assert await ids(subject_id="artist-1") == {chat["id"]}
    assert await ids(external_ref="trip_id:LIS") == {chat["id"]}
    assert await ids(external_ref="trip_id:NOPE") == set()
    assert await ids(organization_id="org-1") == {chat["id"]}


async def test_patch_fields_and_clear(client: httpx.AsyncClient, tenant: Tenant) -> None:
    session = await _create(client, tenant, title="t", clientName="Acme")
    response = await client.patch(
        f"/sessions/{session['id']}",
        json={"title": "renamed", "clientName": None, "issueCategory": "network", "triageHypothesis": "DNS"},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["title"], body["clientName"], body["issueCategory"], body["triageHypothesis"]) == (
        "renamed",
        None,
        "network",
        "DNS",
    )


@pytest.mark.parametrize(
    ("path", "target", "expected"),
    [
        ([], "paused", 200),
        ([], "resolved", 200),
        ([], "requesting_escalation", 200),
        (["resolved"], "paused", 409),
        (["resolved"], "active", 200),
        (["abandoned"], "escalated", 409),
        (["requesting_escalation"], "escalated", 200),
        (["escalated"], "abandoned", 409),
        ([], "archived", 409),
    ],
)
async def test_status_transitions(
    client: httpx.AsyncClient, tenant: Tenant, path: list[str], target: str, expected: int
) -> None:
    session = await _create(client, tenant)
    for step in path:
        ok = await client.patch(f"/sessions/{session['id']}", json={"status": step}, headers=tenant.headers)
        assert ok.status_code == 200, ok.text
    response = await client.patch(f"/sessions/{session['id']}", json={"status": target}, headers=tenant.headers)
    assert response.status_code == expected, response.text
    if expected == 409:
        problem = response.json()
        assert problem["type"] == "urn:turnflow:problem:invalid-transition"
        assert problem["field"] == "status"
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_archive_and_unarchive_restore_status(client: httpx.AsyncClient, tenant: Tenant) -> None:
    session = await _create(client, tenant)
    await client.patch(f"/sessions/{session['id']}", json={"status": "paused"}, headers=tenant.headers)
    archived = await client.post(f"/sessions/{session['id']}/archive", headers=tenant.headers)
    assert archived.json()["status"] == "archived"
    again = await client.post(f"/sessions/{session['id']}/archive", headers=tenant.headers)
    assert again.status_code == 200 and again.json()["status"] == "archived"
    blocked = await client.patch(f"/sessions/{session['id']}", json={"title": "x"}, headers=tenant.headers)
    assert blocked.status_code == 409
    restored = await client.post(f"/sessions/{session['id']}/unarchive", headers=tenant.headers)
    assert restored.json()["status"] == "paused"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sessionType": "voice"}, "sessionType"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"externalRefs": {"bad key": "v"}}, "externalRefs.bad key.[key]"),
        ({"externalRefs": {f"k{i}": "v" for i in range(21)}}, "externalRefs"),
        ({"evidenceItems": [{"text": "x", "status": "maybe"}]}, "evidenceItems.0.status"),
        ({"title": 5}, "title"),
        ({"unknownField": 1}, "unknownField"),
    ],
)
async def test_create_rejects_bad_input(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/sessions", json=body, headers=tenant.headers)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "urn:turnflow:problem:validation-error"
    assert problem["field"] == field
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    "params",
    [
        {"status": "bogus"},
        {"session_type": "voice"},
        {"external_ref": "no-colon"},
        {"limit": 0},
        {"limit": 10_000},
        {"cursor": "not-a-cursor"},
    ],
)
async def test_list_rejects_bad_query(client: httpx.AsyncClient, tenant: Tenant, params: dict[str, Any]) -> None:
    response = await client.get("/sessions", params=params, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert response.json()["field"] in {"status", "session_type", "external_ref", "limit", "cursor"}


async def test_unknown_session_is_404(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get("/sessions/5b0f6c1e-8d1a-4c47-9f0e-2a7f6b1d2c3e", headers=tenant.headers)
    assert response.status_code == 404
    assert response.json()["type"] == "urn:turnflow:problem:not-found"
    malformed = await client.get("/sessions/not-a-uuid", headers=tenant.headers)
    assert malformed.status_code == 422
    assert malformed.json()["field"] == "session_id"
