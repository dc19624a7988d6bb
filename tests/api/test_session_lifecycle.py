"""The session lifecycle: every transition of the table through its endpoint, bad inputs, other accounts,
archived sessions, status updates, triage edits, and handoff drafts streamed end to end from a worker."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from models.enums import SessionStatus, SessionType, can_transition
from models.session_summary import handoff_draft_workflow_id
from models.tables import Session
from tests.conftest import Tenant
from tests.polling import wait_until
from tests.replay import assert_replays
from tests.sse import chunks_of, read_stream, sse_events
from tests.turns.helpers import new_chat_id, send
from workflows.session_summary import HandoffDraftWorkflow

RESOLVE = {
    "resolutionSummary": "Printer back online.",
    "resolvingAction": "Reserved its IP address.",
    "rootCause": "A new DHCP lease after a router reboot.",
    "stepsTaken": ["Printed a config page", "Re-added the printer"],
    "recommendations": ["Reserve printer addresses"],
}
ESCALATE = {
    "escalationReason": "Needs a router firmware change.",
    "escalatedTo": "network-team",
    "escalationPackage": {
        "summary": "Printer drops off the network.",
        "reproductionSteps": ["Reboot the router"],
        "urgency": "high",
        "extra": {"ticket_id": "T-1009", "sites": 2},
    },
}
# action → (status it moves to, body it takes)
ACTIONS: dict[str, tuple[SessionStatus, dict[str, Any] | None]] = {
    "resolve": (SessionStatus.RESOLVED, RESOLVE),
    "escalate": (SessionStatus.ESCALATED, ESCALATE),
    "pause": (SessionStatus.PAUSED, None),
    "resume": (SessionStatus.ACTIVE, None),
    "abandon": (SessionStatus.ABANDONED, None),
}


async def _session_in(
    db_sessions: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    status: SessionStatus = SessionStatus.ACTIVE,
    **fields: Any,
) -> str:
    async with db_sessions.begin() as db:
        session = Session(account_id=tenant.account_id, status=status.value, **fields)
        db.add(session)
        await db.flush()
    return str(session.id)


def _assert_problem(response: httpx.Response, status: int, slug: str, field: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert (problem["type"], problem["field"]) == (f"urn:turnflow:problem:{slug}", field)


@pytest.mark.parametrize(
    ("current", "action"),
    [pytest.param(current, action, id=f"{current}-{action}") for current in SessionStatus for action in ACTIONS],
)
async def test_every_transition(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db_sessions: async_sessionmaker[AsyncSession],
    current: SessionStatus,
    action: str,
) -> None:
    session_id = await _session_in(db_sessions, tenant, current)
    target, body = ACTIONS[action]
    response = await client.post(f"/sessions/{session_id}/{action}", json=body, headers=tenant.headers)
    if current == SessionStatus.ARCHIVED:
        _assert_problem(response, 409, "session-archived", "session_id")
    elif can_transition(current, target):
        assert response.status_code == 200, response.text
        assert response.json()["status"] == target
    else:
        _assert_problem(response, 409, "invalid-transition", "status")
    after = (await client.get(f"/sessions/{session_id}", headers=tenant.headers)).json()
    assert after["status"] == (target if response.status_code == 200 else current)


async def test_resolve_and_escalate_record_their_fields(
    client: httpx.AsyncClient, tenant: Tenant, db_sessions: async_sessionmaker[AsyncSession]
) -> None:
    session_id = await _session_in(db_sessions, tenant, SessionStatus.REQUESTING_ESCALATION)
    escalated = (await client.post(f"/sessions/{session_id}/escalate", json=ESCALATE, headers=tenant.headers)).json()
    assert (escalated["escalationReason"], escalated["escalatedTo"]) == (
        "Needs a router firmware change.",
        "network-team",
    )
    assert escalated["escalationPackage"] == {
        "summary": "Printer drops off the network.",
        "environment": None,
        "reproductionSteps": ["Reboot the router"],
        "attemptedFixes": [],
        "evidence": [],
        "urgency": "high",
        "extra": {"ticket_id": "T-1009", "sites": 2},
    }
    assert escalated["escalatedAt"] is not None and escalated["resolvedAt"] is None

    resolved = (await client.post(f"/sessions/{session_id}/resolve", json=RESOLVE, headers=tenant.headers)).json()
    assert resolved["status"] == "resolved"
    assert {key: resolved[key] for key in RESOLVE} == RESOLVE
    assert resolved["resolvedAt"] is not None
    assert resolved["escalatedTo"] == "network-team"  # the escalation stays on record

    reopened = (await client.post(f"/sessions/{session_id}/resume", headers=tenant.headers)).json()
    assert (reopened["status"], reopened["resolutionSummary"]) == ("active", "Printer back online.")


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "resolve", {}, "resolutionSummary"),
        ("POST", "resolve", {"resolutionSummary": "   "}, "resolutionSummary"),
        ("POST", "resolve", {"resolutionSummary": "x" * 8001}, "resolutionSummary"),
        ("POST", "resolve", {"resolutionSummary": "ok", "rootCause": 5}, "rootCause"),
        ("POST", "resolve", {"resolutionSummary": "ok", "stepsTaken": ["s"] * 51}, "stepsTaken"),
        ("POST", "resolve", {"resolutionSummary": "ok", "recommendations": ["x" * 2001]}, "recommendations.0"),
        ("POST", "resolve", {"resolutionSummary": "ok", "resolvedAt": "2026-01-01"}, "resolvedAt"),
        ("POST", "escalate", {**ESCALATE, "escalationReason": ""}, "escalationReason"),
        ("POST", "escalate", {**ESCALATE, "escalatedTo": "x" * 201}, "escalatedTo"),
        ("POST", "escalate", {k: v for k, v in ESCALATE.items() if k != "escalationPackage"}, "escalationPackage"),
        ("POST", "escalate", {**ESCALATE, "escalationPackage": {}}, "escalationPackage.summary"),
        (
            "POST",
            "escalate",
            {**ESCALATE, "escalationPackage": {"summary": "s", "urgency": "asap"}},
            "escalationPackage.urgency",
        ),
        (
            "POST",
            "escalate",
            {**ESCALATE, "escalationPackage": {"summary": "s", "extra": {f"k{i}": i for i in range(21)}}},
            "escalationPackage.extra",
        ),
        (
            "POST",
            "escalate",
            {**ESCALATE, "escalationPackage": {"summary": "s", "evidence": ["e"] * 51}},
            "escalationPackage.evidence",
        ),
        ("POST", "status-update", {}, "text"),
        ("POST", "status-update", {"text": " "}, "text"),
        ("POST", "status-update", {"text": "x" * 8001}, "text"),
        ("PATCH", "triage", {"evidenceItems": [{"text": "x", "status": "maybe"}]}, "evidenceItems.0.status"),
        ("PATCH", "triage", {"clientName": "x" * 501}, "clientName"),
        ("PATCH", "triage", {"status": "resolved"}, "status"),
        ("POST", "handoff-draft", {}, "kind"),
        ("POST", "handoff-draft", {"kind": "close"}, "kind"),
    ],
)
async def test_bad_input_is_422_naming_the_field(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db_sessions: async_sessionmaker[AsyncSession],
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    session_id = await _session_in(db_sessions, tenant)
    response = await client.request(method, f"/sessions/{session_id}/{path}", json=body, headers=tenant.headers)
    _assert_problem(response, 422, "validation-error", field)


@pytest.mark.parametrize("path", ["pause", "resume", "abandon", "resolve", "status-updates"])
async def test_malformed_session_id_is_422(client: httpx.AsyncClient, tenant: Tenant, path: str) -> None:
    method = "GET" if path == "status-updates" else "POST"
    response = await client.request(method, f"/sessions/not-a-uuid/{path}", json=RESOLVE, headers=tenant.headers)
    _assert_problem(response, 422, "validation-error", "session_id")


ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    *(("POST", action, body) for action, (_, body) in ACTIONS.items()),
    ("POST", "status-update", {"text": "on it"}),
    ("GET", "status-updates", None),
    ("PATCH", "triage", {"clientName": "Acme"}),
    ("POST", "handoff-draft", {"kind": "resolve"}),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_another_accounts_session_is_404(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    db_sessions: async_sessionmaker[AsyncSession],
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    theirs = await _session_in(db_sessions, other_tenant, client_name="Theirs")
    response = await client.request(method, f"/sessions/{theirs}/{path}", json=body, headers=tenant.headers)
    _assert_problem(response, 404, "not-found", "session_id")
    untouched = (await client.get(f"/sessions/{theirs}", headers=other_tenant.headers)).json()
    assert (untouched["status"], untouched["clientName"]) == ("active", "Theirs")


@pytest.mark.parametrize(("method", "path", "body"), [e for e in ENDPOINTS if e[0] != "GET" and e[1] not in ACTIONS])
async def test_archived_session_is_409(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db_sessions: async_sessionmaker[AsyncSession],
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    session_id = await _session_in(db_sessions, tenant, SessionStatus.ARCHIVED, status_before_archive="active")
    response = await client.request(method, f"/sessions/{session_id}/{path}", json=body, headers=tenant.headers)
    _assert_problem(response, 409, "session-archived", "session_id")


async def test_status_updates_newest_first_in_pages(
    client: httpx.AsyncClient, tenant: Tenant, db_sessions: async_sessionmaker[AsyncSession]
) -> None:
    session_id = await _session_in(db_sessions, tenant)
    for n in range(3):
        posted = await client.post(
            f"/sessions/{session_id}/status-update", json={"text": f"  update {n} "}, headers=tenant.headers
        )
        assert posted.status_code == 201, posted.text
        assert posted.json()["text"] == f"update {n}"
        assert posted.json()["sessionId"] == session_id
    url = f"/sessions/{session_id}/status-updates"
    first = (await client.get(url, params={"limit": 2}, headers=tenant.headers)).json()
    assert [u["text"] for u in first["items"]] == ["update 2", "update 1"]
    rest = (await client.get(url, params={"cursor": first["nextCursor"]}, headers=tenant.headers)).json()
    assert ([u["text"] for u in rest["items"]], rest["nextCursor"]) == (["update 0"], None)
    for params in ({"limit": 0}, {"cursor": "not-a-cursor"}):
        response = await client.get(url, params=params, headers=tenant.headers)
        assert response.status_code == 422
        assert response.json()["field"] in {"limit", "cursor"}


async def test_triage_patch_changes_only_the_fields_sent(
    client: httpx.AsyncClient, tenant: Tenant, db_sessions: async_sessionmaker[AsyncSession]
) -> None:
    session_id = await _session_in(
        db_sessions, tenant, session_type=SessionType.GUIDED.value, client_name="Acme", asset_name="PC-7"
    )
    evidence = [
        {"text": "Config page shows 169.254.x.x", "status": "confirmed"},
        {"text": "Cable", "status": "pending"},
    ]
    url = f"/sessions/{session_id}/triage"
    patched = await client.patch(
        url, json={"issueCategory": "printing", "assetName": None, "evidenceItems": evidence}, headers=tenant.headers
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["clientName"], body["assetName"], body["issueCategory"]) == ("Acme", None, "printing")
    assert body["evidenceItems"] == evidence
    cleared = (await client.patch(url, json={"evidenceItems": None}, headers=tenant.headers)).json()
    assert (cleared["evidenceItems"], cleared["issueCategory"], cleared["clientName"]) == ([], "printing", "Acme")


async def test_guided_and_chat_sessions_share_one_history(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = {}
    for kind in ("guided", "chat"):
        response = await client.post("/sessions", json={"sessionType": kind}, headers=tenant.headers)
        created[kind] = response.json()["id"]
    await client.post(f"/sessions/{created['guided']}/resolve", json=RESOLVE, headers=tenant.headers)

    async def listed(**params: str) -> list[str]:
        response = await client.get("/sessions", params=params, headers=tenant.headers)
        return [item["id"] for item in response.json()["items"]]

    assert await listed(status="all") == [created["chat"], created["guided"]]  # newest activity first
    assert await listed(status="all", session_type="guided") == [created["guided"]]
    assert await listed(session_type="chat") == [created["chat"]]


async def test_draft_needs_a_conversation_and_a_possible_transition(
    client: httpx.AsyncClient, tenant: Tenant, db_sessions: async_sessionmaker[AsyncSession]
) -> None:
    empty = await _session_in(db_sessions, tenant)
    response = await client.post(f"/sessions/{empty}/handoff-draft", json={"kind": "resolve"}, headers=tenant.headers)
    _assert_problem(response, 409, "nothing-to-draft", "session_id")
    abandoned = await _session_in(db_sessions, tenant, SessionStatus.ABANDONED)
    response = await client.post(
        f"/sessions/{abandoned}/handoff-draft", json={"kind": "escalate"}, headers=tenant.headers
    )
    _assert_problem(response, 409, "invalid-transition", "status")


async def _draft(http: httpx.AsyncClient, session_id: str, kind: str) -> tuple[httpx.Response, list[dict[str, Any]]]:
    async with http.stream("POST", f"/sessions/{session_id}/handoff-draft", json={"kind": kind}) as response:
        events = await read_stream(response)
    assert events[-1].data == "[DONE]"
    return response, chunks_of(events)


async def test_handoff_draft_streams_from_the_conversation(
    http: httpx.AsyncClient, temporal_env: WorkflowEnvironment
) -> None:
    session_id = (await http.post("/sessions", json={"sessionType": "guided"})).json()["id"]
    sent, _ = await send(http, new_chat_id(), "the front desk printer prints blank pages", sessionId=session_id)
    assert sent.status_code == 200, sent.text

    response, chunks = await _draft(http, session_id, "resolve")
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-vercel-ai-ui-message-stream"] == "v1"
    kinds = [c["type"] for c in chunks]
    assert kinds[:3] == ["start", "start-step", "text-start"]
    assert kinds[-3:] == ["text-end", "finish-step", "finish"]
    assert set(kinds[3:-3]) == {"text-delta"}
    assert chunks[0]["messageMetadata"] == {"kind": "resolve", "sessionId": session_id}
    draft = "".join(c["delta"] for c in chunks if c["type"] == "text-delta")
    # The stand-in echoes what it was asked: the whole conversation, then the request for a resolution record.
    assert draft.startswith("Echo: <conversation>")
    assert "User: the front desk printer prints blank pages" in draft
    assert "Assistant: Echo: the front desk printer prints blank pages" in draft
    assert draft.endswith("Write the resolution record of this session now.")
    session = (await http.get(f"/sessions/{session_id}")).json()
    assert (session["status"], session["resolutionSummary"]) == ("active", None)  # a draft saves nothing

    workflow_id = handoff_draft_workflow_id(session_id, response.headers["x-draft-id"])
    handle = temporal_env.client.get_workflow_handle(workflow_id)
    assert await handle.result() == {"characters": len(draft)}  # the length only: no text in the history
    await assert_replays(temporal_env.client, [workflow_id], [HandoffDraftWorkflow])


async def test_handoff_draft_ends_with_an_error_when_the_model_fails(http: httpx.AsyncClient) -> None:
    chat_id = new_chat_id()
    await send(http, chat_id, "this one breaks the model [[http:400]]")
    session_id = (await http.get(f"/chats/{chat_id}")).json()["sessionId"]
    _, chunks = await _draft(http, session_id, "escalate")
    assert [c["type"] for c in chunks] == ["start", "start-step", "text-start", "text-end", "error"]
    assert "400" in chunks[-1]["errorText"]


async def test_an_offline_session_gets_a_scripted_draft(http: httpx.AsyncClient) -> None:
    chat_id = new_chat_id()
    await send(http, chat_id, "the scanner shows error 42", model="scripted")
    session_id = (await http.get(f"/chats/{chat_id}")).json()["sessionId"]
    _, chunks = await _draft(http, session_id, "escalate")
    assert chunks[-1]["type"] == "finish"
    draft = "".join(c["delta"] for c in chunks if c["type"] == "text-delta")
    assert draft.startswith("Reason: still open after 1 user messages")
    assert "Summary: the scanner shows error 42\n" in draft
    assert "Attempted fixes:\n- bash " in draft  # the scripted turn listed the workspace
    assert draft.endswith("Urgency: normal")


async def test_a_reader_who_leaves_cancels_the_draft(
    http: httpx.AsyncClient, temporal_env: WorkflowEnvironment
) -> None:
    chat_id = new_chat_id()
    await send(http, chat_id, "slow words please [[delay:100]]")
    session_id = (await http.get(f"/chats/{chat_id}")).json()["sessionId"]
    async with http.stream("POST", f"/sessions/{session_id}/handoff-draft", json={"kind": "resolve"}) as response:
        draft_id = response.headers["x-draft-id"]
        async for event in sse_events(response):
            if event.data != "[DONE]" and event.chunk["type"] == "text-delta":
                break
    handle = temporal_env.client.get_workflow_handle(handoff_draft_workflow_id(session_id, draft_id))

    async def cancelled() -> bool:
        return (await handle.describe()).status == WorkflowExecutionStatus.CANCELED

    await wait_until(cancelled, "the abandoned draft's workflow to be cancelled")
