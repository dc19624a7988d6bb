"""GET /usage on a seeded ledger: totals, filters, grouping, account isolation and bad inputs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.tables import Chat, Session, Turn, UsageEvent
from tests.conftest import Tenant

PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Ledger:
    sessions: list[uuid.UUID]
    chats: list[str]


async def _chat_with_turns(db: AsyncSession, account_id: uuid.UUID, turns: int) -> tuple[Chat, list[uuid.UUID]]:
    session = Session(account_id=account_id)
    db.add(session)
    await db.flush()
    chat = Chat(id=f"usage{uuid.uuid4().hex[:10]}", session_id=session.id, account_id=account_id)
    db.add(chat)
    await db.flush()
    rows = [
        Turn(
            chat_id=chat.id,
            session_id=session.id,
            account_id=account_id,
            number=n,
            workflow_id=f"turn:{chat.id}:{n}",
            status="completed",
        )
        for n in range(1, turns + 1)
    ]
    db.add_all(rows)
    await db.flush()
    return chat, [t.id for t in rows]


def _event(
    chat: Chat, turn_id: uuid.UUID, model: str, agent_type: str, at: str, tokens: int, cost: str
) -> dict[str, Any]:
    """A ledger row whose token counts derive from `tokens`, so every sum below is checkable by hand."""
    return {
        "dedupe_key": f"usage-test:{uuid.uuid4()}",
        "turn_id": turn_id,
        "session_id": chat.session_id,
        "chat_id": chat.id,
        "account_id": chat.account_id,
        "model": model,
        "agent_type": agent_type,
        "input_tokens": tokens,
        "output_tokens": tokens // 10,
        "cache_write_tokens": tokens // 100,
        "cache_read_tokens": tokens * 2,
        "cost_usd": Decimal(cost),
        "created_at": datetime.fromisoformat(at),
    }


async def _seed(db_sessions: async_sessionmaker[AsyncSession], tenant: Tenant, other: Tenant) -> Ledger:
    """Two chats of the tenant (one with two turns) and one chat of another account on the same model and day."""
    async with db_sessions.begin() as db:
        first, (t1, t2) = await _chat_with_turns(db, tenant.account_id, 2)
        second, (t3,) = await _chat_with_turns(db, tenant.account_id, 1)
        foreign, (t4,) = await _chat_with_turns(db, other.account_id, 1)
        await db.execute(
            insert(UsageEvent),
            [
                _event(first, t1, "claude-sonnet-4-6", "main", "2030-01-01T10:00:00+00:00", 1000, "0.010000"),
                _event(first, t1, "claude-sonnet-4-6", "subagent", "2030-01-01T11:00:00+00:00", 2000, "0.020000"),
                _event(first, t2, "claude-haiku-4-5", "main", "2030-01-02T09:00:00+00:00", 300, "0.001000"),
                # 23:30 UTC on Jan 2: the UTC day, whatever the offset it was written with.
                _event(second, t3, "claude-sonnet-4-6", "main", "2030-01-03T01:30:00+02:00", 500, "0.005000"),
                _event(foreign, t4, "claude-sonnet-4-6", "main", "2030-01-01T10:00:00+00:00", 9000, "9.000000"),
            ],
        )
    return Ledger(sessions=[first.session_id, second.session_id], chats=[first.id, second.id])


@pytest.fixture
async def ledger(db_sessions: async_sessionmaker[AsyncSession], tenant: Tenant, other_tenant: Tenant) -> Ledger:
    return await _seed(db_sessions, tenant, other_tenant)


async def _usage(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> dict[str, Any]:
    response = await client.get("/usage", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _row(tokens: int, cost: str, calls: int, turns: int, **keys: str) -> dict[str, Any]:
    return {
        **keys,
        "inputTokens": tokens,
        "outputTokens": tokens // 10,
        "cacheWriteTokens": tokens // 100,
        "cacheReadTokens": tokens * 2,
        "costUsd": cost,
        "calls": calls,
        "turns": turns,
    }


async def test_totals_count_only_the_callers_account(client: httpx.AsyncClient, tenant: Tenant, ledger: Ledger) -> None:
    body = await _usage(client, tenant)
    assert body == {"groupBy": [], "rows": [_row(3800, "0.036000", calls=4, turns=3)]}


async def test_group_by_model(client: httpx.AsyncClient, tenant: Tenant, ledger: Ledger) -> None:
    body = await _usage(client, tenant, group_by="model")
    assert body["groupBy"] == ["model"]
    assert body["rows"] == [
        _row(300, "0.001000", calls=1, turns=1, model="claude-haiku-4-5"),
        _row(3500, "0.035000", calls=3, turns=2, model="claude-sonnet-4-6"),
    ]


async def test_group_by_model_and_utc_day(client: httpx.AsyncClient, tenant: Tenant, ledger: Ledger) -> None:
    body = await _usage(client, tenant, group_by=["model", "day"])
    assert body["rows"] == [
        _row(300, "0.001000", calls=1, turns=1, model="claude-haiku-4-5", day="2030-01-02"),
        _row(3000, "0.030000", calls=2, turns=1, model="claude-sonnet-4-6", day="2030-01-01"),
        _row(500, "0.005000", calls=1, turns=1, model="claude-sonnet-4-6", day="2030-01-02"),
    ]


async def test_group_by_agent_type_comma_separated(client: httpx.AsyncClient, tenant: Tenant, ledger: Ledger) -> None:
    body = await _usage(client, tenant, group_by="agent_type, agent_type")
    assert body["groupBy"] == ["agent_type"]
    assert body["rows"] == [
        _row(1800, "0.016000", calls=3, turns=3, agentType="main"),
        _row(2000, "0.020000", calls=1, turns=1, agentType="subagent"),
    ]


async def test_group_by_session_and_by_chat(client: httpx.AsyncClient, tenant: Tenant, ledger: Ledger) -> None:
    first, second = ledger.sessions
    by_session = await _usage(client, tenant, group_by="session")
    assert by_session["groupBy"] == ["session"]
    assert sorted(by_session["rows"], key=lambda r: r["inputTokens"]) == [
        _row(500, "0.005000", calls=1, turns=1, sessionId=str(second)),
        _row(3300, "0.031000", calls=3, turns=2, sessionId=str(first)),
    ]
    by_chat = await _usage(client, tenant, group_by=["chat", "model"], session_id=str(first))
    assert by_chat["rows"] == [
        _row(300, "0.001000", calls=1, turns=1, chatId=ledger.chats[0], model="claude-haiku-4-5"),
        _row(3000, "0.030000", calls=2, turns=1, chatId=ledger.chats[0], model="claude-sonnet-4-6"),
    ]


async def test_filters(client: httpx.AsyncClient, tenant: Tenant, ledger: Ledger) -> None:
    async def totals(**params: Any) -> dict[str, Any]:
        rows = (await _usage(client, tenant, **params))["rows"]
        assert len(rows) == 1
        total: dict[str, Any] = rows[0]
        return total

    assert await totals(session_id=str(ledger.sessions[1])) == _row(500, "0.005000", calls=1, turns=1)
    assert await totals(chat_id=ledger.chats[0]) == _row(3300, "0.031000", calls=3, turns=2)
    window = {"from": "2030-01-01T10:30:00Z", "to": "2030-01-02T09:00:00Z"}  # `to` is exclusive
    assert await totals(**window) == _row(2000, "0.020000", calls=1, turns=1)
    assert await totals(**{"from": "2030-01-01T10:30:00", "to": "2030-01-02T09:00:00.000001"}) == _row(
        2300, "0.021000", calls=2, turns=2
    )
    assert await totals(chat_id=ledger.chats[1], **{"from": "2030-01-01T00:00:00Z"}) == _row(
        500, "0.005000", calls=1, turns=1
    )


async def test_other_accounts_filters_find_nothing(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, ledger: Ledger
) -> None:
    empty = _row(0, "0", calls=0, turns=0)
    assert (await _usage(client, other_tenant, session_id=str(ledger.sessions[0])))["rows"] == [empty]
    assert (await _usage(client, other_tenant, chat_id=ledger.chats[0], group_by="model"))["rows"] == []
    assert (await _usage(client, other_tenant, group_by="model"))["rows"] == [
        _row(9000, "9.000000", calls=1, turns=1, model="claude-sonnet-4-6")
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"group_by": "color"}, "group_by"),
        ({"group_by": ["model", "account"]}, "group_by"),
        ({"from": "2030-01-02T00:00:00Z", "to": "2030-01-01T00:00:00Z"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2030-13-01T00:00:00Z"}, "to"),
        ({"session_id": "not-a-uuid"}, "session_id"),
    ],
)
async def test_bad_inputs_are_422_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, params: dict[str, Any], field: str
) -> None:
    response = await client.get("/usage", params=params, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["type"] == "urn:turnflow:problem:validation-error"
    assert body["field"] == field


async def test_needs_an_api_key(client: httpx.AsyncClient) -> None:
    response = await client.get("/usage")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith(PROBLEM)
