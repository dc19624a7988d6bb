"""What the Temporal UI's Reset does to a finished turn: a new run that repeats no model call and no tool, and leaves
the chat as it was (the README tells operators it is safe)."""

from __future__ import annotations

import json
import uuid

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from models.settings import Settings
from models.tables import UsageEvent
from tests.polling import wait_until
from tests.standin.anthropic_server import StandIn
from tests.turns.helpers import new_chat_id, persisted_messages, send


async def test_reset_of_a_finished_turn_repeats_nothing(
    http: httpx.AsyncClient,
    standin: StandIn,
    temporal_env: WorkflowEnvironment,
    db_sessions: async_sessionmaker[AsyncSession],
    stack_settings: Settings,
) -> None:
    chat_id = new_chat_id()
    command = json.dumps({"command": "echo once >> reset.txt"})
    response, events = await send(http, chat_id, f"{chat_id} [[tool:bash:{command}]] go")
    assert events[-2].chunk["type"] == "finish"
    turn_id = response.headers["x-turn-id"]
    before = await persisted_messages(http, chat_id)
    calls = len(standin.turn_calls(chat_id))
    workflow_id = (await http.get(f"/turns/{turn_id}")).json()["workflowId"]
    handle = temporal_env.client.get_workflow_handle(workflow_id)
    history = await handle.fetch_history()
    first_task = next(e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    reset = await temporal_env.client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace=temporal_env.client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id),
            reason="operator reset in a test",
            workflow_task_finish_event_id=first_task.event_id,
            request_id=str(uuid.uuid4()),
        )
    )
    new_run = temporal_env.client.get_workflow_handle(workflow_id, run_id=reset.run_id)

    async def finished() -> bool:
        return (await new_run.describe()).status == WorkflowExecutionStatus.COMPLETED

    await wait_until(finished, "the reset run to complete")
    assert await persisted_messages(http, chat_id) == before, "the chat is as it was"
    assert len(standin.turn_calls(chat_id)) == calls, "no model call was made again"
    session_id = (await http.get(f"/chats/{chat_id}")).json()["sessionId"]
    effects = stack_settings.workspaces() / session_id / "reset.txt"
    assert effects.read_text() == "once\n", "the completed tool did not run again"
    async with db_sessions() as db:
        rows = await db.scalar(select(func.count()).select_from(UsageEvent).where(UsageEvent.turn_id == turn_id))
    assert rows == 2, "nothing billed twice"
