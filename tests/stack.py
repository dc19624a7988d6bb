"""The real pieces of a turn in one test session: the stand-in model, a worker, and the API over HTTP."""

from __future__ import annotations

import asyncio
import time

import uvicorn
from starlette.types import ASGIApp


async def serve_app(app: ASGIApp) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    """Runs the app on a free loopback port in this event loop; returns the server, its task and base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 15
    while not server.started:  # uvicorn offers no readiness event; poll its flag with a deadline
        if task.done() or time.monotonic() > deadline:
            raise RuntimeError("the API did not start")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, f"http://127.0.0.1:{port}"
