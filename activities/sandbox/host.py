"""The sandboxes one worker holds. A session's sandbox belongs to one live worker at a time (`sessions.
sandbox_worker_id`); its tool calls and lifecycle come to that worker's own task queue. A worker asked to use a
sandbox that no live worker holds takes it over, restoring the session's last snapshot unless its files are already
current on this worker's workspace root (`sessions.sandbox_root_id`), so a session outlives the host that held it.
A worker that leaves cleanly packs its sandboxes into the snapshot store and lets them go."""

from __future__ import annotations

import asyncio
import logging
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
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
_MARK = text("UPDATE sessions SET sandbox_state = :state WHERE id = :id AND sandbox_worker_id = :worker")
_READY = text(
    """
    UPDATE sessions SET sandbox_state = 'ready', sandbox_root_id = :root WHERE id = :id AND sandbox_worker_id = :worker
    """
)
_WRITE_REF = text("UPDATE sessions SET sandbox_snapshot_ref = :ref WHERE id = :id")
_LET_GO = text(
    """
    UPDATE sessions SET sandbox_state = :state, sandbox_snapshot_ref = :ref, sandbox_worker_id = NULL,
        sandbox_root_id = NULL
    WHERE id = :id
    """
)
_HELD = text("SELECT id FROM sessions WHERE sandbox_worker_id = :worker")


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
    two roots (two hosts) do not."""
    root.mkdir(parents=True, exist_ok=True)
    marker = root / ROOT_ID_FILE
    try:
        with marker.open("x") as created:
            created.write(uuid.uuid4().hex)
    except FileExistsError:
        pass
    return marker.read_text().strip()


class SessionLocks:
    """One operation on a session's sandbox at a time on this worker; a lock lives while someone holds or awaits it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, session_id: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(session_id, (asyncio.Lock(), 0))
        self._locks[session_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[session_id]
            if users == 1:
                del self._locks[session_id]
            else:
                self._locks[session_id] = (lock, users - 1)


class SandboxHost:
    def __init__(
        self, engine: AsyncEngine, settings: Settings, provider: SandboxProvider, worker_id: uuid.UUID
    ) -> None:
        self.worker_id = worker_id
        self._engine = engine
        self._settings = settings
        self._provider = provider
        self._store = open_snapshot_store(settings.resolved_snapshot_store())
        self._root = settings.workspaces()
        self.root_id = workspace_root_id(self._root)
        self._locks = SessionLocks()

    def workspace(self, session_id: str) -> Path:
        return self._root / session_id

    async def use(self, session_id: str) -> Sandbox:
        """The session's sandbox on this worker, taken over (and restored) first if no live worker holds it."""
        async with self._locks.hold(session_id):
            holding = await self._read(session_id, claim=True)
            workspace = self.workspace(session_id)
            if not (self._current_here(holding) and workspace.exists()):
                await self._bring_here(session_id, holding)
            return self._provider.open(workspace)

    async def claim(self, session_id: str) -> None:
        """Holds the session's sandbox from now on, or raises SandboxMoved if another live worker holds it."""
        async with self._locks.hold(session_id):
            await self._read(session_id, claim=True)

    async def sync(self, session_id: str) -> SyncResult | None:
        """The workspace's changes into the store; None when the session's files are not current here."""
        async with self._locks.hold(session_id):
            holding = await self._read(session_id, claim=False)
            if not self._current_here(holding):
                return None
            result = await asyncio.to_thread(self._sync, session_id)
            if result is not None and result.manifest_written:
                async with self._engine.begin() as conn:
                    await conn.execute(_WRITE_REF, {"id": session_id, "ref": manifest_key(session_id)})
            return result

    async def put_away(self, session_id: str, state: SandboxState) -> None:
        """Hibernated or stopped: the workspace packed into its snapshot (when its files are current here) and
        removed, and then no worker holds the sandbox. In that state from its first moment, while this worker
        still holds it: a tool arriving meanwhile comes here and restores the packed snapshot after this."""
        async with self._locks.hold(session_id):
            holding = await self._read(session_id, claim=True)
            async with self._engine.begin() as conn:
                await conn.execute(_MARK, {"id": session_id, "worker": self.worker_id, "state": state.value})
            if self._current_here(holding):
                result = await asyncio.to_thread(self._pack, session_id)
            else:
                result = None
                await asyncio.to_thread(self._discard, session_id)  # a stale copy, if this root has one
            ref = manifest_key(session_id) if result is not None and result.stored else holding.snapshot_ref
            async with self._engine.begin() as conn:
                await conn.execute(_LET_GO, {"id": session_id, "state": state.value, "ref": ref})

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
                except Exception:  # the others are still packed; this one restores from its last turn's snapshot
                    _log.exception("session %s: its sandbox was not packed on leaving", session_id)

        await asyncio.gather(*(hibernate(session_id) for session_id in held))
        if held:
            _log.info("worker %s left: %d sandbox(es) packed into the store", self.worker_id, len(held))
        return len(held)

    def _current_here(self, holding: Holding) -> bool:
        """Ready, with its files last made ready on this root (no root recorded: a sandbox from before roots
        were recorded, when there was one)."""
        return holding.state == SandboxState.READY and holding.root_id in (self.root_id, None)

    async def _read(self, session_id: str, claim: bool) -> Holding:
        """The session's sandbox, refused if another live worker holds it; with `claim`, held by this one now."""
        async with self._engine.begin() as conn:
            row = (await conn.execute(_HOLDING, {"id": session_id})).one()
            if row.holder not in (None, self.worker_id) and row.alive:
                raise SandboxMoved(session_id, row.holder)
            if claim and row.holder != self.worker_id:
                await conn.execute(_CLAIM, {"id": session_id, "worker": self.worker_id})
                if row.holder is not None:
                    _log.info("session %s: its sandbox's worker %s is gone; taken over", session_id, row.holder)
        return Holding(row.state, row.snapshot_ref, row.root_id)

    async def _bring_here(self, session_id: str, holding: Holding) -> None:
        """A new workspace, or the last snapshot restored; whatever this root held of the session is stale."""
        params = {"id": session_id, "worker": self.worker_id}
        async with self._engine.begin() as conn:
            await conn.execute(_MARK, params | {"state": SandboxState.PROVISIONING.value})
        try:
            await asyncio.to_thread(self._make, session_id, holding.snapshot_ref)
        except OSError as exc:
            _log.error("session %s: sandbox provisioning failed: %s", session_id, exc)
            async with self._engine.begin() as conn:
                await conn.execute(_MARK, params | {"state": SandboxState.FAILED.value})
            raise
        async with self._engine.begin() as conn:
            await conn.execute(_READY, params | {"root": self.root_id})

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
