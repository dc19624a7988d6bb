"""The stack a benchmark measures: PostgreSQL, the tuned Temporal dev server, and turnflow's worker and API as
separate processes (as in production), with the stand-in model in this process so its clock is the client's."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import signal
import socket
import sys
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from contextlib import AsyncExitStack
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import httpx
import psutil
import uvicorn
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import DescribeTaskQueueMode, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue, TaskQueueVersionSelection
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowFailureError

from activities.sandbox.workspace_volumes import unmount_all_under
from bench.standin import TimedStandIn
from models.database import create_engine, session_factory
from models.names import SANDBOX_LIFECYCLE_WORKFLOW
from models.tables import Turn
from turnflow.children import Child, spawn
from turnflow.keys import create_key
from turnflow.migrate import upgrade_async
from turnflow.postgres import start_postgres
from turnflow.temporal_server import dev_server_argv, try_connect

HOST = "127.0.0.1"
MODEL = "claude-sonnet-4-6"
READY_DEADLINE_S = 60.0
STOP_DEADLINE_S = 10.0
UNLIMITED = ("OPEN_STREAMS", "HANDOFF_DRAFTS", "ACTIVE_TURNS", "QUEUED_TURNS", "LIVE_SANDBOXES")
_POLL_S = 0.05
T = TypeVar("T")


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_benchmark(measure: Callable[[], Coroutine[None, None, None]]) -> None:
    """Runs `measure` as a benchmark's main: SIGTERM unwinds like Ctrl-C, so every process it started is stopped
    either way, and the exit code says how it ended."""

    async def main() -> None:
        main_task = asyncio.current_task()
        assert main_task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
        started = time.monotonic()
        await measure()
        progress(f"done in {time.monotonic() - started:.0f} s")

    try:
        asyncio.run(main())
        code = 0
    except (KeyboardInterrupt, asyncio.CancelledError):
        progress("interrupted; everything it started has been stopped")
        code = 130
    except Exception:
        traceback.print_exc()
        code = 1
    # As in turnflow.cli: the Temporal client's Rust threads can abort CPython's teardown (temporalio/sdk-python#300),
    # and by now every process and server the benchmark started has been stopped.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def describe_machine(load_before: float) -> str:
    """Figures from a shared 2-core box mean little without the CPU, and the load there was before the run."""
    model = next(
        (
            line.partition(":")[2].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    cpus = len(os.sched_getaffinity(0))  # what `nproc` prints
    return (
        f"machine: {cpus} CPUs ({model}), load average {load_before:.2f} before start; "
        f"Python {platform.python_version()}"
    )


def _free_port() -> int:
    """A port the kernel has just handed out; the server that binds it next is ours in practice."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class BenchStack:
    """Starts everything on free ports under `work_dir` and stops all of it on exit, whatever the exit."""

    def __init__(self, work_dir: Path, workers: int = 1, worker_env: Mapping[str, str] | None = None) -> None:
        """`worker_env` overrides settings of every worker this stack starts."""
        self._work_dir = work_dir
        self._exit = AsyncExitStack()
        self._children: list[Child] = []
        self._initial_workers = workers
        self._worker_env = dict(worker_env or {})
        self._workers_started = 0
        self._env: dict[str, str] = {}
        self.workers: list[Child] = []
        self.task_queue = f"bench-{uuid.uuid4().hex[:8]}"
        self.standin = TimedStandIn()
        self.api_url = ""
        self.api_key = ""
        self.temporal: Client
        self.engine: AsyncEngine
        # The processes whose CPU and memory a benchmark may report.
        self.api: Child
        self.temporal_server: Child
        self.postgres_pid = 0

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
        # Last on the way out, once the workers are gone: the sandboxes' workspace volumes are loop mounts.
        self._exit.callback(unmount_all_under, self._work_dir)
        progress("starting PostgreSQL...")
        postgres = await asyncio.to_thread(start_postgres, self._work_dir / "postgres")
        self._exit.callback(postgres.stop)
        self.postgres_pid = postgres.server.get_pid() or 0
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
        self.temporal_server = await self._spawn(
            "Temporal", [*argv, "--headless"], dict(os.environ), self._work_dir / "temporal.log"
        )
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
        self._env = self._child_env(database_url, temporal_address)
        for _ in range(self._initial_workers):
            await self._spawn_worker({})
        api_argv = [sys.executable, "-m", "turnflow.cli", "api", "--port", str(api_port)]
        self.api = await self._spawn("API", api_argv, self._env)
        for worker in self.workers:
            await self._wait_for(worker.name, partial(self._worker_polls, worker))
        await self._wait_for("the API", self._api_answers)

    async def start_worker(self, env: Mapping[str, str] | None = None) -> Child:
        """Another worker, returned once it polls the task queue; `env` overrides its settings."""
        worker = await self._spawn_worker(env or {})
        await self._wait_for(worker.name, partial(self._worker_polls, worker))
        return worker

    async def kill_worker(self, worker: Child) -> None:
        """kill -9, as a crash would; the stack no longer counts on it."""
        os.kill(worker.process.pid, signal.SIGKILL)
        await worker.process.wait()
        self._forget(worker)

    async def stop_worker(self, worker: Child) -> None:
        """A graceful stop (SIGTERM), as a deploy would."""
        await worker.stop(STOP_DEADLINE_S)
        self._forget(worker)

    async def workflow_id_of(self, turn_id: str) -> str:
        async with self.engine.connect() as conn:
            workflow_id: str = (
                await conn.execute(select(Turn.workflow_id).where(Turn.id == uuid.UUID(turn_id)))
            ).scalar_one()
        return workflow_id

    async def wait_turn_closed(self, turn_id: str) -> None:
        """Until the turn's workflow has closed, however it ended, so the next run starts on a quiet stack."""
        workflow_id = await self.workflow_id_of(turn_id)
        with contextlib.suppress(WorkflowFailureError):  # a stopped turn ends cancelled
            await self.temporal.get_workflow_handle(workflow_id).result()

    async def wait_quiet(self) -> None:
        """Until no workflow runs but the sessions' long-lived sandbox lifecycles: work a turn sets off after its
        answer (a new session's title, say) must not overlap the next measured turn."""
        query = f"ExecutionStatus = 'Running' AND WorkflowType != '{SANDBOX_LIFECYCLE_WORKFLOW}'"

        async def quiet() -> bool | None:
            return True if (await self.temporal.count_workflows(query)).count == 0 else None

        await self._wait_for("a quiet stack (no workflow running but sandbox lifecycles)", quiet)

    def worker_serving(self, peer_port: int) -> Child:
        """The worker whose model call came from this TCP port, as the stand-in saw it."""
        owner = next(
            (c.pid for c in psutil.net_connections(kind="tcp") if c.laddr and c.laddr.port == peer_port and c.pid),
            None,
        )
        for worker in self.workers:
            if worker.process.pid == owner:
                return worker
        raise LookupError(f"no worker of this stack owns local port {peer_port} (owner pid: {owner})")

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
            # The benchmark's one account stands in for many tenants: no per-account limit may shape its figures.
            **{f"TURNFLOW_MAX_{name}_PER_ACCOUNT": "1000000" for name in UNLIMITED},
        }

    async def _spawn(self, name: str, argv: list[str], env: dict[str, str], log: Path | None = None) -> Child:
        child = await spawn(name, argv, env=env, log=log)
        self._children.append(child)
        self._exit.push_async_callback(child.stop, STOP_DEADLINE_S)
        return child

    async def _spawn_worker(self, env: Mapping[str, str]) -> Child:
        self._workers_started += 1
        argv = [sys.executable, "-m", "turnflow.cli", "worker"]
        worker = await self._spawn(f"worker {self._workers_started}", argv, {**self._env, **self._worker_env, **env})
        self.workers.append(worker)
        return worker

    def _forget(self, worker: Child) -> None:
        """A worker we ended on purpose is no failure for `_wait_for` to report."""
        self.workers.remove(worker)
        self._children.remove(worker)

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

    async def _worker_polls(self, worker: Child) -> bool | None:
        """The worker polls for workflow and activity tasks, so the next turn does not wait for it to boot.

        Pollers are told apart by the SDK's default identity, `<pid>@<host>` (a killed worker's stay listed a while).
        A worker's polls spread over the queue's partitions, which only the enhanced mode adds up; it lags a few
        seconds behind, where the plain mode could miss a new worker for a minute.
        """
        response = await self.temporal.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace="default",
                task_queue=TaskQueue(name=self.task_queue),
                api_mode=DescribeTaskQueueMode.DESCRIBE_TASK_QUEUE_MODE_ENHANCED,
                versions=TaskQueueVersionSelection(unversioned=True),
                task_queue_types=[TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY],
                report_pollers=True,
            )
        )
        identity = f"{worker.process.pid}@"
        kinds = [kind for version in response.versions_info.values() for kind in version.types_info.values()]
        polled = len(kinds) == 2 and all(any(p.identity.startswith(identity) for p in kind.pollers) for kind in kinds)
        return True if polled else None

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
