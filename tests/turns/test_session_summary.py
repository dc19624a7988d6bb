"""The SessionSummary workflow on a real worker: the model (the stand-in, over HTTP) names a session after its
first exchange, a title the user set is kept, and every history replays."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.model.providers import provider_factory
from activities.session_title import SessionTitleActivities
from models.session_summary import SessionSummaryInput, SessionSummaryResult, session_summary_workflow_id
from models.settings import Settings
from models.tables import Chat, ChatMessage, Session, UsageEvent
from tests.conftest import Tenant
from tests.replay import assert_replays
from tests.standin.anthropic_server import StandIn
from workflows.session_summary import SessionSummaryWorkflow


@dataclass(frozen=True)
class SummaryWorker:
    env: WorkflowEnvironment
    task_queue: str

    async def summarize(self, session_id: str) -> SessionSummaryResult:
        """Started the way a turn's finish starts it; returns once the run is over, and checks it replays."""
        workflow_id = session_summary_workflow_id(session_id)
        handle = await self.env.client.start_workflow(
            SessionSummaryWorkflow.run,
            SessionSummaryInput(session_id),
            id=workflow_id,
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        result = await handle.result()
        await assert_replays(self.env.client, [workflow_id], [SessionSummaryWorkflow])
        return result


@pytest.fixture
async def summaries(
    temporal_env: WorkflowEnvironment, stack_settings: Settings, engine: AsyncEngine
) -> AsyncIterator[SummaryWorker]:
    """A worker with only the summary workflow and its activity, on its own task queue."""
    task_queue = f"summary-{uuid.uuid4().hex[:8]}"
    activities = SessionTitleActivities(engine, stack_settings, provider_factory(stack_settings))
    async with Worker(
        temporal_env.client,
        task_queue=task_queue,
        workflows=[SessionSummaryWorkflow],
        activities=[activities.summarize_session],
    ):
        yield SummaryWorker(temporal_env, task_queue)


async def _session_with_exchange(
    db_sessions: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    question: str | None,
    *,
    model: str = "claude-sonnet-4-6",
    title: str | None = None,
) -> str:
    async with db_sessions.begin() as db:
        session = Session(account_id=tenant.account_id, session_type="guided", title=title)
        db.add(session)
        await db.flush()
        chat = Chat(
            id=f"sum{uuid.uuid4().hex[:10]}", session_id=session.id, account_id=tenant.account_id, model_id=model
        )
        db.add(chat)
        if question is not None:
            await db.flush()
            for seq, role, said in ((1, "user", question), (2, "assistant", "Let us check the cable first.")):
                db.add(
                    ChatMessage(
                        chat_id=chat.id, id=f"m{seq}", seq=seq, role=role, parts=[{"type": "text", "text": said}]
                    )
                )
    return str(session.id)


async def _named(db_sessions: async_sessionmaker[AsyncSession], session_id: str) -> tuple[str | None, str | None]:
    async with db_sessions() as db:
        session = await db.get(Session, uuid.UUID(session_id))
        assert session is not None
        return session.title, session.problem_domain


async def test_the_model_names_the_session(
    summaries: SummaryWorker, db_sessions: async_sessionmaker[AsyncSession], tenant: Tenant, standin: StandIn
) -> None:
    # The stand-in echoes its prompt, so a first message holding the JSON a model would write is its answer.
    named = json.dumps({"title": "VPN drops every hour", "problem_domain": "network"})
    session_id = await _session_with_exchange(db_sessions, tenant, f"my vpn keeps dropping {named}")
    result = await summaries.summarize(session_id)

    assert result == SessionSummaryResult(title_generated=True, problem_domain="network")
    assert await _named(db_sessions, session_id) == ("VPN drops every hour", "network")
    asked = standin.calls_with("my vpn keeps dropping")[-1].body
    assert "problem_domain" in json.dumps(asked["system"])
    prompt = asked["messages"][0]["content"][0]["text"]
    assert "<first_answer>\nLet us check the cable first.\n</first_answer>" in prompt
    async with db_sessions() as db:
        usage = (await db.scalars(select(UsageEvent).where(UsageEvent.session_id == uuid.UUID(session_id)))).one()
    assert usage.dedupe_key.startswith("session-summary:") and usage.input_tokens > 0


async def test_an_unusable_answer_falls_back_to_the_first_message(
    summaries: SummaryWorker, db_sessions: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    question = "My printer at the front desk prints blank pages since this morning's driver update"
    session_id = await _session_with_exchange(db_sessions, tenant, question)

    result = await summaries.summarize(session_id)

    assert result == SessionSummaryResult(title_generated=True, problem_domain="other")
    title, domain = await _named(db_sessions, session_id)
    assert (title, domain) == ("My printer at the front desk prints blank pages since this…", "other")
    assert title is not None and len(title) <= 60


async def test_a_title_the_user_set_is_kept(
    summaries: SummaryWorker, db_sessions: async_sessionmaker[AsyncSession], tenant: Tenant, standin: StandIn
) -> None:
    named = json.dumps({"title": "Generated title", "problem_domain": "hardware"})
    session_id = await _session_with_exchange(db_sessions, tenant, f"broken screen {named}", title="Kiosk 3 screen")

    first = await summaries.summarize(session_id)
    assert first == SessionSummaryResult(title_generated=False, problem_domain="hardware")
    assert await _named(db_sessions, session_id) == ("Kiosk 3 screen", "hardware")

    calls = len(standin.calls_with("broken screen"))
    again = await summaries.summarize(session_id)  # a later turn's start: nothing left to do, no model call
    assert again == SessionSummaryResult(title_generated=False, problem_domain="hardware")
    assert len(standin.calls_with("broken screen")) == calls


async def test_a_scripted_session_is_named_without_a_model(
    summaries: SummaryWorker, db_sessions: async_sessionmaker[AsyncSession], tenant: Tenant, standin: StandIn
) -> None:
    session_id = await _session_with_exchange(db_sessions, tenant, "  Reset my\npassword please ", model="scripted")
    assert await summaries.summarize(session_id) == SessionSummaryResult(True, "other")
    assert await _named(db_sessions, session_id) == ("Reset my password please", "other")
    assert standin.calls_with("Reset my") == []


async def test_a_session_without_messages_stays_unnamed(
    summaries: SummaryWorker, db_sessions: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    session_id = await _session_with_exchange(db_sessions, tenant, None)
    assert await summaries.summarize(session_id) == SessionSummaryResult(False, None)
    assert await _named(db_sessions, session_id) == (None, None)
