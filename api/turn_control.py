"""Stopping a turn: a NOTIFY reaches its running activities at once; Temporal's cancellation is the durable
path that also covers a worker that missed the notification."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from turnlog.control import notify_stop

_log = logging.getLogger("turnflow.api.turn_control")


async def request_stop(db: AsyncSession, temporal: Client, turn_id: str, workflow_id: str) -> None:
    """Idempotent: stopping a finished or already stopping turn changes nothing."""
    await notify_stop(db, turn_id)
    await db.commit()
    try:
        await temporal.get_workflow_handle(workflow_id).cancel()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        _log.info("turn %s: workflow %s already closed", turn_id, workflow_id)
