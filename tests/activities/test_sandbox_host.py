"""Who holds a session's sandbox, against real PostgreSQL and real worker presences: a live holder keeps it, a dead
one's is taken over from the last snapshot, and a copy left on a root the session has since moved away from is never
trusted."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.sandbox.host import SandboxHost, SandboxMoved
from activities.sandbox.unisolated import UnisolatedProvider
from activities.stop_listener import StopListener
from activities.tool_calls import ToolCallActivities
from activities.worker_presence import WorkerPresence
from models.database import asyncpg_dsn
from models.enums import SandboxState
from models.settings import Settings
from models.tables import Session, ToolCall
from models.turns import ToolCallInput
from tests.conftest import Tenant
from tests.polling import wait_until
from tests.turns.turn_rows import seed_turn

_HOLDING = text("SELECT sandbox_state, sandbox_worker_id, sandbox_root_id FROM sessions WHERE id = :id")
# A worker whose database session ended: its backend pid is no longer in pg_stat_activity.
_DEAD_WORKER = text(
    "INSERT INTO worker_sessions (id, backend_pid, backend_start, task_queue, host) "
    "VALUES (:id, 0, now(), 'gone', 'gone-host')"
)


async def _new_session(db_sessions: async_sessionmaker[AsyncSession], tenant: Tenant) -> str:
    async with db_sessions.begin() as db:
        session = Session(account_id=tenant.account_id)
        db.add(session)
        await db.flush()
        return str(session.id)


@pytest.fixture
async def session_id(db_sessions: async_sessionmaker[AsyncSession], tenant: Tenant) -> str:
    return await _new_session(db_sessions, tenant)


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


@dataclass(frozen=True)
class SandboxCase:
    """A session, two live workers' presences, and a way to put a sandbox host of a worker on a workspace root."""

    engine: AsyncEngine
    id: str
    first: WorkerPresence
    second: WorkerPresence
    host_on: Callable[[str, uuid.UUID], SandboxHost]

    async def holding(self) -> tuple[str | None, uuid.UUID | None, str | None]:
        return await _holding(self.engine, self.id)


@pytest.fixture
def session(
    engine: AsyncEngine,
    session_id: str,
    presences: tuple[WorkerPresence, WorkerPresence],
    host_on: Callable[[str, uuid.UUID], SandboxHost],
) -> SandboxCase:
    return SandboxCase(engine, session_id, *presences, host_on)


async def _holding(engine: AsyncEngine, session_id: str) -> tuple[str | None, uuid.UUID | None, str | None]:
    async with engine.connect() as conn:
        row = (await conn.execute(_HOLDING, {"id": session_id})).one()
    return row.sandbox_state, row.sandbox_worker_id, row.sandbox_root_id


async def _workspace(host: SandboxHost, session_id: str) -> Path:
    """Where a tool call on this host finds the session's files."""
    async with host.using(session_id) as sandbox:
        return sandbox.workspace


async def _dead_worker(engine: AsyncEngine) -> uuid.UUID:
    dead = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(_DEAD_WORKER, {"id": dead})
    return dead


async def test_a_live_holder_keeps_its_sandbox(session: SandboxCase) -> None:
    first, second = session.first, session.second
    here = session.host_on("a", first.worker_id)
    there = session.host_on("b", second.worker_id)
    (await _workspace(here, session.id) / "mine.txt").write_text("held")

    for attempt in (_workspace(there, session.id), there.provision(session.id), there.sync(session.id)):
        with pytest.raises(SandboxMoved):
            await attempt
    with pytest.raises(SandboxMoved):
        await there.put_away(session.id, SandboxState.HIBERNATED)
    assert await session.holding() == ("ready", first.worker_id, here.root_id)
    assert not there.workspace(session.id).exists()


async def test_a_dead_holders_sandbox_is_restored_elsewhere_and_its_stale_copy_never_used(session: SandboxCase) -> None:
    first, second = session.first, session.second
    on_a = session.host_on("a", await _dead_worker(session.engine))
    (await _workspace(on_a, session.id) / "plan.md").write_text("v1")
    assert (await on_a.sync(session.id)) is not None  # what a finished turn leaves in the store

    on_b = session.host_on("b", second.worker_id)
    moved = await _workspace(on_b, session.id)
    assert (moved / "plan.md").read_text() == "v1", "restored from the snapshot"
    assert await session.holding() == ("ready", second.worker_id, on_b.root_id)
    (moved / "plan.md").write_text("v2")
    await on_b.sync(session.id)

    # Host A comes back with a new worker while B holds the sandbox: refused. Once B is gone, A restores v2 rather
    # than trusting the v1 copy its root still has.
    back_on_a = session.host_on("a", first.worker_id)
    assert back_on_a.root_id == on_a.root_id
    with pytest.raises(SandboxMoved):
        await _workspace(back_on_a, session.id)
    await second.stop()
    assert (await _workspace(back_on_a, session.id) / "plan.md").read_text() == "v2"


