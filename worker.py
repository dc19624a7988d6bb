"""Builds the turnflow Worker: which workflows, which activities, which task queue."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from activities.event_retention import EventRetentionActivities
from workflows.prune_turn_events import PruneTurnEventsWorkflow


def build_worker(client: Client, task_queue: str, sessions: async_sessionmaker[AsyncSession]) -> Worker:
    retention = EventRetentionActivities(sessions)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[PruneTurnEventsWorkflow],
        activities=[retention.prune_turn_events],
    )
