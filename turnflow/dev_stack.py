"""`turnflow dev`: PostgreSQL, Temporal, workers and the API on one machine, stopped together by Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import secrets
import signal
import sys
import urllib.request
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from activities.sandbox.providers import UNISOLATED_WARNING, bubblewrap_installed
from activities.sandbox.workspace_volumes import unmount_all_under
from models.database import create_engine, session_factory
from models.settings import BROWSER_TOKEN_SECRET_FILE, STACK_FILE, Settings
from turnflow.children import Child, spawn
from turnflow.errors import EXIT_CONFLICT, CommandError
from turnflow.keys import DEV_ACCOUNT, ensure_dev_key, read_key_file, write_key_file
from turnflow.object_store import ObjectStore, start_seaweedfs
from turnflow.ports import PortClaim, ensure_ports_free
from turnflow.postgres import EmbeddedPostgres, start_postgres
from turnflow.schema import upgrade_to_head
from turnflow.temporal_server import dev_server_argv, try_connect

HOST = "127.0.0.1"
START_DEADLINE_S = 60.0
STOP_DEADLINE_S = 10.0
# SeaweedFS hangs in its own graceful stop; what it stored is on disk already, so it gets a short one.
OBJECT_STORE_STOP_DEADLINE_S = 2.0
_POLL_S = 0.05
DEV_KEY_FILE = "dev-api-key"
# The end user the web app's ready-to-open address signs in as.
DEV_USER = "dev-user"
# Where `npm run dev` serves the web app while it is being worked on.
VITE_DEV_PORT = 5173
# Without TURNFLOW_WORKER_METRICS_PORT, worker n serves its metrics on the API port + this + n - 1.
WORKER_METRICS_PORT_OFFSET = 1000


@dataclass(frozen=True)
class StackInfo:
    """stack.json: how `turnflow api|worker|keys --data-dir D` find the stack that `turnflow dev` runs on D."""

    database_url: str
    temporal_address: str
    api_url: str
    temporal_ui_url: str


class _Interrupted(Exception):
    """Ctrl-C or SIGTERM: stop everything and exit 0."""


class _ChildExited(Exception):
    def __init__(self, child: Child) -> None:
        super().__init__(f"{child.describe_exit()}; stopping the stack")


class DevStack:
    """One run of `turnflow dev`: it owns every process it starts and stops them in reverse order."""

    def __init__(self, settings: Settings, workers: int, object_store: bool = False) -> None:
        self._settings = settings
        self._workers = workers
        self._with_object_store = object_store
        self._object_store: ObjectStore | None = None
        self._seaweedfs: Child | None = None
        self._data_dir = settings.data_dir.resolve()
        self._temporal_address = f"{HOST}:{settings.temporal_port}"
        self._api_url = f"http://{HOST}:{settings.api_port}"
        self._ui_url = f"http://{HOST}:{settings.ui_port()}"
        first_metrics_port = settings.worker_metrics_port or settings.api_port + WORKER_METRICS_PORT_OFFSET
        self._metrics_ports = [first_metrics_port + n for n in range(workers)]
        self._stop = asyncio.Event()
        self._children: list[Child] = []
        self._postgres: EmbeddedPostgres | None = None
        self._sandbox_provider = _workers_sandbox_provider(settings)

    async def run(self) -> int:
        """Starts everything, waits for Ctrl-C or a dying child, stops everything; returns the exit code."""
        s = self._settings
        ensure_ports_free(
            HOST,
            [
                PortClaim(s.api_port, "API", "--port"),
                PortClaim(s.temporal_port, "Temporal server", "--temporal-port"),
                PortClaim(s.ui_port(), "Temporal UI, at --temporal-port + 1000", "--temporal-port"),
                *(
                    PortClaim(port, f"worker {n} metrics", "TURNFLOW_WORKER_METRICS_PORT")
                    for n, port in enumerate(self._metrics_ports, start=1)
                ),
            ],
        )
        self._data_dir.mkdir(parents=True, exist_ok=True)
        with _exclusive(self._data_dir / "dev.lock"):
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self._stop.set)
            try:
                key = await self._start()
                token = await asyncio.to_thread(_browser_token, self._api_url, key)
                self._print_banner(key, token)
                await self._until_stopped()
            except _Interrupted:
                pass
            except _ChildExited as exc:
                print(exc, file=sys.stderr, flush=True)
                return 1
            finally:
                await self._shutdown()
        return 0

    async def _start(self) -> str:
        _progress("starting PostgreSQL...")
        self._postgres = start_postgres(self._data_dir / "postgres")
        await self._postgres.ensure_database()
        database_url = self._postgres.database_url

        _progress(f"starting Temporal on {self._temporal_address}...")
        await self._start_temporal()

        if self._with_object_store:
            _progress("starting SeaweedFS (the object store)...")
            await self._start_object_store()

        _progress("applying migrations...")
        upgrade = await upgrade_to_head(database_url)
        _progress(f"  {upgrade.describe()}")
        self._write_stack_file(database_url)
        key = await self._dev_key(database_url)

        _progress(f"starting {self._workers} worker(s) and the API...")
        for line in self._sandbox_warning():
            _progress(line)
        # Explicit addresses, so that a TURNFLOW_* left in the shell cannot point the children elsewhere.
        env = {
            **os.environ,
            "TURNFLOW_DATABASE_URL": database_url,
            "TURNFLOW_TEMPORAL_ADDRESS": self._temporal_address,
            "TURNFLOW_SANDBOX_PROVIDER": self._sandbox_provider,
            **self._object_store_env(),
        }
        data_dir = ["--data-dir", str(self._data_dir)]
        for n, port in enumerate(self._metrics_ports, start=1):
            await self._spawn(f"worker {n}", ["worker", *data_dir], env | {"TURNFLOW_WORKER_METRICS_PORT": str(port)})
        await self._spawn(
            "API",
            ["api", *data_dir, "--port", str(self._settings.api_port)],
            env | self._cors_env() | self._browser_token_env(),
        )
        health = f"{self._api_url}/healthz"
        await self._wait_for("the API", lambda: asyncio.to_thread(_answers_ok, health))
        return key

    def _browser_token_env(self) -> dict[str, str]:
        """A signing secret kept in the data dir, so tokens survive a restart of the stack."""
        path = self._data_dir / BROWSER_TOKEN_SECRET_FILE
        if not path.is_file():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return {"TURNFLOW_BROWSER_TOKEN_SECRET": path.read_text().strip()}

    def _cors_env(self) -> dict[str, str]:
        """The web app's origins (served by the API itself, or by Vite's dev server), unless the shell names others."""
        port = self._settings.api_port
        vite = [f"http://{host}:{VITE_DEV_PORT}" for host in ("127.0.0.1", "localhost")]
        origins = [self._api_url, f"http://localhost:{port}", *vite]
        return {"TURNFLOW_CORS_ORIGINS": os.environ.get("TURNFLOW_CORS_ORIGINS") or ",".join(origins)}

    async def _start_temporal(self) -> None:
        argv = dev_server_argv(
            db_file=self._data_dir / "temporal.db",
            port=self._settings.temporal_port,
            ui_port=self._settings.ui_port(),
            namespace=self._settings.temporal_namespace,
        )
        self._children.append(await spawn("Temporal", argv, env=os.environ, log=self._data_dir / "temporal.log"))

        async def answers() -> bool:
            return await try_connect(self._temporal_address, self._settings.temporal_namespace) is not None

        await self._wait_for("Temporal", answers)

    async def _start_object_store(self) -> None:
        self._seaweedfs, self._object_store = await start_seaweedfs(self._data_dir / "objects", START_DEADLINE_S)
        self._children.append(self._seaweedfs)

    def _object_store_env(self) -> dict[str, str]:
        """Snapshots go to the stack's object store, whatever the shell says."""
        if self._object_store is None:
            return {}
        return self._object_store.snapshot_location().environment()

    async def _dev_key(self, database_url: str) -> str:
        key_file = self._data_dir / DEV_KEY_FILE
        current = read_key_file(key_file)
        engine = create_engine(database_url, pool_size=1)
        try:
            async with session_factory(engine).begin() as db:
                key = await ensure_dev_key(db, current)
                if key != current:
                    write_key_file(key_file, key)  # before the commit: a key is never registered but lost
        finally:
            await engine.dispose()
        return key

    async def _spawn(self, name: str, command: list[str], env: Mapping[str, str]) -> None:
        self._children.append(await spawn(name, [sys.executable, "-m", "turnflow.cli", *command], env=env))

    async def _wait_for(self, what: str, ready: Callable[[], Awaitable[bool]]) -> None:
        """Polls `ready` until it holds; gives up on Ctrl-C, on a child dying, or at the deadline."""
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + START_DEADLINE_S
        while True:
            self._check_running()
            if await ready():
                return
            if loop.time() > give_up_at:
                raise CommandError(f"{what} did not become ready within {START_DEADLINE_S:g} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), _POLL_S)

    def _check_running(self) -> None:
        """Raises once Ctrl-C has arrived or a child has died: going on would be pointless."""
        if self._stop.is_set():
            raise _Interrupted
        for child in self._children:
            if child.returncode is not None:
                raise _ChildExited(child)

    async def _until_stopped(self) -> None:
        """Waits for Ctrl-C or for any child to exit on its own, then raises accordingly."""
        stop = asyncio.create_task(self._stop.wait())
        exits = [asyncio.create_task(child.process.wait()) for child in self._children]
        await asyncio.wait([stop, *exits], return_when=asyncio.FIRST_COMPLETED)
        for task in (stop, *exits):
            task.cancel()
        self._check_running()

    async def _shutdown(self) -> None:
        _progress("stopping...")
        for child in reversed(self._children):
            await child.stop(OBJECT_STORE_STOP_DEADLINE_S if child is self._seaweedfs else STOP_DEADLINE_S)
        # The next run mounts the workspaces' volumes again; none stays mounted once the stack is down.
        unmount_all_under(self._settings.workspaces().resolve())
        if self._postgres is not None:
            self._postgres.stop()
        (self._data_dir / STACK_FILE).unlink(missing_ok=True)
        _progress("stopped")

    def _write_stack_file(self, database_url: str) -> None:
        info = StackInfo(database_url, self._temporal_address, self._api_url, self._ui_url)
        store = self._object_store.stack_entries() if self._object_store else {}
        path = self._data_dir / STACK_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(info) | store, indent=2) + "\n")
        tmp.replace(path)  # readers never see half a file

    def _sandbox_warning(self) -> list[str]:
        """Loud, because unisolated commands run with the worker's own access."""
        if self._sandbox_provider != "process":
            return []
        rule = "!" * 100
        return [rule, f"WARNING: {UNISOLATED_WARNING}", rule]

    def _object_store_banner(self) -> list[str]:
        if self._object_store is None:
            return []
        store = self._object_store
        return [f"  Snapshots    {store.snapshot_location().url} at {store.endpoint_url} (SeaweedFS)"]

    def _print_banner(self, key: str, token: str) -> None:
        print(
            "\n".join(
                [
                    "",
                    "turnflow dev is up",
                    f"  Web app      {self._api_url}/#token={token}  (open this: it signs you in as {DEV_USER!r})",
                    f"  API          {self._api_url}",
                    f"  API docs     {self._api_url}/docs",
                    f"  Temporal UI  {self._ui_url}",
                    *self._object_store_banner(),
                    f"  API metrics  {self._api_url}/metrics",
                    *(
                        f"  worker {n} metrics  http://{HOST}:{port}/metrics"
                        for n, port in enumerate(self._metrics_ports, start=1)
                    ),
                    f"  API key      {key}  (account {DEV_ACCOUNT!r}, kept in {self._data_dir / DEV_KEY_FILE})",
                    *self._sandbox_warning(),
                    "Ctrl-C to stop",
                    "",
                ]
            ),
            flush=True,
        )


