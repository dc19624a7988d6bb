"""An API process killed between committing a send and starting its workflow: the reconciler starts the turn's
workflow within its period, the message is answered, and the chat takes new sends again."""

from __future__ import annotations

import httpx
import pytest

from api.faults import FAULT_POINT_ENV, SEND_COMMITTED
from tests.crash.process_stack import ProcessStack
from tests.polling import wait_until
from tests.replay import assert_replays
from tests.turns.helpers import new_chat_id, persisted_messages, send, user_message
from workflows.chat_turn import ChatTurnWorkflow


async def test_api_killed_between_commit_and_workflow_start(
    crash_stack: ProcessStack, crash_http: httpx.AsyncClient
) -> None:
    dying = await crash_stack.start_api({FAULT_POINT_ENV: SEND_COMMITTED})
    chat_id = new_chat_id()
    body = {"id": chat_id, "messages": [user_message(f"{chat_id} [[words:5]]")]}
    async with httpx.AsyncClient(base_url=dying, headers=crash_http.headers, timeout=30) as http:
        with pytest.raises(httpx.TransportError):
            await http.post("/chat/workflow", json=body)
    killed = crash_stack.apis.pop(dying)
    assert await killed.process.wait() == -9, "the API died at the fault point"

    turn_id = (await crash_http.get(f"/chats/{chat_id}")).json()["activeTurnId"]
    assert turn_id is not None, "the send was committed and holds the chat's slot"

    async def answered() -> bool:
        status: str = (await crash_http.get(f"/turns/{turn_id}")).json()["status"]
        return status == "completed"

    await wait_until(answered, "the reconciler to start the stranded turn and the turn to finish")
    messages = await persisted_messages(crash_http, chat_id)
    assert [(m["role"], m["status"]) for m in messages] == [("user", "complete"), ("assistant", "complete")]
    assert (await crash_http.get(f"/chats/{chat_id}")).json()["activeTurnId"] is None
    response, events = await send(crash_http, chat_id, "and now?")
    assert response.status_code == 200 and events[-2].chunk["type"] == "finish", "the chat takes new sends"
    assert crash_stack.client is not None
    workflow_id = (await crash_http.get(f"/turns/{turn_id}")).json()["workflowId"]
    await assert_replays(crash_stack.client, [workflow_id], [ChatTurnWorkflow])
