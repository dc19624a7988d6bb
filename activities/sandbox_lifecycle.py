"""The sandbox lifecycle's side effects, on the worker that holds the session's sandbox: provisioning (or
restoring), syncing a turn's changes to the snapshot store, hibernating and tearing down."""

from __future__ import annotations

from temporalio import activity

from activities.sandbox.host import SandboxHost
from models.enums import SandboxState
from models.names import HIBERNATE_SANDBOX, PROVISION_SANDBOX, SYNC_WORKSPACE, TEARDOWN_SANDBOX
from models.sandboxes import SandboxRef, SandboxStateResult, WorkspaceSyncResult


class SandboxLifecycleActivities:
    def __init__(self, host: SandboxHost) -> None:
        self._host = host

    @activity.defn(name=PROVISION_SANDBOX)
    async def provision_sandbox(self, params: SandboxRef) -> SandboxStateResult:
        """A new workspace, or the session's last snapshot restored. Safe to repeat."""
        await self._host.provision(params.session_id)
        return SandboxStateResult(SandboxState.READY.value)

    @activity.defn(name=SYNC_WORKSPACE)
    async def sync_workspace(self, params: SandboxRef) -> WorkspaceSyncResult:
        """At the end of a turn that ran tools: its changes are in the store before the turn finishes, so the
        session survives this host."""
        result = await self._host.sync(params.session_id)
        return WorkspaceSyncResult(
            uploaded=result.uploaded if result else 0, changed=bool(result and result.manifest_written)
        )

    @activity.defn(name=HIBERNATE_SANDBOX)
    async def hibernate_sandbox(self, params: SandboxRef) -> SandboxStateResult:
        await self._host.put_away(params.session_id, SandboxState.HIBERNATED)
        return SandboxStateResult(SandboxState.HIBERNATED.value)

    @activity.defn(name=TEARDOWN_SANDBOX)
    async def teardown_sandbox(self, params: SandboxRef) -> SandboxStateResult:
        """Archived: the workspace is kept as a snapshot (an unarchived session gets it back) and removed."""
        await self._host.put_away(params.session_id, SandboxState.STOPPED)
        return SandboxStateResult(SandboxState.STOPPED.value)