def _workers_sandbox_provider(settings: Settings) -> str:
    """What the workers are told to use. A worker never falls back on its own; `turnflow dev`, alone, asks for
    plain processes by name on a machine without bubblewrap, so a laptop without it can still run the demo."""
    if settings.sandbox_provider == "auto" and not bubblewrap_installed():
        return "process"
    return settings.sandbox_provider


def _progress(line: str) -> None:
    print(line, flush=True)


def _browser_token(api_url: str, key: str) -> str:
    """A day-long browser token for the dev user, as a product's backend would mint one: the key stays here."""
    request = urllib.request.Request(
        f"{api_url}/browser-tokens",
        data=json.dumps({"subject": DEV_USER, "ttlSeconds": 86_400}).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        token: str = json.loads(response.read())["token"]
    return token


def _answers_ok(url: str) -> bool:
    """GET without proxies: a proxy from the environment must not stand between us and 127.0.0.1."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def _exclusive(lock_file: Path) -> Iterator[None]:
    """One `turnflow dev` per data dir: two would share one PostgreSQL and fight over it on exit."""
    with lock_file.open("w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CommandError(
                f"another `turnflow dev` is running on {lock_file.parent}; stop it or pass another --data-dir",
                exit_code=EXIT_CONFLICT,
            ) from None
        yield


async def run_dev(settings: Settings, workers: int, object_store: bool = False) -> int:
    return await DevStack(settings, workers, object_store).run()
