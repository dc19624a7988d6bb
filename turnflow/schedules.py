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
from models.names import DIGEST_SCHEDULE_ID, HOUSEKEEPING_KIND, PRUNE_SCHEDULE_ID, RECONCILE_SCHEDULE_ID
from models.reconciliation import ReconcileTurnsInput
from models.retention import PruneTurnEventsInput
from models.search_attributes import start_attributes
from workflows.prune_turn_events import PruneTurnEventsWorkflow
from workflows.reconcile_turns import ReconcileTurnsWorkflow
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


async def _create_or_retime(client: Client, schedule_id: str, wanted: Schedule, period: str) -> None:
    try:
        await client.create_schedule(schedule_id, wanted)
    except ScheduleAlreadyRunningError:
        await client.get_schedule_handle(schedule_id).update(lambda current: _retimed(current, wanted))
    else:
        _log.info("created schedule %s (every %s)", schedule_id, period)


async def ensure_digest_schedule(client: Client, *, task_queue: str, interval_minutes: int) -> None:
    """Every `interval_minutes`, the spend of the interval that just ended; an existing schedule is retimed when
    the interval changed."""
    wanted = _digest_schedule(task_queue, interval_minutes)
    await _create_or_retime(client, DIGEST_SCHEDULE_ID, wanted, f"{interval_minutes} min")


async def ensure_reconcile_schedule(client: Client, *, task_queue: str, interval_s: float) -> None:
    """Every `interval_s`, turns left without a workflow are started or failed; a turn counts as stranded after one
    period, so a send still starting its workflow is left alone. Runs never overlap: a slow one skips the next."""
    every = timedelta(seconds=interval_s)
    wanted = Schedule(
        action=ScheduleActionStartWorkflow(
            ReconcileTurnsWorkflow.run,
            ReconcileTurnsInput(stranded_after_s=interval_s),
            id=RECONCILE_SCHEDULE_ID,
            task_queue=task_queue,
            typed_search_attributes=start_attributes(HOUSEKEEPING_KIND),
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=every),
    )
    await _create_or_retime(client, RECONCILE_SCHEDULE_ID, wanted, f"{interval_s:g} s")
