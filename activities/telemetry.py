"""What the worker tells operators about its activities: a span per model call attempt (OpenTelemetry GenAI
conventions) and per tool call, metrics through the Temporal runtime's meter (served beside the SDK's own on the
worker's metrics port), and the ids on every log line an activity writes.

Spans carry ids, models, tokens and outcomes, never a prompt, an answer or a tool's input or output."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue
from temporalio import activity
from temporalio.common import MetricMeter
from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from activities.model.events import Usage
from activities.turn_context import TurnContext
from models.enums import Outcome
from models.log_context import bind_log_ids
from models.names import TURN_STOPPED_ERROR
from models.pricing import cost_usd
from models.turns import ModelStepInput, ToolCallInput, ToolCallResult

_log = logging.getLogger("turnflow.telemetry")
_tracer = trace.get_tracer("turnflow.activities")
MICRO_USD = 1_000_000
ACTIVITY_SECONDS_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
# Histograms whose buckets the worker's Prometheus endpoint overrides (durations in seconds).
HISTOGRAM_BUCKETS = {"turnflow_activity_duration": ACTIVITY_SECONDS_BUCKETS}


def _meter() -> MetricMeter:
    return activity.metric_meter()


def _stopped(exc: BaseException) -> bool:
    return isinstance(exc, ApplicationError) and exc.type == TURN_STOPPED_ERROR


def _mark_error(span: Span, exc: BaseException) -> None:
    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
    span.set_attribute("error.type", getattr(exc, "type", None) or type(exc).__name__)


@contextlib.contextmanager
def model_attempt_span(params: ModelStepInput) -> Iterator[Span]:
    """The span of one model call attempt; record_model_attempt fills in how it went."""
    attributes: dict[str, AttributeValue] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic" if params.model.startswith("claude") else params.model,
        "gen_ai.request.model": params.model,
        "turnflow.turn.id": params.turn_id,
        "turnflow.step": params.step,
        "turnflow.attempt": activity.info().attempt,
    }
    with _tracer.start_as_current_span(
        f"chat {params.model}", kind=SpanKind.CLIENT, attributes=attributes, set_status_on_exception=False
    ) as span:
        try:
            yield span
        except BaseException as exc:
            if _stopped(exc):
                span.set_attribute("turnflow.outcome", Outcome.STOPPED.value)
            elif not isinstance(exc, asyncio.CancelledError):
                _mark_error(span, exc)
            raise


def record_model_attempt(
    turn: TurnContext, params: ModelStepInput, usage: Usage, finish_reason: str | None, outcome: Outcome
) -> None:
    """A model call attempt's tokens, cost and outcome, on its span and in the worker's metrics; a stop is one
    INFO line."""
    bind_log_ids(turn_id=turn.turn_id, chat_id=turn.chat_id, session_id=turn.session_id, account_id=turn.account_id)
    span = trace.get_current_span()
    span.set_attributes(
        {
            "gen_ai.conversation.id": turn.chat_id,
            "gen_ai.usage.input_tokens": usage.input_tokens,
            "gen_ai.usage.output_tokens": usage.output_tokens,
            "gen_ai.usage.cache_creation.input_tokens": usage.cache_write_tokens,
            "gen_ai.usage.cache_read.input_tokens": usage.cache_read_tokens,
            "turnflow.outcome": outcome.value,
        }
    )
    if finish_reason is not None:
        span.set_attribute("gen_ai.response.finish_reasons", [finish_reason])
    if outcome == Outcome.FAILED:
        span.set_status(Status(StatusCode.ERROR, "the model call failed"))
    meter = _meter()
    labels = {"model": params.model}
    tokens = meter.create_counter("turnflow_model_tokens", "Model tokens billed, by model and kind", "tokens")
    for kind, count in (
        ("input", usage.input_tokens),
        ("output", usage.output_tokens),
        ("cache_write", usage.cache_write_tokens),
        ("cache_read", usage.cache_read_tokens),
    ):
        if count:
            tokens.add(count, labels | {"kind": kind})
    cost = cost_usd(
        params.model, usage.input_tokens, usage.output_tokens, usage.cache_write_tokens, usage.cache_read_tokens
    )
    if cost:
        meter.create_counter("turnflow_model_cost_microusd", "Model cost in millionths of a USD, by model").add(
            int(cost * MICRO_USD), labels
        )
    meter.create_counter("turnflow_model_attempts", "Model call attempts, by model and outcome").add(
        1, labels | {"outcome": outcome.value}
    )
    if outcome == Outcome.STOPPED:
        _log.info("turn %s stopped during model step %d", turn.turn_id, params.step)


class ToolCallSpan:
    """The span of one tool call, and its outcome in the worker's metrics."""

    def __init__(self, span: Span, tool_name: str) -> None:
        self._span = span
        self._tool_name = tool_name
        self.outcome: str | None = None

    def finish(self, result: ToolCallResult) -> ToolCallResult:
        self.outcome = "completed" if result.ok else "failed"
        if not result.ok:
            self._span.set_status(Status(StatusCode.ERROR, "the tool reported an error"))
        return result

    def record(self) -> None:
        outcome = self.outcome or "error"
        self._span.set_attribute("turnflow.outcome", outcome)
        _meter().create_counter("turnflow_tool_calls", "Tool calls, by tool and outcome").add(
            1, {"tool": self._tool_name, "outcome": outcome}
        )


@contextlib.contextmanager
def tool_call_span(params: ToolCallInput) -> Iterator[ToolCallSpan]:
    attributes: dict[str, AttributeValue] = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": params.tool_name,
        "gen_ai.tool.call.id": params.tool_call_id,
        "turnflow.turn.id": params.turn_id,
        "turnflow.attempt": activity.info().attempt,
    }
    bind_log_ids(turn_id=params.turn_id)
    with _tracer.start_as_current_span(
        f"execute_tool {params.tool_name}", kind=SpanKind.INTERNAL, attributes=attributes, set_status_on_exception=False
    ) as span:
        call = ToolCallSpan(span, params.tool_name)
        try:
            yield call
        except BaseException as exc:
            if _stopped(exc):
                call.outcome = Outcome.STOPPED.value
                _log.info("turn %s stopped during tool call %s", params.turn_id, params.tool_call_id)
            elif isinstance(exc, asyncio.CancelledError):
                call.outcome = "cancelled"
            else:
                _mark_error(span, exc)
            raise
        finally:
            call.record()


class ActivityMetrics(Interceptor):
    """Every activity's duration and outcome (completed, stopped, cancelled or failed), and its turn id on the log
    lines it writes."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityMetricsInbound(next)


class _ActivityMetricsInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        turn_id = getattr(input.args[0], "turn_id", None) if input.args else None
        if isinstance(turn_id, str):
            bind_log_ids(turn_id=turn_id)
        started = time.monotonic()
        outcome = "failed"
        try:
            result = await super().execute_activity(input)
            outcome = "completed"
            return result
        except BaseException as exc:
            if _stopped(exc):
                outcome = "stopped"
            elif isinstance(exc, asyncio.CancelledError):
                outcome = "cancelled"
            raise
        finally:
            _meter().create_histogram_timedelta(
                "turnflow_activity_duration", "Activity run time, by outcome (one per attempt)", "s"
            ).record(timedelta(seconds=time.monotonic() - started), {"outcome": outcome})
