"""The sandbox lifecycle's side effects: provisioning (or restoring), hibernating and tearing down a session's
sandbox, with its state recorded on the session row."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from activities.sandbox.base import SandboxProvider
from activities.sandbox.snapshot_store import open_snapshot_store
from activities.sandbox.snapshots import (
    LEGACY_ARCHIVE_SUFFIX,
    SyncResult,
    manifest_key,
    restore_legacy_archive,
    restore_workspace,
    sync_workspace,
)
from models.enums import SandboxState
from models.names import HIBERNATE_SANDBOX, PROVISION_SANDBOX, SYNC_WORKSPACE, TEARDOWN_SANDBOX
from models.sandboxes import SandboxRef, SandboxStateResult, WorkspaceSyncResult
from models.settings import Settings

_log = logging.getLogger("turnflow.sandbox_lifecycle")
_READ = text("SELECT sandbox_state, sandbox_snapshot_ref FROM sessions WHERE id = :id")
_WRITE_REF = text("UPDATE sessions SET sandbox_snapshot_ref = :ref WHERE id = :id")
_WRITE = text("UPDATE sessions SET sandbox_state = :state, sandbox_snapshot_ref = :ref WHERE id = :id")


class SandboxLifecycleActivities:
    def __init__(self, engine: AsyncEngine, settings: Settings, provider: SandboxProvider) -> None:
        self._engine = engine
        self._settings = settings
        self._provider = provider
        self._store = open_snapshot_store(settings.resolved_snapshot_store())

    async def _set(self, session_id: str, state: SandboxState, snapshot_ref: str | None) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(_WRITE, {"id": session_id, "state": state.value, "ref": snapshot_ref})

    async def _snapshot_ref(self, session_id: str) -> str | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(_READ, {"id": session_id})).one()
        return str(row.sandbox_snapshot_ref) if row.sandbox_snapshot_ref else None

    def _sync(self, session_id: str, workspace: Path) -> SyncResult | None:
        """The workspace's changes into the store; None when this host holds no workspace for the session."""
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

    def _pack(self, session_id: str, workspace: Path) -> SyncResult | None:
        """Snapshots the workspace and gives back what the sandbox held on the host."""
        result = self._sync(session_id, workspace)
        if result is not None:
            self._provider.release(workspace)
            shutil.rmtree(workspace, ignore_errors=True)
        return result

    def _restore(self, session_id: str, snapshot_ref: str, workspace: Path) -> None:
        legacy = self._settings.workspaces().parent / "snapshots" / snapshot_ref
        if snapshot_ref.endswith(LEGACY_ARCHIVE_SUFFIX) and legacy.is_file():
            restore_legacy_archive(legacy, workspace)
        else:
            restore_workspace(self._store, session_id, workspace)

    @staticmethod
    def _ref_after(session_id: str, result: SyncResult | None, snapshot_ref: str | None) -> str | None:
        return manifest_key(session_id) if result is not None and result.stored else snapshot_ref

    @activity.defn(name=PROVISION_SANDBOX)
    async def provision_sandbox(self, params: SandboxRef) -> SandboxStateResult:
        """A new workspace, or the session's last snapshot restored. Safe to repeat."""
        workspace = self._settings.workspaces() / params.session_id
        snapshot_ref = await self._snapshot_ref(params.session_id)
        await self._set(params.session_id, SandboxState.PROVISIONING, snapshot_ref)
        try:
            if snapshot_ref and not workspace.exists():
                await asyncio.to_thread(self._restore, params.session_id, snapshot_ref, workspace)
            await asyncio.to_thread(self._provider.prepare, workspace)
        except OSError as exc:
            _log.error("session %s: sandbox provisioning failed: %s", params.session_id, exc)
            await self._set(params.session_id, SandboxState.FAILED, snapshot_ref)
            raise
        await self._set(params.session_id, SandboxState.READY, snapshot_ref)
        return SandboxStateResult(SandboxState.READY.value)

    @activity.defn(name=SYNC_WORKSPACE)
    async def sync_workspace(self, params: SandboxRef) -> WorkspaceSyncResult:
        """At the end of a turn that ran tools: its changes are in the store before the turn finishes, so the
        session survives this host."""
        workspace = self._settings.workspaces() / params.session_id
        result = await asyncio.to_thread(self._sync, params.session_id, workspace)
        if result is not None and result.manifest_written:
            async with self._engine.begin() as conn:
                await conn.execute(_WRITE_REF, {"id": params.session_id, "ref": manifest_key(params.session_id)})
        return WorkspaceSyncResult(
            uploaded=result.uploaded if result else 0, changed=bool(result and result.manifest_written)
        )

    @activity.defn(name=HIBERNATE_SANDBOX)
    async def hibernate_sandbox(self, params: SandboxRef) -> SandboxStateResult:
        """Not ready from its first moment: a tool arriving now waits for the restore instead of using a
        workspace that is being packed away."""
        workspace = self._settings.workspaces() / params.session_id
        snapshot_ref = await self._snapshot_ref(params.session_id)
        await self._set(params.session_id, SandboxState.HIBERNATED, snapshot_ref)
        result = await asyncio.to_thread(self._pack, params.session_id, workspace)
        await self._set(
            params.session_id, SandboxState.HIBERNATED, self._ref_after(params.session_id, result, snapshot_ref)
        )
        return SandboxStateResult(SandboxState.HIBERNATED.value)

    @activity.defn(name=TEARDOWN_SANDBOX)
    async def teardown_sandbox(self, params: SandboxRef) -> SandboxStateResult:
        """Archived: the workspace is kept as a snapshot (an unarchived session gets it back) and removed."""
        workspace = self._settings.workspaces() / params.session_id
        snapshot_ref = await self._snapshot_ref(params.session_id)
        await self._set(params.session_id, SandboxState.STOPPED, snapshot_ref)
        result = await asyncio.to_thread(self._pack, params.session_id, workspace)
        await self._set(
            params.session_id, SandboxState.STOPPED, self._ref_after(params.session_id, result, snapshot_ref)
        )
        return SandboxStateResult(SandboxState.STOPPED.value)
