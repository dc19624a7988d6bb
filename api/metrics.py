"""The API's Prometheus metrics: requests by route and status, open streams, stream delivery latency, turns started
and finished, and how long a sender waits for the first text. Served at GET /metrics."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from turnlog.chunks import TERMINAL_CHUNK_TYPES
from turnlog.reader import DONE

REQUESTS = Counter(
    "turnflow_api_requests",
    "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "turnflow_api_request_duration_seconds",
    "Time to the response's first byte, by route template",
    ["route", "method"],
)
OPEN_STREAMS = Gauge("turnflow_api_open_streams", "Turn streams (SSE) this process is serving now")
DELIVERY_SECONDS = Histogram(
    "turnflow_api_stream_delivery_seconds",
    "From a stream-log notification to its frames being ready for every viewer in this process",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
TURNS_STARTED = Counter("turnflow_api_turns_started", "Turns started by a send", ["trigger"])
TURNS_FINISHED = Counter(
    "turnflow_api_turns_finished",
    "Turns whose sender's stream saw the end, by outcome (`detached`: the sender left before it)",
    ["outcome"],
)
FIRST_TEXT_SECONDS = Histogram(
    "turnflow_api_first_text_seconds",
    "From a send arriving to its first text reaching the sender's stream",
    buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0),
)
_OUTCOMES = {"finish": "completed", "abort": "stopped", "error": "failed"}
UNMATCHED_ROUTE = "unmatched"

router = APIRouter(tags=["ops"])


@router.get("/metrics", summary="Prometheus metrics of this API process (text exposition format)")
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def observe_delivery(seconds: float) -> None:
    DELIVERY_SECONDS.observe(seconds)


class RequestMetricsMiddleware:
    """Counts every response by its route template (never the raw path: ids would explode the label set)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = 500  # what the server answers when the app raised before responding

        async def counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                REQUEST_SECONDS.labels(_route(scope), scope["method"]).observe(time.monotonic() - started)
            await send(message)

        try:
            await self.app(scope, receive, counted)
        finally:
            REQUESTS.labels(_route(scope), scope["method"], str(status)).inc()


def _route(scope: Scope) -> str:
    route = scope.get("route")
    return route.path if isinstance(route, BaseRoute) and hasattr(route, "path") else UNMATCHED_ROUTE


async def counted_stream(frames: AsyncIterator[str]) -> AsyncIterator[str]:
    """A turn stream, counted while it is open."""
    OPEN_STREAMS.inc()
    try:
        async for frame in frames:
            yield frame
    finally:
        OPEN_STREAMS.dec()


async def sender_stream(frames: AsyncIterator[str], trigger: str, received_at: float) -> AsyncIterator[str]:
    """The stream of the send that started a turn: it times the first text and sees how the turn ended. Frames are
    parsed only until the first text, and then only the last one before `[DONE]` (the turn's terminal chunk)."""
    TURNS_STARTED.labels(trigger).inc()
    waiting_for_text, outcome, previous = True, "detached", ""
    try:
        async for frame in frames:
            if waiting_for_text and _chunk_type(frame) == "text-delta":
                FIRST_TEXT_SECONDS.observe(time.monotonic() - received_at)
                waiting_for_text = False
            if frame == DONE:
                kind = _chunk_type(previous)
                if kind in TERMINAL_CHUNK_TYPES:
                    outcome = _OUTCOMES.get(kind, kind)
            elif frame.startswith(("data:", "id:")):
                previous = frame
            yield frame
    finally:
        TURNS_FINISHED.labels(outcome).inc()


def _chunk_type(frame: str) -> str | None:
    _, found, data = frame.partition("data: ")
    if not found or not data.startswith("{"):
        return None  # a keep-alive comment or [DONE]
    kind = json.loads(data).get("type")
    return kind if isinstance(kind, str) else None
