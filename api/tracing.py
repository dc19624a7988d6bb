"""Tracing in the API: a span per request, the Temporal client's spans beneath it (so a turn's workflow and
activities join the trace of the send that started it), and the ids that find the turn again."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from temporalio.contrib.opentelemetry import TracingInterceptor

from models.log_context import bind_log_ids

# Streams send many small messages; a span per message would drown the turn's own spans.
_EXCLUDED_SPANS: list[Literal["receive", "send"]] = ["send", "receive"]


def instrument_app(app: FastAPI) -> None:
    """Spans go to the process's tracer provider: nowhere until `OTEL_*` configures one."""
    FastAPIInstrumentor.instrument_app(app, exclude_spans=_EXCLUDED_SPANS, excluded_urls="healthz,metrics")


def temporal_interceptors() -> list[TracingInterceptor]:
    return [TracingInterceptor()]


def current_trace_id() -> str | None:
    span = trace.get_current_span().get_span_context()
    return trace.format_trace_id(span.trace_id) if span.is_valid else None


def trace_metadata() -> dict[str, str]:
    """The trace id for a message's metadata, when the request is traced."""
    trace_id = current_trace_id()
    return {"traceId": trace_id} if trace_id else {}


def annotate_turn(turn_id: uuid.UUID, chat_id: str, session_id: uuid.UUID, account_id: uuid.UUID) -> None:
    """The turn's ids on the request's span and on every log line the request writes from here on."""
    bind_log_ids(turn_id=turn_id, chat_id=chat_id, session_id=session_id, account_id=account_id)
    span = trace.get_current_span()
    span.set_attribute("turnflow.turn.id", str(turn_id))
    span.set_attribute("gen_ai.conversation.id", chat_id)
    span.set_attribute("turnflow.session.id", str(session_id))
