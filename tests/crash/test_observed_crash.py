"""A turn whose worker was killed mid-stream, as an operator sees it: one trace from the API process to the retried
model attempt on another worker with no workflow span repeated by the replay, every worker's metrics port
scraped, and every log line of the processes a JSON object."""

from __future__ import annotations

import json
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.crash.process_stack import ProcessStack
from tests.crash.test_crashes import _check_turn, kill_the_worker_mid_stream
from tests.otlp import OtlpReceiver, ReceivedSpan
from tests.polling import wait_until
from tests.standin.anthropic_server import StandIn
from tests.turns.helpers import new_chat_id, send

MODEL = "claude-sonnet-4-6"


async def _samples(stack: ProcessStack) -> list[tuple[str, dict[str, str], float]]:
    """Every sample of every live worker's metrics port, parsed as Prometheus text."""
    samples = []
    async with httpx.AsyncClient(timeout=10) as http:
        for child in stack.workers:
            text = (await http.get(stack.metrics_urls[child.process.pid])).text
            for family in text_string_to_metric_families(text):
                samples += [(s.name, s.labels, s.value) for s in family.samples]
    return samples


def _total(samples: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
    return sum(value for n, have, value in samples if n == name and labels.items() <= have.items())


async def test_crashed_and_retried_turn_is_one_trace_with_metrics_and_json_logs(
    crash_stack: ProcessStack, crash_http: httpx.AsyncClient, standin: StandIn, otlp: OtlpReceiver
) -> None:
    chat_id = new_chat_id()
    received = await kill_the_worker_mid_stream(crash_stack, crash_http, standin, chat_id)
    await _check_turn(crash_stack, crash_http, chat_id, received)
    trace_id = received[0].chunk["messageMetadata"]["traceId"]

    def spans() -> list[ReceivedSpan]:
        return otlp.trace(trace_id)

    async def complete() -> bool:
        names = [s.name for s in spans()]
        return "RunActivity:turnflow.finish_turn" in names and "POST /chat/workflow" in names

    await wait_until(complete, "the spans of the crashed turn")
    attempts = [s for s in spans() if s.name == f"chat {MODEL}"]
    # The first attempt's span died with its worker; the retry's says which attempt it is.
    assert [(s.attributes["turnflow.attempt"], s.attributes["turnflow.outcome"]) for s in attempts] == [
        (2, "completed")
    ]
    assert attempts[0].service == "turnflow-worker"
    root = [s for s in spans() if not s.parent_id]
    assert [(s.name, s.service) for s in root] == [("POST /chat/workflow", "turnflow-api")]
    assert len([s for s in spans() if s.name == "RunWorkflow:ChatTurn"]) == 1, "the replay repeated no span"
    by_id = {s.span_id: s for s in spans()}
    run = by_id[attempts[0].parent_id]
    assert run.name == "RunActivity:turnflow.stream_model_step"
    assert by_id[run.parent_id].name == "StartActivity:turnflow.stream_model_step"

    tool = json.dumps({"command": "true"})
    response, _ = await send(crash_http, new_chat_id(), f"[[tool:bash:{tool}]] go")
    assert response.status_code == 200

    async def counted() -> bool:
        try:
            samples = await _samples(crash_stack)
        except httpx.ConnectError:
            return False  # the worker started after the crash is not serving yet
        return _total(samples, "turnflow_tool_calls_total", tool="bash", outcome="completed") >= 1

    await wait_until(counted, "the tool call in the workers' metrics")
    samples = await _samples(crash_stack)
    assert _total(samples, "turnflow_model_tokens_total", model=MODEL, kind="output") > 0
    assert _total(samples, "turnflow_model_attempts_total", model=MODEL, outcome="completed") >= 2
    assert _total(samples, "turnflow_activity_duration_count", outcome="completed") >= 3
    assert _total(samples, "turnflow_activity_duration_count", activity_type="turnflow.run_tool_call") >= 1
    assert {labels["state"] for name, labels, _ in samples if name == "turnflow_sandboxes"} >= {"ready", "hibernated"}
    assert any(name.startswith("temporal_") for name, _, _ in samples), "the Temporal SDK's own metrics"

    logs: list[dict[str, Any]] = []
    for log in sorted(crash_stack.root.glob("*.log")):
        if log.name != "temporal.log":
            logs += [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert any(line["message"].startswith("worker polling task queue") for line in logs)
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in logs)
