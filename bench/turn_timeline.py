"""Where a turn's time to first token goes, read from its workflow history (so no product code is instrumented)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory

from models.names import STREAM_MODEL_STEP
from models.tables import Turn


@dataclass(frozen=True)
class TurnTimeline:
    """Milestones on this process's monotonic clock (s); the dev server stamps events with the same host's clock."""

    workflow_started: float
    first_task_started: float
    model_step_started: float
    history_events: int


async def turn_timeline(engine: AsyncEngine, temporal: Client, turn_id: str, wall_offset_s: float) -> TurnTimeline:
    """`wall_offset_s` is time.time() - time.monotonic(). Waits for the workflow to complete first, so the next
    turn starts on a quiet stack."""
    async with engine.connect() as conn:
        workflow_id = (await conn.execute(select(Turn.workflow_id).where(Turn.id == uuid.UUID(turn_id)))).scalar_one()
    handle = temporal.get_workflow_handle(workflow_id)
    await handle.result()
    history = await handle.fetch_history()

    def first(kind: EventType.ValueType) -> float:
        event = next(e for e in history.events if e.event_type == kind)
        return _seconds(event.event_time) - wall_offset_s

    return TurnTimeline(
        workflow_started=first(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
        first_task_started=first(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED),
        model_step_started=_model_step_started(history) - wall_offset_s,
        history_events=len(history.events),
    )


def _model_step_started(history: WorkflowHistory) -> float:
    """The first model step's start (the turn's bookkeeping activity is scheduled in the same task)."""
    scheduled = next(
        e.event_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == STREAM_MODEL_STEP
    )
    started = next(
        e
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.scheduled_event_id == scheduled
    )
    return _seconds(started.event_time)


def _seconds(stamp: Timestamp) -> float:
    return stamp.seconds + stamp.nanos / 1e9
