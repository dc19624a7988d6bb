"""Model failures: retryable ones are retried by Temporal alone, others end the turn with a clear error."""

from __future__ import annotations

import itertools

import httpx
import pytest

from tests.standin.anthropic_server import StandIn
from tests.turns.helpers import assembled, new_chat_id, persisted_messages, send


async def test_overloaded_then_ok_is_retried_by_temporal(http: httpx.AsyncClient, standin: StandIn) -> None:
    chat_id = new_chat_id()
    response, events = await send(http, chat_id, f"[[http:529]] [[fail:1]] [[retry-after:0.05]] {chat_id}")
    assert response.status_code == 200
    assert events[-2].chunk["type"] == "finish"
    assert len(standin.turn_calls(chat_id)) == 2, "one failure, one retry, and the SDK itself retried nothing"
    turn = (await http.get(f"/turns/{response.headers['x-turn-id']}")).json()
    assert turn["status"] == "completed"


async def test_rate_limit_honours_retry_after(http: httpx.AsyncClient, standin: StandIn) -> None:
    chat_id = new_chat_id()  # in the prompt too: the stand-in counts failures per conversation
    _, events = await send(http, chat_id, f"[[http:429]] [[fail:2]] [[retry-after:0.1]] {chat_id}")
    assert events[-2].chunk["type"] == "finish"
    calls = standin.turn_calls(chat_id)
    assert len(calls) == 3
    gaps = [later.started - earlier.started for earlier, later in itertools.pairwise(calls)]
    assert all(gap >= 0.1 for gap in gaps), gaps


async def test_invalid_request_fails_the_turn_without_retry(http: httpx.AsyncClient, standin: StandIn) -> None:
    chat_id = new_chat_id()
    response, events = await send(http, chat_id, f"[[http:400]] bad {chat_id}")
    assert len(standin.turn_calls(chat_id)) == 1
    assert events[-1].data == "[DONE]"
    error = events[-2].chunk
    assert error["type"] == "error" and "400" in error["errorText"]
    turn = (await http.get(f"/turns/{response.headers['x-turn-id']}")).json()
    assert turn["status"] == "failed" and "400" in turn["error"]["message"]
    messages = await persisted_messages(http, chat_id)
    assert messages[-1]["status"] == "failed"
    assert messages[-1]["parts"] == assembled(events)["parts"]
    # The slot is free again: the next send is accepted.
    again, _ = await send(http, chat_id, "fine now")
    assert again.status_code == 200


@pytest.mark.parametrize(
    ("model", "directives", "mode"),
    [
        ("claude-sonnet-4-6", "", "instruction"),
        ("claude-sonnet-4-6", "[[overlap:2]]", "instruction"),
        ("claude-sonnet-4-5", "[[overlap:1]]", "prefill"),
    ],
)
async def test_retry_after_a_mid_stream_error_continues_without_repeating(
    http: httpx.AsyncClient, standin: StandIn, model: str, directives: str, mode: str
) -> None:
    chat_id = new_chat_id()
    prompt = f"[[stream-error:overloaded_error]] [[fail:1]] {directives} [[words:12]] {chat_id}"
    _, events = await send(http, chat_id, prompt, model=model)
    assert events[-2].chunk["type"] == "finish"
    messages = await persisted_messages(http, chat_id)
    assert messages[-1]["parts"] == assembled(events)["parts"]
    text = "".join(p["text"] for p in messages[-1]["parts"] if p["type"] == "text")
    assert text == " ".join(f"w{i}" for i in range(12)), "continued exactly, nothing repeated"
    retry = standin.turn_calls(chat_id)[-1].body["messages"]
    if mode == "prefill":
        assert retry[-1] == {"role": "assistant", "content": "w0"}
    else:
        assert (
            retry[-1]["role"] == "user" and "<partial_reply>\nw0 \n</partial_reply>" in retry[-1]["content"][-1]["text"]
        )
