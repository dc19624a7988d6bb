"""A local webhook receiver for tests of what turnflow posts (the spend digest)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.stack import serve_app


@dataclass(frozen=True)
class Received:
    path: str
    body: dict[str, Any]


@dataclass
class WebhookRecorder:
    """A local webhook: records every POST and answers with the queued `failures` first, then 200."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)

    async def _receive(self, request: Request) -> Response:
        self.received.append(Received(request.url.path, await request.json()))
        return Response(status_code=self.failures.pop(0) if self.failures else 200)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self._receive, methods=["POST"])])


@asynccontextmanager
async def serve_webhook() -> AsyncIterator[WebhookRecorder]:
    """A recorder listening on a free loopback port for as long as the block runs."""
    recorder = WebhookRecorder()
    server, task, recorder.url = await serve_app(recorder.app())
    try:
        yield recorder
    finally:
        server.should_exit = True
        await task