async def test_a_worker_on_the_same_root_takes_over_the_newest_files_as_they_are(session: SandboxCase) -> None:
    """Two workers on one disk: what the dead one's last tool wrote (never synced) is kept, not restored over."""
    dead = session.host_on("shared", await _dead_worker(session.engine))
    (await _workspace(dead, session.id) / "unsynced.txt").write_text("only on this disk")
    survivor = session.host_on("shared", session.first.worker_id)
    assert (await _workspace(survivor, session.id) / "unsynced.txt").read_text() == "only on this disk"
    assert await session.holding() == ("ready", session.first.worker_id, survivor.root_id)


async def test_a_pack_that_fails_keeps_the_files_for_the_next_try(session: SandboxCase, tmp_path: Path) -> None:
    """The store is down while the sandbox hibernates: the state says hibernated, but the files stay, a tool call
    meanwhile uses them as they are, and the next hibernation packs them."""
    first, second = session.first, session.second
    holder = session.host_on("a", first.worker_id)
    files = await _workspace(holder, session.id)
    (files / "work.txt").write_text("unsaved work")
    (tmp_path / "snapshots").write_text("a file where the store's directory should be")
    with pytest.raises(OSError):
        await holder.put_away(session.id, SandboxState.HIBERNATED)
    assert (files / "work.txt").read_text() == "unsaved work"
    assert (await _workspace(holder, session.id) / "work.txt").read_text() == "unsaved work"

    (tmp_path / "snapshots").unlink()  # the store is back
    await holder.put_away(session.id, SandboxState.HIBERNATED)
    assert await session.holding() == ("hibernated", None, None)
    elsewhere = session.host_on("b", second.worker_id)
    assert (await _workspace(elsewhere, session.id) / "work.txt").read_text() == "unsaved work"


async def test_a_clean_leave_packs_what_changed_and_lets_go(session: SandboxCase) -> None:
    first, second = session.first, session.second
    leaving = session.host_on("a", first.worker_id)
    files = await _workspace(leaving, session.id)
    (files / "late.txt").write_text("after the last sync")

    assert await leaving.leave() == 1
    assert await session.holding() == ("hibernated", None, None)
    assert not files.exists()
    staying = session.host_on("b", second.worker_id)
    assert (await _workspace(staying, session.id) / "late.txt").read_text() == "after the last sync"


async def test_a_leaving_worker_lets_idle_sandboxes_go_while_a_tool_call_still_runs(
    session: SandboxCase, db_sessions: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    leaving = session.host_on("a", session.first.worker_id)
    busy = await _new_session(db_sessions, tenant)
    (await _workspace(leaving, session.id) / "idle.txt").write_text("idle")
    async with leaving.using(busy) as sandbox:
        packing = asyncio.create_task(leaving.leave())

        async def idle_let_go() -> bool:
            return await session.holding() == ("hibernated", None, None)

        await wait_until(idle_let_go, "the idle sandbox to be let go")
        assert not packing.done(), "the busy one waits for its tool call"
        (sandbox.workspace / "written-by-the-call.txt").write_text("kept")
    assert await packing == 2
    elsewhere = session.host_on("b", session.second.worker_id)
    assert (await _workspace(elsewhere, busy) / "written-by-the-call.txt").read_text() == "kept"


async def test_a_tool_call_sent_to_a_worker_not_holding_the_sandbox_never_counts_as_started(
    engine: AsyncEngine,
    db_sessions: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    settings: Settings,
    stops: StopListener,
    presences: tuple[WorkerPresence, WorkerPresence],
    host_on: Callable[[str, uuid.UUID], SandboxHost],
) -> None:
    first, second = presences
    turn = await seed_turn(db_sessions, tenant)
    call_id = f"toolu_{uuid.uuid4().hex[:12]}"
    async with db_sessions.begin() as db:
        db.add(
            ToolCall(turn_id=turn.turn_id, tool_call_id=call_id, step=1, tool_name="bash", input={"command": "true"})
        )
    await host_on("a", first.worker_id).provision(str(turn.session_id))

    elsewhere = ToolCallActivities(engine, settings, stops, host_on("b", second.worker_id))
    with pytest.raises(SandboxMoved):
        await ActivityEnvironment().run(elsewhere.run_tool_call, ToolCallInput(str(turn.turn_id), call_id, "bash"))
    async with db_sessions() as db:
        call = await db.get(ToolCall, (turn.turn_id, call_id))
    assert call is not None and (call.status, call.attempts, call.started_at) == ("pending", 0, None)
