"""Temporal Schedules turnflow relies on, created by whichever worker starts first."""

from __future__ import annotations

import logging
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleSpec,
)

from models.retention import PruneTurnEventsInput
from workflows.prune_turn_events import PruneTurnEventsWorkflow

PRUNE_SCHEDULE_ID = "turnflow-prune-turn-events"

_log = logging.getLogger(__name__)


async def ensure_prune_schedule(client: Client, *, task_queue: str, retention_hours: float) -> None:
    """An hourly prune of old stream logs; a Schedule (not a timer loop) so operators can pause or trigger it."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            PruneTurnEventsWorkflow.run,
            PruneTurnEventsInput(retention_hours=retention_hours),
            id=PRUNE_SCHEDULE_ID,
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(hours=1))]),
    )
    try:
        await client.create_schedule(PRUNE_SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:
        _log.debug("schedule %s already exists", PRUNE_SCHEDULE_ID)
    else:
        _log.info("created schedule %s (hourly, retention %g h)", PRUNE_SCHEDULE_ID, retention_hours)
