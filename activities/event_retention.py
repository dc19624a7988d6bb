"""Deletes the stream log of long-finished turns; the persisted messages are what clients read afterwards."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from models.names import PRUNE_TURN_EVENTS
from models.retention import PruneTurnEventsInput, PruneTurnEventsResult

_PRUNE_BATCH = text(
    """
    WITH doomed AS (
        SELECT e.turn_id, e.seq FROM turn_events e
        JOIN turns t ON t.id = e.turn_id
        WHERE t.finished_at IS NOT NULL AND t.finished_at < now() - CAST(:retention AS interval)
        LIMIT :batch
    )
    DELETE FROM turn_events e USING doomed d
    WHERE e.turn_id = d.turn_id AND e.seq = d.seq
    RETURNING e.turn_id
    """
)


class EventRetentionActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn(name=PRUNE_TURN_EVENTS)
    async def prune_turn_events(self, params: PruneTurnEventsInput) -> PruneTurnEventsResult:
        """Deletes in batches so a large backlog never holds one long lock."""
        retention = timedelta(hours=params.retention_hours)
        deleted = 0
        turns: set[str] = set()
        while True:
            async with self._sessions.begin() as db:
                rows = (await db.execute(_PRUNE_BATCH, {"retention": retention, "batch": params.batch_size})).all()
            deleted += len(rows)
            turns.update(str(r.turn_id) for r in rows)
            activity.heartbeat(deleted)
            if len(rows) < params.batch_size:
                return PruneTurnEventsResult(deleted_events=deleted, pruned_turns=len(turns))
