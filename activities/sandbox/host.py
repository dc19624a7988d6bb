"""The sandboxes one worker holds. A session's sandbox belongs to one live worker at a time (`sessions.
sandbox_worker_id`); its tool calls and lifecycle come to that worker's own task queue. `sessions.sandbox_root_id`
names the workspace root that has the session's newest files (none: the newest are in the snapshot store). A worker
asked for a sandbox that no live worker holds takes it over: it uses the files as they are when they are newest on
its own root (workers sharing a disk share them), else restores the last snapshot over whatever stale copy its root
has. Every write after the takeover is fenced by the holding, so a worker taken for dead changes nothing of the new
holder's. A worker that leaves cleanly packs its sandboxes into the snapshot store and lets them go."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities.sandbox.base import Sandbox, SandboxProvider
from activities.sandbox.snapshot_store import open_snapshot_store
from activities.sandbox.snapshots import (
    LEGACY_ARCHIVE_SUFFIX,
    SyncResult,
    manifest_key,
    restore_legacy_archive,
    restore_workspace,
    sync_workspace,
)
from activities.worker_presence import WORKER_GONE
from models.enums import SandboxState
from models.names import SANDBOX_MOVED_ERROR
from models.settings import Settings

_log = logging.getLogger("turnflow.sandbox_host")
T = TypeVar("T")
R = TypeVar("R")
ROOT_ID_FILE = ".turnflow-root"
# Clean leave: sandboxes packed at once.
_LEAVE_PARALLEL = 4

_HOLDING = text(
    f"""
    SELECT s.sandbox_state AS state, s.sandbox_snapshot_ref AS snapshot_ref, s.sandbox_root_id AS root_id,
        s.sandbox_worker_id AS holder,
        EXISTS (SELECT 1 FROM worker_sessions w WHERE w.id = s.sandbox_worker_id AND NOT ({WORKER_GONE})) AS alive
    FROM sessions s WHERE s.id = :id
    FOR NO KEY UPDATE OF s
    """
)
_CLAIM = text("UPDATE sessions SET sandbox_worker_id = :worker WHERE id = :id")
# Every later write is fenced by the holding: a worker taken for dead (and taken over) changes nothing of the new
# holder's.
_MARK = text("UPDATE sessions SET sandbox_state = :state WHERE id = :id AND sandbox_worker_id = :worker")
_READY = text(
    """
    UPDATE sessions SET sandbox_state = 'ready', sandbox_root_id = :root WHERE id = :id AND sandbox_worker_id = :worker
    """
)
_WRITE_REF = text("UPDATE sessions SET sandbox_snapshot_ref = :ref WHERE id = :id AND sandbox_worker_id = :worker")
_LET_GO = text(
    """
    UPDATE sessions SET sandbox_state = :state, sandbox_snapshot_ref = :ref, sandbox_worker_id = NULL,
        sandbox_root_id = NULL
    WHERE id = :id AND sandbox_worker_id = :worker
    """
)
_HELD = text("SELECT id FROM sessions WHERE sandbox_worker_id = :worker")


class SandboxUnready(Exception):
    """The sandbox could not be made (or restored) on this worker; the message is for the model."""


class SandboxLost(ApplicationError):
    """This worker was taken for gone and its sandbox taken over meanwhile: what it was doing is not recorded, and
    the workflow sends the activity to the new holder."""

    def __init__(self, session_id: str) -> None:
        super().__init__(
            f"session {session_id}: its sandbox was taken over by another worker meanwhile",
            type=SANDBOX_MOVED_ERROR,
            category=ApplicationErrorCategory.BENIGN,
        )


class SandboxMoved(ApplicationError):
    """Another live worker holds the sandbox: the workflow asks where it is and sends the activity there."""

    def __init__(self, session_id: str, holder: uuid.UUID) -> None:
        super().__init__(
            f"session {session_id}: its sandbox is held by worker {holder}",
            type=SANDBOX_MOVED_ERROR,
            category=ApplicationErrorCategory.BENIGN,  # routing, not a failure: logged at debug level
        )


@dataclass(frozen=True)
class Holding:
    """The session's sandbox as the database has it, read under the session row's lock."""

    state: str | None
    snapshot_ref: str | None
    root_id: str | None


def workspace_root_id(root: Path) -> str:
    """The id of a workspace root, made once and kept in it: two workers on one root share their sessions' files,
    two roots (two hosts) do not. Written whole before it is linked into place, so a worker starting beside
    another never reads half of it."""
    root.mkdir(parents=True, exist_ok=True)
    marker = root / ROOT_ID_FILE
    if not marker.exists():
        draft = root / f"{ROOT_ID_FILE}.{uuid.uuid4().hex}"
        draft.write_text(uuid.uuid4().hex)
        try:
            os.link(draft, marker)
        except FileExistsError:
            pass  # another worker's came first
        finally:
            draft.unlink()
    return marker.read_text().strip()


@dataclass
class _SessionEntry:
    changes: asyncio.Condition = field(default_factory=asyncio.Condition)
    users: int = 0  # tool calls using the sandbox now
    waiting: int = 0  # callers holding or awaiting this entry


class SessionLocks:
    """Per session on this worker: changes to its sandbox (restoring, packing) come one at a time and never while a
    tool call uses it; tool calls use it side by side."""

    def __init__(self) -> None:
        self._entries: dict[str, _SessionEntry] = {}

    @asynccontextmanager
    async def changing(self, session_id: str) -> AsyncIterator[None]:
        async with self._entry(session_id) as entry, entry.changes:
            await entry.changes.wait_for(lambda: entry.users == 0)
            yield

    @asynccontextmanager
    async def using(self, session_id: str, ready: Callable[[], Awaitable[T]]) -> AsyncIterator[T]:
        """`ready` runs as a change would; what it returns is used until the block ends."""
        async with self._entry(session_id) as entry:
            async with entry.changes:
                value = await ready()
                entry.users += 1
            try:
                yield value
            finally:
                async with entry.changes:
                    entry.users -= 1
                    entry.changes.notify_all()

    @asynccontextmanager
    async def _entry(self, session_id: str) -> AsyncIterator[_SessionEntry]:
        entry = self._entries.setdefault(session_id, _SessionEntry())
        entry.waiting += 1
        try:
            yield entry
        finally:
            entry.waiting -= 1
            if entry.waiting == 0:
                del self._entries[session_id]


async def _whole(work: Callable[..., R], *args: object) -> R:
    """Blocking work on a workspace is never abandoned half done: a cancelled caller still waits for it to end, so
    the session's lock is not given up while its files change."""
    running = asyncio.ensure_future(asyncio.to_thread(work, *args))
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        await asyncio.wait({running})
        raise


