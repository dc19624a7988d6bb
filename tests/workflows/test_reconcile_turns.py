"""The reconciler, run as a real workflow: a send whose workflow never started gets it started and answered; a
live turn whose workflow was terminated is failed with a clear error; both chats end with their slot free."""

from __future__ import annotations

import uuid

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.reconciliation import LOST_TURN_ERROR
from models.reconciliation import ReconcileTurnsInput
from models.settings import Settings
from tests.polling import wait_until
from tests.replay import assert_replays
from tests.turns.held_starts import Starts
from tests.turns.helpers import ask_and_leave, ask_question, new_chat_id, persisted_messages, user_message
from workflows.chat_turn import ChatTurnWorkflow
from workflows.reconcile_turns import ReconcileTurnsWorkflow


async def test_reconciler_starts_a_stranded_send_and_fails_a_lost_turn(
    http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    temporal_env: WorkflowEnvironment,
    stack_settings: Settings,
) -> None:
    Starts(monkeypatch, start=False, fail=False)  # as if the API died before starting the workflow
    stranded_chat = new_chat_id()
    body = {"id": stranded_chat, "messages": [user_message("answer me eventually")]}
    async with http.stream("POST", "/chat/workflow", json=body) as response:
        stranded_turn = response.headers["x-turn-id"]
    monkeypatch.undo()
    stranded = (await http.get(f"/turns/{stranded_turn}")).json()
    assert stranded["status"] == "queued"

    lost_chat = new_chat_id()
    asked = await ask_and_leave(http, lost_chat, ask_question())
    lost_turn = asked[0].chunk["messageMetadata"]["turnId"]
    lost = (await http.get(f"/turns/{lost_turn}")).json()
    await temporal_env.client.get_workflow_handle(lost["workflowId"]).terminate("by an operator")

    reconcile_id = f"reconcile-test-{uuid.uuid4().hex[:6]}"
    result = await temporal_env.client.execute_workflow(
        ReconcileTurnsWorkflow.run,
        ReconcileTurnsInput(stranded_after_s=0),
        id=reconcile_id,
        task_queue=stack_settings.task_queue,
    )
    assert result.started >= 1 and result.failed >= 1

    async def answered() -> bool:
        status: str = (await http.get(f"/turns/{stranded_turn}")).json()["status"]
        return status == "completed"

    await wait_until(answered, "the stranded turn to be started and answered")
    messages = await persisted_messages(http, stranded_chat)
    assert [(m["role"], m["status"]) for m in messages] == [("user", "complete"), ("assistant", "complete")]
    assert messages[1]["parts"], "the message was answered"

    failed = (await http.get(f"/turns/{lost_turn}")).json()
    assert failed["status"] == "failed" and failed["error"] == {"message": LOST_TURN_ERROR}
    assert (await persisted_messages(http, lost_chat))[-1]["status"] == "failed"
    for chat_id in (stranded_chat, lost_chat):
        chat = (await http.get(f"/chats/{chat_id}")).json()
        assert chat["activeTurnId"] is None and chat["pendingQuestion"] is None
    await assert_replays(
        temporal_env.client, [reconcile_id, stranded["workflowId"]], [ReconcileTurnsWorkflow, ChatTurnWorkflow]
    )
