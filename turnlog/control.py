"""Messages to a turn's running parts from any process: a stop over pg_notify (the fast path, heard by every
worker's stop listener at once) and signals to the session's sandbox lifecycle."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from models.names import TURN_CONTROL_CHANNEL
from models.sandboxes import sandbox_workflow_id


async def notify_stop(db: AsyncSession | AsyncConnection, turn_id: str) -> None:
    """Sent when the caller's transaction commits; running activities of the turn are cancelled within ms."""
    await db.execute(select(func.pg_notify(TURN_CONTROL_CHANNEL, turn_id)))


async def signal_sandbox(temporal: Client, session_id: str, signal: str, *args: str) -> None:
    """Signals the session's sandbox lifecycle; a session that never had a sandbox has none to tell."""
    try:
        await temporal.get_workflow_handle(sandbox_workflow_id(session_id)).signal(signal, *args)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
