"""What an operator sees of a turn: one trace from the send to the last activity (spans collected by an OTLP
receiver), the trace id in the persisted message, the API's Prometheus metrics, JSON log lines with the turn's ids,
and search attributes that find turns, sub-agents, sandboxes and housekeeping, and tell a stopped turn."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from tests.otlp import OtlpReceiver, ReceivedSpan
from tests.polling import wait_until
from tests.sse import SseEvent, read_until_done, sse_events
from tests.turns.helpers import new_chat_id, persisted_messages, send, task, user_message
from turnflow.logs import JsonLogFormatter
from workflows.chat_turn import ChatTurnWorkflow
from workflows.subagent import SubAgentWorkflow

MODEL = "claude-sonnet-4-6"


def _ancestors(span: ReceivedSpan, spans: list[ReceivedSpan]) -> list[str]:
    by_id = {s.span_id: s for s in spans}
    names = []
    while span.parent_id in by_id:
        span = by_id[span.parent_id]
        names.append(span.name)
    return names


def _named(spans: list[ReceivedSpan], name: str) -> list[ReceivedSpan]:
    return [s for s in spans if s.name == name]


async def _spans(
    otlp: OtlpReceiver, provider: TracerProvider, trace_id: str, done: Callable[[list[ReceivedSpan]], bool]
) -> list[ReceivedSpan]:
    async def arrived() -> bool:
        provider.force_flush()
        return done(otlp.trace(trace_id))

    await wait_until(arrived, f"the spans of trace {trace_id}")
    return otlp.trace(trace_id)


def _finished(spans: list[ReceivedSpan]) -> bool:
    return bool(_named(spans, "RunActivity:turnflow.finish_turn")) and bool(_named(spans, "POST /chat/workflow"))


async def _kinds(client: Client, query: str) -> dict[str, str]:
    """Workflow id to TurnflowKind of the workflows the visibility query finds."""
    found = {}
    async for execution in client.list_workflows(query):
        kind = execution.search_attributes.get("TurnflowKind")
        found[execution.id] = str(kind[0]) if isinstance(kind, list) and kind else ""
    return found


async def _wait_for_kinds(client: Client, query: str, expected: dict[str, str]) -> None:
    async def listed() -> bool:
        return await _kinds(client, query) == expected

    await wait_until(listed, f"visibility to list {expected} for {query!r}")


def _metric(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels` (0 when there is none)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                total += sample.value
    return total


async def test_tool_turn_is_one_trace_and_findable_in_temporal(
    http: httpx.AsyncClient, otlp: OtlpReceiver, traced: TracerProvider, temporal_env: WorkflowEnvironment
) -> None:
    chat_id = new_chat_id()
    command = json.dumps({"command": "echo tracing-secret-42"})
    before = (await http.get("/metrics")).text
    response, events = await send(http, chat_id, f"[[tool:bash:{command}]] {task('[[words:3]] sub')} go")
    assert events[-2].chunk["type"] == "finish"
    turn_id = response.headers["x-turn-id"]
    trace_id = events[0].chunk["messageMetadata"]["traceId"]
    answer = (await persisted_messages(http, chat_id))[-1]
    assert answer["metadata"] == {"turnId": turn_id, "traceId": trace_id}, "the trace id is in the saved message"

    def complete(spans: list[ReceivedSpan]) -> bool:
        return _finished(spans) and len([s for s in spans if s.name == f"chat {MODEL}"]) == 3

    spans = await _spans(otlp, traced, trace_id, complete)
    roots = [s for s in spans if not s.parent_id]
    assert [r.name for r in roots] == ["POST /chat/workflow"], "one trace, rooted at the send"
    assert roots[0].attributes["turnflow.turn.id"] == turn_id
    assert len(_named(spans, "RunWorkflow:ChatTurn")) == 1 and len(_named(spans, "RunWorkflow:SubAgent")) == 1
    assert _ancestors(_named(spans, "RunWorkflow:ChatTurn")[0], spans) == [
        "StartWorkflow:ChatTurn",
        "POST /chat/workflow",
    ]

    attempts = _named(spans, f"chat {MODEL}")
    main = [s for s in attempts if "StartChildWorkflow:SubAgent" not in _ancestors(s, spans)]
    sub = [s for s in attempts if "StartChildWorkflow:SubAgent" in _ancestors(s, spans)]
    assert len(main) == 2 and len(sub) == 1, "the sub-agent's spans are children of the turn's"
    for attempt in attempts:
        a = attempt.attributes
        assert _ancestors(attempt, spans)[:2] == [
            "RunActivity:turnflow.stream_model_step",
            "StartActivity:turnflow.stream_model_step",
        ]
        assert a["gen_ai.operation.name"] == "chat" and a["gen_ai.request.model"] == MODEL
        assert a["gen_ai.conversation.id"] == chat_id
        assert a["gen_ai.usage.input_tokens"] > 0 and a["gen_ai.usage.output_tokens"] > 0
        assert "gen_ai.usage.cache_read.input_tokens" in a and "gen_ai.usage.cache_creation.input_tokens" in a
        assert (a["turnflow.attempt"], a["turnflow.outcome"], attempt.error) == (1, "completed", False)
    assert sorted(s.attributes["turnflow.step"] for s in main) == [1, 2]
    assert [s.attributes["gen_ai.response.finish_reasons"] for s in main] == [["tool_use"], ["end_turn"]]

    tools = _named(spans, "execute_tool bash")
    call_id = next(p["toolCallId"] for p in answer["parts"] if p["type"] == "tool-bash")
    assert len(tools) == 1 and tools[0].attributes["gen_ai.tool.call.id"] == call_id
    assert tools[0].attributes["gen_ai.tool.name"] == "bash" and tools[0].attributes["turnflow.outcome"] == "completed"
    assert _ancestors(tools[0], spans)[0] == "RunActivity:turnflow.run_tool_call"
    every_value = json.dumps([s.attributes for s in spans])
    assert "tracing-secret-42" not in every_value and "echo" not in every_value, "no tool input or output in spans"

    after = (await http.get("/metrics")).text
    for name, labels in [
        ("turnflow_api_requests_total", {"route": "/chat/workflow", "method": "POST", "status": "200"}),
        ("turnflow_api_turns_started_total", {"trigger": "submit-message"}),
        ("turnflow_api_turns_finished_total", {"outcome": "completed"}),
        ("turnflow_api_first_text_seconds_count", {}),
        ("turnflow_api_stream_delivery_seconds_count", {}),
    ]:
        assert _metric(after, name, **labels) > _metric(before, name, **labels), name
    assert _metric(after, "turnflow_api_open_streams") >= 0

    session_id = (await http.get(f"/chats/{chat_id}")).json()["sessionId"]
    turn_workflow = (await http.get(f"/turns/{turn_id}")).json()["workflowId"]
    client = temporal_env.client
    await _wait_for_kinds(
        client,
        f"TurnflowChatId = '{chat_id}'",
        {turn_workflow: "turn", f"{turn_workflow}:task:{sub_call_id(answer)}": "subagent"},
    )
    await _wait_for_kinds(
        client,
        f"TurnflowSessionId = '{session_id}' AND TurnflowKind IN ('sandbox', 'housekeeping')",
        {f"sandbox:{session_id}": "sandbox", f"summary:{session_id}": "housekeeping"},
    )
    await _wait_for_kinds(
        client,
        f"TurnflowChatId = '{chat_id}' AND TurnflowOutcome = 'completed'",
        {turn_workflow: "turn", **{f"{turn_workflow}:task:{sub_call_id(answer)}": "subagent"}},
    )


def sub_call_id(answer: dict[str, Any]) -> str:
    return str(next(p["toolCallId"] for p in answer["parts"] if p["type"] == "tool-task"))


@contextmanager
def _json_logs() -> Iterator[io.StringIO]:
    """This process's log lines at INFO and above, formatted as `TURNFLOW_LOG_FORMAT=json` formats them."""
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def _read_until_text(events: Any) -> list[SseEvent]:
    seen = []
    async for event in events:
        seen.append(event)
        if event.data != "[DONE]" and event.chunk["type"] == "text-delta":
            return seen
    raise AssertionError("the stream ended before any text")


