"""The stack a benchmark measures: PostgreSQL, the tuned Temporal dev server, and turnflow's worker and API as
separate processes (as in production), with the stand-in model in this process so its clock is the client's."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import httpx
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from bench.standin import TimedStandIn
from models.database import create_engine, session_factory
from turnflow.children import Child, spawn
from turnflow.keys import create_key
from turnflow.migrate import upgrade_async
from turnflow.postgres import start_postgres
from turnflow.temporal_server import dev_server_argv, try_connect

HOST = "127.0.0.1"
MODEL = "claude-sonnet-4-6"
READY_DEADLINE_S = 60.0
STOP_DEADLINE_S = 10.0
_POLL_S = 0.05
T = TypeVar("T")


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _free_port() -> int:
    """A port the kernel has just handed out; the server that binds it next is ours in practice."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class BenchStack:
    """Starts everything on free ports under `work_dir` and stops all of it on exit, whatever the exit."""

    def __init__(self, work_dir: Path) -> None:
        self._work_dir = work_dir
        self._exit = AsyncExitStack()
        self._children: list[Child] = []
        self.task_queue = f"bench-{uuid.uuid4().hex[:8]}"
        self.standin = TimedStandIn()
        self.api_url = ""
        self.api_key = ""
        self.temporal: Client
        self.engine: AsyncEngine

    async def __aenter__(self) -> BenchStack:
        try:
            await self._start()
        except BaseException:
            await self._exit.aclose()
            raise
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        progress("stopping the stack...")
        await self._exit.aclose()

    async def _start(self) -> None:
        progress("starting PostgreSQL...")
        postgres = await asyncio.to_thread(start_postgres, self._work_dir / "postgres")
        self._exit.callback(postgres.stop)
        await postgres.ensure_database()
        database_url = postgres.database_url
        await upgrade_async(database_url)
        self.engine = create_engine(database_url, pool_size=2)
        self._exit.push_async_callback(self.engine.dispose)
        async with session_factory(self.engine).begin() as db:
            self.api_key = (await create_key(db, "bench", "turn latency benchmark")).raw

        temporal_port = _free_port()
        temporal_address = f"{HOST}:{temporal_port}"
        progress(f"starting the Temporal dev server (tuned flags) on {temporal_address}...")
        argv = dev_server_argv(
            db_file=self._work_dir / "temporal.db", port=temporal_port, ui_port=_free_port(), namespace="default"
        )
        await self._spawn("Temporal", [*argv, "--headless"], dict(os.environ), self._work_dir / "temporal.log")
        self.temporal = await self._wait_for("Temporal", lambda: try_connect(temporal_address, "default"))

        progress("starting the stand-in model...")
        port = _free_port()
        server = _SignalBlindServer(uvicorn.Config(self.standin.app, host=HOST, port=port, log_level="warning"))
        task = asyncio.create_task(server.serve())
        self._exit.push_async_callback(_stop_server, server, task)

        async def serving() -> bool | None:
            if task.done():
                raise RuntimeError(f"the stand-in model did not start: {task.exception()!r}")
            return True if server.started else None

        await self._wait_for("the stand-in model", serving)
        self.standin.url = f"http://{HOST}:{port}"

        progress("starting the turnflow worker and API as subprocesses...")
        api_port = _free_port()
        self.api_url = f"http://{HOST}:{api_port}"
        env = self._child_env(database_url, temporal_address)
        await self._spawn("worker", [sys.executable, "-m", "turnflow.cli", "worker"], env)
        await self._spawn("API", [sys.executable, "-m", "turnflow.cli", "api", "--port", str(api_port)], env)
        await self._wait_for("the worker", self._worker_polls)
        await self._wait_for("the API", self._api_answers)

    def _child_env(self, database_url: str, temporal_address: str) -> dict[str, str]:
        """Every setting explicit, so no TURNFLOW_* or proxy left in the shell can point a child elsewhere."""
        no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY"), HOST, "localhost"]))
        return {
            **os.environ,
            "TURNFLOW_DATA_DIR": str(self._work_dir / "data"),
            "TURNFLOW_DATABASE_URL": database_url,
            "TURNFLOW_TEMPORAL_ADDRESS": temporal_address,
            "TURNFLOW_TASK_QUEUE": self.task_queue,
            "TURNFLOW_MODEL": MODEL,
            "TURNFLOW_LOG_LEVEL": "warning",
            "ANTHROPIC_API_KEY": "stand-in",
            "ANTHROPIC_BASE_URL": self.standin.url,
            "TURNFLOW_ANTHROPIC_API_KEY": "stand-in",
            "TURNFLOW_ANTHROPIC_BASE_URL": self.standin.url,
            "NO_PROXY": no_proxy,
            "no_proxy": no_proxy,
        }

    async def _spawn(self, name: str, argv: list[str], env: dict[str, str], log: Path | None = None) -> None:
        child = await spawn(name, argv, env=env, log=log)
        self._children.append(child)
        self._exit.push_async_callback(child.stop, STOP_DEADLINE_S)

    async def _wait_for(self, what: str, ready: Callable[[], Awaitable[T | None]]) -> T:
        """Polls `ready` until it gives a value; fails at the deadline or as soon as a child has died."""
        give_up_at = time.monotonic() + READY_DEADLINE_S
        while True:
            for child in self._children:
                if child.returncode is not None:
                    raise RuntimeError(child.describe_exit())
            if (value := await ready()) is not None:
                return value
            if time.monotonic() > give_up_at:
                raise RuntimeError(f"{what} did not become ready within {READY_DEADLINE_S:g} s")
            await asyncio.sleep(_POLL_S)

    async def _worker_polls(self) -> bool | None:
        """The worker has a poller on the task queue, so the first turn does not wait for it to boot."""
        response = await self.temporal.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace="default",
                task_queue=TaskQueue(name=self.task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        return True if response.pollers else None

    async def _api_answers(self) -> bool | None:
        async with httpx.AsyncClient(trust_env=False, timeout=1) as http:
            try:
                response = await http.get(f"{self.api_url}/healthz")
            except httpx.TransportError:
                return None
        return True if response.status_code == 200 else None


class _SignalBlindServer(uvicorn.Server):
    """Leaves Ctrl-C and SIGTERM to the benchmark: uvicorn would stop the stand-in at once, failing the turn the
    worker is streaming, where the benchmark stops the worker first."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _stop_server(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    server.should_exit = True
    await task
