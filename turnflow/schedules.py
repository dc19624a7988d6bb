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
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from models.digest import SpendDigestInput
from models.names import DIGEST_SCHEDULE_ID, HOUSEKEEPING_KIND, PRUNE_SCHEDULE_ID
from models.retention import PruneTurnEventsInput
from models.search_attributes import start_attributes
from workflows.prune_turn_events import PruneTurnEventsWorkflow
from workflows.spend_digest import SpendDigestWorkflow

_log = logging.getLogger(__name__)


async def ensure_prune_schedule(client: Client, *, task_queue: str, retention_hours: float) -> None:
    """An hourly prune of old stream logs; a Schedule (not a timer loop) so operators can pause or trigger it."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            PruneTurnEventsWorkflow.run,
            PruneTurnEventsInput(retention_hours=retention_hours),
            id=PRUNE_SCHEDULE_ID,
            task_queue=task_queue,
            typed_search_attributes=start_attributes(HOUSEKEEPING_KIND),
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(hours=1))]),
    )
    try:
        await client.create_schedule(PRUNE_SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:
        _log.debug("schedule %s already exists", PRUNE_SCHEDULE_ID)
    else:
        _log.info("created schedule %s (hourly, retention %g h)", PRUNE_SCHEDULE_ID, retention_hours)


def _digest_schedule(task_queue: str, interval_minutes: int) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            SpendDigestWorkflow.run,
            SpendDigestInput(interval_minutes=interval_minutes),
            id=DIGEST_SCHEDULE_ID,
            task_queue=task_queue,
            typed_search_attributes=start_attributes(HOUSEKEEPING_KIND),
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(minutes=interval_minutes))]),
        # Windows are independent: a slow post must not cost the next window its run. After an outage, only
        # the last hour's windows are caught up, so a chat is not flooded with old digests.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.ALLOW_ALL, catchup_window=timedelta(hours=1)),
    )


def _retimed(current: ScheduleUpdateInput, wanted: Schedule) -> ScheduleUpdate | None:
    """Only the timing and the input change, so an operator's pause or note survives a new interval."""
    schedule = current.description.schedule
    if [interval.every for interval in schedule.spec.intervals] == [i.every for i in wanted.spec.intervals]:
        return None
    schedule.spec, schedule.action = wanted.spec, wanted.action
    return ScheduleUpdate(schedule=schedule)


async def ensure_digest_schedule(client: Client, *, task_queue: str, interval_minutes: int) -> None:
    """Every `interval_minutes`, the spend of the interval that just ended; an existing schedule is retimed when
    the interval changed."""
    wanted = _digest_schedule(task_queue, interval_minutes)
    try:
        await client.create_schedule(DIGEST_SCHEDULE_ID, wanted)
    except ScheduleAlreadyRunningError:
        await client.get_schedule_handle(DIGEST_SCHEDULE_ID).update(lambda current: _retimed(current, wanted))
    else:
        _log.info("created schedule %s (every %d min)", DIGEST_SCHEDULE_ID, interval_minutes)
