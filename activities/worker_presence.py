"""A worker's presence in the database, so that its death is noticed within a second, not a heartbeat timeout.

Each worker holds one PostgreSQL session for its life and records there the activity attempts it runs (by task
token). PostgreSQL ends a session the moment its process dies (or, over TCP, when keepalives find the host gone);
every worker looks for workers whose session has ended, claims each one (only one survivor wins), and fails its
running attempts by task token with a retryable error, so Temporal starts the retries at once. When no worker
survives, the heartbeat timeout still retries them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
from datetime import timedelta
from typing import Any

import asyncpg
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from models.names import WORKER_LOST_ERROR

_log = logging.getLogger("turnflow.worker_presence")
# A dead worker's attempts are retried this soon at most after its session ends (one cheap query per check).
REAP_EVERY_S = 0.1
RECONNECT_DELAY_S = 0.5
# What Temporal waits before retrying an attempt whose worker is gone or leaving (zero would mean "the policy's").
RETRY_AT_ONCE = timedelta(milliseconds=1)
# After a PostgreSQL restart every session is gone at once; workers get this long to register again before a
# survivor takes their ended session for their death.
RESTART_GRACE_S = 5
# Over TCP, a host that vanished without closing its connections is noticed by the server within ~10 s.
_KEEPALIVES = {"tcp_keepalives_idle": "4", "tcp_keepalives_interval": "2", "tcp_keepalives_count": "3"}

_REGISTER = """
    INSERT INTO worker_sessions (id, backend_pid, backend_start, task_queue, host)
    SELECT $1, pid, backend_start, $2, $3 FROM pg_stat_activity WHERE pid = pg_backend_pid()
    ON CONFLICT (id) DO UPDATE SET backend_pid = excluded.backend_pid, backend_start = excluded.backend_start
"""
_RECORD = "INSERT INTO worker_attempts (worker_id, task_token, activity) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
_FORGET = "DELETE FROM worker_attempts WHERE worker_id = $1 AND task_token = $2"
_LEAVE = "DELETE FROM worker_sessions WHERE id = $1"
# The worker of `worker_sessions w` is gone: its database session has ended (and the database has not just
# restarted, ending every session at once).
WORKER_GONE = f"""
    NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = w.backend_pid AND a.backend_start = w.backend_start)
    AND (w.backend_start > pg_postmaster_start_time()
         OR now() - pg_postmaster_start_time() > interval '{RESTART_GRACE_S} seconds')
"""
# One statement claims the dead (the DELETE lets one survivor win) and returns what they were running.
_CLAIM_DEAD = f"""
    WITH dead AS (
        DELETE FROM worker_sessions w WHERE w.id <> $1 AND {WORKER_GONE}
        RETURNING w.id
    )
    SELECT a.worker_id, a.task_token, a.activity FROM worker_attempts a JOIN dead ON dead.id = a.worker_id
"""


class WorkerPresence:
    def __init__(self, dsn: str, client: Client, task_queue: str) -> None:
        self.worker_id = uuid.uuid4()
        self._dsn = dsn
        self._client = client
        self._task_queue = task_queue
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self._reaper: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await self._connect()
        self._reaper = asyncio.create_task(self._reap_forever(), name="worker presence")

    async def __aenter__(self) -> WorkerPresence:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        """A clean leave: no survivor fails anything of this worker's."""
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        for task in list(self._pending):
            await task
        if self._conn is not None and not self._conn.is_closed():
            async with self._lock:
                await self._conn.execute(_LEAVE, self.worker_id)
            await self._conn.close()

    async def record(self, task_token: bytes, activity_type: str) -> None:
        """Awaited before the attempt runs, so a death from then on takes the fast path."""
        await self._run(_RECORD, self.worker_id, task_token, activity_type)

    def forget(self, task_token: bytes) -> None:
        """In the background, after the attempt: failing a finished attempt by token is a harmless no-op."""
        task = asyncio.create_task(self._run(_FORGET, self.worker_id, task_token))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _run(self, statement: str, *args: Any) -> None:
        try:
            async with self._lock:
                if self._conn is None or self._conn.is_closed():
                    return  # reconnecting: this attempt is covered by its heartbeat timeout
                await self._conn.execute(statement, *args)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            _log.warning("worker %s: presence not updated (%s); the heartbeat timeout covers it", self.worker_id, exc)

    async def _connect(self) -> None:
        conn = await asyncpg.connect(
            self._dsn,
            server_settings={
                "application_name": f"turnflow worker {self.worker_id}",
                # Each attempt is recorded before it runs: no disk flush in front of it. The rows matter only while
                # the database is up, and a database that crashed has ended every worker's session anyway.
                "synchronous_commit": "off",
                **_KEEPALIVES,
            },
        )
        await conn.execute(_REGISTER, self.worker_id, self._task_queue, socket.gethostname())
        self._conn = conn

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(REAP_EVERY_S)
            try:
                if self._conn is None or self._conn.is_closed():
                    async with self._lock:
                        await self._connect()
                    _log.info("worker %s: presence registered again", self.worker_id)
                async with self._lock:
                    assert self._conn is not None
                    lost = await self._conn.fetch(_CLAIM_DEAD, self.worker_id)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                _log.warning("worker %s: presence check failed: %s", self.worker_id, exc)
                await asyncio.sleep(RECONNECT_DELAY_S)
                continue
            for row in lost:
                await self._fail(row["worker_id"], bytes(row["task_token"]), row["activity"])

    async def _fail(self, worker_id: uuid.UUID, task_token: bytes, activity_type: str) -> None:
        error = ApplicationError(
            f"worker {worker_id} is gone; retrying elsewhere",
            type=WORKER_LOST_ERROR,
            next_retry_delay=RETRY_AT_ONCE,  # no backoff: the attempt's worker is known to be dead
        )
        try:
            await self._client.get_async_activity_handle(task_token=task_token).fail(error)
            _log.info("worker %s is gone: failed its %s attempt so that it is retried now", worker_id, activity_type)
        except RPCError as exc:
            _log.debug("worker %s: its %s attempt had already ended (%s)", worker_id, activity_type, exc)


class PresenceInterceptor(Interceptor):
    """Records every activity attempt the worker runs in its presence."""

    def __init__(self, presence: WorkerPresence) -> None:
        self._presence = presence

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _RecordedAttempt(next, self._presence)


class _RecordedAttempt(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, presence: WorkerPresence) -> None:
        super().__init__(next)
        self._presence = presence

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        if info.is_local:
            return await super().execute_activity(input)
        await self._presence.record(info.task_token, info.activity_type)
        try:
            return await super().execute_activity(input)
        finally:
            self._presence.forget(info.task_token)