async def test_stopped_turn_reads_as_stopped(
    http: httpx.AsyncClient, otlp: OtlpReceiver, traced: TracerProvider, temporal_env: WorkflowEnvironment
) -> None:
    chat_id = new_chat_id()
    body = {"id": chat_id, "messages": [user_message(f"{chat_id} [[words:300]] [[delay:10]]")]}
    with _json_logs() as logs:
        async with http.stream("POST", "/chat/workflow", json=body) as response:
            turn_id = response.headers["x-turn-id"]
            events = sse_events(response)
            received = await _read_until_text(events)
            workflow_id = (await http.get(f"/turns/{turn_id}")).json()["workflowId"]
            handle = temporal_env.client.get_workflow_handle(workflow_id)
            metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
            assert metadata.current_details == f"step 1: {MODEL} is answering", "what it does now, in the UI"
            stopped = await http.post(f"/chat/workflow/{chat_id}/stop", json={"turnId": turn_id})
            assert stopped.status_code == 202
            received += await read_until_done(events)
        assert received[-2].chunk["type"] == "abort"
        trace_id = received[0].chunk["messageMetadata"]["traceId"]
        spans = await _spans(otlp, traced, trace_id, _finished)

    attempts = _named(spans, f"chat {MODEL}")
    assert len(attempts) == 1
    a = attempts[0].attributes
    assert (a["turnflow.outcome"], attempts[0].error) == ("stopped", False), "a stop is not an error"
    assert a["gen_ai.usage.output_tokens"] > 0 and a["gen_ai.conversation.id"] == chat_id
    assert (await persisted_messages(http, chat_id))[-1]["metadata"]["traceId"] == trace_id

    # Completed when the stop reached the model step first (the usual case), Canceled when Temporal's cancellation
    # reached the workflow first: the outcome attribute is what says stopped.
    async def closed() -> bool:
        return (await handle.describe()).status != WorkflowExecutionStatus.RUNNING

    await wait_until(closed, "the workflow to close after its stream ended")
    description = await handle.describe()
    assert description.status in (WorkflowExecutionStatus.COMPLETED, WorkflowExecutionStatus.CANCELED)
    assert description.search_attributes["TurnflowOutcome"] == ["stopped"]
    await _wait_for_kinds(
        temporal_env.client, f"TurnflowOutcome = 'stopped' AND TurnflowChatId = '{chat_id}'", {workflow_id: "turn"}
    )
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert metadata.current_details == "stopped after 1 step(s)"

    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    mine = [line for line in lines if line.get("turnId") == turn_id]
    stops = [line for line in mine if "stopped during" in line["message"]]
    assert len(stops) == 1 and stops[0]["level"] == "INFO", mine
    assert stops[0]["chatId"] == chat_id and stops[0]["traceId"] == trace_id and "accountId" in stops[0]
    assert not [line for line in mine if "exception" in line or line["level"] in ("WARNING", "ERROR")], mine