class SandboxHost:
    def __init__(
        self, engine: AsyncEngine, settings: Settings, provider: SandboxProvider, worker_id: uuid.UUID
    ) -> None:
        self.worker_id = worker_id
        self._engine = engine
        self._provider = provider
        self._store = open_snapshot_store(settings.resolved_snapshot_store())
        self._root = settings.workspaces()
        self.root_id = workspace_root_id(self._root)
        self._locks = SessionLocks()

    def workspace(self, session_id: str) -> Path:
        return self._root / session_id

    def using(self, session_id: str) -> contextlib.AbstractAsyncContextManager[Sandbox]:
        """The session's sandbox on this worker for a tool call, taken over (and restored) first if no live worker
        holds it; it is not packed away until the block ends. Raises SandboxMoved before anything else if another
        live worker holds it."""
        return self._locks.using(session_id, lambda: self._ready(session_id))

    async def provision(self, session_id: str) -> None:
        async with self._locks.changing(session_id):
            await self._ready(session_id)

    async def sync(self, session_id: str) -> SyncResult | None:
        """The workspace's changes into the store; None when the newest files are not on this worker's root."""
        async with self._locks.changing(session_id):
            holding = await self._read(session_id)
            if not (self._current_here(holding) and self.workspace(session_id).exists()):
                _log.warning("session %s: its newest files are not on this worker; nothing synced", session_id)
                return None
            result = await _whole(self._sync, session_id)
            if result is not None and result.manifest_written:
                await self._fenced(_WRITE_REF, session_id, ref=manifest_key(session_id))
            return result

    async def put_away(self, session_id: str, state: SandboxState) -> None:
        """Hibernated or stopped: the workspace packed into its snapshot (when its newest files are here) and
        removed, and then no worker holds the sandbox. In that state from its first moment, while this worker still
        holds it: a tool arriving meanwhile comes here and waits for the pack. A pack that fails leaves the files
        and their root as they were, so the retry packs them."""
        async with self._locks.changing(session_id):
            holding = await self._read(session_id)
            await self._fenced(_MARK, session_id, state=state.value)
            result = None
            if self._current_here(holding):
                result = await _whole(self._pack, session_id)
            else:
                await _whole(self._discard, session_id)  # a stale copy, if this root has one
            ref = manifest_key(session_id) if result is not None and result.stored else holding.snapshot_ref
            await self._fenced(_LET_GO, session_id, state=state.value, ref=ref)

    async def leave(self) -> int:
        """A clean leave: every sandbox this worker holds is packed into the store and let go, so the next tool
        call of each session restores it on a worker that stays. Returns how many there were."""
        async with self._engine.connect() as conn:
            held = [str(session) for session in (await conn.scalars(_HELD, {"worker": self.worker_id}))]
        limit = asyncio.Semaphore(_LEAVE_PARALLEL)

        async def hibernate(session_id: str) -> None:
            async with limit:
                try:
                    await self.put_away(session_id, SandboxState.HIBERNATED)
                except Exception:  # the others are still packed; this one keeps its files where they are
                    _log.exception("session %s: its sandbox was not packed on leaving", session_id)

        await asyncio.gather(*(hibernate(session_id) for session_id in held))
        if held:
            _log.info("worker %s left: %d sandbox(es) packed into the store", self.worker_id, len(held))
        return len(held)

    def _current_here(self, holding: Holding) -> bool:
        """The session's newest files are on this root (no root recorded: a sandbox from before roots were, when a
        ready one was the only copy)."""
        return holding.root_id == self.root_id or (holding.root_id is None and holding.state == SandboxState.READY)

    async def _read(self, session_id: str) -> Holding:
        """The session's sandbox, held by this worker from now on; refused if another live worker holds it."""
        async with self._engine.begin() as conn:
            row = (await conn.execute(_HOLDING, {"id": session_id})).one()
            if row.holder not in (None, self.worker_id) and row.alive:
                raise SandboxMoved(session_id, row.holder)
            if row.holder != self.worker_id:
                await conn.execute(_CLAIM, {"id": session_id, "worker": self.worker_id})
                if row.holder is not None:
                    _log.info("session %s: its sandbox's worker %s is gone; taken over", session_id, row.holder)
        return Holding(row.state, row.snapshot_ref, row.root_id)

    async def _fenced(self, statement: TextClause, session_id: str, **values: object) -> None:
        """An update of the session's sandbox that holds only while this worker holds it."""
        async with self._engine.begin() as conn:
            done = await conn.execute(statement, {"id": session_id, "worker": self.worker_id, **values})
        if done.rowcount == 0:
            raise SandboxLost(session_id)

    async def _ready(self, session_id: str) -> Sandbox:
        """Ready on this worker: kept as it is when its newest files are here, else made new or restored from the
        last snapshot (whatever this root held of the session is stale then)."""
        holding = await self._read(session_id)
        workspace = self.workspace(session_id)
        if self._current_here(holding) and workspace.exists():
            if holding.state != SandboxState.READY:
                await _whole(self._provider.prepare, workspace)
                await self._fenced(_READY, session_id, root=self.root_id)
            return self._provider.open(workspace)
        await self._fenced(_MARK, session_id, state=SandboxState.PROVISIONING.value)
        try:
            await _whole(self._make, session_id, holding.snapshot_ref)
        except OSError as exc:
            _log.error("session %s: sandbox provisioning failed: %s", session_id, exc)
            await self._fenced(_MARK, session_id, state=SandboxState.FAILED.value)
            raise SandboxUnready(f"the session's sandbox could not be made ready: {exc.strerror or exc}") from exc
        await self._fenced(_READY, session_id, root=self.root_id)
        return self._provider.open(workspace)

    def _make(self, session_id: str, snapshot_ref: str | None) -> None:
        workspace = self.workspace(session_id)
        self._discard(session_id)
        if snapshot_ref:
            legacy = self._root.parent / "snapshots" / snapshot_ref
            if snapshot_ref.endswith(LEGACY_ARCHIVE_SUFFIX) and legacy.is_file():
                restore_legacy_archive(legacy, workspace)
            else:
                restore_workspace(self._store, session_id, workspace)
        self._provider.prepare(workspace)

    def _sync(self, session_id: str) -> SyncResult | None:
        workspace = self.workspace(session_id)
        if not workspace.exists():
            return None
        self._provider.open(workspace)  # its volume mounted again if the host restarted since
        result = sync_workspace(self._store, session_id, workspace)
        _log.info(
            "session %s: snapshot synced, %d new file content(s)%s",
            session_id,
            result.uploaded,
            "" if result.manifest_written else ", nothing changed",
        )
        return result

    def _pack(self, session_id: str) -> SyncResult | None:
        result = self._sync(session_id)
        self._discard(session_id)
        return result

    def _discard(self, session_id: str) -> None:
        workspace = self.workspace(session_id)
        if workspace.exists():
            self._provider.release(workspace)
            shutil.rmtree(workspace, ignore_errors=True)
