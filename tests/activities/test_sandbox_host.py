"""Who holds a session's sandbox, against real PostgreSQL and real worker presences: a live holder keeps it, a dead
one's is taken over from the last snapshot, and a copy left on a root the session has since moved away from is never
trusted."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from activities.sandbox.host import SandboxHost, SandboxMoved
from activities.sandbox.unisolated import UnisolatedProvider
from activities.worker_presence import WorkerPresence
from models.database import asyncpg_dsn
from models.enums import SandboxState
from models.settings import Settings
from models.tables import Session
from tests.conftest import Tenant

_HOLDING = text("SELECT sandbox_state, sandbox_worker_id, sandbox_root_id FROM sessions WHERE id = :id")
# A worker whose database session ended: its backend pid is no longer in pg_stat_activity.
_DEAD_WORKER = text(
    "INSERT INTO worker_sessions (id, backend_pid, backend_start, task_queue, host) "
    "VALUES (:id, 0, now(), 'gone', 'gone-host')"
)


@pytest.fixture
async def session_id(db_sessions: async_sessionmaker[AsyncSession], tenant: Tenant) -> str:
    async with db_sessions.begin() as db:
        session = Session(account_id=tenant.account_id)
        db.add(session)
        await db.flush()
        return str(session.id)


@pytest.fixture
async def presences(
    database_url: str, temporal_env: WorkflowEnvironment
) -> AsyncIterator[tuple[WorkerPresence, WorkerPresence]]:
    queue = f"hosts-{uuid.uuid4().hex[:6]}"
    dsn = asyncpg_dsn(database_url)
    async with (
        WorkerPresence(dsn, temporal_env.client, queue) as first,
        WorkerPresence(dsn, temporal_env.client, queue) as second,
    ):
        yield first, second


@pytest.fixture
def host_on(engine: AsyncEngine, settings: Settings, tmp_path: Path) -> Callable[[str, uuid.UUID], SandboxHost]:
    """A worker's sandbox host on the named workspace root; every root shares one snapshot store."""

    def make(root: str, worker_id: uuid.UUID) -> SandboxHost:
        local = settings.model_copy(
            update={"workspace_root": tmp_path / root, "snapshot_store": str(tmp_path / "snapshots")}
        )
        return SandboxHost(engine, local, UnisolatedProvider(dict(os.environ), local), worker_id)

    return make


async def _holding(engine: AsyncEngine, session_id: str) -> tuple[str | None, uuid.UUID | None, str | None]:
    async with engine.connect() as conn:
        row = (await conn.execute(_HOLDING, {"id": session_id})).one()
    return row.sandbox_state, row.sandbox_worker_id, row.sandbox_root_id


async def test_a_live_holder_keeps_its_sandbox(
    engine: AsyncEngine,
    session_id: str,
    presences: tuple[WorkerPresence, WorkerPresence],
    host_on: Callable[[str, uuid.UUID], SandboxHost],
) -> None:
    first, second = presences
    here = host_on("a", first.worker_id)
    there = host_on("b", second.worker_id)
    sandbox = await here.use(session_id)
    (sandbox.workspace / "mine.txt").write_text("held")

    for attempt in (there.use(session_id), there.claim(session_id), there.sync(session_id)):
        with pytest.raises(SandboxMoved):
            await attempt
    with pytest.raises(SandboxMoved):
        await there.put_away(session_id, SandboxState.HIBERNATED)
    assert await _holding(engine, session_id) == ("ready", first.worker_id, here.root_id)
    assert not there.workspace(session_id).exists()


async def test_a_dead_holders_sandbox_is_restored_elsewhere_and_its_stale_copy_never_used(
    engine: AsyncEngine,
    session_id: str,
    presences: tuple[WorkerPresence, WorkerPresence],
    host_on: Callable[[str, uuid.UUID], SandboxHost],
) -> None:
    dead = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(_DEAD_WORKER, {"id": dead})
    first, second = presences
    on_a = host_on("a", dead)
    sandbox = await on_a.use(session_id)
    (sandbox.workspace / "plan.md").write_text("v1")
    assert (await on_a.sync(session_id)) is not None  # what a finished turn leaves in the store

    on_b = host_on("b", second.worker_id)
    moved = await on_b.use(session_id)
    assert (moved.workspace / "plan.md").read_text() == "v1", "restored from the snapshot"
    assert await _holding(engine, session_id) == ("ready", second.worker_id, on_b.root_id)
    (moved.workspace / "plan.md").write_text("v2")
    await on_b.sync(session_id)

    # Host A comes back with a new worker while B holds the sandbox: refused. Once B is gone, A restores v2 rather
    # than trusting the v1 copy its root still has.
    back_on_a = host_on("a", first.worker_id)
    assert back_on_a.root_id == on_a.root_id
    with pytest.raises(SandboxMoved):
        await back_on_a.use(session_id)
    await second.stop()
    again = await back_on_a.use(session_id)
    assert (again.workspace / "plan.md").read_text() == "v2"


async def test_a_clean_leave_packs_what_changed_and_lets_go(
    engine: AsyncEngine,
    session_id: str,
    presences: tuple[WorkerPresence, WorkerPresence],
    host_on: Callable[[str, uuid.UUID], SandboxHost],
) -> None:
    first, second = presences
    leaving = host_on("a", first.worker_id)
    sandbox = await leaving.use(session_id)
    (sandbox.workspace / "late.txt").write_text("after the last sync")

    assert await leaving.leave() == 1
    assert await _holding(engine, session_id) == ("hibernated", None, None)
    assert not sandbox.workspace.exists()
    staying = host_on("b", second.worker_id)
    restored = await staying.use(session_id)
    assert (restored.workspace / "late.txt").read_text() == "after the last sync"
