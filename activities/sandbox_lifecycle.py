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
from activities.sandbox.snapshots import restore_workspace, snapshot_workspace
from models.enums import SandboxState
from models.names import HIBERNATE_SANDBOX, PROVISION_SANDBOX, TEARDOWN_SANDBOX
from models.sandboxes import SandboxRef, SandboxStateResult
from models.settings import Settings

_log = logging.getLogger("turnflow.sandbox_lifecycle")
_READ = text("SELECT sandbox_state, sandbox_snapshot_ref FROM sessions WHERE id = :id")
_WRITE = text("UPDATE sessions SET sandbox_state = :state, sandbox_snapshot_ref = :ref WHERE id = :id")


class SandboxLifecycleActivities:
    def __init__(self, engine: AsyncEngine, settings: Settings, provider: SandboxProvider) -> None:
        self._engine = engine
        self._settings = settings
        self._provider = provider

    async def _set(self, session_id: str, state: SandboxState, snapshot_ref: str | None) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(_WRITE, {"id": session_id, "state": state.value, "ref": snapshot_ref})

    async def _snapshot_ref(self, session_id: str) -> str | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(_READ, {"id": session_id})).one()
        return str(row.sandbox_snapshot_ref) if row.sandbox_snapshot_ref else None

    def _pack(self, workspace: Path, snapshot_ref: str) -> bool:
        """Snapshots the workspace and gives back what the sandbox held on the host; False when there is none."""
        if not workspace.exists():
            return False
        self._provider.open(workspace)  # its volume mounted again if the host restarted since
        snapshot_workspace(workspace, self._settings.snapshots() / snapshot_ref)
        self._provider.release(workspace)
        return True

    @activity.defn(name=PROVISION_SANDBOX)
    async def provision_sandbox(self, params: SandboxRef) -> SandboxStateResult:
        """A new workspace, or the session's last snapshot unpacked again. Safe to repeat."""
        workspace = self._settings.workspaces() / params.session_id
        snapshot_ref = await self._snapshot_ref(params.session_id)
        await self._set(params.session_id, SandboxState.PROVISIONING, snapshot_ref)
        try:
            if snapshot_ref and not workspace.exists():
                await asyncio.to_thread(restore_workspace, self._settings.snapshots() / snapshot_ref, workspace)
            await asyncio.to_thread(self._provider.prepare, workspace)
        except OSError as exc:
            _log.error("session %s: sandbox provisioning failed: %s", params.session_id, exc)
            await self._set(params.session_id, SandboxState.FAILED, snapshot_ref)
            raise
        await self._set(params.session_id, SandboxState.READY, snapshot_ref)
        return SandboxStateResult(SandboxState.READY.value)

    @activity.defn(name=HIBERNATE_SANDBOX)
    async def hibernate_sandbox(self, params: SandboxRef) -> SandboxStateResult:
        """Not ready from its first moment: a tool arriving now waits for the restore instead of using a
        workspace that is being packed away."""
        workspace = self._settings.workspaces() / params.session_id
        snapshot_ref = f"{params.session_id}.tar.gz"
        await self._set(params.session_id, SandboxState.HIBERNATED, await self._snapshot_ref(params.session_id))
        await asyncio.to_thread(self._pack, workspace, snapshot_ref)
        await self._set(params.session_id, SandboxState.HIBERNATED, snapshot_ref)
        return SandboxStateResult(SandboxState.HIBERNATED.value)

    @activity.defn(name=TEARDOWN_SANDBOX)
    async def teardown_sandbox(self, params: SandboxRef) -> SandboxStateResult:
        """Archived: the workspace is kept as a snapshot (an unarchived session gets it back) and removed."""
        workspace = self._settings.workspaces() / params.session_id
        snapshot_ref = await self._snapshot_ref(params.session_id)
        await self._set(params.session_id, SandboxState.STOPPED, snapshot_ref)
        if await asyncio.to_thread(self._pack, workspace, f"{params.session_id}.tar.gz"):
            snapshot_ref = f"{params.session_id}.tar.gz"
        shutil.rmtree(workspace, ignore_errors=True)
        await self._set(params.session_id, SandboxState.STOPPED, snapshot_ref)
        return SandboxStateResult(SandboxState.STOPPED.value)
