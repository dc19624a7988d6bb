"""Workflow histories stay small and token-free, and every history the suite recorded replays cleanly."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from models.names import KIND_ATTRIBUTE, SANDBOX_KIND
from models.tables import Turn
from tests.replay import assert_replays
from tests.turns.helpers import new_chat_id, send
from workflows.chat_turn import ChatTurnWorkflow
from workflows.prune_turn_events import PruneTurnEventsWorkflow
from workflows.sandbox_lifecycle import SandboxLifecycleWorkflow
from workflows.subagent import SubAgentWorkflow


async def test_simple_turn_history_is_small_and_has_no_tokens(
    http: httpx.AsyncClient, temporal_env: WorkflowEnvironment
) -> None:
    secret_words = "zebra quokka narwhal"
    response, events = await send(http, new_chat_id(), secret_words)
    assert events[-2].chunk["type"] == "finish"
    turn = (await http.get(f"/turns/{response.headers['x-turn-id']}")).json()
    history = await temporal_env.client.get_workflow_handle(turn["workflowId"]).fetch_history()
    assert len(history.events) <= 40, len(history.events)
    as_json = history.to_json()
    for word in secret_words.split():
        assert word not in as_json, "model or user text leaked into workflow history"


@pytest.mark.runs_last
async def test_every_recorded_history_replays(
    temporal_env: WorkflowEnvironment, db_sessions: async_sessionmaker[AsyncSession], http: httpx.AsyncClient
) -> None:
    """Runs after the other tests, so it replays the histories of every turn they ran (stopped, failed, queued…)."""
    await send(http, new_chat_id(), 'with a tool [[tool:bash:{"command": "true"}]]')
    async with db_sessions() as db:
        workflow_ids = list(
            await db.scalars(
                select(Turn.workflow_id).where(
                    Turn.status.in_(["completed", "stopped", "failed"]), Turn.started_at.is_not(None)
                )
            )
        )
    listing = temporal_env.client.list_workflows(f"{KIND_ATTRIBUTE} = '{SANDBOX_KIND}'")
    sandboxes = list(dict.fromkeys([listed.id async for listed in listing]))  # one id per continued-as-new chain
    described = [await temporal_env.client.get_workflow_handle(w).describe() for w in workflow_ids]
    closed = [d.id for d in described if d.status is not None and d.status.name != "RUNNING"]
    assert closed and sandboxes
    workflows = [ChatTurnWorkflow, SubAgentWorkflow, SandboxLifecycleWorkflow, PruneTurnEventsWorkflow]
    await assert_replays(temporal_env.client, closed + sandboxes, workflows)
