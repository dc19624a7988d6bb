"""Questions to the user: visible to every device at once, answered from any of them, durable while waiting."""

from __future__ import annotations

import httpx

from tests.conftest import Tenant
from tests.sse import read_stream
from tests.turns.helpers import (
    answer_re_post,
    ask_and_leave,
    ask_question,
    assembled,
    new_chat_id,
    persisted_messages,
    user_message,
    wait_for_question,
)


async def test_question_answered_from_a_second_device(http: httpx.AsyncClient, api_url: str, tenant: Tenant) -> None:
    chat_id = new_chat_id()
    first_device = await ask_and_leave(http, chat_id, ask_question())
    turn_id = first_device[0].chunk["messageMetadata"]["turnId"]
    async with httpx.AsyncClient(base_url=api_url, headers=tenant.headers, timeout=30) as phone:
        pending = await wait_for_question(phone, chat_id)
        assert (pending["question"], pending["options"], pending["turnId"]) == (
            "Which printer?",
            ["Front desk", "Back office"],
            turn_id,
        )
        turn = (await phone.get(f"/turns/{turn_id}")).json()
        assert turn["status"] == "waiting" and turn["pendingQuestion"] == pending
        two_answers = await phone.post(
            f"/turns/{turn_id}/input",
            json={"toolCallId": pending["toolCallId"], "answer": ["Front desk", "Back office"]},
        )
        assert two_answers.status_code == 422 and two_answers.json()["field"] == "answer", "single-select question"
        unknown = await phone.post(f"/turns/{turn_id}/input", json={"toolCallId": "toolu_nope", "answer": "x"})
        assert unknown.status_code == 409 and unknown.json()["type"] == "urn:turnflow:problem:unknown-question"
        answered = await phone.post(
            f"/turns/{turn_id}/input", json={"toolCallId": pending["toolCallId"], "answer": "Front desk"}
        )
        assert answered.status_code == 200
        again = await phone.post(
            f"/turns/{turn_id}/input", json={"toolCallId": pending["toolCallId"], "answer": "Back office"}
        )
        assert again.status_code == 409 and again.json()["type"] == "urn:turnflow:problem:question-closed"
        async with phone.stream("GET", f"/turns/{turn_id}/stream") as resumed:
            replay = await read_stream(resumed)
    messages = await persisted_messages(http, chat_id)
    assert [m["role"] for m in messages] == ["user", "assistant"], "the answer continued the same message"
    answer = messages[1]
    question_part = next(p for p in answer["parts"] if p["type"] == "tool-ask_user_question")
    assert question_part["output"] == {"answer": "Front desk"}, "the first answer stands"
    assert 'ok: {"answer": "Front desk"}' in answer["parts"][-1]["text"]
    assert answer["parts"] == assembled(replay)["parts"], "the phone assembled what was persisted"


async def test_unanswered_question_times_out_with_a_tool_error(http: httpx.AsyncClient) -> None:
    chat_id = new_chat_id()
    body = {"id": chat_id, "messages": [user_message(ask_question(timeout_s=1))]}
    async with http.stream("POST", "/chat/workflow", json=body) as response:
        events = await read_stream(response)
    error = next(e.chunk for e in events[:-1] if e.chunk["type"] == "tool-output-error")
    assert "did not answer in time" in error["errorText"]
    assert events[-2].chunk["type"] == "finish", "the turn went on without the answer"
    assert (await http.get(f"/chats/{chat_id}")).json()["pendingQuestion"] is None


async def test_ai_sdk_answer_by_add_tool_output_and_re_post(http: httpx.AsyncClient) -> None:
    chat_id = new_chat_id()
    asked = await ask_and_leave(http, chat_id, ask_question())
    pending = await wait_for_question(http, chat_id)
    body = await answer_re_post(http, chat_id, asked, "Back office")
    async with http.stream("POST", "/chat/workflow", json=body) as response:
        assert response.status_code == 200
        rest = await read_stream(response)
    assert rest[0].chunk == {"type": "start", "messageId": body["messageId"]}
    assert rest[-2].chunk["type"] == "finish"
    answer = (await persisted_messages(http, chat_id))[-1]
    saved = next(p for p in answer["parts"] if p["type"] == "tool-ask_user_question")
    assert saved["output"] == {"answer": "Back office"} and saved["toolCallId"] == pending["toolCallId"]
    stale = await http.post("/chat/workflow", json=body)
    assert stale.status_code == 409