async def test_failed_attempt_and_its_retry_are_spans_of_one_activity(
    http: httpx.AsyncClient, otlp: OtlpReceiver, traced: TracerProvider, temporal_env: WorkflowEnvironment
) -> None:
    chat_id = new_chat_id()  # in the prompt too: the stand-in counts failures per conversation
    response, events = await send(http, chat_id, f"[[http:529]] [[fail:1]] [[retry-after:0.05]] {chat_id}")
    assert events[-2].chunk["type"] == "finish"
    trace_id = events[0].chunk["messageMetadata"]["traceId"]
    spans = await _spans(otlp, traced, trace_id, _finished)
    attempts = sorted(_named(spans, f"chat {MODEL}"), key=lambda s: s.attributes["turnflow.attempt"])
    assert [(s.attributes["turnflow.attempt"], s.attributes["turnflow.outcome"], s.error) for s in attempts] == [
        (1, "failed", True),
        (2, "completed", False),
    ]
    runs = [next(p for p in spans if p.span_id == s.parent_id) for s in attempts]
    assert {r.parent_id for r in runs} == {_named(spans, "StartActivity:turnflow.stream_model_step")[0].span_id}

    # Replaying the turn's history with the tracing interceptor creates no span at all: nothing is duplicated.
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    workflow_id = (await http.get(f"/turns/{response.headers['x-turn-id']}")).json()["workflowId"]
    history = await temporal_env.client.get_workflow_handle(workflow_id).fetch_history()
    replayer = Replayer(
        workflows=[ChatTurnWorkflow, SubAgentWorkflow], interceptors=[TracingInterceptor(provider.get_tracer("r"))]
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None
    assert exporter.get_finished_spans() == ()
