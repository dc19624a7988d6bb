"""Stopping a turn: a NOTIFY reaches its running activities at once; Temporal's cancellation is the durable
path that also covers a worker that missed the notification. A turn with no workflow to cancel is ended here."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from models.enums import Outcome
from turnlog.control import notify_stop
from turnlog.ending import end_turn, hand_slot_on

_log = logging.getLogger("turnflow.api.turn_control")


async def request_stop(db: AsyncSession, temporal: Client, turn_id: str, workflow_id: str) -> None:
    """Idempotent: stopping a finished or already stopping turn changes nothing. A live turn whose workflow does
    not exist (never started, or gone) is ended as stopped at once and its chat's slot handed on."""
    await notify_stop(db, turn_id)
    await db.commit()
    try:
        await temporal.get_workflow_handle(workflow_id).cancel()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        next_workflow_id = await end_turn_without_workflow(db, turn_id, Outcome.STOPPED)
        if next_workflow_id:
            await hand_slot_on(temporal, next_workflow_id)


async def end_turn_without_workflow(
    db: AsyncSession, turn_id: uuid.UUID | str, outcome: Outcome, error: str | None = None
) -> str | None:
    """Ends a live turn that no workflow will end, in its own transaction; returns the workflow id of the queued
    turn that now holds the chat's slot. A turn that has already ended is left as it is."""
    ending = await end_turn(await db.connection(), turn_id, outcome, error=error)
    await db.commit()
    if ending is None:
        return None
    if ending.ended_now:
        _log.warning("turn %s had no workflow to end it: ended here as %s", turn_id, outcome)
    return ending.next_workflow_id
