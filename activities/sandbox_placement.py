"""Where a session's sandbox activities go: the own task queue of the live worker holding its sandbox, or the
shared queue when none does (the worker that takes the activity from there holds the sandbox from then on)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from activities.worker_presence import WORKER_GONE
from models.names import PLACE_SANDBOX, host_task_queue
from models.sandboxes import SandboxPlacement, SandboxRef

_HOLDER = text(
    f"""
    SELECT w.id, w.task_queue FROM sessions s JOIN worker_sessions w ON w.id = s.sandbox_worker_id
    WHERE s.id = :id AND NOT ({WORKER_GONE})
    """
)


class SandboxPlacementActivities:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @activity.defn(name=PLACE_SANDBOX)
    async def place_sandbox(self, params: SandboxRef) -> SandboxPlacement:
        """A read, run as a local activity beside the workflow: asked before each sandbox activity."""
        async with self._engine.connect() as conn:
            holder = (await conn.execute(_HOLDER, {"id": params.session_id})).one_or_none()
        if holder is None:
            return SandboxPlacement()
        return SandboxPlacement(host_task_queue(holder.task_queue, str(holder.id)))
