"""Every error is problem+json: auth, malformed JSON, oversized bodies, wrong types, unknown routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.keys import hash_key
from models.tables import ApiKey
from tests.conftest import Tenant

PROBLEM = "application/problem+json"


def _assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:turnflow:problem:{slug}"
    assert body["status"] == status
    return body


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer tf_nope"}, {"Authorization": "Basic abc"}])
async def test_missing_or_bad_key_is_401(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.get("/sessions", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"].startswith(PROBLEM)


async def test_revoked_key_is_401(
    client: httpx.AsyncClient, tenant: Tenant, db_sessions: async_sessionmaker[AsyncSession]
) -> None:
    assert (await client.get("/sessions", headers=tenant.headers)).status_code == 200
    async with db_sessions.begin() as db:
        await db.execute(update(ApiKey).where(ApiKey.key_hash == hash_key(tenant.key)).values(revoked_at=func.now()))
    _assert_problem(await client.get("/sessions", headers=tenant.headers), 401, "invalid-api-key")


async def test_malformed_json_is_400(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/sessions", content=b'{"title": ', headers={**tenant.headers, "content-type": "application/json"}
    )
    body = _assert_problem(response, 400, "malformed-json")
    assert body["field"] == "body"


async def test_oversized_body_is_413(client: httpx.AsyncClient, tenant: Tenant) -> None:
    big = {"title": "x", "problemSummary": "y" * 70_000}
    body = _assert_problem(await client.post("/sessions", json=big, headers=tenant.headers), 413, "body-too-large")
    assert body["field"] == "body"


async def test_oversized_chunked_body_is_413(client: httpx.AsyncClient, tenant: Tenant) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"title": "x", "problemSummary": "'
        for _ in range(80):
            yield b"y" * 1024
        yield b'"}'

    response = await client.post(
        "/sessions", content=chunks(), headers={**tenant.headers, "content-type": "application/json"}
    )
    _assert_problem(response, 413, "body-too-large")


async def test_wrong_types_are_422_naming_the_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post("/sessions", json={"externalRefs": ["not", "a", "dict"]}, headers=tenant.headers)
    body = _assert_problem(response, 422, "validation-error")
    assert body["field"] == "externalRefs"
    assert body["errors"] == [{"field": "externalRefs", "message": "Input should be a valid dictionary"}]


async def test_body_that_is_not_an_object_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    _assert_problem(await client.post("/sessions", json=[1, 2], headers=tenant.headers), 422, "validation-error")


async def test_unknown_route_and_method(client: httpx.AsyncClient, tenant: Tenant) -> None:
    _assert_problem(await client.get("/nope", headers=tenant.headers), 404, "not-found")
    _assert_problem(await client.delete("/sessions", headers=tenant.headers), 405, "method-not-allowed")


async def test_openapi_documents_routes_with_examples(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert {"/sessions", "/sessions/{session_id}", "/chats", "/chats/{chat_id}/messages"} <= set(spec["paths"])
    schemas = spec["components"]["schemas"]
    for operations in spec["paths"].values():
        for operation in operations.values():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body and "$ref" in body:
                name = body["$ref"].rsplit("/", 1)[1]
                assert schemas[name].get("examples"), f"request body {name} has no example"
            for status, answer in operation["responses"].items():
                ref = answer.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
                if ref and status.startswith("2"):
                    assert schemas[ref.rsplit("/", 1)[1]].get("examples"), f"{ref} has no example"
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    not_found = spec["paths"]["/sessions/{session_id}"]["get"]["responses"]["404"]
    assert "application/problem+json" in not_found["content"]
